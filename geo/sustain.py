"""Sustained order: does a clearance last? Clear spells, Kaplan–Meier, and the measures.

Clearing a sidewalk is easy; keeping it clear is the job. Counting clearances rewards a
ward that clears the same corner every week, so the measures here follow *places* (see
:mod:`geo.places`) through time instead. ``docs/sustained_order.md`` explains each one.

Inputs
------
``incidents`` — one row per incident (any order), columns:

* ``place_id`` (int): the place the incident belongs to;
* ``type``, ``ward_code``, ``street`` (text; ``street`` may be missing or blank);
* ``reported_at``, ``cleared_at`` (instants; tz-aware, or naive meaning UTC; ``cleared_at``
  empty while open);
* ``id`` (optional): breaks ties of equal ``reported_at``; otherwise the row order does.

``checks`` — re-inspections, one row each: ``place_id``, ``checked_at``, ``result``
(``"clear"`` or ``"violation"``, as :func:`geo.reinspect.parse_result` gives them).

Episodes and recurrences are derived from the place's own timeline, so a recurrence
recorded through the workflow (``recurrence_of``) and a fresh report of the same spot
count the same: an incident reported while the place has an open incident joins that
*episode*; one reported after every incident of the episode is cleared starts a new
episode — a **recurrence**. An episode is cleared when its last incident is.

Spells
------
Each cleared episode starts a **clear spell** at its clearance. A new report or a
``violation`` check at the place after it ends the spell: an *event* at that day. Otherwise
a ``clear`` check extends what is known and the spell is right-censored at the last one;
with no check at all it is censored at day 0 and *unverified* — nobody looked, so the
silence is not evidence. Everything is seen "as of" a date: later reports, clearances
and checks are ignored, so a past report can be reproduced.

Code
----
One topic per module, re-exported here (the one door for callers): instants and ids
(:mod:`geo._sustain_time`), spells (:mod:`geo._sustain_spells`), Kaplan–Meier
(:mod:`geo._sustain_km`) and the campaign flag (:mod:`geo._sustain_campaign`); this
module groups the spells into the measures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo._sustain_campaign import (
    CAMPAIGN_RETENTION,
    CAMPAIGN_SHARE,
    CAMPAIGN_SPAN_DAYS,
    _campaign,
    densest_span_share,
)
from geo._sustain_km import CONFIDENCE, RETENTION_DAYS, Curve, km_curve
from geo._sustain_spells import RECHECK_DAYS, Spells, build_spells, in_window, incident_episodes
from geo._sustain_time import DAY_NS, _instant, _ns
from geo.errors import InvalidArgument
from geo.store import Store
from geo.store import places as stored_places
from geo.store.filters import IncidentColumns
from geo.store.place_frames import timeline_of

#: A place with this many recurrences or more is chronic.
CHRONIC_RECURRENCES = 3

#: ``by`` → the column the measures are grouped on (and the key of each output row).
GROUPINGS: dict[str, str] = {"ward": "ward_code", "street": "street", "type": "type"}
#: Keys of every output row after the group's own key, in order.
MEASURE_KEYS: tuple[str, ...] = (
    "places", "spells", "retention_30", "retention_30_low", "retention_30_high",
    "retention_90", "retention_90_low", "retention_90_high", "median_days_clear",
    "recurrence_rate", "rechecked_share", "chronic_places", "campaign_flag",
)  # fmt: skip


# --------------------------------------------------------------------------- measures


@dataclass(frozen=True)
class _Grouped:
    """Spells of the window sorted by group; group g is rows ``bounds[g]:bounds[g + 1]``."""

    keys: np.ndarray
    bounds: np.ndarray
    code: np.ndarray
    place: np.ndarray
    cleared: np.ndarray  # int64 ns
    duration: np.ndarray
    event: np.ndarray
    unverified: np.ndarray
    rechecked: np.ndarray
    episodes: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, column: str) -> _Grouped:
        code, keys = pd.factorize(frame[column], sort=True)
        order = np.argsort(code, kind="stable")
        code = code[order]

        def col(name: str) -> np.ndarray:
            return frame[name].to_numpy()[order]

        return cls(
            keys=np.asarray(keys, dtype=object),
            bounds=np.searchsorted(code, np.arange(len(keys) + 1)),
            code=code,
            place=col("place_id"),
            cleared=_ns(frame["cleared_at"], "cleared_at")[order],
            duration=col("duration_days").astype(float),
            event=col("event").astype(bool),
            unverified=col("unverified").astype(bool),
            rechecked=col("rechecked").astype(bool),
            episodes=col("place_episodes").astype(np.int64),
        )


def _nullable_share(part: np.ndarray, whole: np.ndarray) -> list[float | None]:
    return [float(p / w) if w else None for p, w in zip(part, whole, strict=True)]


def _grouped_measures(g: _Grouped, as_of_ns: int) -> list[dict[str, Any]]:
    """All measures of every group: counts and shares in bulk, one KM curve per group."""
    n = len(g.keys)
    spells = np.diff(g.bounds)
    first = pd.DataFrame({"c": g.code, "p": g.place}).duplicated().to_numpy()
    places = np.bincount(g.code[~first], minlength=n)
    recurrences = g.episodes[~first] - 1
    recurring = np.bincount(g.code[~first], weights=recurrences >= 1, minlength=n)
    chronic = np.bincount(g.code[~first], weights=recurrences >= CHRONIC_RECURRENCES, minlength=n)
    old = as_of_ns - g.cleared >= RECHECK_DAYS * DAY_NS
    rechecked = _nullable_share(np.bincount(g.code[old], weights=g.rechecked[old], minlength=n),
                                np.bincount(g.code[old], minlength=n))  # fmt: skip
    recurrence = _nullable_share(recurring, places)
    unverified = np.bincount(g.code, weights=g.unverified, minlength=n)
    out = []
    for i in range(n):
        rows = slice(g.bounds[i], g.bounds[i + 1])
        curve = km_curve(g.duration[rows], g.event[rows])
        spike = densest_span_share(g.cleared[rows])
        out.append(
            {
                "places": int(places[i]),
                "spells": int(spells[i]),
                "retention_30": curve.retention[30],
                "retention_30_low": curve.low[30],
                "retention_30_high": curve.high[30],
                "retention_90": curve.retention[90],
                "retention_90_low": curve.low[90],
                "retention_90_high": curve.high[90],
                "median_days_clear": curve.median_days,
                "recurrence_rate": recurrence[i],
                "rechecked_share": rechecked[i],
                "chronic_places": int(chronic[i]),
                "campaign_flag": _campaign(spike, curve.retention[30]),
                "densest_14d_share": spike,
                "unverified_spells": int(unverified[i]),
            }
        )
    return out


def _empty_measures() -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(MEASURE_KEYS)
    out.update(places=0, spells=0, densest_14d_share=None, unverified_spells=0)
    return out


def measures_from_spells(
    spells: Spells,
    *,
    by: str = "ward",
    date_from: Any = None,
    date_to: Any = None,
    keys: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The measures per ward, street or type over the spells cleared in [date_from, date_to).

    The population is the places cleared in the window: ``places`` counts them, ``spells``
    their clearances in the window; ``recurrence_rate`` and ``chronic_places`` look at
    their whole history up to ``spells.as_of``. Rows without the group key (no ward, no
    street) are left out. ``keys`` adds rows (all null but the zero counts) for groups
    with no clearance in the window, so a ward with nothing to show still appears.
    Columns: the key, :data:`MEASURE_KEYS`, then ``densest_14d_share`` and
    ``unverified_spells`` (the campaign flag's other input, and how many spells nobody
    checked).

    Parameters
    ----------
    spells
        From :func:`build_spells`.
    by
        ``ward``, ``street`` or ``type``.
    date_from, date_to
        The window of clearances.
    keys
        Groups to list even without clearances.

    Returns
    -------
    pandas.DataFrame
        The key, :data:`MEASURE_KEYS` and the campaign flag's inputs.
    """
    column = _grouping(by)
    frame = in_window(spells.frame, date_from, date_to)
    keyed = frame[frame[column].notna().to_numpy()]
    if column == "street":
        keyed = keyed[keyed[column].astype(str).str.strip() != ""]
    grouped = _Grouped.of(keyed, column)
    measured = _grouped_measures(grouped, int(spells.as_of.value))
    rows: dict[Any, dict[str, Any]] = dict(zip(grouped.keys, measured, strict=True))
    for key in keys or ():
        rows.setdefault(key, _empty_measures())
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = column
    if out.empty:
        out = pd.DataFrame(columns=[*MEASURE_KEYS, "densest_14d_share", "unverified_spells"])
        out.index.name = column
    return out.sort_index().reset_index()


