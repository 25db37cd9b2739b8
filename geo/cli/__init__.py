"""``python -m geo``: everything the app can do, from a terminal.

Each command group lives in its own module in this package and exposes
``register(subparsers)``; this module only wires them together and turns the project's
errors into a bilingual message and exit code 2 instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from geo.errors import GeoError

#: Command-group modules under ``geo.cli``, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "boundaries",
    "assign",
    "assets",
    "map",
    "streets",
    "sample",
    "ingest",
    "users",
    "store",
    "audit",
    "report",
    "density",
    "photos",
    "reports",
    "serve",
    "places",
)


#: Where ``--help`` leaves a new user: the first account, the app, one command's options.
FIRST_STEPS = """\
Bắt đầu / First steps:
  python -m geo users add TÊN --role admin   tài khoản quản trị đầu tiên / the first admin
  streamlit run app.py                        mở ứng dụng / open the app (http://localhost:8501)
  python -m geo LỆNH --help                   chi tiết một lệnh / one command's options"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m geo",
        description="Giám sát trật tự đô thị Hà Nội / Hanoi urban-order monitor",
        epilog=FIRST_STEPS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"geo.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except GeoError as exc:
        print(f"Lỗi / Error: {exc.bilingual}", file=sys.stderr)
        return 2
    return int(result or 0)
