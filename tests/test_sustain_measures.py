"""Clear spells and the sustained-order measures, from hand-made place histories.

Each expectation is worked out from the issue's definitions in the comments beside it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import InvalidArgument
from geo.sustain import (
    MEASURE_KEYS,
    build_spells,
    densest_span_share,
    measure_records,
    measures_from_spells,
    sustain_measures,
)

T0 = pd.Timestamp("2025-03-01T02:00:00", tz="UTC")
DEFAULTS = ("00070", "Hàng Mã", "sidewalk")  # ward, street, type


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def incidents(*rows: tuple) -> pd.DataFrame:
    """(place, reported day, cleared day or None[, ward[, street[, type]]])."""
    out = []
    for i, row in enumerate(rows):
        place, rep, clr, *rest = row
        ward, street, kind = [*rest, *DEFAULTS[len(rest):]]
        out.append(
            {"id": i + 1, "place_id": place, "ward_code": ward, "street": street, "type": kind,
             "reported_at": day(rep), "cleared_at": None if clr is None else day(clr)}
        )  # fmt: skip
    columns = ["id", "place_id", "ward_code", "street", "type", "reported_at", "cleared_at"]
    return pd.DataFrame(out, columns=columns)


def checks(*rows: tuple) -> pd.DataFrame:
    """(place, day, result)."""
    return pd.DataFrame(
        [{"place_id": p, "checked_at": day(d), "result": r} for p, d, r in rows],
        columns=["place_id", "checked_at", "result"],
    )


def spell_rows(inc, chk=None, as_of=400):
    return build_spells(inc, chk, as_of=day(as_of)).frame


# --------------------------------------------------------------------------- spells


def test_a_new_report_after_clearance_ends_the_spell_as_an_event():
    frame = spell_rows(incidents((1, 0, 2), (1, 12, 13)), checks((1, 5, "clear")))
    first, second = frame.to_dict("records")
    assert (first["episode"], first["event"], first["duration_days"]) == (1, True, 10.0)
    assert first["ended_at"] == day(12)
    assert first["place_episodes"] == 2 and second["episode"] == 2
    assert second["unverified"] and second["duration_days"] == 0.0  # nobody looked since


def test_a_violation_check_ends_the_spell_and_a_clear_check_censors_it():
    frame = spell_rows(
        incidents((1, 0, 1), (2, 0, 1)),
        checks((1, 8, "clear"), (1, 31, "violation"), (1, 40, "clear"), (2, 8, "clear"), (2, 37, "clear")),
    )
    one, two = frame.to_dict("records")
    assert one["event"] and one["duration_days"] == 30.0  # the violation at day 31
    assert not two["event"] and two["duration_days"] == 36.0  # censored at the last clear check
    assert not one["unverified"] and not two["unverified"]


def test_a_report_while_the_place_is_open_is_the_same_episode():
    # second report at day 3 while the first is open: one episode, cleared when both are
    frame = spell_rows(incidents((1, 0, 5), (1, 3, 9)), checks((1, 20, "clear")))
    (only,) = frame.to_dict("records")
    assert only["cleared_at"] == day(9) and only["place_episodes"] == 1
    assert only["duration_days"] == 11.0
    # a duplicate that is never cleared keeps the episode open: no spell at all
    assert spell_rows(incidents((1, 0, 5), (1, 3, None))).empty


def test_as_of_hides_later_reports_checks_and_clearances():
    inc = incidents((1, 0, 2), (1, 50, 51), (2, 0, 70))
    chk = checks((1, 30, "clear"), (1, 45, "violation"))
    frame = spell_rows(inc, chk, as_of=40)
    assert frame["place_id"].tolist() == [1]  # place 2 is cleared only at day 70
    (only,) = frame.to_dict("records")
    assert not only["event"] and only["duration_days"] == 28.0 and only["place_episodes"] == 1
    later = spell_rows(inc, chk, as_of=60).to_dict("records")
    assert later[0]["event"] and later[0]["duration_days"] == 43.0  # the violation at day 45


def test_checks_at_the_clearance_instant_or_before_it_do_not_count():
    frame = spell_rows(incidents((1, 0, 2)), checks((1, 2, "clear"), (1, 1, "violation")))
    (only,) = frame.to_dict("records")
    assert only["unverified"] and not only["event"]


def test_rechecked_needs_a_check_30_days_after_its_own_clearance():
    inc = incidents((1, 0, 0), (2, 0, 0), (3, 0, 0), (3, 10, 20))
    chk = checks((1, 29.9, "clear"), (2, 30, "clear"), (3, 45, "clear"))
    frame = spell_rows(inc, chk)
    assert frame["rechecked"].tolist() == [False, True, False, False]
    # place 3: the day-45 check comes after its second clearance (day 20): it is 25 days
    # into that spell, and is no longer about the first clearance


def test_place_labels_come_from_the_place_and_its_first_named_street():
    inc = incidents((1, 0, 1, "00070", None), (1, 5, 6, "00070", "Hàng Bạc"), (1, 9, 10, "00070", "Hàng Mã"))
    assert spell_rows(inc)["street"].tolist() == ["Hàng Bạc"] * 3


def test_bad_input_is_refused_with_the_row():
    with pytest.raises(InvalidArgument, match="cleared_at"):
        build_spells(pd.DataFrame({"place_id": [1], "type": ["a"], "ward_code": ["w"],
                                   "reported_at": [T0]}), as_of=T0)  # fmt: skip
    with pytest.raises(InvalidArgument, match="row 1"):
        build_spells(incidents((1, 0, 1)), checks((1, 3, "clear"), (1, 4, "maybe")), as_of=day(9))
    with pytest.raises(InvalidArgument, match="row 0"):
        build_spells(incidents((1, 0, 1)).assign(place_id=["?"]), as_of=day(9))


# --------------------------------------------------------------------------- measures


def test_output_rows_have_exactly_the_issue_keys_and_json_nulls():
    inc = incidents((1, 0, 1), (2, 0, 1, "00073"))
    rows = measure_records(sustain_measures(inc, None, date_from=day(0), date_to=day(100)))
    assert [list(r) for r in rows] == [["ward_code", *MEASURE_KEYS]] * 2
    for row in rows:  # two unverified spells: nothing is known about retention
        assert row["places"] == 1 and row["spells"] == 1
        for key in ("retention_30", "retention_30_low", "retention_90_high", "median_days_clear"):
            assert row[key] is None
        assert row["recurrence_rate"] == 0.0 and row["chronic_places"] == 0
        assert row["rechecked_share"] == 0.0  # cleared 99 days before, never checked
        assert row["campaign_flag"] is None  # all clearances in 14 days, retention unknown
    assert json.loads(json.dumps(rows)) == rows


def test_a_ward_with_no_clearance_is_null_not_zero():
    frame = sustain_measures(incidents((1, 0, 1)), None, date_from=day(0), date_to=day(100),
                             keys=["00070", "00080"])  # fmt: skip
    empty = measure_records(frame)[1]
    assert empty["ward_code"] == "00080" and empty["places"] == 0 and empty["spells"] == 0
    for key in MEASURE_KEYS[2:]:
        assert empty[key] is None, key
    young = measure_records(sustain_measures(incidents((1, 0, 1)), None, date_to=day(20)))[0]
    assert young["rechecked_share"] is None  # no clearance is 30 days old yet


def test_retention_and_recurrence_of_a_ward():
    # 10 places cleared on day 1 that come back on day 21; 5 checked clear on day 101;
    # 5 never checked. As in the machine note: S(30) = S(90) = 5/15 = 1/3.
    rows = [(p, 0, 1) for p in range(1, 21)] + [(p, 21, None) for p in range(1, 11)]
    chk = [(p, 101, "clear") for p in range(11, 16)]
    got = measure_records(
        sustain_measures(incidents(*rows), checks(*chk), date_from=day(0), date_to=day(150))
    )[0]
    assert got["places"] == 20 and got["spells"] == 20
    assert got["retention_30"] == pytest.approx(1 / 3) and got["retention_90"] == pytest.approx(1 / 3)
    assert got["retention_30_low"] < 1 / 3 < got["retention_30_high"]
    assert got["median_days_clear"] == 20.0
    assert got["recurrence_rate"] == 0.5  # places 1-10 have two episodes
    assert got["rechecked_share"] == 0.25  # 5 of 20 clearances have a check at >= 30 days
    assert got["chronic_places"] == 0


def test_chronic_places_have_three_recurrences_or_more():
    rows = []
    for place, episodes in ((1, 4), (2, 3), (3, 5)):
        rows += [(place, 20 * k, 20 * k + 1) for k in range(episodes)]
    spells = build_spells(incidents(*rows), None, as_of=day(200))
    got = measure_records(measures_from_spells(spells, date_from=day(0), date_to=day(200)))[0]
    assert got["places"] == 3 and got["spells"] == 12
    assert got["chronic_places"] == 2  # 3 and 4 recurrences; place 2 has only 2
    assert got["recurrence_rate"] == 1.0


def test_the_window_selects_clearances():
    rows = [(1, 0, 1), (2, 0, 40), (3, 0, 70)]
    spells = build_spells(incidents(*rows), None, as_of=day(200))
    got = measure_records(measures_from_spells(spells, date_from=day(30), date_to=day(60)))
    assert got[0]["places"] == 1 and got[0]["spells"] == 1


def test_grouping_by_street_and_type():
    inc = incidents((1, 0, 1, "00070", "Hàng Mã", "awning"), (2, 0, 1, "00070", "  ", "awning"),
                    (3, 0, 1, "00070", "Hàng Bạc", "parking"))  # fmt: skip
    by_street = measure_records(sustain_measures(inc, None, by="street", date_to=day(9)))
    assert [r["street"] for r in by_street] == ["Hàng Bạc", "Hàng Mã"]  # blank street left out
    by_type = measure_records(sustain_measures(inc, None, by="type", date_to=day(9)))
    assert [(r["type"], r["places"]) for r in by_type] == [("awning", 2), ("parking", 1)]
    with pytest.raises(InvalidArgument, match="district"):
        sustain_measures(inc, None, by="district", date_to=day(9))


# --------------------------------------------------------------------------- campaign flag


def _campaign(clear_days: list[float], back_after: float | None) -> dict:
    """One place per clearance; each comes back ``back_after`` days later (or is checked
    clear at day +100 when None)."""
    rows, chk = [], []
    for place, d in enumerate(clear_days, start=1):
        rows.append((place, d - 1, d))
        if back_after is None:
            chk.append((place, d + 100, "clear"))
        else:
            rows.append((place, d + back_after, None))
    frame = sustain_measures(incidents(*rows), checks(*chk) if chk else None,
                             date_from=day(0), date_to=day(400))  # fmt: skip
    return frame.to_dict("records")[0]


def test_campaign_flag_spike_then_quick_returns():
    got = _campaign([10, 11, 12, 13, 23, 60, 120, 200], back_after=5)
    assert got["densest_14d_share"] == 0.625  # days 10-23: five of eight within [10, 24)
    assert got["retention_30"] == 0.0
    assert bool(got["campaign_flag"]) is True


def test_campaign_flag_needs_the_spike():
    got = _campaign([10, 40, 70, 100, 130, 160, 190, 220], back_after=5)
    assert got["densest_14d_share"] == 0.125 and got["retention_30"] == 0.0
    assert bool(got["campaign_flag"]) is False


def test_campaign_flag_needs_the_quick_returns():
    got = _campaign([10, 11, 12, 13, 14, 60, 120, 200], back_after=None)
    assert got["densest_14d_share"] == 0.625 and got["retention_30"] == 1.0
    assert bool(got["campaign_flag"]) is False


def test_campaign_threshold_is_at_least_half_and_retention_below_0_6():
    # exactly half (4 of 8) inside [10, 24), the fifth at day 24 just outside
    got = _campaign([10, 12, 16, 23.99, 24, 80, 140, 200], back_after=5)
    assert got["densest_14d_share"] == 0.5 and bool(got["campaign_flag"]) is True
    # retention exactly 0.6 is not below 0.6: 3 of 5 places come back, all in one week
    rows = [(p, 0, 1) for p in range(1, 6)] + [(p, 10, None) for p in (1, 2)]
    chk = [(p, 90, "clear") for p in (3, 4, 5)]
    frame = sustain_measures(incidents(*rows), checks(*chk), date_from=day(0), date_to=day(200))
    got = frame.to_dict("records")[0]
    assert got["retention_30"] == pytest.approx(0.6) and bool(got["campaign_flag"]) is False


def test_densest_span_is_half_open():
    ns = np.array([day(d).value for d in (0, 13.999, 14, 28.5)], dtype=np.int64)
    assert densest_span_share(ns) == 0.5  # [0, 14) holds 2; a closed [0, 14] would hold 3
    assert densest_span_share(ns[:0]) is None


# --------------------------------------------------------------------------- spells vs a loop


def reference_spells(inc: pd.DataFrame, chk: pd.DataFrame, as_of: pd.Timestamp) -> list[tuple]:
    """The spell rules, literally, one place at a time."""
    out = []
    for place in sorted(inc["place_id"].unique()):
        rows = inc[(inc["place_id"] == place) & (inc["reported_at"] <= as_of)]
        rows = rows.sort_values(["reported_at", "id"])
        episodes: list[list[tuple]] = []
        for r in rows.itertuples():
            cleared = r.cleared_at if pd.notna(r.cleared_at) and r.cleared_at <= as_of else None
            cleared = None if cleared is None else max(cleared, r.reported_at)
            last = episodes[-1] if episodes else None
            still_open = last is not None and (
                any(c is None for _, c in last) or r.reported_at <= max(c for _, c in last)
            )
            if still_open:
                last.append((r.reported_at, cleared))
            else:
                episodes.append([(r.reported_at, cleared)])
        place_checks = chk[(chk["place_id"] == place) & (chk["checked_at"] <= as_of)]
        for k, episode in enumerate(episodes):
            if any(c is None for _, c in episode):
                continue
            start = max(c for _, c in episode)
            following = episodes[k + 1] if k + 1 < len(episodes) else None
            next_report = following[0][0] if following else None
            next_clear = (max(c for _, c in following)
                          if following and all(c is not None for _, c in following) else None)  # fmt: skip
            after = place_checks[place_checks["checked_at"] > start]
            violations = after[after["result"] == "violation"]["checked_at"]
            ends = [t for t in (next_report, violations.min() if len(violations) else None) if t is not None]
            clears = after[after["result"] == "clear"]["checked_at"]
            if ends:
                event, until = True, min(ends)
            else:
                event, until = False, (clears.max() if len(clears) else start)
            own = after if next_clear is None else after[after["checked_at"] <= next_clear]
            rechecked = bool((own["checked_at"] >= start + pd.Timedelta(days=30)).any())
            unverified = not event and len(clears) == 0
            out.append((int(place), k + 1, start, event, (until - start) / pd.Timedelta(days=1),
                        unverified, rechecked, len(episodes)))  # fmt: skip
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 4), st.integers(0, 60),  # small ranges: many equal instants
                  st.one_of(st.none(), st.integers(0, 12))),
        max_size=25,
    ),
    checks_=st.lists(
        st.tuples(st.integers(1, 4), st.integers(0, 110), st.sampled_from(["clear", "violation"])),
        max_size=15,
    ),
    as_of=st.integers(10, 120),
)  # fmt: skip
def test_spells_match_a_literal_loop(rows, checks_, as_of):
    inc = incidents(*[(p, r, None if c is None else r + c) for p, r, c in rows])
    chk = checks(*checks_)
    got = build_spells(inc, chk, as_of=day(as_of)).frame
    got_rows = [
        (r["place_id"], r["episode"], r["cleared_at"], bool(r["event"]), r["duration_days"],
         bool(r["unverified"]), bool(r["rechecked"]), r["place_episodes"])
        for r in got.to_dict("records")
    ]  # fmt: skip
    assert got_rows == reference_spells(inc, chk, day(as_of))


def test_timeline_order_packs_when_it_can_and_falls_back_to_lexsort():
    from geo._sustain_spells import _timeline_order

    rng = np.random.default_rng(4)
    place = rng.integers(0, 50, 400)
    seconds = (1_700_000_000 + rng.integers(0, 20, 400)) * 10**9  # whole seconds: packed
    nanos = seconds + rng.integers(0, 3, 400)  # ns resolution, 2**40 places: no room
    kind = rng.integers(0, 2, 400)
    for p, t in ((place, seconds), (place * 2**40, nanos)):
        assert _timeline_order(p, t).tolist() == np.lexsort((t, p)).tolist()
        assert _timeline_order(p, t, kind).tolist() == np.lexsort((kind, t, p)).tolist()
