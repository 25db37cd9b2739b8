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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from geo._tables import require_columns
from geo.errors import InvalidArgument
from geo.store import Store
from geo.store import places as stored_places

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
#: An exact half computed as a product of floats (4/5 · 5/8 · …) can come out a hair
#: above 0.5; the median still counts it as having reached one half.
_HALF_TOLERANCE = 1e-9
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
    """Instants as int64 nanoseconds since the epoch (UTC); missing → ``_NEVER``.

    Columns that already hold instants are only re-labelled: ``pd.to_datetime`` on a
    million tz-aware values costs a third of a second for nothing.
    """
    dtype = column.dtype
    try:
        if isinstance(dtype, pd.DatetimeTZDtype):
            stamps = column.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(dtype):
            stamps = column.dt.tz_localize("UTC")
        else:
            stamps = pd.to_datetime(column, utc=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"Cột {what}: có giá trị không phải thời điểm ({exc}).",
            f"Column {what}: holds a value that is not an instant ({exc}).",
        ) from exc
    values = stamps.array.as_unit("ns").asi8.copy()
    values[stamps.isna().to_numpy()] = _NEVER
    return values


def _utc(ns: np.ndarray) -> pd.Series:
    return pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")




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


def _timeline_order(
    place: np.ndarray, time: np.ndarray, kind: np.ndarray | None = None
) -> np.ndarray:
    """Stable order by (place, time[, kind 0/1]) of int64 arrays.

    One argsort of a packed int64 key when the values fit — they do when the instants are
    whole seconds or microseconds, as stored ones are — which is about three times faster
    than ``np.lexsort`` on a million rows; ``np.lexsort`` otherwise.
    """
    if len(place) == 0:
        return np.zeros(0, dtype=np.int64)
    unit = next(u for u in (10**9, 10**3, 1) if u == 1 or not (time % u).any())
    t0, p0 = int(time.min()), int(place.min())
    span = (int(time.max()) - t0) // unit + 1
    kinds = 1 if kind is None else 2
    if (int(place.max()) - p0 + 1) * span * kinds < 2**62:
        key = (place - p0) * span + (time - t0) // unit
        if kind is not None:
            key = key * 2 + kind
        return np.argsort(key, kind="stable")
    keys = (time, place) if kind is None else (kind, time, place)
    return np.lexsort(keys)



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


def _episode_of_row(place: np.ndarray, reported: np.ndarray, cleared: np.ndarray) -> np.ndarray:
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
    require_columns(checks, _CHECK_COLUMNS, "checks")
    result = checks["result"]
    unknown = ~result.isin(_RESULTS).to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        value = result.iloc[row]
        raise InvalidArgument(
            f"Bảng kiểm tra, dòng {row}: kết quả {value!r} không phải 'clear' hay 'violation'.",
            f"The checks table, row {row}: result {value!r} is neither 'clear' nor 'violation'.",
        )
    at = _ns(checks["checked_at"], "checked_at")
    keep = at <= as_of  # also drops missing instants (_NEVER)
    c_place = _place_ids(checks["place_id"], "checks")[keep]
    t = at[keep]
    violation = result.isin(["violation"]).to_numpy()[keep]
    # One timeline of clearances and checks per place; at the same instant the check comes
    # first, so it belongs to the spell before. Spells are numbered in (place, time) order,
    # so a running maximum of the spell numbers is "the latest clearance so far".
    order = _timeline_order(
        np.concatenate([spell_place, c_place]),
        np.concatenate([spell_cleared, t]),
        np.concatenate([np.ones(n, dtype=np.int64), np.zeros(len(t), dtype=np.int64)]),
    )
    latest = np.maximum.accumulate(np.where(order < n, order, -1))
    is_check = order >= n
    check_row = order[is_check] - n
    spell = np.full(len(t), -1, dtype=np.int64)
    spell[check_row] = latest[is_check]
    ok = spell >= 0
    ok[ok] = spell_place[spell[ok]] == c_place[ok]
    spell, t, violation = spell[ok], t[ok], violation[ok]
    np.minimum.at(first_violation, spell[violation], t[violation])
    np.maximum.at(last_clear, spell[~violation], t[~violation])
    np.maximum.at(last_any, spell, t)
    return first_violation, last_clear, last_any