def sustain_measures(
    incidents: pd.DataFrame,
    checks: pd.DataFrame | None = None,
    *,
    by: str = "ward",
    date_from: Any = None,
    date_to: Any = None,
    keys: Iterable[str] | None = None,
) -> pd.DataFrame:
    """:func:`build_spells` as of ``date_to`` (now when None), then
    :func:`measures_from_spells` over [date_from, date_to).

    Parameters
    ----------
    incidents
        See the module docstring.
    checks
        Re-inspections, or None.
    by
        ``ward``, ``street`` or ``type``.
    date_from, date_to
        The window (``date_to`` is also the as-of instant).
    keys
        Groups to list even without clearances.

    Returns
    -------
    pandas.DataFrame
        As :func:`measures_from_spells`.
    """
    as_of = pd.Timestamp.now(tz="UTC") if date_to is None else _instant(date_to, "date_to")
    spells = build_spells(incidents, checks, as_of=as_of)
    return measures_from_spells(spells, by=by, date_from=date_from, date_to=as_of, keys=keys)


def _grouping(by: str) -> str:
    if by not in GROUPINGS:
        raise InvalidArgument(
            f"Không nhóm được theo {by!r}; dùng một trong: {', '.join(GROUPINGS)}.",
            f"Cannot group by {by!r}; use one of: {', '.join(GROUPINGS)}.",
        )
    return GROUPINGS[by]


