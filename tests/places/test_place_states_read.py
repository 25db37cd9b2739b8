"""The plan's reads of what was stored before a batch (issue 15, target 4): the state of
the places a batch joins, whichever statement the backend reads it with, and the reads
made without Python's cycle collector walking the rows they make.

Expected states come from the rule as the issue states it, computed here from the stored
links and incidents by a plain loop: a place is open while one of its incidents has no
``cleared_at``; its latest clearance is the incident with the latest ``cleared_at``, the
larger id on equal times.
"""

from __future__ import annotations

import gc

import pandas as pd
import pytest
from sqlalchemy import text

from geo.store import _place_plan, _sqlite, batches
from tests._store_data import EAST, NO_UPDATES, batch, incidents, ts
from tests.places.test_places_setbased import commit_parts, edge_batch, expected, placed_as, stored

#: SQLite's two join orders (:func:`geo.store._sqlite.states_sql`), forced by the share
#: of joined places from which it scans the links; PostgreSQL reads by the window either way.
JOIN_ORDER = {"scan": 0.0, "probe": 1e12}


def rule_states(store) -> pd.DataFrame:
    """Every place's state by the rule, from its links and incidents (a loop per incident)."""
    with store.read() as conn:
        rows = conn.execute(text(
            "SELECT ip.place_id, i.id, i.status, i.cleared_at FROM incident_places ip "
            "JOIN incidents i ON i.id = ip.incident_id ORDER BY i.id"
        )).all()  # fmt: skip
    state: dict[int, dict] = {}
    for place, incident, status, cleared in rows:
        st = state.setdefault(int(place), {"open": False, "last": None})
        at = pd.Timestamp(cleared, tz="UTC") if isinstance(cleared, str) else pd.Timestamp(cleared)
        if pd.isna(at):
            st["open"] = True
        elif st["last"] is None or (at, incident) > st["last"][:2]:
            st["last"] = (at, int(incident), status)
    out = [
        {"place_id": p, "open": st["open"], "last_id": None if st["last"] is None else st["last"][1],
         "last_cleared": pd.NaT if st["last"] is None else st["last"][0],
         "last_linkable": st["last"] is not None and st["last"][2] == "cleared"}
        for p, st in sorted(state.items())
    ]  # fmt: skip
    return pd.DataFrame(out)


def _read_states(store) -> pd.DataFrame:
    with store.read() as conn:
        ids = conn.execute(text("SELECT id FROM places")).scalars().all()
        got = _place_plan.stored_states(store, conn, ids, linkable=["cleared"])
    return got.sort_values("place_id", ignore_index=True)


@pytest.mark.parametrize("order", sorted(JOIN_ORDER))
def test_the_joined_places_states_are_the_rules_whichever_statement_reads_them(store, order, monkeypatch):
    """Each stored place's state as the plan reads it (open or not; the latest clearance,
    its time and whether its status may be linked from) equals the rule's over its links
    and incidents: places shared by many incidents, equal clearance times at one place
    (the later incident is the latest), places with only open incidents, and the
    recurrences a later batch then makes from them. On SQLite both join orders of its
    statement without the window's sort."""
    monkeypatch.setattr(_sqlite, "SQLITE_SCAN_PER_INCIDENT", JOIN_ORDER[order])
    frame = edge_batch(seed=29, n=300)
    want_place, want_links = expected(frame.assign(own=False))
    assert len(set(want_place)) < len(want_place) - 40 and want_links  # shared places, recurrences
    commit_parts(store, (frame.iloc[:140], frame.iloc[140:]), "st")
    placed_as(store, want_place, want_links)
    # a sidewalk place cleared twice at one instant, an awning place with an open incident
    day = {"ward_code": EAST, "status": "cleared"}
    first = [
        {**day, "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 10:00")},
        {**day, "reported_at": ts("2025-03-01 10:00"), "cleared_at": ts("2025-03-05 10:00")},
        {**day, "reported_at": ts("2025-03-01 11:00"), "cleared_at": ts("2025-03-05 10:00")},
        {**day, "type": "awning", "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 10:00")},
        {"ward_code": EAST, "type": "awning", "reported_at": ts("2025-03-01 10:00")},
    ]
    batches.commit_batch(store, batch("tieA.csv"), incidents(first, source="tieA.csv"), NO_UPDATES, actor="tester")
    want = rule_states(store)
    assert want["open"].any() and (~want["open"] & want["last_id"].notna()).any()  # both kinds of place
    got = _read_states(store)
    assert got["place_id"].tolist() == want["place_id"].tolist()
    assert got["open"].tolist() == want["open"].tolist()
    assert got["last_id"].astype("Int64").tolist() == want["last_id"].astype("Int64").tolist()
    assert got["last_cleared"].tolist() == pd.to_datetime(want["last_cleared"], utc=True).tolist()
    assert got["last_linkable"].tolist() == want["last_linkable"].tolist()
    later = [{"ward_code": EAST, "reported_at": ts("2025-03-10 09:00")},
             {"ward_code": EAST, "type": "awning", "reported_at": ts("2025-03-10 09:00")}]  # fmt: skip
    batches.commit_batch(store, batch("tieB.csv"), incidents(later, source="tieB.csv"), NO_UPDATES, actor="tester")
    with store.read() as conn:
        got_links = dict(conn.execute(text(
            "SELECT source_id, recurrence_of FROM incidents WHERE source = 'tieB.csv'"
        )).all())  # fmt: skip
        tie = dict(conn.execute(text("SELECT source_id, id FROM incidents WHERE source = 'tieA.csv'")).all())
    assert got_links == {"1": tie["3"], "2": None}  # the later of the equal clearances; the open place none


@pytest.mark.parametrize("was_on", [True, False], ids=["collector-on", "collector-off"])
def test_the_plans_reads_run_no_cycle_collection_and_leave_the_collector_as_it_was(store, was_on, monkeypatch):
    """With the collector set to run at every allocation, a second batch's plan reads the
    stored places (both ways) and their states without one collection (the rows it reads
    are plain values; a full collection walks every object alive), and the collector is
    on or off after the batch as it was before."""
    inside: list[str] = []
    collected: list[str] = []
    for name in ("_stored_places", "stored_states"):
        real = getattr(_place_plan, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            inside.append(_name)
            try:
                return _real(*args, **kwargs)
            finally:
                inside.remove(_name)

        monkeypatch.setattr(_place_plan, name, spy)

    def watch(phase, info):
        if phase == "start" and inside:
            collected.append(f"{inside[-1]}: generation {info['generation']}")

    frame = edge_batch(seed=31, n=240)
    threshold = gc.get_threshold()
    was = gc.isenabled()
    gc.callbacks.append(watch)
    try:
        for k, (part, share) in enumerate(((frame.iloc[:120], 0.0), (frame.iloc[120:180], 0.0),
                                           (frame.iloc[180:], float("inf")))):  # fmt: skip
            monkeypatch.setattr(_place_plan, "_SCAN_ABOVE", share)  # one pass, then probes
            gc.set_threshold(1, 1, 1)
            if not was_on:
                gc.disable()
            try:
                batches.commit_batch(store, batch(f"gc{k}.csv"), incidents(part.to_dict("records"), source=f"gc{k}.csv"),
                                     NO_UPDATES, actor="tester")  # fmt: skip
                assert gc.isenabled() is was_on
            finally:
                gc.set_threshold(*threshold)
                gc.enable() if was else gc.disable()
    finally:
        gc.callbacks.remove(watch)
    assert collected == []
    place, _link, status = stored(store)
    assert [place[i] for i in sorted(status)] == expected(frame.assign(own=False))[0]
