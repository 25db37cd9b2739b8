"""The status workflow and its deadlines.

States (codes from :mod:`geo.vocab`): ``reported → verified → in_progress → cleared``;
steps may be skipped forwards (an officer on site can clear a fresh report at once) but
never go back. ``cleared → recurred`` marks an earlier incident whose place was violated
again; the repeat itself is a *new* incident with ``recurrence_of`` pointing at it, so the
first incident keeps its own time-to-clear and the repeat gets its own deadline.
``recurred`` is final.

Deadlines: ``due_at = reported_at + service level of the type``. Defaults below, in days;
override with ``GEO_SLA_DAYS="sidewalk=2,parking=0.5"``. Overdue = past ``due_at`` and
still open (reported, verified or in progress).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from geo import settings
from geo.errors import WorkflowError
from geo.vocab import STATE_CODES, STATES

#: Allowed moves: from → targets.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("verified", "in_progress", "cleared"),
    "verified": ("in_progress", "cleared"),
    "in_progress": ("cleared",),
    "cleared": ("recurred",),
    "recurred": (),
}

#: States in which an incident still needs action.
OPEN_STATES: tuple[str, ...] = ("reported", "verified", "in_progress")
#: States in which it does not (``cleared_at`` is set when it got there).
CLOSED_STATES: tuple[str, ...] = ("cleared", "recurred")

#: Default service levels per violation type, in days from the report.
DEFAULT_SLA_DAYS: dict[str, float] = {
    "parking": 1.0,  # a parked car moves or is towed the same day
    "sidewalk": 3.0,  # goods, stalls, tables on the pavement
    "materials": 3.0,  # building materials / waste on the street
    "awning": 7.0,  # dismantling needs notice to the owner
    "signboard": 14.0,  # billboards need a permit check and a contractor
    "other": 7.0,
}

SLA_ENV = settings.SLA_DAYS.name

_LABELS = {s.code: (s.label_vi, s.label_en) for s in STATES}
assert set(TRANSITIONS) == set(STATE_CODES)


def check_state(state: str, *, where: str = "") -> str:
    """``state`` if it is a workflow state, else a bilingual :class:`WorkflowError`."""
    if state not in TRANSITIONS:
        at = f" ({where})" if where else ""
        known = ", ".join(STATE_CODES)
        raise WorkflowError(
            f"Trạng thái không hợp lệ {state!r}{at}; các trạng thái: {known}.",
            f"Unknown status {state!r}{at}; valid statuses: {known}.",
        )
    return state


def can_transition(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, ())


def check_transition(from_state: str, to_state: str, *, where: str = "") -> None:
    """Refuse a move the workflow does not allow, naming both states in both languages."""
    check_state(to_state, where=where)
    if can_transition(from_state, to_state):
        return
    at = f"{where}: " if where else ""
    allowed = TRANSITIONS.get(from_state, ())
    fvi, fen = _LABELS.get(from_state, (from_state, from_state))
    tvi, ten = _LABELS[to_state]
    vi_allowed = ", ".join(_LABELS[s][0] for s in allowed) or "không có (trạng thái cuối)"
    en_allowed = ", ".join(allowed) or "none (final state)"
    raise WorkflowError(
        f"{at}không thể chuyển từ “{fvi}” sang “{tvi}”; được phép: {vi_allowed}.",
        f"{at}cannot move from {from_state!r} ({fen}) to {to_state!r} ({ten}); "
        f"allowed: {en_allowed}.",
    )


def sla_days(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Service levels in days: defaults, then ``GEO_SLA_DAYS``, then ``overrides``."""
    levels = {**DEFAULT_SLA_DAYS, **settings.sla_days()}
    if overrides:
        levels.update(overrides)
    return levels


def due_dates(
    types: pd.Series, reported_at: pd.Series, levels: Mapping[str, float] | None = None
) -> pd.Series:
    """``reported_at`` plus the service level of each type (``other``'s for unknown types)."""
    table = sla_days() if levels is None else dict(levels)
    days = types.map(table).fillna(table.get("other", DEFAULT_SLA_DAYS["other"]))
    return pd.to_datetime(reported_at, utc=True) + pd.to_timedelta(days.astype(float), unit="D")
