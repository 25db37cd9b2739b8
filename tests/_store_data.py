"""Hand-made wards and incident frames for the store tests (shaped like ingest's output)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Polygon, box

#: Two square wards side by side, sharing the edge lon = 105.81.
WEST = "00001"
EAST = "00002"


def two_wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": [WEST, EAST],
            "name": ["Phường Tây", "Phường Đông"],
            "name_en": ["West", "East"],
            "kind": ["phuong", "phuong"],
            "area_km2": [1.0, 1.0],
            "population": [1000, None],
        },
        geometry=[box(105.80, 21.00, 105.81, 21.01), box(105.81, 21.00, 105.82, 21.01)],
        crs="EPSG:4326",
    )


def ts(text: str) -> pd.Timestamp:
    """A Hà Nội local time as a UTC Timestamp."""
    return pd.Timestamp(text, tz="Asia/Ho_Chi_Minh").tz_convert("UTC")


def incidents(rows: list[dict[str, Any]], source: str = "test.csv") -> pd.DataFrame:
    """An incidents frame as ingest hands it to ``commit_batch``; unspecified fields default."""
    out = []
    for i, row in enumerate(rows, start=1):
        ward = row.get("ward_code", WEST)
        base = {
            "source": source,
            "source_id": str(i),
            "fingerprint": f"{source}#{i}",
            "type": "sidewalk",
            "type_text": "Lấn chiếm vỉa hè",
            "lat": 21.005,
            "lon": 105.805 if ward == WEST else 105.815,
            "ward_code": ward,
            "street": "Hàng Bông",
            "address": f"số {i}",
            "note": "",
            "status": "reported",
            "reported_at": ts("2025-03-03 09:00"),
            "cleared_at": pd.NaT,
            "flags": "",
            "row_number": i,
        }
        base.update(row)
        out.append(base)
    frame = pd.DataFrame(out)
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    frame["cleared_at"] = pd.to_datetime(frame["cleared_at"], utc=True)
    return frame


def synthetic(n: int, seed: int = 0, source: str = "synthetic", bounds: tuple[float, ...] = (105.80, 21.00, 105.82, 21.01)) -> pd.DataFrame:
    """``n`` random incidents in ``bounds`` (no ward codes), cheap to build."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = bounds
    ids = pd.Series(np.arange(n)).astype(str)
    return pd.DataFrame(
        {
            "source": source,
            "source_id": source + "-" + ids,
            "fingerprint": source + "#" + ids,
            "type": np.array(["sidewalk", "awning", "signboard", "parking", "materials", "other"])[
                rng.integers(0, 6, n)
            ],
            "type_text": "x",
            "lat": miny + rng.random(n) * (maxy - miny),
            "lon": minx + rng.random(n) * (maxx - minx),
            "ward_code": None,
            "street": None,
            "address": None,
            "note": None,
            "status": "reported",
            "reported_at": pd.Timestamp("2025-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s"),
            "cleared_at": pd.NaT,
            "flags": "",
            "row_number": np.arange(1, n + 1),
        }
    )


def batch(name: str = "test.csv", **counts: int) -> dict[str, Any]:
    return {"file_name": name, "sha256": "0" * 64, "user": "tester", "source": name, "counts": counts}


NO_UPDATES = pd.DataFrame(columns=["incident_id", "to_status", "at", "note"])


#: The guards of schema versions 1 and 2 on SQLite (UPDATE and DELETE only, no hashes).
_SQLITE_GUARDS_BEFORE_CHAINS = """
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} chỉ được ghi thêm / {table} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} chỉ được ghi thêm / {table} is append-only'); END;
"""


def without_hash_chains(store: Any, conn: Any) -> None:
    """Turn a current store's history back into what schema 2 had: no ``row_hash``, the
    guards of then (inside ``conn``'s transaction); the caller sets ``schema_version``."""
    from geo.store._schema import APPEND_ONLY

    store.backend.drop_guards(conn, APPEND_ONLY)
    for table in APPEND_ONLY:
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN row_hash")
        if store.backend.name == "sqlite":
            for sql in _SQLITE_GUARDS_BEFORE_CHAINS.format(table=table).split(";\n"):
                if sql.strip():
                    conn.exec_driver_sql(sql)
    if store.backend.name != "sqlite":
        store.backend.install_guards(conn, APPEND_ONLY)  # the same triggers as then


#: Two wedge-shaped wards that touch only at :data:`TIE_VERTEX`; the point
#: :data:`TIE_POINT`, 10 m east of it, is covered by neither and its nearest point in
#: both wards is that shared vertex, so its distance to the two is the same number.
TIE_VERTEX = (105.8500, 21.0300)
TIE_POINT = (105.8500 + 0.0001, 21.0300)


def tie_wards(north: str, south: str) -> gpd.GeoDataFrame:
    """The wedges north-west (code ``north``) and south-west (code ``south``) of the vertex.

    Every edge leaves the vertex at more than 90° from the direction of :data:`TIE_POINT`
    (also after projection to UTM 48N), so no edge is nearer than the vertex itself.
    """
    x, y = TIE_VERTEX
    wedge_n = Polygon([(x, y), (x - 0.002, y + 0.002), (x - 0.002, y + 0.0005)])
    wedge_s = Polygon([(x, y), (x - 0.002, y - 0.0005), (x - 0.002, y - 0.002)])
    return gpd.GeoDataFrame(
        {"code": [north, south], "name": [f"Phường {north}", f"Phường {south}"]},
        geometry=[wedge_n, wedge_s],
        crs="EPSG:4326",
    )
