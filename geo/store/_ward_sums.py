"""Per-ward sums of :func:`geo.store.queries.ward_stats` from column arrays, not SQL.

Why: on a million incidents the SQL aggregate scans every row (about 4.5 s on SQLite),
and the pages ask for it up to four times per view (the period, the last week, before and
after). Its kept file (:mod:`geo._frame_file`) helps only while the store is unchanged, so
the first view after every upload paid it again. The map's incident snapshot
(:mod:`geo.snapshot`) is already in memory and kept current by small patches; the same
sums over its arrays take tens of milliseconds.

Each count is the SQL's ``CASE`` condition written as a boolean mask, with SQL's NULL
rules: a missing instant compares false (NaT does too), a missing ward is no ward's.
tests/store/test_ward_sums.py checks both paths give the same figures on both databases.
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


def ward_sums(
    columns: IncidentColumns, start: dt.datetime | None, stop: dt.datetime, due_cut: dt.datetime
) -> tuple[pd.DataFrame, pd.Series]:
    """The counts per ward and the median days to clear of the period's clearances.

    Parameters
    ----------
    columns
        The incidents' arrays (an :class:`~geo.snapshot.IncidentSnapshot` with
        ``cleared_at`` among its instants).
    start, stop
        The period [start, stop) as UTC instants (``start`` None: open).
    due_cut
        Overdue means due before this instant.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.Series)
        :data:`COUNTS` indexed by ward code (wards with an incident only), and the
        median days per ward code (wards with a clearance in the period only).
    """
    wards = columns.codes["ward_code"]
    labels = np.asarray(columns.labels["ward_code"], dtype=object)
    placed = wards >= 0
    width = len(labels)
    seen = np.bincount(wards[placed], minlength=width) > 0
    masks = _masks(columns, start, stop, due_cut)
    counts = pd.DataFrame(
        {name: np.bincount(wards[placed & masks[name]], minlength=width) for name in COUNTS},
        index=pd.Index(labels, name="ward_code"),
    )
    counts = counts[seen].astype("int64")
    cleared = placed & masks["cleared_in_period"] & ~np.isnat(columns.times["reported_at"])
    days = (columns.times["cleared_at"][cleared] - columns.times["reported_at"][cleared]).astype(
        "int64"
    ) / _DAY_NS
    median = pd.Series(days).groupby(labels[wards[cleared]]).median().astype(float)
    return counts, median


__all__ = ["COUNTS", "ward_sums"]
