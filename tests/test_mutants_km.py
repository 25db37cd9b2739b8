"""km_curve's contract case by case, for mutation testing
(``python -m benchmarks.mutation --module km``).

Expected values are Kaplan–Meier by hand (S(t) = Π (1 − dᵢ/nᵢ)) and Greenwood's
log-log interval written out below, not read from the code.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from geo.sustain import km_curve

#: standard normal quantiles for 95 % and 90 % two-sided bounds
Z95, Z90 = 1.959963984540054, 1.6448536269514722
#: events at 10, 30, 40; censored at 20 and 50 (n = 5, 4, 3, 2, 1)
DURATIONS = np.array([10.0, 20, 30, 40, 50])
EVENTS = np.array([True, False, True, True, False])
S30 = (1 - 1 / 5) * (1 - 1 / 3)
GREENWOOD30 = 1 / (5 * 4) + 1 / (3 * 2)


def loglog_bounds(s: float, greenwood_sum: float, z: float) -> tuple[float, float]:
    se = math.sqrt(greenwood_sum) / abs(math.log(s))
    return s ** math.exp(z * se), s ** math.exp(-z * se)


def test_events_given_as_zeros_and_ones_mean_the_same_as_booleans():
    curve = km_curve(DURATIONS, np.array([1, 0, 1, 1, 0]))
    assert curve.retention[30] == pytest.approx(S30, abs=1e-12)
    assert curve.median_days == 40.0
    as_list = km_curve([10, 20, 30, 40, 50], [1, 0, 1, 1, 0])  # plain lists of integers
    assert as_list == km_curve(DURATIONS, EVENTS)


def test_a_spell_followed_exactly_to_the_day_read_says_something_there():
    # one event at day 5, one spell followed to day 30 and still clear: S(30) = 1/2
    curve = km_curve(np.array([5.0, 30.0]), np.array([True, False]), days=(30,))
    assert curve.retention == {30: pytest.approx(0.5, abs=1e-12)}
    # one day further nobody was followed: unknown
    assert km_curve(np.array([5.0, 30.0]), np.array([True, False]), days=(31,)).retention == {
        31: None
    }


def test_days_may_come_in_any_order():
    curve = km_curve(DURATIONS, EVENTS, days=(90, 30))
    assert curve.retention[90] is None
    assert curve.retention[30] == pytest.approx(S30, abs=1e-12)
    assert list(curve.retention) == [90, 30]


def test_the_confidence_asked_for_sets_the_bounds():
    for confidence, z in ((0.95, Z95), (0.90, Z90)):
        curve = km_curve(DURATIONS, EVENTS, days=(30,), confidence=confidence)
        low, high = loglog_bounds(S30, GREENWOOD30, z)
        assert curve.low[30] == pytest.approx(low, abs=1e-12)
        assert curve.high[30] == pytest.approx(high, abs=1e-12)


@pytest.mark.parametrize(
    ("durations", "events"),
    [
        ([3.0, 5.0, 8.0], [True, True, True]),  # S reaches 0
        ([95.0, 120.0, 0.0], [False, False, False]),  # S stays 1
        ([10.0, 20, 30, 40, 50], [True, False, True, True, False]),
        ([0.0, 0.0], [False, False]),
    ],
)
def test_no_warning_reaches_the_caller(durations, events):
    """Where S is 0 or 1 the log-log bounds are undefined; km_curve handles that itself,
    so the app's log never fills with scipy's or numpy's warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km_curve(np.array(durations), np.array(events))


def test_durations_from_an_object_column_are_days():
    """An object column of pandas gives an object array; its numbers are days all the
    same (scipy itself refuses object arrays)."""
    as_objects = km_curve(np.array([10, 20, 30, 40, 50], dtype=object), EVENTS)
    assert as_objects.retention[30] == pytest.approx(S30, abs=1e-12)
    assert as_objects == km_curve(DURATIONS, EVENTS)
