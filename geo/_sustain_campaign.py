"""The campaign flag: many clearances in one short span that then do not last.

A ward that clears everything in one fortnight for an inspection and lets it come back
looks good on a count of clearances; this flag names that pattern. It is three-valued:
None where the data cannot tell. :mod:`geo.sustain` re-exports the public names.
"""

from __future__ import annotations

import numpy as np

from geo._sustain_time import DAY_NS

#: Campaign-style: at least this share of the window's clearances within one span …
CAMPAIGN_SPAN_DAYS = 14
CAMPAIGN_SHARE = 0.5
#: … and fewer than this share of cleared places still clear after 30 days.
CAMPAIGN_RETENTION = 0.6


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
