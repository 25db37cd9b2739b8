"""What the leaders' pages draw of sustained order: survival curves, place states,
recurrences per period and the timelines of chronic places.

The measures of :mod:`geo.sustain` are single numbers per ward; a leader also needs to
*see* how long order lasts (the survival curve beside the city's), *where* it does not
(places by state on the map) and *when* it breaks (recurrences per week beside
clearances, a campaign's spike followed by returns). Everything here is derived from the
same episodes and spells as the measures (:func:`geo.sustain.incident_episodes`,
:func:`geo.sustain.build_spells`), so a chart never disagrees with a table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geo.crs import LOCAL_TZ
from geo.errors import InvalidArgument
from geo.store import Store
from geo.store import places as stored_places
from geo.sustain import (
    CHRONIC_RECURRENCES,
    build_spells,
    in_window,
    incident_episodes,
    km_curve,
)

#: States of a place on the map: never cleared since its first report, open again after
#: a clearance, or clear now.
PLACE_STATES: tuple[str, ...] = ("open", "recurred", "clear")
#: A place is shown with its timeline on the ward page from this many recurrences.
TIMELINE_RECURRENCES = 2
#: Kinds of the events of a place's timeline, in the order of a day.
EVENT_KINDS: tuple[str, ...] = ("report", "recurrence", "clear", "check_clear", "check_violation")
_FREQS = ("D", "W")


def _now(as_of: Any) -> pd.Timestamp:
    ts = pd.Timestamp.now(tz="UTC") if as_of is None else pd.Timestamp(as_of)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


# --------------------------------------------------------------------------- survival


def survival_steps(durations: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """The Kaplan–Meier curve as steps: ``day`` (0 and every distinct duration, rounded up
    to a whole day) and ``survival`` S(day), the share of clear spells still clear after
    that many days.

    Read off :func:`geo.sustain.km_curve`, so the curve and the retention figures are the
    same estimate. Whole days keep a city's 300,000 spells to a few hundred points for the
    browser; a step then shows at most a day late, and never at a value the curve does
    not take. Empty without spells.

    Parameters
    ----------
    durations
        Days each spell lasted or was followed.
    events
        Whether it ended in a recurrence.

    Returns
    -------
    pandas.DataFrame
        ``day``, ``survival`` (draw with step-after interpolation).
    """
    durations = np.asarray(durations, dtype=float)
    if len(durations) == 0:
        return pd.DataFrame({"day": pd.Series(dtype=float), "survival": pd.Series(dtype=float)})
    days = np.unique(np.r_[0.0, np.ceil(durations)])
    curve = km_curve(durations, np.asarray(events, dtype=bool), days=[float(d) for d in days])
    return pd.DataFrame({"day": days, "survival": [curve.retention[float(d)] for d in days]})


def survival_curves(
    incidents: pd.DataFrame,
    checks: pd.DataFrame | None,
    ward: str,
    *,
    date_from: Any = None,
    date_to: Any = None,
) -> pd.DataFrame:
    """The survival curve of the spells of ``ward`` cleared in [date_from, date_to) and
    the city's over the same window, as of ``date_to`` (now when None).

    Parameters
    ----------
    incidents, checks
        As :func:`geo.sustain.build_spells`.
    ward
        The ward code.
    date_from, date_to
        The window of clearances.

    Returns
    -------
    pandas.DataFrame
        ``scope`` (``"ward"`` or ``"city"``), ``day``, ``survival``, ``spells`` (of the scope).
    """
    spells = build_spells(incidents, checks, as_of=_now(date_to))
    frame = in_window(spells.frame, date_from, spells.as_of)
    parts = []
    for scope, part in (("ward", frame[frame["ward_code"] == ward]), ("city", frame)):
        steps = survival_steps(part["duration_days"].to_numpy(), part["event"].to_numpy())
        parts.append(steps.assign(scope=scope, spells=len(part)))
    return pd.concat(parts, ignore_index=True)[["scope", "day", "survival", "spells"]]


# --------------------------------------------------------------------------- places


def place_states(
    incidents: pd.DataFrame, places: pd.DataFrame, *, as_of: Any = None
) -> pd.DataFrame:
    """Each place's state at ``as_of`` (now when None), for the map's place layer.

    ``open``: the place's first episode is not cleared; ``recurred``: it is open again
    after a clearance; ``clear``: its latest episode is cleared (``days_clear`` since).
    ``recurrences`` counts the episodes after the first; ``chronic`` is
    ``recurrences ≥`` :data:`geo.sustain.CHRONIC_RECURRENCES`.

    Parameters
    ----------
    incidents
        As :func:`geo.sustain.build_spells`.
    places
        ``place_id``, ``lon``, ``lat`` (:func:`geo.store.places.places_frame`).
    as_of
        The instant.

    Returns
    -------
    pandas.DataFrame
        ``place_id``, ``ward_code``, ``type``, ``lon``, ``lat``, ``state``,
        ``recurrences``, ``incidents``, ``days_clear``, ``chronic``; places without an
        incident reported by ``as_of`` are left out.
    """
    now = _now(as_of)
    rows = incident_episodes(incidents, as_of=now)
    if rows.empty:
        return pd.DataFrame(columns=["place_id", "ward_code", "type", "lon", "lat", "state",
                                     "recurrences", "incidents", "days_clear", "chronic"])  # fmt: skip
    grouped = rows.groupby("place_id", sort=True)
    last = grouped.tail(1).set_index("place_id")
    cleared = last["episode_cleared_at"]
    state = np.where(cleared.notna(), "clear", np.where(last["episode"] >= 2, "recurred", "open"))
    days = (now - cleared).dt.total_seconds() / 86_400
    out = pd.DataFrame(
        {
            "ward_code": last["ward_code"],
            "type": last["type"],
            "state": state,
            "recurrences": (last["place_episodes"] - 1).astype(int),
            "incidents": grouped.size(),
            "days_clear": days.where(cleared.notna()),
        }
    )
    out["chronic"] = out["recurrences"] >= CHRONIC_RECURRENCES
    where = places.set_index("place_id")[["lon", "lat"]]
    out = out.join(where, how="inner").rename_axis("place_id").reset_index()
    return out[["place_id", "ward_code", "type", "lon", "lat", "state", "recurrences",
                "incidents", "days_clear", "chronic"]]  # fmt: skip


def recurrence_counts(
    incidents: pd.DataFrame,
    freq: str = "W",
    *,
    ward: str | None = None,
    street: str | None = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """Recurrences per Hà Nội day or week (``period``: the day, or the Monday of the week,
    as naive local dates like :func:`geo.store.queries.progress`).

    A recurrence is a report that opens a place's second or later episode: the place had
    been cleared and is reported again. ``ward``/``street`` keep the recurrences whose
    incident is in that ward or on that street.

    Parameters
    ----------
    incidents
        As :func:`geo.sustain.build_spells`.
    freq
        ``"D"`` or ``"W"``.
    ward, street
        The scope (None: the whole city).
    as_of
        Reports after it are ignored (now when None).

    Returns
    -------
    pandas.DataFrame
        ``period``, ``recurrences`` (periods with at least one).
    """
    if freq not in _FREQS:
        raise InvalidArgument(f"Chu kỳ không hợp lệ {freq!r} (D, W).", f"Unknown frequency {freq!r} (D or W).")
    rows = incident_episodes(incidents, as_of=_now(as_of))
    keep = rows["episode_start"].to_numpy(dtype=bool) & (rows["episode"].to_numpy() >= 2)
    if ward is not None:
        keep &= (rows["ward_code"] == ward).to_numpy()
    if street is not None:
        keep &= (rows["street"] == street).to_numpy() if "street" in rows.columns else False
    local = rows.loc[keep, "reported_at"].dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).dt.normalize()
    if freq == "W":
        local = local - pd.to_timedelta(local.dt.weekday, unit="D")
    counts = local.value_counts().sort_index()
    return pd.DataFrame({"period": counts.index.astype("datetime64[ns]"), "recurrences": counts.to_numpy()})


def chronic_timelines(
    incidents: pd.DataFrame,
    *,
    ward: str | None = None,
    min_recurrences: int = TIMELINE_RECURRENCES,
    as_of: Any = None,
) -> pd.DataFrame:
    """Every incident of the places with at least ``min_recurrences`` recurrences, with
    its report, its clearance and when the place came back after its episode's clearance.

    Parameters
    ----------
    incidents
        As :func:`geo.sustain.build_spells` (``id``, ``street``, ``address`` shown when given).
    ward
        Only this ward's places (None: all).
    min_recurrences
        Places with fewer recurrences are left out.
    as_of
        The instant (now when None).

    Returns
    -------
    pandas.DataFrame
        ``place_id``, ``recurrences``, ``id``, ``episode``, ``street``, ``address``,
        ``reported_at``, ``cleared_at``, ``recurred_at``; by place, then report.
    """
    rows = incident_episodes(incidents, as_of=_now(as_of))
    rows["recurrences"] = rows["place_episodes"] - 1
    keep = rows["recurrences"] >= min_recurrences
    if ward is not None:
        keep &= rows["ward_code"] == ward
    out = rows[keep].copy()  # an empty selection must not take another frame's index
    for column in ("id", "street", "address"):
        if column not in out.columns:
            out[column] = None
    return out[["place_id", "recurrences", "id", "episode", "street", "address",
                "reported_at", "cleared_at", "recurred_at"]].reset_index(drop=True)  # fmt: skip


def timeline_events(timelines: pd.DataFrame, checks: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`chronic_timelines` as one event per row, with the places' checks: ``place_id``,
    ``kind`` (:data:`EVENT_KINDS`), ``at``, ``note`` (a check's note, as typed; None for
    the rest); a report that opens episode 2 or later is a ``recurrence``.

    Parameters
    ----------
    timelines
        From :func:`chronic_timelines`.
    checks
        Re-inspections (``place_id``, ``checked_at``, ``result``), or None.

    Returns
    -------
    pandas.DataFrame
        ``place_id``, ``kind``, ``at``, ``note``, by place and time.
    """
    first = ~timelines.duplicated(["place_id", "episode"])
    reports = timelines.assign(
        kind=np.where(first & (timelines["episode"] >= 2), "recurrence", "report"), at=timelines["reported_at"]
    )
    clears = timelines[timelines["cleared_at"].notna()].assign(kind="clear", at=lambda f: f["cleared_at"])
    parts = [reports[["place_id", "kind", "at"]].assign(note=None), clears[["place_id", "kind", "at"]].assign(note=None)]
    if checks is not None and len(checks):
        mine = checks[checks["place_id"].isin(timelines["place_id"].unique())]
        notes = mine["note"] if "note" in mine.columns else None
        parts.append(pd.DataFrame({"place_id": mine["place_id"], "kind": "check_" + mine["result"].astype(str),
                                   "at": pd.to_datetime(mine["checked_at"], utc=True), "note": notes}))  # fmt: skip
    events = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    order = events["kind"].map({k: i for i, k in enumerate(EVENT_KINDS)})
    return (events.assign(_o=order).sort_values(["place_id", "at", "_o"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))  # fmt: skip


def place_timelines(
    incidents: pd.DataFrame,
    checks: pd.DataFrame | None = None,
    *,
    place_ids: Any = None,
    as_of: Any = None,
) -> pd.DataFrame:
    """Every event of each place (reports, recurrences, clearances, checks), in time order,
    for the map's place popups: :func:`timeline_events` of all places, not only chronic ones.

    Episodes are per place, so keeping only ``place_ids`` before the rule runs gives the
    same events for them as the whole store would, at the cost of those places only (the
    map draws at most a few thousand of a city's places). Checks after ``as_of`` are
    ignored, as :func:`geo.sustain.build_spells` ignores them.

    Parameters
    ----------
    incidents
        As :func:`geo.sustain.build_spells`.
    checks
        Re-inspections (``place_id``, ``checked_at``, ``result``, ``note``), or None.
    place_ids
        Only these places (None: all).
    as_of
        The instant (now when None).

    Returns
    -------
    pandas.DataFrame
        As :func:`timeline_events`, plus ``address`` and ``street``: the place's latest
        non-blank ones, on every row of the place.
    """
    now = _now(as_of)
    if place_ids is not None:
        wanted = pd.Index(place_ids).astype("int64")
        incidents = incidents[incidents["place_id"].isin(wanted)]
        if checks is not None:
            checks = checks[checks["place_id"].isin(wanted)]
    if checks is not None and len(checks):
        checks = checks[pd.to_datetime(checks["checked_at"], utc=True) <= now]
    timelines = chronic_timelines(incidents, min_recurrences=0, as_of=now)
    events = timeline_events(timelines, checks)
    for column in ("street", "address"):
        named = timelines[timelines[column].notna() & (timelines[column].astype(str).str.strip() != "")]
        latest = named.groupby("place_id")[column].last()
        events[column] = events["place_id"].map(latest)
    return events


# --------------------------------------------------------------------------- from a store


def stored_survival(store: Store, ward: str, *, date_from: Any = None, date_to: Any = None) -> pd.DataFrame:
    """:func:`survival_curves` of the store's placed incidents and re-inspections.

    Parameters
    ----------
    store
        The store.
    ward
        The ward code.
    date_from, date_to
        The window of clearances (``date_to`` is also the as-of instant; now when None).

    Returns
    -------
    pandas.DataFrame
        As :func:`survival_curves`.
    """
    incidents = stored_places.place_incidents_frame(store)
    checks = stored_places.inspections_frame(store)
    return survival_curves(incidents, checks, ward, date_from=date_from, date_to=date_to)


def stored_place_states(store: Store, *, ward: str | None = None, as_of: Any = None) -> pd.DataFrame:
    """:func:`place_states` of the store's places (of one ward, or all).

    Parameters
    ----------
    store
        The store.
    ward
        Only this ward's places (None: all).
    as_of
        The instant (now when None).

    Returns
    -------
    pandas.DataFrame
        As :func:`place_states`.
    """
    incidents = stored_places.place_incidents_frame(store, ward=ward)
    places = stored_places.places_frame(store, ward=ward)
    return place_states(incidents, places, as_of=as_of)


def stored_recurrences(
    store: Store, freq: str = "W", *, ward: str | None = None, street: str | None = None
) -> pd.DataFrame:
    """:func:`recurrence_counts` of the store's placed incidents.

    Parameters
    ----------
    store
        The store.
    freq
        ``"D"`` or ``"W"``.
    ward, street
        The scope (None: the whole city).

    Returns
    -------
    pandas.DataFrame
        As :func:`recurrence_counts`.
    """
    incidents = stored_places.place_incidents_frame(store, ward=ward)
    return recurrence_counts(incidents, freq, ward=ward, street=street)


def stored_timelines(store: Store, ward: str, *, as_of: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(:func:`chronic_timelines`, :func:`timeline_events`) of one ward's places.

    Parameters
    ----------
    store
        The store.
    ward
        The ward code.
    as_of
        The instant (now when None).

    Returns
    -------
    tuple of pandas.DataFrame
        The incidents of its chronic places, and their events with the checks.
    """
    incidents = stored_places.place_incidents_frame(store, ward=ward)
    timelines = chronic_timelines(incidents, ward=ward, as_of=as_of)
    checks = stored_places.inspections_frame(store, place_ids=timelines["place_id"].unique().tolist())
    return timelines, timeline_events(timelines, checks)


def stored_place_timelines(
    store: Store, *, ward: str | None = None, place_ids: Any = None, as_of: Any = None
) -> pd.DataFrame:
    """:func:`place_timelines` of the store's places (of one ward, or all; of ``place_ids``
    only when given).

    Parameters
    ----------
    store
        The store.
    ward
        Only this ward's places (None: all).
    place_ids
        Only these places (None: all); the checks are read for these only.
    as_of
        The instant (now when None).

    Returns
    -------
    pandas.DataFrame
        As :func:`place_timelines`.
    """
    incidents = stored_places.place_incidents_frame(store, ward=ward)
    ids = None if place_ids is None else [int(p) for p in place_ids]
    checks = stored_places.inspections_frame(store, place_ids=ids)
    return place_timelines(incidents, checks, place_ids=ids, as_of=as_of)


__all__ = [
    "EVENT_KINDS",
    "PLACE_STATES",
    "TIMELINE_RECURRENCES",
    "chronic_timelines",
    "place_states",
    "place_timelines",
    "recurrence_counts",
    "stored_place_states",
    "stored_place_timelines",
    "stored_recurrences",
    "stored_survival",
    "stored_timelines",
    "survival_curves",
    "survival_steps",
    "timeline_events",
]
