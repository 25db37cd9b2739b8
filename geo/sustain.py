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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from geo.errors import InvalidArgument

DAY_NS = 86_400 * 10**9
#: Retention is read off the curve at these days.
RETENTION_DAYS: tuple[int, ...] = (30, 90)
#: A clearance counts as re-checked with a check at least this many days after it.
RECHECK_DAYS = 30
#: Campaign-style: at least this share of the window's clearances within one span …
CAMPAIGN_SPAN_DAYS = 14
CAMPAIGN_SHARE = 0.5
#: … and fewer than this share of cleared places still clear after 30 days.
CAMPAIGN_RETENTION = 0.6
#: A place with this many recurrences or more is chronic.
CHRONIC_RECURRENCES = 3
CONFIDENCE = 0.95

#: ``by`` → the column the measures are grouped on (and the key of each output row).
GROUPINGS: dict[str, str] = {"ward": "ward_code", "street": "street", "type": "type"}
#: Keys of every output row after the group's own key, in order.
MEASURE_KEYS: tuple[str, ...] = (
    "places", "spells", "retention_30", "retention_30_low", "retention_30_high",
    "retention_90", "retention_90_low", "retention_90_high", "median_days_clear",
    "recurrence_rate", "rechecked_share", "chronic_places", "campaign_flag",
)  # fmt: skip

_NEVER = np.iinfo(np.int64).max
_INCIDENT_COLUMNS = ("place_id", "type", "ward_code", "reported_at", "cleared_at")
_CHECK_COLUMNS = ("place_id", "checked_at", "result")
_RESULTS = ("clear", "violation")


# --------------------------------------------------------------------------- inputs


