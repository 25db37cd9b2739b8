"""A small store of places whose sustained-order figures are worked out by hand.

Days are counted from ``BASE`` (100 days before the test runs), so every figure is "as of
now". Places sit about 100 m apart (the matching radius is 15 m), so each listed spot
is one place; a later row at the same spot after every earlier one is cleared is a
recurrence (issue 12, section 1).

Hoàn Kiếm (00070):
  place A: reported d0, cleared d1; back d11, cleared d12; back d32, cleared d33;
           checked clear d63  → spells 10 (event), 20 (event), 30 (censored); 2 recurrences
  place B: reported d0, cleared d2; checked clear d42          → spell 40 (censored)
  place C: reported d0, cleared d5; never checked              → spell 0 (censored, unverified)
  place E: reported d50, still open                            → no spell, state "open"
Ward 00004:
  place D: reported d0, cleared d1; back d6, still open        → spell 5 (event); "recurred"
Ward 00008:
  places F, G, H: reported d0, cleared d3; checked clear d43   → spells 40, 40, 40 (censored)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.store import batches, open_store
from geo.store import inspections as stored_checks
from geo.store import places as stored_places
from tests._store_data import NO_UPDATES, batch, incidents

HOAN_KIEM, WARD_D, STEADY = "00070", "00004", "00008"
BASE = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=100)).floor("D") + pd.Timedelta(hours=3)

#: Spot (lat, lon) and ward of each place.
SPOTS: dict[str, tuple[float, float, str]] = {
    "A": (21.0340, 105.8500, HOAN_KIEM),
    "B": (21.0350, 105.8510, HOAN_KIEM),
    "C": (21.0360, 105.8520, HOAN_KIEM),
    "E": (21.0370, 105.8530, HOAN_KIEM),
    "D": (21.0340, 105.8500, WARD_D),
    "F": (21.0300, 105.8450, STEADY),
    "G": (21.0310, 105.8460, STEADY),
    "H": (21.0320, 105.8470, STEADY),
}
#: (place, reported day, cleared day or None), in report order.
INCIDENTS: list[tuple[str, int, int | None]] = [
    ("A", 0, 1), ("B", 0, 2), ("C", 0, 5), ("D", 0, 1), ("F", 0, 3), ("G", 0, 3), ("H", 0, 3),
    ("D", 6, None), ("A", 11, 12), ("A", 32, 33), ("E", 50, None),
]  # fmt: skip
#: (place, check day, result).
CHECKS: list[tuple[str, int, str]] = [("A", 63, "clear"), ("B", 42, "clear"),
                                      ("F", 43, "clear"), ("G", 43, "clear"), ("H", 43, "clear")]  # fmt: skip
#: Notes typed with some checks (user input: markup must show as text, never run).
CHECK_NOTES: dict[tuple[str, int], str] = {("A", 63): '<img src=x onerror="document.title=\'pwned\'"> sạch & gọn'}
#: Kinds of a place's events in the order of a day (reports first, checks last).
EVENT_ORDER = ("report", "recurrence", "clear", "check_clear", "check_violation")


def day(n: float) -> pd.Timestamp:
    return BASE + pd.Timedelta(days=n)


def _row(spot: str, reported: int, cleared: int | None) -> dict[str, Any]:
    lat, lon, ward = SPOTS[spot]
    return {
        "ward_code": ward, "lat": lat, "lon": lon, "street": "Hàng Mã", "address": f"điểm {spot}",
        "status": "cleared" if cleared is not None else "reported",
        "reported_at": day(reported), "cleared_at": day(cleared) if cleared is not None else pd.NaT,
    }  # fmt: skip


def seed(url: str) -> dict[str, int]:
    """Write the world into the store at ``url``; returns spot → place id."""
    store = open_store(url)
    try:
        rows = [_row(*spec) for spec in INCIDENTS]
        batches.commit_batch(store, batch("world.csv"), incidents(rows, "world.csv"), NO_UPDATES, actor="field")
        placed = stored_places.place_incidents_frame(store).sort_values("id")
        ids = {spec[0]: int(pid) for spec, pid in zip(INCIDENTS, placed["place_id"], strict=True)}
        for spot, when, result in CHECKS:
            stored_checks.record_inspection(store, ids[spot], checked_at=day(when), result=result, actor="field",
                                            note=CHECK_NOTES.get((spot, when)))  # fmt: skip
    finally:
        store.close()
    return ids


# --- the rules worked by hand on the rows above (never through geo's code) ---


def episodes_by_rule() -> dict[str, list[tuple[int, int | None]]]:
    """Spot → episodes (first report day, clearance day or None): a report joins the open
    episode, or starts a new one when every earlier report of the spot is cleared by then."""
    out: dict[str, list[tuple[int, int | None]]] = {}
    for spot in SPOTS:
        rows = sorted((r, c) for s, r, c in INCIDENTS if s == spot)
        episodes: list[list] = []
        for reported, cleared in rows:
            last = episodes[-1] if episodes else None
            if last is not None and (last[1] is None or last[1] > reported):
                last[1] = None if cleared is None or last[1] is None else max(last[1], cleared)
            else:
                episodes.append([reported, cleared])
        out[spot] = [(a, b) for a, b in episodes]
    return out


def spells_by_rule() -> pd.DataFrame:
    """One row per clear spell: ward, duration (days), event (ended by a recurrence)."""
    rows = []
    for spot, episodes in episodes_by_rule().items():
        for i, (_, cleared) in enumerate(episodes):
            if cleared is None:
                continue
            nxt = episodes[i + 1][0] if i + 1 < len(episodes) else None
            checks = [d for s, d, r in CHECKS if s == spot and r == "clear" and d > cleared]
            if nxt is not None:
                rows.append((SPOTS[spot][2], nxt - cleared, True, cleared))
            else:
                rows.append((SPOTS[spot][2], (max(checks) - cleared) if checks else 0, False, cleared))
    return pd.DataFrame(rows, columns=["ward", "duration", "event", "cleared"])


def timeline_by_rule(spot: str) -> list[tuple[int, str, str | None]]:
    """A spot's events as (day, kind, note), in time order: every report (a ``recurrence``
    when it opens an episode after the first), every clearance, every check."""
    episodes = episodes_by_rule()[spot]
    opened_again = {first for first, _ in episodes[1:]}
    events: list[tuple[int, str, str | None]] = []
    for s, reported, cleared in INCIDENTS:
        if s != spot:
            continue
        events.append((reported, "recurrence" if reported in opened_again else "report", None))
        if cleared is not None:
            events.append((cleared, "clear", None))
    events += [(d, f"check_{r}", CHECK_NOTES.get((s, d))) for s, d, r in CHECKS if s == spot]
    return sorted(events, key=lambda e: (e[0], EVENT_ORDER.index(e[1])))
