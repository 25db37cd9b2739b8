"""The leaders' figures from column arrays, not SQL: the per-ward sums of
:func:`geo.store.queries.ward_stats` and the daily counts behind ``week_counts`` and
``progress``.

Why: on a million incidents the SQL aggregate scans every row (about 4.5 s on SQLite),
and the pages ask for it up to four times per view (the period, the last week, before and
after). Its kept file (:mod:`geo._frame_file`) helps only while the store is unchanged, so
the first view after every upload paid it again. The map's incident snapshot
(:mod:`geo.snapshot`) is already in memory and kept current by small patches; the same
sums over its arrays take tens of milliseconds. The week matrix and the progress series
(6.6 s and 1.7 s of SQL at a million) are the same story.

Each count is the SQL's ``CASE`` condition written as a boolean mask, with SQL's NULL
rules: a missing instant compares false (NaT does too), a missing ward is no ward's.
Hà Nội has kept UTC+7 without daylight saving since 1975, so a local day is the UTC
instant shifted by seven hours, as the SQL's ``date(x, '+7 hours')`` has it.
tests/store/test_array_figures.py checks both paths give the same figures on both databases.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from geo.store.filters import IncidentColumns, _isin, _utc_naive
from geo.store.workflow import CLOSED_STATES

#: The count columns, in the order of the SQL query's.
COUNTS: tuple[str, ...] = ("open", "cleared", "new", "cleared_in_period", "overdue")

_DAY_NS = 86_400 * 10**9
_LOCAL_SHIFT_NS = 7 * 3_600 * 10**9  # Asia/Ho_Chi_Minh, no daylight saving
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def _masks(
    columns: IncidentColumns, start: dt.datetime | None, stop: dt.datetime, due_cut: dt.datetime
) -> dict[str, np.ndarray]:
    """One boolean per incident and count: the period [start, stop), overdue at ``due_cut``."""
    reported = columns.times["reported_at"]
    cleared_at = columns.times["cleared_at"]
    stop64 = _utc_naive(stop)
    closed = _isin(columns, "status", CLOSED_STATES)
    closed_by_stop = closed & (np.isnat(cleared_at) | (cleared_at < stop64))
    known = reported < stop64
    open_at_stop = known & ~closed_by_stop
    started = known if start is None else known & (reported >= _utc_naive(start))
    cleared_in = closed & (cleared_at < stop64)
    if start is not None:
        cleared_in &= cleared_at >= _utc_naive(start)
    return {
        "open": open_at_stop,
        "cleared": known & closed_by_stop,
        "new": started,
        "cleared_in_period": cleared_in,
        "overdue": open_at_stop & (columns.times["due_at"] < _utc_naive(due_cut)),
    }


def group_sums(
    columns: IncidentColumns,
    key: str,
    keep: np.ndarray,
    start: dt.datetime | None,
    stop: dt.datetime,
    due_cut: dt.datetime,
) -> tuple[pd.DataFrame, pd.Series]:
    """The counts per value of ``key`` and the median days to clear of the period's clearances.

    Parameters
    ----------
    columns
        The incidents' arrays (an :class:`~geo.snapshot.IncidentSnapshot` with
        ``cleared_at`` among its instants).
    key
        The category column grouped by (``ward_code``, ``street``).
    keep
        The incidents counted (one bool each); those without a ``key`` never are.
    start, stop
        The period [start, stop) as UTC instants (``start`` None: open).
    due_cut
        Overdue means due before this instant.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.Series)
        :data:`COUNTS` indexed by the key's value (values with a kept incident only), and
        the median days per value (values with a kept clearance in the period only).
    """
    codes = columns.codes[key]
    labels = np.asarray(columns.labels[key], dtype=object)
    keep = keep & (codes >= 0)
    width = len(labels)
    seen = np.bincount(codes[keep], minlength=width) > 0
    masks = _masks(columns, start, stop, due_cut)
    counts = pd.DataFrame(
        {name: np.bincount(codes[keep & masks[name]], minlength=width) for name in COUNTS},
        index=pd.Index(labels, name=key),
    )
    counts = counts[seen].astype("int64")
    cleared = keep & masks["cleared_in_period"] & ~np.isnat(columns.times["reported_at"])
    days = (columns.times["cleared_at"][cleared] - columns.times["reported_at"][cleared]).astype("int64")
    median = pd.Series(days / _DAY_NS).groupby(labels[codes[cleared]]).median().astype(float)
    return counts, median


def ward_sums(
    columns: IncidentColumns, start: dt.datetime | None, stop: dt.datetime, due_cut: dt.datetime
) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`group_sums` per ward, over every incident with one."""
    return group_sums(columns, "ward_code", np.ones(len(columns.codes["ward_code"]), dtype=bool), start, stop, due_cut)


