"""``python -m geo sample``: a synthetic field-team sheet (labelled synthetic in every row)."""

from __future__ import annotations

import argparse
import json
import time

from geo.sample import sample_incidents, write_sample


def _sample(args: argparse.Namespace) -> int:
    wards = streets = None
    if args.boundaries:
        from geo.boundaries import load_boundaries

        wards = load_boundaries(args.boundaries)
    if args.streets:
        from geo.streets import load_streets

        streets = load_streets(args.streets)
    started = time.perf_counter()
    frame = sample_incidents(args.n, args.seed, wards=wards, streets=streets)
    out = write_sample(frame, args.out)
    print(
        json.dumps(
            {
                "out": str(out),
                "rows": len(frame),
                "seed": args.seed,
                "seconds": round(time.perf_counter() - started, 2),
            },
            ensure_ascii=False,
        )
    )
    return 0


def _count(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value < 0:
        raise argparse.ArgumentTypeError("N ≥ 0")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="dữ liệu giả lập, như tệp CSV của tổ công tác / synthetic incidents as a field team's CSV",
        description="Dữ liệu giả lập / synthetic incidents on real streets and in all 126 wards.",
    )
    parser.add_argument("--n", type=_count, default=5000, help="number of rows (default 5000)")
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    parser.add_argument("--out", required=True, help="output CSV file")
    parser.add_argument("--boundaries", help="ward layer (default: the committed one)")
    parser.add_argument("--streets", help="street layer (default: the committed one)")
    parser.set_defaults(func=_sample)
