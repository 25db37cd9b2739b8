"""Kaplan–Meier retention of clear spells, with Greenwood bounds (scipy).

How long does a clearance last? A spell that nobody followed to its end is censored, not
a success, so retention is a survival curve rather than a share. The estimate is scipy's
(``stats.ecdf`` of ``CensoredData``), not our own; checked against lifelines on this
machine. :mod:`geo.sustain` re-exports the public names.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

#: Retention is read off the curve at these days.
RETENTION_DAYS: tuple[int, ...] = (30, 90)
CONFIDENCE = 0.95
#: An exact half computed as a product of floats (4/5 · 5/8 · …) can come out a hair
#: above 0.5; the median still counts it as having reached one half.
_HALF_TOLERANCE = 1e-9


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
        Days each spell lasted or was followed: any numbers, also an object array of
        numbers (what pandas gives for an object column; scipy itself refuses those).
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
    # scipy computes the log-log bounds under its own np.errstate; nothing outside it
    # divides by zero or makes an invalid value (a NaN bound comes from inside)
    with warnings.catch_warnings():
        # scipy warns where S is 0 or 1 (the log-log scale is undefined there); handled below
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        interval = sf.confidence_interval(confidence, method="log-log")
        at = np.asarray(days, dtype=float)
        # float64 arrays already: scipy interpolates its float probabilities (interp1d)
        point = sf.evaluate(at)
        low = interval.low.evaluate(at)
        high = interval.high.evaluate(at)
    horizon = float(durations.max())
    retention, lows, highs = dict(nothing), dict(nothing), dict(nothing)
    for i, t in enumerate(days):
        s = float(point[i])
        if t > horizon and s > 0:
            continue
        retention[t] = s
        # where S is 0 or 1 scipy's bounds are NaN (log-log is undefined), or 1 before the
        # first spell ends, so the finite test alone falls back to S at exactly those days
        degenerate = not (math.isfinite(low[i]) and math.isfinite(high[i]))
        lows[t] = s if degenerate else float(low[i])
        highs[t] = s if degenerate else float(high[i])
    below = np.flatnonzero(np.asarray(sf.probabilities) <= 0.5 + _HALF_TOLERANCE)
    median = float(np.asarray(sf.quantiles)[below[0]]) if len(below) else None
    return Curve(retention, lows, highs, median)