def _timeline(incidents: pd.DataFrame, cut_ns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows reported by ``cut_ns``, sorted by place, report and id; with their place ids,
    reports and clearances (a clearance after the cut, or none, is ``_NEVER``)."""
    place = _place_ids(incidents["place_id"], "incidents")
    reported = _ns(incidents["reported_at"], "reported_at")
    cleared = _ns(incidents["cleared_at"], "cleared_at")
    cleared = np.where(cleared <= cut_ns, np.maximum(cleared, reported), _NEVER)
    rows = np.flatnonzero(reported <= cut_ns)  # drops reports after as_of and missing ones
    if "id" in incidents.columns:  # equal reports in id order (the stable sort keeps it)
        tie = pd.to_numeric(incidents["id"], errors="coerce").to_numpy(dtype=float)[rows]
        if not (np.diff(tie) >= 0).all():
            rows = rows[np.argsort(tie, kind="stable")]
    rows = rows[_timeline_order(place[rows], reported[rows])]
    return rows, place[rows], reported[rows], cleared[rows]


@dataclass(frozen=True)
class _Episodes:
    """Episodes in (place, time) order: place, first report, clearance (``_NEVER`` while
    open), number at the place (1, 2, …), the place's episode count, the next episode's
    report at the same place (``_NEVER`` if none) and the dense place number."""

    place: np.ndarray
    report: np.ndarray
    cleared: np.ndarray
    number: np.ndarray
    count: np.ndarray
    next_report: np.ndarray
    place_no: np.ndarray

    @classmethod
    def of(cls, place: np.ndarray, reported: np.ndarray, cleared: np.ndarray) -> _Episodes:
        episode = _episode_of_row(place, reported, cleared)
        starts = np.flatnonzero(np.r_[True, episode[1:] != episode[:-1]]) if len(place) else episode
        ep_place, ep_report = place[starts], reported[starts]
        ep_cleared = np.maximum.reduceat(cleared, starts) if len(starts) else cleared
        place_start = np.ones(len(starts), dtype=bool)
        place_start[1:] = ep_place[1:] != ep_place[:-1]
        place_no = np.cumsum(place_start) - 1
        next_report = np.full(len(starts), _NEVER, dtype=np.int64)
        followed = np.flatnonzero(~place_start[1:])  # episodes followed at the same place
        next_report[followed] = ep_report[followed + 1]
        return cls(
            place=ep_place, report=ep_report, cleared=ep_cleared,
            number=np.arange(len(starts)) - np.flatnonzero(place_start)[place_no] + 1,
            count=np.bincount(place_no)[place_no] if len(starts) else place_no,
            next_report=next_report, place_no=place_no,
        )  # fmt: skip


def build_spells(
    incidents: pd.DataFrame, checks: pd.DataFrame | None = None, *, as_of: Any
) -> Spells:
    """The clear spells of every place, as known at ``as_of`` (see the module docstring).

    Parameters
    ----------
    incidents
        See the module docstring.
    checks
        Re-inspections (``place_id``, ``checked_at``, ``result``), or None.
    as_of
        The instant things are seen from.

    Returns
    -------
    Spells
        One row per clear spell.
    """
    require_columns(incidents, _INCIDENT_COLUMNS, "incidents")
    cut = _instant(as_of, "as_of")
    rows, place, reported, cleared = _timeline(incidents, int(cut.value))
    episodes = _Episodes.of(place, reported, cleared)
    spell = np.flatnonzero(episodes.cleared != _NEVER)
    s_place, s_cleared = episodes.place[spell], episodes.cleared[spell]
    first_violation, last_clear, last_any = _checks_by_spell(checks, s_place, s_cleared, int(cut.value))
    ended = np.minimum(episodes.next_report[spell], first_violation)
    event = ended != _NEVER
    known_until = np.where(event, ended, np.where(last_clear >= 0, last_clear, s_cleared))
    frame = pd.DataFrame(
        {
            "place_id": s_place,
            **_place_labels(incidents, rows, place, episodes.place_no[spell]),
            "episode": episodes.number[spell],
            "cleared_at": _utc(s_cleared),
            "ended_at": _utc(np.where(event, ended, np.iinfo(np.int64).min)),  # min is NaT
            "event": event,
            "duration_days": (known_until - s_cleared) / DAY_NS,
            "unverified": ~event & (last_clear < 0),
            "rechecked": (last_any >= 0) & (last_any - s_cleared >= RECHECK_DAYS * DAY_NS),
            "place_episodes": episodes.count[spell],
        }
    )
    return Spells(frame=frame, as_of=cut)


def incident_episodes(incidents: pd.DataFrame, *, as_of: Any) -> pd.DataFrame:
    """Each incident reported by ``as_of`` with the episode it belongs to, by the rule of
    :func:`build_spells` (so the pages' timelines, place states and recurrence counts
    agree with the measures).

    Rows are in place, report and id order; every input column is kept, with
    ``cleared_at`` as seen at ``as_of`` (a later clearance is NaT). Added: ``episode``
    (1 for the place's first), ``episode_start`` (the incident opened its episode: the
    place's first report, or a recurrence when ``episode`` ≥ 2), ``place_episodes``,
    ``episode_cleared_at`` (NaT while the episode is open) and ``recurred_at`` (the next
    episode's first report: when the clearance of this episode ended; NaT if none).

    Parameters
    ----------
    incidents
        See the module docstring.
    as_of
        The instant things are seen from.

    Returns
    -------
    pandas.DataFrame
        One row per incident reported by ``as_of``.
    """
    require_columns(incidents, _INCIDENT_COLUMNS, "incidents")
    cut = _instant(as_of, "as_of")
    rows, place, reported, cleared = _timeline(incidents, int(cut.value))
    row_episode = _episode_of_row(place, reported, cleared)
    episodes = _Episodes.of(place, reported, cleared)
    nat = np.iinfo(np.int64).min  # NaT as int64

    def instants(values: np.ndarray) -> pd.Series:
        return _utc(np.where(values == _NEVER, nat, values))

    out = incidents.iloc[rows].reset_index(drop=True)
    out["cleared_at"] = instants(cleared)
    out["episode"] = episodes.number[row_episode]
    out["episode_start"] = np.r_[True, row_episode[1:] != row_episode[:-1]] if len(rows) else []
    out["place_episodes"] = episodes.count[row_episode]
    out["episode_cleared_at"] = instants(episodes.cleared[row_episode])
    out["recurred_at"] = instants(episodes.next_report[row_episode])
    return out


def in_window(frame: pd.DataFrame, date_from: Any = None, date_to: Any = None) -> pd.DataFrame:
    """The spells of ``frame`` cleared in [date_from, date_to) (None: open).

    Parameters
    ----------
    frame
        :attr:`Spells.frame`, or any frame with ``cleared_at``.
    date_from, date_to
        The window (instants; naive means UTC).

    Returns
    -------
    pandas.DataFrame
        The rows of ``frame`` in the window.
    """
    cleared = frame["cleared_at"]
    keep = pd.Series(True, index=frame.index)
    if date_from is not None:
        keep &= cleared >= _instant(date_from, "date_from")
    if date_to is not None:
        keep &= cleared < _instant(date_to, "date_to")
    return frame[keep]


def _is_named(texts: pd.Series) -> np.ndarray:
    """True where a text is written down (not missing, not only spaces); each distinct
    text is looked at once."""
    codes, uniques = pd.factorize(texts)  # a missing value gets code -1 …
    named = np.array([isinstance(v, str) and bool(v.strip()) for v in uniques] + [False])
    return named[codes]  # … which picks the False at the end


def _place_labels(
    incidents: pd.DataFrame, rows: np.ndarray, place: np.ndarray, spell_place_no: np.ndarray
) -> dict[str, pd.Series]:
    """Ward, street and type of each spell's place (``rows`` in place order, ``place`` their
    place ids, ``spell_place_no`` the dense place number of each spell).

    Type and ward are those of the place's first incident (the matching rule keeps them
    the same at one place). The street is the first one written down at the place, as
    field teams often leave it blank. Columns keep their dtype (no object copies).
    """
    first = np.ones(len(rows), dtype=bool)
    first[1:] = place[1:] != place[:-1]
    first_row = rows[first]

    def pick(column: str, at: np.ndarray) -> pd.Series:
        return incidents[column].take(at).reset_index(drop=True)

    out = {c: pick(c, first_row[spell_place_no]) for c in ("ward_code", "type")}
    street_row = np.full(len(first_row), -1, dtype=np.int64)  # first named row per place
    if "street" in incidents.columns:
        named = _is_named(incidents["street"].take(first_row))
        street_row[named] = first_row[named]
        if not named.all():  # look further only at places whose first street is blank
            owner = np.cumsum(first) - 1
            later = np.flatnonzero(~named[owner])
            ok = _is_named(incidents["street"].take(rows[later]))
            places_named, at = np.unique(owner[later][ok], return_index=True)
            street_row[places_named] = rows[later][ok][at]
        chosen = street_row[spell_place_no]
        out["street"] = pick("street", np.maximum(chosen, 0)).where(chosen >= 0, None)
    else:
        out["street"] = pd.Series([None] * len(spell_place_no), dtype=object)
    return {"ward_code": out["ward_code"], "street": out["street"], "type": out["type"]}


# --------------------------------------------------------------------------- Kaplan–Meier


@dataclass(frozen=True)
class Curve:
    """What the measures read off one Kaplan–Meier curve.

    ``retention[t]`` is S(t) = P(still clear after t days) with ``low[t]``/``high[t]`` its
    95 % bounds; None where the curve says nothing (see :func:`km_curve`).
    """

    retention: dict[float, float | None]
    low: dict[float, float | None]
    high: dict[float, float | None]
    median_days: float | None


def km_curve(
    durations: np.ndarray,
    events: np.ndarray,
    days: Iterable[float] = RETENTION_DAYS,
    confidence: float = CONFIDENCE,
) -> Curve:
    """Kaplan–Meier survival of clear spells, with Greenwood bounds.

    The estimate is ``scipy.stats.ecdf`` of ``CensoredData`` (events uncensored, the rest
    right-censored). Bounds: Greenwood's variance on the log(−log S) scale
    (``method="log-log"``, the "exponential Greenwood" interval, as lifelines reports),
    which stays inside [0, 1] without clipping. Where S(t) is exactly 0 or 1 Greenwood's
    variance is 0 and both bounds equal S(t).

    S(t) is None when nothing is known at t: no spell lasted or was followed to day t and
    the curve had not yet reached 0. The median is the first day with S ≤ 0.5 (allowing
    1e-9 of float rounding, so an exact half counts), None when the curve never gets there.

    Parameters
    ----------
    durations
        Days each spell lasted or was followed.
    events
        Whether it ended in a recurrence.
    days
        Where to read the curve.
    confidence
        Of the bounds.

    Returns
    -------
    Curve
        Point estimates and bounds at ``days``.
    """
    days = tuple(days)
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    nothing: dict[float, float | None] = dict.fromkeys(days)
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
    below = np.flatnonzero(np.asarray(sf.probabilities) <= 0.5 + _HALF_TOLERANCE)
    median = float(np.asarray(sf.quantiles)[below[0]]) if len(below) else None
    return Curve(retention, lows, highs, median)


# --------------------------------------------------------------------------- measures


def densest_span_share(times_ns: np.ndarray, span_days: float = CAMPAIGN_SPAN_DAYS) -> float | None:
    """Largest share of ``times_ns`` inside one window [t, t + span) (None for none).

    Parameters
    ----------
    times_ns
        Clearance instants (ns).
    span_days
        The span's length.

    Returns
    -------
    float or None
        The largest share of them inside one span (None without any).
    """
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

    Returns
    -------
    pandas.DataFrame
        As :func:`sustain_measures`.
    """
    incidents = stored_places.place_incidents_frame(store)
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
