"""Kaplan–Meier retention of clear spells: hand-computed cases and lifelines agreement.

Expected numbers come from the product-limit formula S(t) = Π (1 − d_i / n_i) and
Greenwood's variance Σ d_i / (n_i (n_i − d_i)) on the log(−log S) scale, written out here,
never from the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter

from geo.sustain import km_curve

Z = 1.959963984540054  # standard normal 97.5 % quantile
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def loglog_bounds(s: float, greenwood_sum: float) -> tuple[float, float]:
    """Exponential Greenwood interval: S ** exp(± z · sqrt(Σ) / |ln S|)."""
    se = math.sqrt(greenwood_sum) / abs(math.log(s))
    return s ** math.exp(Z * se), s ** math.exp(-Z * se)


def test_machine_note_case_day_zero_censoring_leaves_the_risk_set_first():
    """10 events at day 20, 5 censored at day 100, 5 censored at day 0 (unverified)."""
    durations = np.array([20.0] * 10 + [100.0] * 5 + [0.0] * 5)
    events = np.array([True] * 10 + [False] * 10)
    curve = km_curve(durations, events)
    # at day 20: 15 at risk (the five day-0 spells are gone), 10 events → S = 5/15
    assert curve.retention == {30: pytest.approx(1 / 3, abs=1e-12), 90: pytest.approx(1 / 3, abs=1e-12)}
    low, high = loglog_bounds(1 / 3, 10 / (15 * 5))
    assert curve.low[30] == pytest.approx(low, abs=1e-12)
    assert curve.high[30] == pytest.approx(high, abs=1e-12)
    assert curve.low[90] == pytest.approx(low, abs=1e-12)
    assert curve.median_days == 20.0


def test_hand_case_with_censoring_between_events():
    """Events at 10, 30, 40; censored at 20 and 50."""
    curve = km_curve(np.array([10.0, 20, 30, 40, 50]), np.array([1, 0, 1, 1, 0], dtype=bool))
    s30 = (1 - 1 / 5) * (1 - 1 / 3)  # n=5 at day 10; n=3 at day 30 (20 censored)
    assert curve.retention[30] == pytest.approx(s30, abs=1e-12)
    low, high = loglog_bounds(s30, 1 / (5 * 4) + 1 / (3 * 2))
    assert (curve.low[30], curve.high[30]) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    # nobody was followed to day 90 and S(50) = 4/15 > 0: nothing is known at day 90
    assert curve.retention[90] is None and curve.low[90] is None and curve.high[90] is None
    assert curve.median_days == 40.0  # S(30) = 8/15 > 0.5, S(40) = 4/15 ≤ 0.5


def test_no_spells_and_only_unverified_spells_give_nulls_not_zeros():
    for durations, events in (([], []), ([0.0, 0.0, 0.0], [False, False, False])):
        curve = km_curve(np.array(durations), np.array(events, dtype=bool))
        assert curve.retention == {30: None, 90: None}
        assert curve.low == {30: None, 90: None} and curve.high == {30: None, 90: None}
        assert curve.median_days is None


def test_every_spell_ended_early_gives_zero_with_zero_bounds():
    curve = km_curve(np.array([3.0, 5.0, 8.0]), np.array([True, True, True]))
    assert curve.retention == {30: 0.0, 90: 0.0}  # the curve reached 0: known to stay there
    assert curve.low == {30: 0.0, 90: 0.0} and curve.high == {30: 0.0, 90: 0.0}
    assert curve.median_days == 5.0  # S(3) = 2/3, S(5) = 1/3


def test_nothing_failed_gives_one_and_no_median():
    curve = km_curve(np.array([95.0, 120.0, 0.0]), np.array([False, False, False]))
    assert curve.retention == {30: 1.0, 90: 1.0}
    assert curve.low == {30: 1.0, 90: 1.0} and curve.high == {30: 1.0, 90: 1.0}
    assert curve.median_days is None  # never falls to 0.5


def test_median_at_exactly_one_half():
    curve = km_curve(np.array([10.0, 20, 30, 40]), np.array([True] * 4))
    assert curve.median_days == 20.0  # S(20) = 0.5 exactly: the first day with S ≤ 0.5


def test_an_exact_half_reached_through_a_float_product_is_the_median():
    """S(5) = 13/14 · 12/13 · 10/12 · 7/8 · 4/5 = 1/2 exactly; in floats a hair above."""
    events = [(1, 1), (2, 1), (3, 0), (3, 0), (3, 1), (3, 1), (4, 0), (4, 0), (4, 1),
              (5, 0), (5, 0), (5, 0), (5, 0), (5, 1)]  # fmt: skip
    curve = km_curve(np.array([d for d, _ in events], dtype=float),
                     np.array([e for _, e in events], dtype=bool))  # fmt: skip
    assert curve.median_days == 5.0


# --------------------------------------------------------------------------- lifelines

DURATION = st.one_of(
    st.integers(0, 120).map(float),  # ties, including day 0 and exactly day 30 / 90
    st.floats(0, 150, allow_nan=False, allow_infinity=False),
)


def _lifelines_step(frame, t: float) -> np.ndarray:
    """The row of a lifelines step function in force at time t."""
    return frame.loc[frame.index <= t].iloc[-1].to_numpy()


@SETTINGS
@given(spells=st.lists(st.tuples(DURATION, st.booleans()), min_size=1, max_size=60))
def test_agrees_with_lifelines(spells):
    durations = np.array([d for d, _ in spells])
    # a spell cannot end at its own clearance (reports and checks must come after it),
    # so day 0 holds only censored (unverified) spells, as in build_spells
    events = np.array([e and d > 0 for d, e in spells])
    curve = km_curve(durations, events)
    kmf = KaplanMeierFitter(alpha=0.05).fit(durations, events)
    bounds = kmf.confidence_interval_survival_function_
    for t in (30, 90):
        theirs = float(kmf.predict(t))
        if curve.retention[t] is None:
            assert t > durations.max() and theirs > 0
            continue
        assert curve.retention[t] == pytest.approx(theirs, abs=1e-9)
        if 0 < theirs < 1:
            low, high = _lifelines_step(bounds, t)
            assert curve.low[t] == pytest.approx(low, abs=1e-9)
            assert curve.high[t] == pytest.approx(high, abs=1e-9)
        assert 0 <= curve.low[t] <= curve.retention[t] <= curve.high[t] <= 1
    # the median is lifelines' first time with S <= 0.5; lifelines rounds a product such as
    # (1 - 3/6) to 0.5000000000000001, so "<=" gets the same 1e-9 tolerance as the rest
    sf = kmf.survival_function_.iloc[:, 0]
    reached = sf.index[sf.to_numpy() <= 0.5 + 1e-9]
    assert curve.median_days == (pytest.approx(reached[0], abs=1e-9) if len(reached) else None)
    if not np.isclose(sf.to_numpy(), 0.5, atol=1e-9).any():
        median = kmf.median_survival_time_
        assert curve.median_days == (None if math.isinf(median) else pytest.approx(median))
