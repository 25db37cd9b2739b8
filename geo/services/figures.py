"""Figures for leaders: per-ward and per-street aggregates, series, density points, reports.

Each read needs ``view`` (every role has it; see :data:`geo.auth.RIGHTS`), except the
public view's per-ward counts, which an anonymous visitor may read when
``GEO_PUBLIC_VIEW`` is on. Nothing here writes, so only refusals are audited. The reads
that need ``view`` alone are their domain function behind :func:`~geo.services._rights.viewing`:
same arguments, with the acting user after the store.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from geo._frame_file import persisted
from geo.auth import User
from geo.density import incident_points as _incident_points
from geo.metrics import kept_ward_stats, load_ward_metrics
from geo.report import ward_report_data
from geo.services._rights import check, viewing
from geo.snapshot import IncidentSnapshot, over_snapshot
from geo.store import Store, queries
from geo.store.queries import DateBound

#: Columns of the public aggregate view: counts per ward, nothing about people or places.
PUBLIC_COLUMNS: tuple[str, ...] = (
    "ward_code", "ward_name", "open", "cleared", "new", "cleared_in_period",
    "median_days_to_clear", "overdue", "recurred",
)

#: The matrix and the series are kept on disk per store state and day (:mod:`geo._frame_file`);
#: per-ward and per-street figures only when the clock cannot change them (see there).
#: Each takes ``snapshot=`` (a function giving the map's snapshot): an answer not kept is
#: then counted over its arrays instead of grouped in SQL (:func:`geo.snapshot.over_snapshot`).
street_stats = viewing(
    persisted(over_snapshot(queries.street_stats), as_of_now=True, unkeyed=("snapshot",)), "street_stats"
)
week_counts = viewing(persisted(over_snapshot(queries.week_counts), unkeyed=("snapshot",)), "week_counts")
progress = viewing(persisted(over_snapshot(queries.progress), unkeyed=("snapshot",)), "progress")
ward_metrics = viewing(load_ward_metrics, "ward_metrics")
incident_points = viewing(_incident_points, "incidents")
ward_report = viewing(ward_report_data, "ward_report")


def ward_stats(
    store: Store,
    actor: User | None,
    date_from: DateBound = None,
    date_to: DateBound = None,
    *,
    snapshot: Callable[[], IncidentSnapshot] | None = None,
) -> pd.DataFrame:
    """Per-ward aggregates (:func:`geo.store.queries.ward_stats`).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view``; None (not signed in) needs ``view_public``, which only the
        public view (``GEO_PUBLIC_VIEW``) grants.
    date_from, date_to
        The period (bare dates: Hà Nội days, inclusive; None: open).
    snapshot
        Gives the map's incident snapshot, called only when the answer is not kept on
        disk; it is then summed over the snapshot's arrays (see
        :func:`geo.metrics.kept_ward_stats`).

    Returns
    -------
    pandas.DataFrame
        One row per current ward, every column of the query.
    """
    action = "view" if actor is not None else "view_public"
    check(store, actor, action, object_type="ward_stats")
    return kept_ward_stats(store, date_from, date_to, snapshot=snapshot)


def public_ward_stats(
    store: Store, actor: User | None = None, date_from: DateBound = None, date_to: DateBound = None
) -> pd.DataFrame:
    """The public view: per-ward counts only — no notes, addresses, names or photos.

    Parameters
    ----------
    store
        The store.
    actor
        Anyone; needs ``view_public`` (on only with ``GEO_PUBLIC_VIEW``).
    date_from, date_to
        The period (bare dates: Hà Nội days, inclusive; None: open).

    Returns
    -------
    pandas.DataFrame
        :data:`PUBLIC_COLUMNS` only.
    """
    check(store, actor, "view_public", object_type="public_view")
    stats = kept_ward_stats(store, date_from, date_to)
    return stats[[c for c in PUBLIC_COLUMNS if c in stats.columns]].copy()
