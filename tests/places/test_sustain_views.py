"""What the leaders' pages draw of sustained order (:mod:`geo.sustain_views`), read from a
real SQLite file and from PostGIS through the services, against the issue's rules worked
by hand on the rows of :mod:`tests._sustain_world` (lifelines for Kaplan–Meier)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from geo import services
from geo.auth import User
from geo.crs import LOCAL_TZ
from geo.errors import AccessDenied, InvalidArgument
from geo.store import open_store
from geo.sustain_views import recurrence_counts
from tests._sustain_world import (
    CHECKS,
    EVENT_ORDER,
    HOAN_KIEM,
    SPOTS,
    WARD_D,
    day,
    episodes_by_rule,
    seed,
    spells_by_rule,
    timeline_by_rule,
)

VIEWER = User("leader", frozenset({"viewer"}))


@pytest.fixture
def world(store_url):
    ids = seed(store_url)
    store = open_store(store_url)
    yield store, ids
    store.close()


def test_survival_curves_are_kaplan_meier_of_the_spells(world):
    store, _ = world
    curves = services.survival_curves(store, VIEWER, HOAN_KIEM)
    spells = spells_by_rule()
    for scope, mine in (("ward", spells[spells["ward"] == HOAN_KIEM]), ("city", spells)):
        drawn = curves[curves["scope"] == scope]
        expected = KaplanMeierFitter().fit(mine["duration"], mine["event"]).predict(drawn["day"].to_numpy())
        assert drawn["day"].tolist() == sorted({0.0, *mine["duration"].astype(float)})
        assert drawn["survival"].to_numpy() == pytest.approx(np.asarray(expected, dtype=float), abs=1e-9)
    # a window that holds no clearance draws nothing, and says how many spells it had
    empty = services.survival_curves(store, VIEWER, HOAN_KIEM, date_from=day(90), date_to=day(99))
    assert empty.empty


def test_place_states_follow_the_last_episode(world):
    store, ids = world
    states = services.place_states(store, VIEWER).set_index("place_id")
    for spot, episodes in episodes_by_rule().items():
        row = states.loc[ids[spot]]
        cleared = episodes[-1][1]
        assert row["state"] == ("clear" if cleared is not None else "recurred" if len(episodes) > 1 else "open")
        assert row["recurrences"] == len(episodes) - 1
        assert row["ward_code"] == SPOTS[spot][2]
        assert (row["lat"], row["lon"]) == pytest.approx(SPOTS[spot][:2])
        if cleared is not None:  # days since the last clearance, as of now
            now = pd.Timestamp.now(tz="UTC")
            assert row["days_clear"] == pytest.approx((now - day(cleared)).total_seconds() / 86_400, abs=0.01)
        else:
            assert pd.isna(row["days_clear"])
    one_ward = services.place_states(store, VIEWER, ward=WARD_D)
    assert one_ward["place_id"].tolist() == [ids["D"]]


def test_recurrences_per_week_and_day(world):
    store, _ = world
    reports = {
        spot: [pd.Timestamp(day(eps[0])).tz_convert(LOCAL_TZ).tz_localize(None) for eps in episodes[1:]]
        for spot, episodes in episodes_by_rule().items()
    }
    every = [r for rs in reports.values() for r in rs]
    weekly = services.recurrence_counts(store, VIEWER, "W")
    mondays = pd.Series([r.normalize() - pd.Timedelta(days=r.weekday()) for r in every]).value_counts().sort_index()
    assert weekly["period"].tolist() == mondays.index.tolist()
    assert weekly["recurrences"].tolist() == mondays.tolist()
    daily = services.recurrence_counts(store, VIEWER, "D", ward=HOAN_KIEM)
    assert daily["period"].tolist() == sorted(r.normalize() for r in reports["A"])
    assert services.recurrence_counts(store, VIEWER, "W", street="Phố khác").empty
    with pytest.raises(InvalidArgument):
        recurrence_counts(pd.DataFrame(columns=["place_id", "type", "ward_code", "reported_at", "cleared_at"]), "M")


def test_chronic_timelines_list_each_incident_and_every_event(world):
    store, ids = world
    timelines, events = services.chronic_timelines(store, VIEWER, HOAN_KIEM)
    episodes = episodes_by_rule()["A"]
    assert timelines["place_id"].unique().tolist() == [ids["A"]]
    assert timelines["reported_at"].tolist() == [day(r) for r, _ in episodes]
    assert timelines["cleared_at"].tolist() == [day(c) for _, c in episodes]
    nexts = [day(episodes[i + 1][0]) for i in range(len(episodes) - 1)]
    assert timelines["recurred_at"].tolist()[:-1] == nexts and pd.isna(timelines["recurred_at"].iloc[-1])
    checks = [day(d) for s, d, _ in CHECKS if s == "A"]
    assert events[events["kind"] == "check_clear"]["at"].tolist() == checks
    assert events[events["kind"] == "recurrence"]["at"].tolist() == [day(r) for r, _ in episodes[1:]]
    assert services.chronic_timelines(store, VIEWER, WARD_D)[0].empty  # one recurrence only


def test_place_timelines_give_every_place_its_events_in_time_order(world):
    store, ids = world
    events = services.place_timelines(store, VIEWER)
    assert sorted(events["place_id"].unique()) == sorted(ids.values())
    for spot, place in ids.items():
        mine = events[events["place_id"] == place]
        got = [(at, kind, None if pd.isna(note) else note) for at, kind, note in
               zip(mine["at"], mine["kind"], mine["note"], strict=True)]  # fmt: skip
        assert got == [(day(d), kind, note) for d, kind, note in timeline_by_rule(spot)], spot
        assert set(mine["address"]) == {f"điểm {spot}"}
    # only the asked places (the map reads the drawn ones), and the same events for them
    two = services.place_timelines(store, VIEWER, ward=HOAN_KIEM, place_ids=[ids["A"], ids["E"]])
    assert two["place_id"].unique().tolist() == [ids["A"], ids["E"]]
    pd.testing.assert_frame_equal(
        two.reset_index(drop=True),
        events[events["place_id"].isin([ids["A"], ids["E"]])].reset_index(drop=True),
    )
    # seen as of day 40: A's third report (d32) and clearance (d33) are there, its check (d63) is not
    before = services.place_timelines(store, VIEWER, place_ids=[ids["A"]], as_of=day(40))
    assert before["at"].tolist() == [day(d) for d, _, _ in timeline_by_rule("A") if d <= 40]
    assert "check_clear" not in set(before["kind"])


def test_popup_timelines_carry_the_latest_events_and_count_the_rest(world):
    from geo.place_layer import popup_timelines

    store, ids = world
    events = services.place_timelines(store, VIEWER)
    local_day = {d: (day(d).tz_convert(LOCAL_TZ).tz_localize(None).normalize() - pd.Timestamp("1970-01-01")).days
                 for d in range(0, 100)}  # fmt: skip
    popups = popup_timelines(events, last=3)
    for spot, place in ids.items():
        rule = timeline_by_rule(spot)
        rows, earlier, address = popups[place]
        shown = rule[-3:]
        assert [r[:2] for r in rows] == [[local_day[d], EVENT_ORDER.index(k)] for d, k, _ in shown]
        assert earlier == len(rule) - len(shown)
        assert address == f"điểm {spot}"
    # A's note is user input: escaped, never markup
    (note,) = [r[2] for r in popups[ids["A"]][0] if len(r) > 2]
    assert note == "&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt; sạch &amp; gọn"


def test_the_views_need_the_view_right(world):
    store, _ = world
    with pytest.raises(AccessDenied):
        services.place_states(store, None)
    with pytest.raises(AccessDenied):
        services.place_timelines(store, None)


def test_survival_steps_are_read_at_whole_days_rounded_up():
    from geo.sustain_views import survival_steps

    # censored at 2.2 days, a recurrence at 10.5: S = 1 until the event, then 0 (1 at risk)
    steps = survival_steps(np.array([2.2, 10.5]), np.array([False, True]))
    assert steps["day"].tolist() == [0.0, 3.0, 11.0]
    assert steps["survival"].tolist() == [1.0, 1.0, 0.0]
    assert survival_steps(np.array([]), np.array([], dtype=bool)).empty