def _json_value(value: Any) -> Any:
    """None for every kind of missing; plain Python numbers and booleans otherwise."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def measure_records(measures: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of :func:`measures_from_spells` as dicts with exactly the group key and
    :data:`MEASURE_KEYS` (JSON-ready: NaN → None, numpy scalars → Python).

    Parameters
    ----------
    measures
        From :func:`measures_from_spells`.

    Returns
    -------
    list of dict
        JSON-ready objects.
    """
    key = measures.columns[0]
    return [
        {k: _json_value(row[k]) for k in (key, *MEASURE_KEYS)}
        for row in measures.to_dict("records")
    ]


# --------------------------------------------------------------------------- from a store


def stored_measures(
    store: Store,
    *,
    by: str = "ward",
    date_from: Any = None,
    date_to: Any = None,
    keys: Iterable[str] | None = None,
    columns: IncidentColumns | None = None,
) -> pd.DataFrame:
    """:func:`sustain_measures` of the store's placed incidents and re-inspections.

    Parameters
    ----------
    store
        The store.
    by
        ``ward``, ``street`` or ``type``.
    date_from, date_to
        The window.
    keys
        Groups to list even without clearances.
    columns
        The incidents as current arrays (the map's snapshot): only the place links are
        then read (:func:`geo.store.place_frames.timeline_of`).

    Returns
    -------
    pandas.DataFrame
        As :func:`sustain_measures`.
    """
    if columns is None:
        incidents = stored_places.place_incidents_frame(store, addresses=False)
    else:
        incidents = timeline_of(store, columns)
    checks = stored_places.inspections_frame(store)
    return sustain_measures(incidents, checks, by=by, date_from=date_from, date_to=date_to, keys=keys)


def stored_records(
    store: Store, *, by: str = "ward", date_from: Any = None, date_to: Any = None
) -> list[dict[str, Any]]:
    """:func:`stored_measures` as the JSON objects of ``python -m geo sustain --json``.

    Parameters
    ----------
    store
        The store.
    by
        ``ward``, ``street`` or ``type``.
    date_from, date_to
        The window.

    Returns
    -------
    list of dict
        The objects of ``sustain --json``.
    """
    return measure_records(stored_measures(store, by=by, date_from=date_from, date_to=date_to))


__all__ = [
    "CAMPAIGN_RETENTION", "CAMPAIGN_SHARE", "CAMPAIGN_SPAN_DAYS", "CHRONIC_RECURRENCES",
    "CONFIDENCE", "DAY_NS", "GROUPINGS", "MEASURE_KEYS", "RECHECK_DAYS", "RETENTION_DAYS",
    "Curve", "Spells", "build_spells", "densest_span_share", "in_window", "incident_episodes",
    "km_curve", "measure_records", "measures_from_spells", "stored_measures", "stored_records",
    "sustain_measures",
]
