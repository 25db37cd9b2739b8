"""``python -m geo assign INPUT.csv --out OUT.csv``: one responsible ward per row."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from geo.assign import assign_lonlat
from geo.boundaries import load_boundaries
from geo.errors import IngestError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("assign", help="gán điểm (cột vĩ độ/kinh độ) vào phường, xã / assign points (lat/lon columns) to wards")
    parser.add_argument("input", type=Path, help="CSV with lat and lon columns (EPSG:4326)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--boundaries", type=Path, help="ward layer (default: GEO_BOUNDARIES)")
    parser.set_defaults(func=_assign)


def _assign(args: argparse.Namespace) -> int:
    try:
        rows = pd.read_csv(args.input, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise IngestError(
            f"{args.input}: không đọc được CSV ({exc}).",
            f"{args.input}: cannot read the CSV ({exc}).",
        ) from exc
    columns = {c.strip().lower(): c for c in rows.columns}
    missing = [c for c in ("lat", "lon") if c not in columns]
    if missing:
        raise IngestError(
            f"{args.input}: thiếu cột {missing}.", f"{args.input}: missing columns {missing}."
        )
    lat = pd.to_numeric(rows[columns["lat"]].str.replace(",", ".", regex=False), errors="coerce")
    lon = pd.to_numeric(rows[columns["lon"]].str.replace(",", ".", regex=False), errors="coerce")
    bad = lat.isna() | lon.isna()
    if bad.any():
        first = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise IngestError(
            f"{args.input}: {int(bad.sum())} dòng có toạ độ không hợp lệ (dòng đầu tiên: {first}).",
            f"{args.input}: {int(bad.sum())} rows have invalid coordinates (first at line {first}).",
        )
    wards = load_boundaries(args.boundaries)
    result = assign_lonlat(lon.to_numpy(), lat.to_numpy(), wards)
    result.index = rows.index
    out = pd.concat([rows, result], axis=1)
    out.to_csv(args.out, index=False)
    counts = result["assign_flag"].replace("", "inside").value_counts().to_dict()
    print(f"Đã ghi / written: {args.out}  {counts}")
    return 0
