"""Figures for leaders: per-ward and per-street aggregates, series, density points, reports.

Each read needs ``view`` (every role has it; see :data:`geo.auth.RIGHTS`), except the
public view's per-ward counts, which an anonymous visitor may read when
``GEO_PUBLIC_VIEW`` is on. Nothing here writes, so only refusals are audited.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.auth import User
from geo.density import incident_points as _incident_points
from geo.metrics import load_ward_metrics
from geo.report import WardReport, ward_report_data
from geo.services._rights import check
from geo.store import IncidentFilter, Store, queries
from geo.store.queries import Codes, DateBound

#: Columns of the public aggregate view: counts per ward, nothing about people or places.
PUBLIC_COLUMNS: tuple[str, ...] = (
    "ward_code", "ward_name", "open", "cleared", "new", "cleared_in_period",
    "median_days_to_clear", "overdue", "recurred",
)


def ward_stats(
    store: Store, actor: User | None, date_from: DateBound = None, date_to: DateBound = None
) -> pd.DataFrame:
    """Per-ward aggregates (:func:`geo.store.queries.ward_stats`). Anonymous visitors get
    them only when the public view is on."""
    action = "view" if actor is not None else "view_public"
    check(store, actor, action, object_type="ward_stats")
    return queries.ward_stats(store, date_from, date_to)


def public_ward_stats(
    store: Store, actor: User | None = None, date_from: DateBound = None, date_to: DateBound = None
) -> pd.DataFrame:
    """The public view: per-ward counts only — no notes, addresses, names or photos."""
    check(store, actor, "view_public", object_type="public_view")
    stats = queries.ward_stats(store, date_from, date_to)
    return stats[[c for c in PUBLIC_COLUMNS if c in stats.columns]].copy()


def street_stats(
    store: Store, actor: User | None, date_from: DateBound = None, date_to: DateBound = None,
    wards: Codes = None,
) -> pd.DataFrame:
    """Per-street aggregates (:func:`geo.store.queries.street_stats`); ``view``."""
    check(store, actor, "view", object_type="street_stats")
    return queries.street_stats(store, date_from, date_to, wards)


def week_counts(
    store: Store, actor: User | None, date_from: DateBound = None, date_to: DateBound = None,
    wards: Codes = None,
) -> pd.DataFrame:
    """Per ward per ISO week (:func:`geo.store.queries.week_counts`); ``view``."""
    check(store, actor, "view", object_type="week_counts")
    return queries.week_counts(store, date_from, date_to, wards)


def progress(
    store: Store, actor: User | None, level: str = "city", key: str | None = None, freq: str = "D",
    date_from: DateBound = None, date_to: DateBound = None,
) -> pd.DataFrame:
    """Open vs cleared over time (:func:`geo.store.queries.progress`); ``view``."""
    check(store, actor, "view", object_type="progress")
    return queries.progress(store, level, key, freq, date_from, date_to)


def ward_metrics(
    store: Store, actor: User | None, wards: gpd.GeoDataFrame,
    date_from: dt.date | None = None, date_to: dt.date | None = None,
) -> pd.DataFrame:
    """The comparison metrics of every ward (:func:`geo.metrics.load_ward_metrics`); ``view``."""
    check(store, actor, "view", object_type="ward_metrics")
    return load_ward_metrics(store, wards, date_from, date_to)


def incident_points(
    store: Store, actor: User | None, flt: IncidentFilter | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of the incidents ``flt`` selects, for a density grid
    (:func:`geo.density.incident_points`); ``view``."""
    check(store, actor, "view", object_type="incidents")
    return _incident_points(store, flt)


def ward_report(
    store: Store, actor: User | None, wards: gpd.GeoDataFrame, code: str,
    date_from: dt.date | None = None, date_to: dt.date | None = None,
) -> WardReport:
    """One ward's report figures (:func:`geo.report.ward_report_data`); ``view``.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view``.
    wards
        The ward layer in use.
    code
        The ward.
    date_from, date_to
        The period (Hà Nội days, inclusive; None: open).

    Returns
    -------
    WardReport
        What :func:`geo.report.render` draws.
    """
    check(store, actor, "view", object_type="ward_report", object_id=code)
    return ward_report_data(store, wards, code, date_from, date_to)
