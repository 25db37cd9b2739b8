"""One incident filter for the map page, the shareable map file and the CLI.

A view (wards, types, statuses, dates, street, overdue only) is a small value object so
the app can put it in the URL and ``python -m geo map`` can rebuild exactly that view.
:func:`apply_filter` is a pure pandas selection over the store's incident frame.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from geo.names import ascii_key, name_key

#: Workflow states that count as open (not cleared).
OPEN_STATES = frozenset({"reported", "verified", "in_progress", "recurred"})


@dataclass(frozen=True)
class IncidentFilter:
    """Empty fields select everything; dates are inclusive local (Asia/Ho_Chi_Minh) days."""

    wards: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    street: str = ""
    overdue: bool = False

    @property
    def is_empty(self) -> bool:
        return not (
            self.wards
            or self.types
            or self.statuses
            or self.date_from
            or self.date_to
            or self.street
            or self.overdue
        )


LOCAL_TZ = "Asia/Ho_Chi_Minh"


def _local_day_bound(day: dt.date, *, end: bool) -> pd.Timestamp:
    stamp = pd.Timestamp(day).tz_localize(LOCAL_TZ)
    if end:
        stamp = stamp + pd.Timedelta(days=1)
    return stamp.tz_convert("UTC")


def street_mask(streets: pd.Series, query: str) -> pd.Series:
    """Rows whose street contains ``query``: with diacritics when typed, else ASCII."""
    query = query.strip()
    values = streets.fillna("").astype(str)
    if not query:
        return pd.Series(True, index=streets.index)
    if ascii_key(query).replace("_", " ") == name_key(query):
        needle = ascii_key(query)
        return values.map(lambda s: needle in ascii_key(s))
    needle = name_key(query)
    return values.map(lambda s: needle in name_key(s))


def apply_filter(
    incidents: pd.DataFrame, flt: IncidentFilter, *, now: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The rows of ``incidents`` the filter selects (a new frame, same index)."""
    mask = pd.Series(True, index=incidents.index)
    if flt.wards:
        mask &= incidents["ward_code"].isin(list(flt.wards))
    if flt.types:
        mask &= incidents["type"].isin(list(flt.types))
    if flt.statuses:
        mask &= incidents["status"].isin(list(flt.statuses))
    if flt.date_from or flt.date_to:
        reported = pd.to_datetime(incidents["reported_at"], utc=True)
        if flt.date_from:
            mask &= reported >= _local_day_bound(flt.date_from, end=False)
        if flt.date_to:
            mask &= reported < _local_day_bound(flt.date_to, end=True)
    if flt.street:
        mask &= street_mask(incidents["street"], flt.street)
    if flt.overdue:
        now = now if now is not None else pd.Timestamp.now(tz="UTC")
        due = pd.to_datetime(incidents["due_at"], utc=True)
        mask &= incidents["status"].isin(OPEN_STATES) & due.notna() & (due < now)
    return incidents[mask.fillna(False).astype(bool)].copy()


def load_incidents(url: str | None = None) -> pd.DataFrame | None:
    """The store's incidents as a plain frame, or None while no store module exists."""
    try:
        from geo.store import open_store  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    frame = open_store(url).incidents()
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
