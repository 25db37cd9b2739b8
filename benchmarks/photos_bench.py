"""Photo evidence at field scale: a ZIP of N rows and N photos (about 2 MB each).

``python -m benchmarks.photos_bench [--photos 1000] [--workers 2]``

Target (issue 13): 1,000 rows and 1,000 photos ingested with thumbnails and checks in
at most 60 s on 2 cores, peak memory at most 1 GB.

The photos are deterministic synthetic 12 MP JPEGs (4032 × 3024, a gradient under
coarse noise, encoded at quality 80 to about 1.9 MB, like a phone photo) with EXIF:
GPS within 0–80 m of the row's incident, a capture time, and every tenth photo
stripped of metadata. A few base pictures are encoded once; each photo gets its own
EXIF, so every file has its own bytes and sha256. The ZIP is deflated (level 1), as
KoboToolbox and desktop zip tools write it, and cached in the work directory.

Each variant runs in its own process, so its peak RSS (``ru_maxrss``) is its own:

* ``library`` — :func:`geo.photos.open_bundle`, the photo column and cells, then
  :func:`geo.photos.ingest_photos` (reduced-scale JPEG decode, EXIF, thumbnail,
  perceptual hash, content-addressed store, one ``sync``) and
  :func:`geo.photos.check_photo` per photo.
* ``library_1_thread`` — the same with one worker.
* ``store`` — the whole path of ``python -m geo ingest BUNDLE.zip``:
  :func:`geo.services.photos.ingest_bundle` into a fresh SQLite store (the table
  previewed, classified and written as one batch; every photo read, checked against its
  row's stored incident and recorded with its flags). This is the issue's target.
* ``baseline`` — the naive way, same run, same ZIP: read each member whole, hash it,
  decode it at full size, orient, resize to 480 px, save the thumbnail and the
  original; no checks. It shows what the reduced decode and the threads buy.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
INCIDENT_AREA = (21.0285, 105.8542)
BASES = 4
SIZE = (4032, 3024)
SEED = 2025
VARIANTS = ("store", "library", "library_1_thread", "baseline")


# ------------------------------------------------------------------------- data


def _base_jpegs(count: int, size: tuple[int, int] = SIZE) -> list[bytes]:
    """``count`` JPEGs (12 MP: about 1.9 MB each): gradient plus 4 × 4 px noise, quality 80."""
    import numpy as np
    from PIL import Image

    width, height = size
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for i in range(count):
        shift = i * 40
        base = np.stack(
            [(x / width * 255 + shift) % 256, (y / height * 255 + shift) % 256, (x + y) / (width + height) * 255],
            -1,
        )
        noise = rng.normal(0, 12, (height // 4, width // 4, 3)).astype(np.float32)
        pixels = np.clip(base + noise.repeat(4, 0).repeat(4, 1), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
        out.append(buffer.getvalue())
    return out


def _exif(lat: float, lon: float, when: datetime) -> bytes:
    import piexif

    def dms(value: float) -> tuple[tuple[int, int], ...]:
        units = round(abs(value) * 3600 * 10_000)
        whole, rest = divmod(units, 3600 * 10_000)
        minutes, seconds = divmod(rest, 60 * 10_000)
        return (whole, 1), (minutes, 1), (seconds, 10_000)

    return piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: b"Bench", piexif.ImageIFD.Model: b"Phone 12MP"},
            "Exif": {
                piexif.ExifIFD.DateTimeOriginal: when.strftime("%Y:%m:%d %H:%M:%S").encode(),
                piexif.ExifIFD.OffsetTimeOriginal: b"+07:00",
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: dms(lat),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: dms(lon),
            },
        }
    )


def build_bundle(path: Path, photos: int, size: tuple[int, int] = SIZE) -> dict[str, Any]:
    """Write the benchmark ZIP (one CSV, ``photos`` JPEGs); returns its description."""
    import piexif

    rng = random.Random(SEED)
    bases = _base_jpegs(BASES, size)
    start = datetime(2025, 9, 1, 8, 0)
    rows = []
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for i in range(photos):
            lat = INCIDENT_AREA[0] + rng.uniform(-0.02, 0.02)
            lon = INCIDENT_AREA[1] + rng.uniform(-0.02, 0.02)
            reported = start + timedelta(minutes=7 * i)
            name = f"IMG_{i:05d}.jpg"
            data = bases[i % BASES]
            if i % 10 != 9:  # every tenth photo arrives stripped, as from a messaging app
                bearing = rng.uniform(0, 360)
                metres = rng.uniform(0, 80)
                dlat = metres * math.cos(math.radians(bearing)) / 111_320  # metres per degree
                dlon = metres * math.sin(math.radians(bearing)) / 103_900  # at 21° N
                out = io.BytesIO()
                piexif.insert(_exif(lat + dlat, lon + dlon, reported + timedelta(minutes=1)), data, out)
                data = out.getvalue()
            else:
                data = data + i.to_bytes(4, "big")  # own bytes, still no metadata
            archive.writestr(f"media/{name}", data)
            rows.append([f"B{i:05d}", f"{lat:.6f}", f"{lon:.6f}", reported.strftime("%Y-%m-%d %H:%M"), name])
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(["ma", "vi_do", "kinh_do", "ngay_phat_hien", "anh"])
        writer.writerows(rows)
        archive.writestr("data.csv", table.getvalue().encode("utf-8"))
    tmp.replace(path)
    return {"photos": photos, "zip_bytes": path.stat().st_size}


# ----------------------------------------------------------------------- variants


def run_library(bundle_path: Path, media_root: Path, workers: int) -> dict[str, Any]:
    from geo.photos import (
        MediaStore,
        check_photo,
        ingest_photos,
        open_bundle,
        parse_photo_cell,
        photo_columns,
    )

    started = time.perf_counter()
    media = MediaStore(media_root)
    flags: dict[str, int] = {}
    stored = refused = 0
    with open_bundle(bundle_path) as bundle:
        rows = list(csv.DictReader(io.StringIO(bundle.read_table().decode("utf-8"))))
        column = photo_columns(list(rows[0]))[0].column
        known = set(bundle.member_names)
        jobs = [(row, bundle.resolve(name)) for row in rows for name in parse_photo_cell(row[column], known)]
        outcomes = ingest_photos(bundle.sources([member for _, member in jobs]), media, workers=workers)
        for (row, _), outcome in zip(jobs, outcomes, strict=True):
            if outcome.info is None:
                refused += 1
                continue
            stored += 1
            result = check_photo(
                outcome.info.meta,
                role="before",
                incident_lat=float(row["vi_do"]),
                incident_lon=float(row["kinh_do"]),
                reported_at=datetime.strptime(row["ngay_phat_hien"], "%Y-%m-%d %H:%M"),
                sha256=outcome.info.sha256,
                attached_elsewhere=(),
            )
            for flag in result.flags:
                flags[flag] = flags.get(flag, 0) + 1
    return {"seconds": time.perf_counter() - started, "stored": stored, "refused": refused, "flags": flags}


def run_store(bundle_path: Path, media_root: Path, workdir: Path) -> dict[str, Any]:
    from geo.auth import User
    from geo.ingest import IngestOptions
    from geo.photos import MediaStore
    from geo.services import photos as photo_services
    from geo.store import open_store

    database = workdir / "store_variant.sqlite"
    database.unlink(missing_ok=True)
    store = open_store(f"sqlite:///{database}")
    try:
        started = time.perf_counter()
        result = photo_services.ingest_bundle(
            store, User("bench", frozenset({"admin"})), bundle_path, IngestOptions(source="bench"),
            media=MediaStore(media_root),
        )  # fmt: skip
        seconds = time.perf_counter() - started
        stored_rows = store.row_counts()["photos"]
    finally:
        store.close()
    database.unlink(missing_ok=True)
    flags: dict[str, int] = {}
    for photo in result.photos:
        for flag in photo.flags:
            flags[flag] = flags.get(flag, 0) + 1
    counts = result.counts()
    return {"seconds": seconds, "stored": counts["accepted"], "refused": counts["refused"], "flags": flags,
            "photo_rows": stored_rows, "incidents": result.ingest.preview.counts()["accepted"]}  # fmt: skip


def run_baseline(bundle_path: Path, media_root: Path) -> dict[str, Any]:
    from PIL import Image, ImageOps

    started = time.perf_counter()
    stored = 0
    with zipfile.ZipFile(bundle_path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".jpg"):
                continue
            data = archive.read(info)
            digest = hashlib.sha256(data).hexdigest()
            image = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
            image.load()
            image.thumbnail((480, 480))
            folder = media_root / digest[:2]
            folder.mkdir(parents=True, exist_ok=True)
            image.convert("RGB").save(folder / f"{digest}.thumb.jpg", "JPEG", quality=80)
            (folder / f"{digest}.jpg").write_bytes(data)
            stored += 1
    return {"seconds": time.perf_counter() - started, "stored": stored, "refused": 0, "flags": {}}


def _peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` starts afresh at ``exec``; Linux's
    ``ru_maxrss`` does not (it would report the parent's peak, which built the photos)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: argparse.Namespace) -> None:
    media_root = Path(args.media)
    shutil.rmtree(media_root, ignore_errors=True)
    if args.child == "baseline":
        result = run_baseline(Path(args.bundle), media_root)
    elif args.child == "store":
        result = run_store(Path(args.bundle), media_root, media_root.parent)
    else:
        workers = 1 if args.child == "library_1_thread" else args.workers
        result = run_library(Path(args.bundle), media_root, workers)
    result["peak_rss_mb"] = _peak_rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_seconds"] = usage.ru_utime + usage.ru_stime  # the machine is shared: CPU too
    result["media_bytes"] = sum(p.stat().st_size for p in media_root.rglob("*") if p.is_file())
    shutil.rmtree(media_root, ignore_errors=True)
    print(json.dumps(result))


# -------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.photos_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", default="4032x3024", help="photo size WxH (smaller for smoke tests)")
    parser.add_argument("--workdir", type=Path, default=HERE / "_work" / "photos")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--fresh", action="store_true", help="rebuild the ZIP")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--bundle", help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.child:
        _child(args)
        return {}
    args.workdir.mkdir(parents=True, exist_ok=True)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    bundle = args.workdir / f"bundle_{args.photos}_{args.size}.zip"
    if args.fresh or not bundle.exists():
        t0 = time.perf_counter()
        build_bundle(bundle, args.photos, (size[0], size[1]))
        print(f"built {bundle} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    results: dict[str, Any] = {
        "photos": args.photos,
        "size": args.size,
        "zip_mb": round(bundle.stat().st_size / 2**20, 1),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "variants": {},
    }
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for variant in args.variants.split(","):
        cmd = [sys.executable, "-m", "benchmarks.photos_bench", "--child", variant, "--bundle", str(bundle),
               "--media", str(args.workdir / f"media_{variant}"), "--workers", str(args.workers)]  # fmt: skip
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            results["variants"][variant] = {"error": proc.stderr[-2000:]}
            continue
        results["variants"][variant] = json.loads(proc.stdout.strip().splitlines()[-1])
        row = results["variants"][variant]
        print(f"{variant:18s} {row['seconds']:7.1f} s  cpu {row['cpu_seconds']:7.1f} s  "
              f"peak {row['peak_rss_mb']:7.0f} MB  "
              f"stored {row['stored']}  flags {row['flags']}", file=sys.stderr)  # fmt: skip
    results["load_after"] = os.getloadavg()[0]
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