def _instant(value: Any, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"{what}: không hiểu thời điểm {value!r}.", f"{what}: cannot read the instant {value!r}."
        ) from exc
    if ts is pd.NaT:
        raise InvalidArgument(f"{what}: thiếu thời điểm.", f"{what}: the instant is missing.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _ns(column: pd.Series, what: str) -> np.ndarray:
    """Instants as int64 nanoseconds since the epoch (UTC); missing → ``_NEVER``."""
    try:
        stamps = pd.to_datetime(column, utc=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"Cột {what}: có giá trị không phải thời điểm ({exc}).",
            f"Column {what}: holds a value that is not an instant ({exc}).",
        ) from exc
    values = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    values[stamps.isna().to_numpy()] = _NEVER
    return values


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgument(
            f"Bảng {what} thiếu cột: {', '.join(missing)}.",
            f"The {what} table lacks the column(s): {', '.join(missing)}.",
        )


def _place_ids(column: pd.Series, what: str) -> np.ndarray:
    ids = pd.to_numeric(column, errors="coerce")
    bad = ids.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidArgument(
            f"Bảng {what}, dòng {row}: place_id {column.iloc[row]!r} không phải số địa điểm.",
            f"The {what} table, row {row}: place_id {column.iloc[row]!r} is not a place number.",
        )
    return ids.to_numpy(dtype=np.int64)


# --------------------------------------------------------------------------- spells


@dataclass(frozen=True)
class Spells:
    """Clear spells as of ``as_of``; ``frame`` has one row per spell:

    ``place_id``, ``ward_code``, ``street``, ``type`` (the place's), ``episode`` (1 for the
    place's first), ``cleared_at``, ``ended_at`` (the event, or NaT), ``event`` (bool),
    ``duration_days`` (to the event, or to the last clear check, or 0), ``unverified``
    (censored at day 0: no check and no event), ``rechecked`` (a check at least
    :data:`RECHECK_DAYS` after the clearance and before the place's next clearance),
    ``place_episodes`` (the place's episodes up to ``as_of``).
    """

    frame: pd.DataFrame
    as_of: pd.Timestamp


def _episodes(place: np.ndarray, reported: np.ndarray, cleared: np.ndarray) -> np.ndarray:
    """Row → episode number (0-based, global), rows sorted by place then report.

    A row starts an episode when it is its place's first or comes after every earlier
    row of the place is cleared (the running maximum of clearances; open counts as never).
    """
    if len(place) == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.ones(len(place), dtype=bool)
    first[1:] = place[1:] != place[:-1]
    running = pd.Series(cleared).groupby(np.cumsum(first)).cummax().to_numpy()
    before = np.empty_like(running)
    before[0] = np.iinfo(np.int64).min
    before[1:] = running[:-1]
    starts = first | (reported > before)
    return np.cumsum(starts) - 1


def _checks_by_spell(
    checks: pd.DataFrame | None, spell_place: np.ndarray, spell_cleared: np.ndarray, as_of: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each check → the spell of the latest clearance at its place strictly before it.

    Returns, per spell: first ``violation`` check, last ``clear`` check (``_NEVER`` / -1
    when none) and the latest check of either kind (-1 when none), as int64 instants.
    """
    n = len(spell_place)
    first_violation = np.full(n, _NEVER, dtype=np.int64)
    last_clear = np.full(n, -1, dtype=np.int64)
    last_any = np.full(n, -1, dtype=np.int64)
    if checks is None or checks.empty or n == 0:
        return first_violation, last_clear, last_any
    _require(checks, _CHECK_COLUMNS, "checks")
    result = checks["result"].astype(object).to_numpy()
    unknown = ~np.isin(result, _RESULTS)
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise InvalidArgument(
            f"Bảng kiểm tra, dòng {row}: kết quả {result[row]!r} không phải 'clear' hay 'violation'.",
            f"The checks table, row {row}: result {result[row]!r} is neither 'clear' nor 'violation'.",
        )
    at = _ns(checks["checked_at"], "checked_at")
    keep = at <= as_of  # also drops missing instants (_NEVER)
    left = pd.DataFrame(
        {"place_id": _place_ids(checks["place_id"], "checks")[keep], "t": at[keep],
         "violation": result[keep] == "violation"}
    ).sort_values("t", kind="stable")  # fmt: skip
    right = pd.DataFrame(
        {"place_id": spell_place, "t": spell_cleared, "spell": np.arange(n)}
    ).sort_values("t", kind="stable")
    joined = pd.merge_asof(left, right, on="t", by="place_id", allow_exact_matches=False)
    joined = joined[joined["spell"].notna()]
    spell = joined["spell"].to_numpy(dtype=np.int64)
    t = joined["t"].to_numpy(dtype=np.int64)
    violation = joined["violation"].to_numpy(dtype=bool)
    np.minimum.at(first_violation, spell[violation], t[violation])
    np.maximum.at(last_clear, spell[~violation], t[~violation])
    np.maximum.at(last_any, spell, t)
    return first_violation, last_clear, last_any


def build_spells(
    incidents: pd.DataFrame, checks: pd.DataFrame | None = None, *, as_of: Any
) -> Spells:
    """The clear spells of every place, as known at ``as_of`` (see the module docstring)."""
    _require(incidents, _INCIDENT_COLUMNS, "incidents")
    cut = _instant(as_of, "as_of")
    cut_ns = int(cut.value)
    place = _place_ids(incidents["place_id"], "incidents")
    reported = _ns(incidents["reported_at"], "reported_at")
    cleared = _ns(incidents["cleared_at"], "cleared_at")
    cleared = np.where(cleared <= cut_ns, np.maximum(cleared, reported), _NEVER)
    tie = (pd.to_numeric(incidents["id"], errors="coerce").to_numpy(dtype=float)
           if "id" in incidents.columns else np.arange(len(incidents), dtype=float))  # fmt: skip
    rows = np.flatnonzero(reported <= cut_ns)  # drops reports after as_of and missing ones
    rows = rows[np.lexsort((tie[rows], reported[rows], place[rows]))]
    place, reported, cleared = place[rows], reported[rows], cleared[rows]

    episode = _episodes(place, reported, cleared)
    starts = np.flatnonzero(np.r_[True, episode[1:] != episode[:-1]]) if len(rows) else rows
    ep_place, ep_report = place[starts], reported[starts]
    ep_cleared = np.maximum.reduceat(cleared, starts) if len(starts) else cleared
    place_start = np.ones(len(starts), dtype=bool)
    place_start[1:] = ep_place[1:] != ep_place[:-1]
    ep_place_no = np.cumsum(place_start) - 1  # dense place number of each episode
    ep_number = np.arange(len(starts)) - np.flatnonzero(place_start)[ep_place_no] + 1
    ep_count = np.bincount(ep_place_no)[ep_place_no] if len(starts) else ep_place_no
    next_report = np.full(len(starts), _NEVER, dtype=np.int64)
    followed = np.flatnonzero(~place_start[1:])  # episodes followed by one at the same place
    next_report[followed] = ep_report[followed + 1]

    spell = np.flatnonzero(ep_cleared != _NEVER)
    s_place, s_cleared = ep_place[spell], ep_cleared[spell]
    first_violation, last_clear, last_any = _checks_by_spell(checks, s_place, s_cleared, cut_ns)
    ended = np.minimum(next_report[spell], first_violation)
    event = ended != _NEVER
    known_until = np.where(event, ended, np.where(last_clear >= 0, last_clear, s_cleared))
    labels = _place_labels(incidents, rows, place, ep_place_no[spell])
    frame = pd.DataFrame(
        {
            "place_id": s_place,
            **labels,
            "episode": ep_number[spell],
            "cleared_at": pd.to_datetime(s_cleared, utc=True),
            "ended_at": pd.to_datetime(np.where(event, ended, np.iinfo(np.int64).min), utc=True),
            "event": event,
            "duration_days": (known_until - s_cleared) / DAY_NS,
            "unverified": ~event & (last_clear < 0),
            "rechecked": (last_any >= 0) & (last_any - s_cleared >= RECHECK_DAYS * DAY_NS),
            "place_episodes": ep_count[spell],
        }
    )
    return Spells(frame=frame, as_of=cut)


def _place_labels(
    incidents: pd.DataFrame, rows: np.ndarray, place: np.ndarray, spell_place_no: np.ndarray
) -> dict[str, np.ndarray]:
    """Ward, street and type of each spell's place (``rows`` in place order, ``place`` their
    place ids, ``spell_place_no`` the dense place number of each spell).

    Type and ward are those of the place's first incident (the matching rule keeps them
    the same at one place). The street is the first one written down at the place, as
    field teams often leave it blank.
    """
    first = np.ones(len(rows), dtype=bool)
    first[1:] = place[1:] != place[:-1]
    first_row = rows[first]
    out = {c: incidents[c].to_numpy(dtype=object)[first_row][spell_place_no]
           for c in ("ward_code", "type")}  # fmt: skip
    street = np.full(len(first_row), None, dtype=object)
    if "street" in incidents.columns:
        text = pd.Series(incidents["street"].to_numpy(dtype=object)[rows], dtype=object)
        text = text.where(text.notna() & (text.astype(str).str.strip() != ""), None)
        named = text.groupby(np.cumsum(first) - 1).first()  # first non-missing per place
        street[named.index.to_numpy()] = named.to_numpy(dtype=object)
    return {"ward_code": out["ward_code"], "street": street[spell_place_no], "type": out["type"]}


# --------------------------------------------------------------------------- Kaplan–Meier


@dataclass(frozen=True)
class Curve:
    """What the measures read off one Kaplan–Meier curve.

    ``retention[t]`` is S(t) = P(still clear after t days) with ``low[t]``/``high[t]`` its
    95 % bounds; None where the curve says nothing (see :func:`km_curve`).
    """

    retention: dict[int, float | None]
    low: dict[int, float | None]
    high: dict[int, float | None]
    median_days: float | None


def km_curve(
    durations: np.ndarray,
    events: np.ndarray,
    days: Iterable[int] = RETENTION_DAYS,
    confidence: float = CONFIDENCE,
) -> Curve:
    """Kaplan–Meier survival of clear spells, with Greenwood bounds.

    The estimate is ``scipy.stats.ecdf`` of ``CensoredData`` (events uncensored, the rest
    right-censored). Bounds: Greenwood's variance on the log(−log S) scale
    (``method="log-log"``, the "exponential Greenwood" interval, as lifelines reports),
    which stays inside [0, 1] without clipping. Where S(t) is exactly 0 or 1 Greenwood's
    variance is 0 and both bounds equal S(t).

    S(t) is None when nothing is known at t: no spell lasted or was followed to day t and
    the curve had not yet reached 0. The median is the first day with S ≤ 0.5, None when
    the curve never gets there.
    """
    days = tuple(days)
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    nothing: dict[int, float | None] = dict.fromkeys(days)
    if len(durations) == 0:
        return Curve(nothing, dict(nothing), dict(nothing), None)
    data = stats.CensoredData(uncensored=durations[events], right=durations[~events])
    sf = stats.ecdf(data).sf
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # scipy warns where S is 0 or 1 (the log-log scale is undefined there); handled below
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        interval = sf.confidence_interval(confidence, method="log-log")
        at = np.asarray(days, dtype=float)
        point = np.asarray(sf.evaluate(at), dtype=float)
        low = np.asarray(interval.low.evaluate(at), dtype=float)
        high = np.asarray(interval.high.evaluate(at), dtype=float)
    horizon = float(durations.max())
    retention, lows, highs = dict(nothing), dict(nothing), dict(nothing)
    for i, t in enumerate(days):
        s = float(point[i])
        if t > horizon and s > 0:
            continue
        retention[t] = s
        degenerate = s in (0.0, 1.0) or not (math.isfinite(low[i]) and math.isfinite(high[i]))
        lows[t] = s if degenerate else float(low[i])
        highs[t] = s if degenerate else float(high[i])
    below = np.flatnonzero(np.asarray(sf.probabilities) <= 0.5)
    median = float(np.asarray(sf.quantiles)[below[0]]) if len(below) else None
    return Curve(retention, lows, highs, median)


# --------------------------------------------------------------------------- measures


def densest_span_share(times_ns: np.ndarray, span_days: float = CAMPAIGN_SPAN_DAYS) -> float | None:
    """Largest share of ``times_ns`` inside one window [t, t + span) (None for none)."""
    if len(times_ns) == 0:
        return None
    t = np.sort(np.asarray(times_ns, dtype=np.int64))
    inside = np.searchsorted(t, t + int(span_days * DAY_NS), side="left") - np.arange(len(t))
    return float(inside.max() / len(t))


def _campaign(share: float | None, retention_30: float | None) -> bool | None:
    """Three-valued: False as soon as either condition is known to fail."""
    if share is None:
        return None
    if share < CAMPAIGN_SHARE:
        return False
    if retention_30 is None:
        return None
    return retention_30 < CAMPAIGN_RETENTION


def _share(flags: np.ndarray) -> float | None:
    return float(flags.mean()) if len(flags) else None


def _group_measures(group: pd.DataFrame, as_of_ns: int) -> dict[str, Any]:
    curve = km_curve(group["duration_days"].to_numpy(), group["event"].to_numpy())
    cleared = group["cleared_at"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    places = group.drop_duplicates("place_id")
    old_enough = as_of_ns - cleared >= RECHECK_DAYS * DAY_NS
    spike = densest_span_share(cleared)
    recurrences = places["place_episodes"].to_numpy() - 1
    return {
        "places": len(places),
        "spells": len(group),
        "retention_30": curve.retention[30],
        "retention_30_low": curve.low[30],
        "retention_30_high": curve.high[30],
        "retention_90": curve.retention[90],
        "retention_90_low": curve.low[90],
        "retention_90_high": curve.high[90],
        "median_days_clear": curve.median_days,
        "recurrence_rate": _share(recurrences >= 1),
        "rechecked_share": _share(group["rechecked"].to_numpy()[old_enough]),
        "chronic_places": int((recurrences >= CHRONIC_RECURRENCES).sum()) if len(places) else None,
        "campaign_flag": _campaign(spike, curve.retention[30]),
        "densest_14d_share": spike,
        "unverified_spells": int(group["unverified"].sum()),
    }


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
    """
    column = _grouping(by)
    frame = spells.frame
    cleared = frame["cleared_at"]
    keep = pd.Series(True, index=frame.index)
    if date_from is not None:
        keep &= cleared >= _instant(date_from, "date_from")
    if date_to is not None:
        keep &= cleared < _instant(date_to, "date_to")
    keyed = frame[keep & frame[column].notna().to_numpy()]
    if column == "street":
        keyed = keyed[keyed[column].astype(str).str.strip() != ""]
    rows: dict[Any, dict[str, Any]] = {}
    as_of_ns = int(spells.as_of.value)
    for key, group in keyed.groupby(column, sort=True):
        rows[key] = _group_measures(group, as_of_ns)
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
    :func:`measures_from_spells` over [date_from, date_to)."""
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
    :data:`MEASURE_KEYS` (JSON-ready: NaN → None, numpy scalars → Python)."""
    key = measures.columns[0]
    return [
        {k: _json_value(row[k]) for k in (key, *MEASURE_KEYS)}
        for row in measures.to_dict("records")
    ]
