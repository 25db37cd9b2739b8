"""``python -m geo assets``: the Leaflet files the maps load, fetched once at install."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo import assets


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "assets",
        help="Tệp bản đồ cục bộ (Leaflet) / local map assets (Leaflet)",
        description="Tải, kiểm tra và giải nén Leaflet từ kho npm / fetch Leaflet from npm",
    )
    sub = parser.add_subparsers(dest="assets_command", required=True)
    fetch = sub.add_parser("fetch", help="Tải và kiểm tra sha512 / download and verify sha512")
    fetch.add_argument("--dest", type=Path, default=None, help="default: static/vendor")
    fetch.add_argument("--registry", default=assets.NPM_REGISTRY)
    fetch.add_argument(
        "--from-dir", type=Path, default=None, help="đọc <tên>-<phiên bản>.tgz / read local .tgz"
    )
    fetch.add_argument("--force", action="store_true")
    fetch.set_defaults(func=_fetch)
    check = sub.add_parser("check", help="Kiểm tra đủ tệp / check that all files are present")
    check.add_argument("--dest", type=Path, default=None)
    check.set_defaults(func=_check)


def _fetch(args: argparse.Namespace) -> int:
    actions = assets.fetch_assets(
        args.dest, registry=args.registry, from_dir=args.from_dir, force=args.force
    )
    root = args.dest or assets.vendor_dir()
    for name, action in actions.items():
        print(f"{name}: {action}")
    print(f"-> {root}")
    return 0


def _check(args: argparse.Namespace) -> int:
    root = assets.require_assets(args.dest)
    print(f"OK: {root}")
    return 0
