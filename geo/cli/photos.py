"""``python -m geo photos``: attach photo evidence to an incident, fetch kept Kobo links.

``photos add INCIDENT FILE... --role before|after`` checks each file (format, size,
hostile content, EXIF time and place against the incident) and attaches the accepted
ones; every file is reported, accepted with its flags or refused with the reason.
``photos fetch --host HOST [--token-env VAR]`` downloads the KoboToolbox links kept by
ingest, from a host of ``GEO_PHOTO_FETCH_HOSTS`` only. Exit code 0 when every file was
accepted, 1 when some were refused, 2 on an error (bilingual, on stderr).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from geo import sample_photos, settings
from geo.cli._actor import acting_user, add_actor_argument
from geo.errors import InvalidArgument
from geo.evidence import PhotoResult
from geo.photos import PhotoSource
from geo.sample_photos import SAMPLE_PHOTOS
from geo.seed import SAMPLE_CSV
from geo.services import photos as photo_services
from geo.store import open_store


def register(subparsers: Any) -> None:
    photos = subparsers.add_parser("photos", help="ảnh bằng chứng / photo evidence of incidents")
    actions = photos.add_subparsers(dest="photos_command", required=True)
    add = actions.add_parser("add", help="đính kèm ảnh / attach photos to an incident")
    add.add_argument("incident", type=int, help="incident id")
    add.add_argument("files", nargs="+", type=Path, help="JPEG, PNG, WebP or HEIC files")
    add.add_argument("--role", required=True, choices=("before", "after"),
                     help="before: taken with the report; after: with the clearance")  # fmt: skip
    _common(add)
    add.set_defaults(func=_add)
    fetch = actions.add_parser("fetch", help="tải ảnh Kobo / fetch kept KoboToolbox photo links")
    fetch.add_argument("--host", required=True, help="a host of GEO_PHOTO_FETCH_HOSTS")
    fetch.add_argument("--token-env", default=None, metavar="VAR",
                       help="environment variable holding the Kobo API token")  # fmt: skip
    _common(fetch)
    fetch.set_defaults(func=_fetch)
    sample = actions.add_parser("sample", help="ảnh mẫu giả lập / write the sample's synthetic photos")
    sample.add_argument("--from", dest="sample_csv", type=Path, default=SAMPLE_CSV)
    sample.add_argument("--out", type=Path, default=SAMPLE_PHOTOS)
    sample.add_argument("--n", type=int, default=6, help="incidents with a before/after pair")
    sample.set_defaults(func=_sample)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    parser.add_argument("--json", action="store_true", help="print one JSON record per file")
    add_actor_argument(parser)


def _add(args: argparse.Namespace) -> int:
    sources = [_source(path) for path in args.files]
    with open_store(args.database) as store:
        right = photo_services.RIGHT_BY_ROLE[args.role]
        actor = acting_user(store, args, right, object_type="incident", object_id=args.incident)
        results = photo_services.add_photos(store, actor, args.incident, sources, role=args.role)
    return _report(results, args.json)


def _source(path: Path) -> PhotoSource:
    if not path.is_file():
        raise InvalidArgument(f"{path}: không có tệp này.", f"{path}: no such file.")
    return PhotoSource.from_path(path)


def _fetch(args: argparse.Namespace) -> int:
    token = None
    if args.token_env:
        token = settings.named_secret(args.token_env)
        if token is None:
            raise InvalidArgument(
                f"Biến môi trường {args.token_env} chưa đặt (mã truy cập Kobo).",
                f"The environment variable {args.token_env} is not set (the Kobo token).",
            )
    with open_store(args.database) as store:
        actor = acting_user(store, args, "upload", object_type="photo_links", object_id=args.host)
        results = photo_services.fetch_links(store, actor, args.host, token=token)
    return _report(results, args.json)


def _sample(args: argparse.Namespace) -> int:
    print(sample_photos.write(args.sample_csv, args.out, args.n))
    return 0


def _report(results: list[PhotoResult], as_json: bool) -> int:
    if as_json:
        print(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=1))
    else:
        for r in results:
            if r.accepted:
                flags = ", ".join(r.flags) or "không cờ / no flags"
                distance = f", {r.distance_m:.0f} m" if r.distance_m is not None else ""
                print(f"OK  {r.name}: #{r.photo_id} {r.role} ({flags}{distance})")
            else:
                print(f"BỎ / REFUSED  {r.name}: {r.reason_vi} / {r.reason_en}")
    return 0 if all(r.accepted for r in results) else 1
