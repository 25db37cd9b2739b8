"""Periods in Hà Nội time: the bounds of a query and the running counts of a series.

A bare date is a calendar day in Hà Nội (Asia/Ho_Chi_Minh, UTC+7, no daylight saving);
``date_to`` is inclusive for a bare date. These helpers are pure (no database), shared by
:mod:`geo.store.queries` and the views that filter a snapshot the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from geo.crs import LOCAL_TZ
from geo.errors import StorageError

#: A period bound: a date (a Hà Nội day), a timestamp (naive: Hà Nội time) or ISO text.
DateBound = str | dt.date | None
#: One code or several (None: no filter; an empty list selects nothing).
Codes = str | Iterable[str] | None


def local_bound(value: DateBound, *, end: bool = False) -> dt.datetime | None:
    """A UTC instant for a period bound; bare dates are Hà Nội days, ``end`` is exclusive."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    bare_date = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if isinstance(value, str):
        bare_date = len(value.strip()) == 10
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise StorageError(
            f"Không hiểu ngày {value!r} (dùng dạng YYYY-MM-DD).",
            f"Cannot read the date {value!r} (use YYYY-MM-DD).",
        ) from exc
    if ts.tzinfo is None:
        ts = ts.tz_localize(LOCAL_TZ)
    if bare_date and end:
        ts = ts + pd.Timedelta(days=1)
    return ts.tz_convert("UTC").to_pydatetime()


def period_bounds(date_from: DateBound, date_to: DateBound) -> tuple[dt.datetime | None, dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    start = local_bound(date_from)
    stop = local_bound(date_to, end=True) or now
    return start, stop, min(stop, now)


def cumulate(both: pd.DataFrame, freq: str, date_from: DateBound, date_to: DateBound) -> pd.DataFrame:
    """Fill every period per key, then running open = cumulative new − cumulative cleared."""
    weekly = freq.startswith("W")
    first = both["bucket"].min()
    last = both["bucket"].max()
    today = pd.Timestamp(dt.datetime.now(dt.UTC)).tz_convert(LOCAL_TZ).tz_localize(None).normalize()
    stop_local = local_bound(date_to, end=True)
    if stop_local is not None:
        end = pd.Timestamp(stop_local).tz_convert(LOCAL_TZ).tz_localize(None) - pd.Timedelta("1us")
        last = max(last, end.normalize())
    else:
        last = max(last, today)
    if weekly:
        first = first - pd.Timedelta(days=first.weekday())
        last = last - pd.Timedelta(days=last.weekday())
        periods = pd.date_range(first, last, freq="7D")
    else:
        periods = pd.date_range(first.normalize(), last.normalize(), freq="D")
    table = both.pivot_table(index=["key", "bucket"], columns="kind", values="n", aggfunc="sum", fill_value=0)
    for kind in ("new", "cleared"):
        if kind not in table:
            table[kind] = 0
    keys = sorted(both["key"].unique())
    full = pd.MultiIndex.from_product([keys, periods], names=["key", "period"])
    table.index = table.index.set_names(["key", "period"])
    table = table.reindex(full, fill_value=0)[["new", "cleared"]].astype("int64")
    cum = table.groupby(level="key").cumsum()
    table["open_end"] = (cum["new"] - cum["cleared"]).astype("int64")
    table["cleared_total"] = cum["cleared"].astype("int64")
    out = table.reset_index()
    out.columns.name = None
    if stop_local is not None:
        out = out[out["period"] <= end]
    start_local = local_bound(date_from)
    if start_local is not None:
        start = pd.Timestamp(start_local).tz_convert(LOCAL_TZ).tz_localize(None).normalize()
        if weekly:
            start = start - pd.Timedelta(days=start.weekday())
        out = out[out["period"] >= start]
    return out
