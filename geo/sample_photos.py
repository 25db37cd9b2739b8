"""The committed sample's photos: a few before/after pairs a newcomer sees on first start.

SYNTHETIC like the sample itself (``data/incidents/README.md``): each photo is drawn by
:func:`geo.photos.synthetic.sample_photo` (a street with a stall, then without it),
with EXIF GPS at the incident and capture times at its report and clearance. One
after photo is placed 80 m away on purpose, so the ``photo_far`` flag can be seen too.

``python -m geo photos sample --out data/incidents/sample_photos`` writes the files and
``photos.csv`` (``mã``, ``vai trò``, ``tệp``); :func:`attach_sample` (called by
:func:`geo.seed.ensure_seeded` after the sample's ingest) attaches them.
"""

from __future__ import annotations

import csv
import logging
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from pyproj import Transformer

from geo.errors import GeoError
from geo.evidence import attach_files
from geo.photos import PhotoSource
from geo.photos.synthetic import sample_photo
from geo.store import Store, batches
from geo.vocab import type_code

SAMPLE_PHOTOS = Path(__file__).resolve().parents[1] / "data" / "incidents" / "sample_photos"
MANIFEST = "photos.csv"
#: How far (metres, east in EPSG:32648) the one deliberately misplaced after photo is.
FAR_M = 80.0

log = logging.getLogger(__name__)


def choose(sample_csv: str | Path, n: int = 6, ward: str = "Phường Hoàn Kiếm") -> pd.DataFrame:
    """The first ``n`` cleared sidewalk/awning rows of ``ward``, in file order.

    Parameters
    ----------
    sample_csv : str | Path
        The sample incidents file.
    n : int
        How many rows.
    ward : str
        The ward name whose incidents are chosen.

    Returns
    -------
    pandas.DataFrame
        The chosen rows, as text.
    """
    rows = pd.read_csv(sample_csv, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    kinds = rows["loại vi phạm"].map(type_code)
    keep = (rows["trạng thái"] == "Đã xử lý") & kinds.isin(["sidewalk", "awning"]) & (rows["phường"] == ward)
    return rows[keep].head(n).reset_index(drop=True)


def _local(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M")


def write(sample_csv: str | Path, out: str | Path, n: int = 6) -> Path:
    """Write the sample photos and their manifest into ``out``; returns the manifest.

    Parameters
    ----------
    sample_csv : str | Path
        The sample incidents file.
    out : str | Path
        The folder to write into.
    n : int
        How many incidents get a pair.

    Returns
    -------
    pathlib.Path
        The manifest written.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    to_wgs = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)
    lines = []
    chosen = choose(sample_csv, n)
    for i, row in enumerate(chosen.to_dict("records")):
        lat, lon = float(row["vĩ độ"]), float(row["kinh độ"])
        after_lat, after_lon = lat, lon
        if i == len(chosen) - 1:  # one misplaced after photo, to show photo_far
            x, y = to_utm.transform(lon, lat)
            after_lon, after_lat = to_wgs.transform(x + FAR_M, y)
        pairs = (
            ("before", lat, lon, _local(row["ngày phát hiện"]) + timedelta(minutes=5)),
            ("after", after_lat, after_lon, _local(row["ngày xử lý"]) + timedelta(minutes=5)),
        )
        for role, plat, plon, when in pairs:
            name = f"{row['mã']}_{role}.jpg"
            (folder / name).write_bytes(sample_photo(role, lat=plat, lon=plon, taken_at=when, seed=i))  # type: ignore[arg-type]
            lines.append((row["mã"], role, name))
    manifest = folder / MANIFEST
    with manifest.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["mã", "vai trò", "tệp"])
        writer.writerows(lines)
    return manifest


def attach_sample(store: Store, source: str, *, folder: Path = SAMPLE_PHOTOS, actor: str = "system") -> int:
    """Attach the sample photos to the sample's incidents (ingested under ``source``).

    Returns how many were attached. A missing folder or incident is logged and skipped:
    photos make the first start nicer, they never stop it.

    Parameters
    ----------
    store : Store
        The store.
    source : str
        The source the sample was ingested under.
    folder : Path
        The folder of the sample photos and their manifest.
    actor : str
        The acting user (or the account name recorded).

    Returns
    -------
    int
        How many photos were attached.
    """
    manifest = folder / MANIFEST
    if not manifest.exists():
        return 0
    listed = pd.read_csv(manifest, dtype=str, encoding="utf-8")
    keys = pd.DataFrame({"source": source, "source_id": listed["mã"], "fingerprint": ""})
    found = batches.lookup_existing(store, keys)
    ids = dict(zip(found["row"], found["id"].astype(int), strict=True))
    attached = 0
    for position, row in listed.iterrows():
        incident = ids.get(position)
        if incident is None:
            log.warning("sample photo %s: no incident %s", row["tệp"], row["mã"])
            continue
        try:
            results = attach_files(store, incident, [PhotoSource.from_path(folder / row["tệp"])],
                                   role=str(row["vai trò"]), actor=actor)  # fmt: skip
        except (GeoError, OSError) as exc:
            log.warning("sample photo %s not attached: %s", row["tệp"], exc)
            continue
        attached += sum(r.accepted for r in results)
    return attached
