"""``python -m geo serve``: the Open311 GeoReport v2 server (uvicorn) on the store.

It uses the same ``GEO_DATABASE_URL`` as the Streamlit app, so both run at once on one
store (SQLite in WAL mode, or PostGIS). ``X-Forwarded-For`` is trusted only from the
proxies named in ``GEO_SERVE_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import argparse
from typing import Any

from geo import settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="máy chủ Open311 nhận phản ánh / the Open311 GeoReport v2 server",
        description="Open311 GeoReport v2: /discovery, /services, /requests, /tokens (.json, .xml).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8311)
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    parser.add_argument(
        "--workers", type=int, default=1, choices=range(1, 9), metavar="N",
        help="tiến trình / server processes (1-8); mỗi tiến trình tự đếm giới hạn tần suất / "
        "each counts its own rate limits: a client may reach up to N times the rates",
    )
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    """One process serving the app, or ``--workers`` processes sharing the port.

    Workers each open the store themselves (SQLite's WAL lets several writers queue for
    the write lock; PostGIS has its own connections), so the URL is handed to them as
    ``GEO_DATABASE_URL``. Their rate-limit counters are their own (``limits``' memory
    storage): the README says what that means for the configured rates.
    """
    import uvicorn

    from geo.open311.app import create_app
    from geo.store import open_store

    trusted = settings.serve_trusted_proxies()
    common: dict[str, Any] = {
        "host": args.host, "port": args.port, "log_level": "warning",
        "proxy_headers": bool(trusted), "forwarded_allow_ips": ",".join(trusted) or None,
        "server_header": False,
    }
    if args.workers > 1:
        if args.database:
            settings.hand_down_database_url(args.database)
        uvicorn.run("geo.open311.app:create_app", factory=True, workers=args.workers, **common)
        return 0
    uvicorn.run(create_app(open_store(args.database)), **common)
    return 0
