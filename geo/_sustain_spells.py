"""Clear spells: episodes and recurrences from each place's timeline, and the checks.

The rules are those of :mod:`geo.sustain`'s docstring (episodes, recurrences, spells,
censoring, "as of"); this module computes them in bulk with numpy (sorted timelines and
running maxima, no per-place Python loop), as the stores it reads hold up to a million
incidents.
:mod:`geo.sustain` re-exports the public names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo._sustain_time import _NEVER, DAY_NS, _instant, _ns, _place_ids, _utc
from geo._tables import require_columns
from geo.errors import InvalidArgument

#: A clearance counts as re-checked with a check at least this many days after it.
RECHECK_DAYS = 30
_INCIDENT_COLUMNS = ("place_id", "type", "ward_code", "reported_at", "cleared_at")
_CHECK_COLUMNS = ("place_id", "checked_at", "result")
_RESULTS = ("clear", "violation")


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
