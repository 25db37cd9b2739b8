"""The store's incidents as a few column arrays, for views that need every point.

A density view of a million incidents cannot read a million rows through SQLAlchemy on
every filter change (about 10 s here). A snapshot reads only the columns that the filters
and a density grid use, once per store version (about 40 MB per million incidents); each
view is then a boolean mask computed in milliseconds.

:func:`store_version` changes with every write, because every write appends to the audit
log, so a snapshot cached under its version is never stale. :meth:`IncidentSnapshot.mask`
takes the keyword arguments of :meth:`geo.store.Store.incidents` and selects exactly the
rows that its SQL selects (the tests compare the two on both backends).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo.store import OPEN_STATES, local_bound

#: Columns read into a snapshot; the filters of ``Store.incidents`` use nothing else.
_CATEGORIES = ("ward_code", "type", "status", "street")
_TIMES = ("reported_at", "due_at")


def store_version(store: Any) -> tuple[int, int, int]:
    """(incidents, their largest id, the audit log's largest id): changes with every write."""
    with store.read() as conn:
        count, top = conn.exec_driver_sql("SELECT count(*), max(id) FROM incidents").one()
        audit = conn.exec_driver_sql("SELECT max(id) FROM audit_log").scalar()
    return int(count or 0), int(top or 0), int(audit or 0)


def _utc_naive(values: Sequence[Any]) -> np.ndarray:
    """Stored timestamps (ISO text on SQLite, datetimes on PostgreSQL) → UTC datetime64[ns]."""
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    return stamps.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")


@dataclass(frozen=True)
class IncidentSnapshot:
    """Filterable columns of every stored incident, as arrays (categoricals as codes)."""

    version: tuple[int, int, int]
    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    codes: dict[str, np.ndarray]  # column -> int32 code per incident (-1: NULL)
    labels: dict[str, np.ndarray]  # column -> the distinct values the codes point into
    times: dict[str, np.ndarray]  # column -> UTC datetime64[ns] (NaT: NULL)

    def __len__(self) -> int:
        return len(self.lat)

    def _isin(self, column: str, values: Any) -> np.ndarray:
        wanted = [values] if isinstance(values, str) else list(values)
        known = np.flatnonzero(np.isin(self.labels[column], np.asarray(wanted, dtype=object)))
        return np.isin(self.codes[column], known)

    def mask(
        self,
        wards: Any = None,
        types: Any = None,
        statuses: Any = None,
        date_from: Any = None,
        date_to: Any = None,
        street: Any = None,
        bbox: Sequence[float] | None = None,
        overdue_only: bool = False,
        *,
        now: dt.datetime | None = None,
    ) -> np.ndarray:
        """Rows that ``Store.incidents`` selects with the same arguments."""
        keep = np.ones(len(self), dtype=bool)
        for column, values in (
            ("ward_code", wards),
            ("type", types),
            ("status", statuses),
            ("street", street),
        ):
            if values is not None:
                keep &= self._isin(column, values)
        reported = self.times["reported_at"]
        if (start := local_bound(date_from)) is not None:
            keep &= reported >= np.datetime64(start.replace(tzinfo=None), "ns")
        if (stop := local_bound(date_to, end=True)) is not None:
            keep &= reported < np.datetime64(stop.replace(tzinfo=None), "ns")
        if bbox is not None:
            minx, miny, maxx, maxy = (float(v) for v in bbox)
            keep &= (
                (self.lon >= minx) & (self.lon <= maxx) & (self.lat >= miny) & (self.lat <= maxy)
            )
        if overdue_only:
            moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
            keep &= self._isin("status", sorted(OPEN_STATES))
            keep &= self.times["due_at"] < np.datetime64(moment, "ns")  # NaT compares False
        return keep

    def points(self, keep: np.ndarray) -> pd.DataFrame:
        """``lat``/``lon`` of the selected rows (what a density grid needs)."""
        return pd.DataFrame({"lat": self.lat[keep], "lon": self.lon[keep]})


def load_snapshot(store: Any) -> IncidentSnapshot:
    """Read the snapshot in one query (raw driver rows: no per-value type processing)."""
    version = store_version(store)
    columns = ("id", "lat", "lon", *_CATEGORIES, *_TIMES)
    sql = f"SELECT {', '.join(columns)} FROM incidents"  # noqa: S608 - fixed column names
    with store.read() as conn:
        # the driver's own cursor: SQLAlchemy's Row objects cost more than the fetch itself
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    by_name = dict(zip(columns, data, strict=True))
    codes: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    for column in _CATEGORIES:
        code, uniques = pd.factorize(pd.Series(by_name[column], dtype=object), use_na_sentinel=True)
        codes[column] = code.astype(np.int32)
        labels[column] = np.asarray(uniques, dtype=object)
    return IncidentSnapshot(
        version=version,
        ids=np.asarray(by_name["id"], dtype=np.int64),
        lat=pd.Series(by_name["lat"], dtype="float64").to_numpy(),
        lon=pd.Series(by_name["lon"], dtype="float64").to_numpy(),
        codes=codes,
        labels=labels,
        times={column: _utc_naive(by_name[column]) for column in _TIMES},
    )