def key_wards(columns: IncidentColumns, key: str, keep: np.ndarray) -> pd.Series:
    """The wards each value of ``key`` has kept incidents in, sorted and comma-joined."""
    codes, wards = columns.codes[key], columns.codes["ward_code"]
    both = keep & (codes >= 0) & (wards >= 0)
    width = len(columns.labels["ward_code"]) + 1
    pairs = np.unique(codes[both].astype(np.int64) * width + wards[both])
    labels = np.asarray(columns.labels[key], dtype=object)
    ward_labels = np.asarray(columns.labels["ward_code"], dtype=object)
    pairs_frame = pd.DataFrame({"key": labels[pairs // width], "ward": ward_labels[pairs % width]})
    return pairs_frame.groupby("key")["ward"].agg(lambda s: ",".join(sorted(s)))


def _local_buckets(instants: np.ndarray, weekly: bool) -> np.ndarray:
    """The Hà Nội day (or the Monday of its ISO week) of UTC ``datetime64[ns]`` instants,
    as days since the epoch."""
    days = (instants.astype("int64") + _LOCAL_SHIFT_NS) // _DAY_NS
    return days - (days + _EPOCH_WEEKDAY) % 7 if weekly else days


def _counted(keys: np.ndarray, buckets: np.ndarray, labels: np.ndarray | None) -> pd.DataFrame:
    """Rows per distinct (key code, bucket): ``key`` (its label, when grouped), ``bucket``
    as ``YYYY-MM-DD`` text (what the SQL gives), ``n``."""
    lo = int(buckets.min()) if len(buckets) else 0
    span = (int(buckets.max()) - lo + 1) if len(buckets) else 1
    pairs, n = np.unique(keys.astype(np.int64) * span + (buckets - lo), return_counts=True)
    frame = pd.DataFrame({"bucket": (pairs % span + lo).astype("datetime64[D]").astype(str), "n": n.astype("int64")})
    if labels is not None:
        frame.insert(0, "key", labels[pairs // span])
    return frame


def daily_counts(
    columns: IncidentColumns, keep: np.ndarray, key: str | None, weekly: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """New reports per (key, local day or week) and clearances per (key, day or week).

    As the SQL of ``queries._daily_counts``: every kept incident is new on its report's
    day; a closed one is cleared on its clearance's day, or its report's when it has no
    clearance instant.

    Parameters
    ----------
    columns
        The incidents' arrays.
    keep
        The incidents counted (one bool each).
    key
        The category column grouped by (None: everything together).
    weekly
        Buckets are the Mondays of ISO weeks instead of days.

    Returns
    -------
    tuple of pandas.DataFrame
        New and cleared: ``key`` (when grouped), ``bucket`` (``YYYY-MM-DD``), ``n``.
    """
    codes = columns.codes[key] if key is not None else np.zeros(len(keep), dtype=np.int32)
    labels = np.asarray(columns.labels[key], dtype=object) if key is not None else None
    reported = columns.times["reported_at"]
    new = keep & ~np.isnat(reported)
    closed = keep & _isin(columns, "status", CLOSED_STATES)
    cleared_at = columns.times["cleared_at"]
    when = np.where(np.isnat(cleared_at), reported, cleared_at)
    closed &= ~np.isnat(when)
    return (
        _counted(codes[new], _local_buckets(reported[new], weekly), labels),
        _counted(codes[closed], _local_buckets(when[closed], weekly), labels),
    )


__all__ = ["COUNTS", "daily_counts", "group_sums", "key_wards", "ward_sums"]
