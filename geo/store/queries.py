"""Reads and aggregates for the app, computed in the database where it can.

Periods are given as dates or timestamps. A bare date is a calendar day in Hà Nội
(Asia/Ho_Chi_Minh, UTC+7); ``date_to`` is inclusive for a bare date. Days and ISO weeks
are Hà Nội days and weeks too, so a report at 06:00 on a Monday counts for that Monday.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.sql import Select

from geo.crs import LOCAL_TZ, STORAGE_CRS
from geo.errors import NotFound, StorageError
from geo.store import wards as stored_wards
from geo.store._array_figures import COUNTS, daily_counts, group_sums, key_wards, ward_sums
from geo.store._core import Store
from geo.store._periods import Codes, DateBound, cumulate, local_bound, period_bounds
from geo.store._schema import TIMESTAMP_COLUMNS
from geo.store.filters import IncidentColumns, IncidentFilter, _isin
from geo.store.workflow import CLOSED_STATES, OPEN_STATES

__all__ = [
    "LOCAL_TZ", "Codes", "DateBound", "IncidentDetail", "audit_log", "incident", "incidents", "local_bound",
    "progress", "street_names", "street_stats", "ward_stats", "week_counts",
]


def _utc_frame(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=list(columns))
    for name in TIMESTAMP_COLUMNS:
        if name in frame:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _as_list(value: Codes) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return list(value)


def incidents(
    store: Store,
    flt: IncidentFilter | None = None,
    *,
    limit: int | None = None,
    now: dt.datetime | None = None,
    ids: Sequence[int] | None = None,
) -> gpd.GeoDataFrame:
    """Incidents that ``flt`` selects (EPSG:4326 points, ordered by id).

    Parameters
    ----------
    store
        The store.
    flt
        Which incidents (:class:`~geo.store.filters.IncidentFilter`; None: all).
    limit
        At most this many (the lowest ids).
    ids
        Only these incidents, of those ``flt`` selects (None: any): the ids a snapshot's
        mask already chose, looked up by primary key where the filter alone would scan
        every row its most selective index names (the map's markers).
    now
        The instant ``overdue`` is judged at, in the filter and the column (default: now).

    Returns
    -------
    geopandas.GeoDataFrame
        The ``incidents`` columns (instants as UTC datetimes) and ``overdue`` (past
        ``due_at`` and still open, as of ``now``), with point geometry.
    """
    now = now or dt.datetime.now(dt.UTC)
    t = store.tables["incidents"]
    columns = [c for c in t.c if c.name != "geom"]
    conds = (flt or IncidentFilter()).conditions(store, now=now)
    if ids is not None:
        conds.append(t.c.id.in_([int(i) for i in ids]))
    stmt: Select[Any] = select(*columns).where(*conds).order_by(t.c.id)
    if limit is not None:
        stmt = stmt.limit(int(limit))
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    frame = _utc_frame(rows, [c.name for c in columns])
    for name in ("id", "batch_id", "recurrence_of", "source_row"):
        frame[name] = frame[name].astype("Int64")
    frame["overdue"] = frame["status"].isin(OPEN_STATES) & (frame["due_at"] < pd.Timestamp(now))
    geometry = gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float), crs=STORAGE_CRS)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=STORAGE_CRS)


def street_names(store: Store) -> list[str]:
    """The distinct street names stored in incidents (what a typed street is looked up in).

    Parameters
    ----------
    store
        The store whose incidents are read.

    Returns
    -------
    list of str
        Every non-empty name once, in sorted order.
    """
    t = store.tables["incidents"]
    stmt = select(t.c.street).where(t.c.street.is_not(None), t.c.street != "").distinct()
    with store.read() as conn:
        return sorted(str(row[0]) for row in conn.execute(stmt))


@dataclass(frozen=True)
class IncidentDetail:
    """One incident and its full status history (oldest first)."""

    incident: dict[str, Any]
    history: pd.DataFrame


def incident(store: Store, incident_id: int) -> IncidentDetail:
    """One incident and its status history; :class:`~geo.errors.NotFound` if there is none.

    Parameters
    ----------
    store
        The store.
    incident_id
        The incident's id.

    Returns
    -------
    IncidentDetail
        The row as a dict and the status events, oldest first.
    """
    t = store.tables["incidents"]
    e = store.tables["status_events"]
    columns = [c for c in t.c if c.name != "geom"]
    with store.read() as conn:
        row = conn.execute(select(*columns).where(t.c.id == int(incident_id))).mappings().first()
        if row is None:
            raise NotFound(f"Không có sự việc số {incident_id}.", f"There is no incident {incident_id}.")
        events = conn.execute(
            select(e).where(e.c.incident_id == int(incident_id)).order_by(e.c.at, e.c.id)
        ).all()
    history = pd.DataFrame(list(events), columns=list(e.c.keys()))
    history["at"] = pd.to_datetime(history["at"], utc=True)
    return IncidentDetail(dict(row), history)


def _period_sums(store: Store, start: dt.datetime | None, stop: dt.datetime, due_cut: dt.datetime) -> list[Any]:
    """Aggregates over ``incidents`` for the period [start, stop)."""
    t = store.tables["incidents"]
    closed = t.c.status.in_(CLOSED_STATES)
    closed_by_stop = and_(closed, or_(t.c.cleared_at.is_(None), t.c.cleared_at < stop))
    known = t.c.reported_at < stop
    open_at_stop = and_(known, not_(closed_by_stop))
    started = known if start is None else and_(known, t.c.reported_at >= start)
    cleared_in = and_(closed, t.c.cleared_at < stop)
    if start is not None:
        cleared_in = and_(cleared_in, t.c.cleared_at >= start)

    def count(cond: ColumnElement[bool], name: str) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(name)

    return [
        count(open_at_stop, "open"),
        count(and_(known, closed_by_stop), "cleared"),
        count(started, "new"),
        count(cleared_in, "cleared_in_period"),
        count(and_(open_at_stop, t.c.due_at < due_cut), "overdue"),
    ]


def _cleared_in_period(store: Store, start: dt.datetime | None, stop: dt.datetime) -> ColumnElement[bool]:
    t = store.tables["incidents"]
    cond = and_(t.c.status.in_(CLOSED_STATES), t.c.cleared_at.is_not(None), t.c.cleared_at < stop)
    return cond if start is None else and_(cond, t.c.cleared_at >= start)


def _median_days(
    store: Store,
    key: ColumnElement[Any],
    start: dt.datetime | None,
    stop: dt.datetime,
    conds: Sequence[ColumnElement[bool]] = (),
) -> pd.Series:
    t = store.tables["incidents"]
    days = store.backend.days_between(t.c.cleared_at, t.c.reported_at)
    where = and_(_cleared_in_period(store, start, stop), *conds)
    with store.read() as conn:
        return store.backend.median_by(conn, key, days, where)


def _ward_sums_sql(
    store: Store, start: dt.datetime | None, stop: dt.datetime, due_cut: dt.datetime
) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`geo.store._array_figures.ward_sums` as one SQL aggregate and a median query."""
    t = store.tables["incidents"]
    with store.read() as conn:
        sums = conn.execute(
            select(t.c.ward_code, *_period_sums(store, start, stop, due_cut))
            .where(t.c.ward_code.is_not(None))
            .group_by(t.c.ward_code)
        ).all()
    counts = pd.DataFrame(list(sums), columns=["ward_code", *COUNTS]).set_index("ward_code")
    return counts, _median_days(store, t.c.ward_code, start, stop)


def ward_stats(
    store: Store,
    date_from: DateBound = None,
    date_to: DateBound = None,
    *,
    columns: IncidentColumns | None = None,
) -> pd.DataFrame:
    """Per ward for the period: open and cleared at its end, new and cleared within it,
    median days to clear (of those cleared within it), overdue at its end, recurrences
    recorded within it. Every current ward appears, with zeros when it has no incidents.

    Parameters
    ----------
    store
        The store.
    date_from, date_to
        The period: bare dates are Hà Nội days, both inclusive; None leaves it open. Figures "at its end" are as of now
        when the period ends later.
    columns
        The incidents as arrays (the map's :class:`~geo.snapshot.IncidentSnapshot`, current):
        the counts and medians are then summed over them (:mod:`geo.store._array_figures`)
        instead of scanning every row in SQL; only the recurrences are read.

    Returns
    -------
    pandas.DataFrame
        ``ward_code``, ``ward_name``, ``open``, ``cleared``, ``new``,
        ``cleared_in_period``, ``median_days_to_clear``, ``overdue``, ``recurred``.
    """
    start, stop, due_cut = period_bounds(date_from, date_to)
    if columns is None:
        counts, median = _ward_sums_sql(store, start, stop, due_cut)
    else:
        counts, median = ward_sums(columns, start, stop, due_cut)
    t = store.tables["incidents"]
    e = store.tables["status_events"]
    with store.read() as conn:
        recurred_cond = and_(e.c.to_status == "recurred", e.c.at < stop)
        if start is not None:
            recurred_cond = and_(recurred_cond, e.c.at >= start)
        recurred = conn.execute(
            select(t.c.ward_code, func.count().label("recurred"))
            .select_from(e.join(t, e.c.incident_id == t.c.id))
            .where(recurred_cond, t.c.ward_code.is_not(None))
            .group_by(t.c.ward_code)
        ).all()
        wards = stored_wards.current(store, conn=conn)[["code", "name"]]
    rec = pd.DataFrame(list(recurred), columns=["ward_code", "recurred"]).set_index("ward_code")
    codes = sorted(set(wards["code"]) | set(counts.index))
    out = pd.DataFrame({"ward_code": codes})
    out["ward_name"] = out["ward_code"].map(dict(zip(wards["code"], wards["name"], strict=True)))
    for name in ("open", "cleared", "new", "cleared_in_period"):
        out[name] = out["ward_code"].map(counts[name]).fillna(0).astype("int64")
    out["median_days_to_clear"] = out["ward_code"].map(median).astype(float)
    out["overdue"] = out["ward_code"].map(counts["overdue"]).fillna(0).astype("int64")
    out["recurred"] = out["ward_code"].map(rec["recurred"]).fillna(0).astype("int64")
    return out


def street_stats(
    store: Store,
    date_from: DateBound = None,
    date_to: DateBound = None,
    wards: Codes = None,
    *,
    columns: IncidentColumns | None = None,
) -> pd.DataFrame:
    """Per street (as written in the incidents): the same figures as :func:`ward_stats`
    except recurrences, plus the wards the street's incidents lie in. Busiest first.

    Parameters
    ----------
    store
        The store.
    date_from, date_to
        The period: bare dates are Hà Nội days, both inclusive; None leaves it open.
    wards
        Only incidents in these wards (None: all); the median days too.
    columns
        The incidents as current arrays (the map's snapshot): summed over them
        (:mod:`geo.store._array_figures`) instead of grouped in SQL.

    Returns
    -------
    pandas.DataFrame
        ``street``, ``wards`` (comma-joined codes), ``open``, ``cleared``, ``new``,
        ``cleared_in_period``, ``overdue``, ``median_days_to_clear``.
    """
    start, stop, due_cut = period_bounds(date_from, date_to)
    ward_list = _as_list(wards)
    if columns is None:
        counts, median, ward_lists = _street_sums_sql(store, ward_list, start, stop, due_cut)
    else:
        keep = columns.codes["street"] >= 0
        keep &= np.append(np.asarray(columns.labels["street"], dtype=object) != "", False)[columns.codes["street"]]
        if ward_list is not None:
            keep &= _isin(columns, "ward_code", ward_list)
        counts, median = group_sums(columns, "street", keep, start, stop, due_cut)
        ward_lists = key_wards(columns, "street", keep)
    if counts.empty:
        return pd.DataFrame(columns=["street", "wards", *COUNTS, "median_days_to_clear"])
    out = counts.sort_index()
    out.index.name = "street"
    out.insert(0, "wards", [ward_lists.get(k, "") for k in out.index])
    out["median_days_to_clear"] = [median.get(k, np.nan) for k in out.index]
    out = out.reset_index().sort_values(["open", "new", "street"], ascending=[False, False, True])
    return out.reset_index(drop=True)


def _street_sums_sql(
    store: Store, ward_list: list[str] | None, start: dt.datetime | None, stop: dt.datetime, due_cut: dt.datetime
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Per named street: :data:`COUNTS`, the median days to clear and the wards, in SQL."""
    t = store.tables["incidents"]
    conds: list[ColumnElement[bool]] = [t.c.street.is_not(None), t.c.street != ""]
    if ward_list is not None:
        conds.append(t.c.ward_code.in_(ward_list))
    with store.read() as conn:
        rows = conn.execute(
            select(t.c.street, t.c.ward_code, *_period_sums(store, start, stop, due_cut))
            .where(*conds)
            .group_by(t.c.street, t.c.ward_code)
        ).all()
    frame = pd.DataFrame(list(rows), columns=["street", "ward_code", *COUNTS])
    grouped = frame.groupby("street", sort=True)
    counts = grouped[list(COUNTS)].sum().astype("int64")
    ward_lists = grouped["ward_code"].agg(lambda s: ",".join(sorted(s.dropna().unique())))
    return counts, _median_days(store, t.c.street, start, stop, conds), ward_lists


def _daily_counts(
    store: Store,
    conds: list[ColumnElement[bool]],
    key: ColumnElement[Any] | None,
    bucket: Callable[[ColumnElement[Any]], ColumnElement[Any]],
) -> pd.DataFrame:
    """New and cleared counts per (key, bucket) over all history matching ``conds``."""
    t = store.tables["incidents"]
    clear_time = func.coalesce(t.c.cleared_at, t.c.reported_at)
    key_cols = [key.label("key")] if key is not None else []
    new_bucket = bucket(t.c.reported_at).label("bucket")
    clear_bucket = bucket(clear_time).label("bucket")
    with store.read() as conn:
        new = conn.execute(
            select(*key_cols, new_bucket, func.count().label("n"))
            .where(*conds)
            .group_by(*key_cols, new_bucket)
        ).all()
        cleared = conn.execute(
            select(*key_cols, clear_bucket, func.count().label("n"))
            .where(*conds, t.c.status.in_(CLOSED_STATES))
            .group_by(*key_cols, clear_bucket)
        ).all()
    cols = (["key"] if key is not None else []) + ["bucket", "n"]
    return _both(pd.DataFrame(list(new), columns=cols), pd.DataFrame(list(cleared), columns=cols))


def _both(new: pd.DataFrame, cleared: pd.DataFrame) -> pd.DataFrame:
    """The new and cleared counts as one long frame (``kind``), buckets as timestamps,
    ``key`` "city" when not grouped: what :func:`cumulate` takes."""
    both = pd.concat([new.assign(kind="new"), cleared.assign(kind="cleared")], ignore_index=True)
    both["bucket"] = pd.to_datetime(both["bucket"].astype(str))
    if "key" not in both.columns:
        both["key"] = "city"
    return both


def week_counts(
    store: Store,
    date_from: DateBound = None,
    date_to: DateBound = None,
    wards: Codes = None,
    *,
    columns: IncidentColumns | None = None,
) -> pd.DataFrame:
    """Per ward per ISO week (Hà Nội time): new, cleared, and open at the week's end.

    One row for every (ward with incidents) × (week from the first report to the last
    week of the period), so a heat matrix needs no gap filling.

    Parameters
    ----------
    store
        The store.
    date_from, date_to
        The weeks shown: bare dates are Hà Nội days, both inclusive; None leaves it open.
    wards
        Only these wards (None: every ward with incidents).
    columns
        The incidents as current arrays (the map's snapshot): counted over them
        (:mod:`geo.store._array_figures`) instead of grouped in SQL.

    Returns
    -------
    pandas.DataFrame
        ``ward_code``, ``week`` (its Monday), ``iso_week`` (``2025-W07``), ``new``,
        ``cleared``, ``open_end``.
    """
    ward_list = _as_list(wards)
    if columns is None:
        t = store.tables["incidents"]
        conds: list[ColumnElement[bool]] = [t.c.ward_code.is_not(None)]
        if ward_list is not None:
            conds.append(t.c.ward_code.in_(ward_list))
        both = _daily_counts(store, conds, t.c.ward_code, store.backend.local_week)
    else:
        keep = columns.codes["ward_code"] >= 0
        if ward_list is not None:
            keep &= _isin(columns, "ward_code", ward_list)
        both = _both(*daily_counts(columns, keep, "ward_code", weekly=True))
    out_columns = ["ward_code", "week", "iso_week", "new", "cleared", "open_end"]
    if both.empty:
        return pd.DataFrame(columns=out_columns)
    matrix = cumulate(both, "W-MON", date_from, date_to)
    matrix = matrix.rename(columns={"key": "ward_code", "period": "week"})
    iso = matrix["week"].dt.isocalendar()
    matrix["iso_week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    return matrix[out_columns].reset_index(drop=True)


def progress(
    store: Store,
    level: str = "city",
    key: str | None = None,
    freq: str = "D",
    date_from: DateBound = None,
    date_to: DateBound = None,
    *,
    columns: IncidentColumns | None = None,
) -> pd.DataFrame:
    """Open vs cleared over time for the city, one ward (``key`` = code) or one street.

    Parameters
    ----------
    store
        The store.
    level
        ``"city"``, ``"ward"`` or ``"street"``.
    key
        The ward code or street name (ignored for the city).
    freq
        ``"D"`` (Hà Nội days) or ``"W"`` (ISO weeks).
    date_from, date_to
        The periods shown: bare dates are Hà Nội days, both inclusive; None leaves it open.
    columns
        The incidents as current arrays (the map's snapshot): counted over them
        (:mod:`geo.store._array_figures`) instead of grouped in SQL.

    Returns
    -------
    pandas.DataFrame
        ``period`` (the day, or the Monday of the week), ``new``, ``cleared`` (within
        the period), ``open`` (at its end), ``cleared_total`` (up to its end).
    """
    t = store.tables["incidents"]
    conds: list[ColumnElement[bool]] = []
    column = {"ward": "ward_code", "street": "street"}.get(level)
    if column is not None:
        conds.append(t.c[column] == key)
    elif level != "city":
        raise StorageError(
            f"Cấp thống kê không hợp lệ {level!r} (city, ward, street).",
            f"Unknown level {level!r} (city, ward or street).",
        )
    if freq not in ("D", "W"):
        raise StorageError(f"Chu kỳ không hợp lệ {freq!r} (D, W).", f"Unknown frequency {freq!r} (D or W).")
    if columns is None:
        bucket = store.backend.local_week if freq == "W" else store.backend.local_day
        both = _daily_counts(store, conds, None, bucket)
    else:
        keep = np.ones(len(columns.codes["ward_code"]), dtype=bool)
        if column is not None:
            # as SQLAlchemy's ``column == None``, which it writes ``IS NULL``
            keep = _isin(columns, column, [key]) if key is not None else columns.codes[column] < 0
        both = _both(*daily_counts(columns, keep, None, weekly=freq == "W"))
    out_columns = ["period", "new", "cleared", "open", "cleared_total"]
    if both.empty:
        return pd.DataFrame(columns=out_columns)
    series = cumulate(both, "W-MON" if freq == "W" else "D", date_from, date_to)
    series = series.rename(columns={"open_end": "open"})
    stop_local = local_bound(date_to, end=True)
    if stop_local is not None:
        end = pd.Timestamp(stop_local).tz_convert(LOCAL_TZ).tz_localize(None)
        series = series[series["period"] < end]
    return series[out_columns].reset_index(drop=True)



def audit_log(store: Store, limit: int | None = None) -> pd.DataFrame:
    """The audit log, newest first.

    Parameters
    ----------
    store
        The store.
    limit
        At most this many entries (None or 0: all).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``at`` (UTC), ``actor``, ``action``, ``object_type``, ``object_id``,
        ``details``.
    """
    t = store.tables["audit_log"]
    stmt = select(t).order_by(t.c.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    with store.read() as conn:
        rows = conn.execute(stmt).mappings().all()
    frame = pd.DataFrame(rows, columns=list(t.c.keys()))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame
