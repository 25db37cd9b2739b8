"""The incidents of a map view: markers when few, density points when many.

The officers' map, its shareable HTML file (``python -m geo map``) and the benchmarks
draw the incidents an :class:`~geo.store.filters.IncidentFilter` selects. A browser
cannot take a million markers, so a view holds every matching row only up to a marker
limit, and otherwise just their coordinates for a density grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from geo.store import IncidentFilter, Store, queries

if TYPE_CHECKING:
    from geo.snapshot import IncidentSnapshot


@dataclass(frozen=True)
class View:
    """The incidents of a view: all of them, or a density sample when too many."""

    incidents: pd.DataFrame
    matched: int


def load_view(
    store: Store, flt: IncidentFilter, *, marker_limit: int, snapshot: IncidentSnapshot | None = None
) -> View:
    """Incidents of ``flt`` from ``store``: at most ``marker_limit`` + 1 rows first, and
    all matching rows (lat/lon for a density grid) only when the view is over the limit.

    With a :class:`geo.snapshot.IncidentSnapshot` of the store, the count and a density
    view's points come from its arrays (milliseconds for a million incidents), and SQL
    only reads views of at most ``marker_limit`` rows.

    Parameters
    ----------
    store
        The store.
    flt
        Which incidents.
    marker_limit
        Up to this many, the rows themselves (markers); above it, only lat/lon.
    snapshot
        The store's snapshot, to count and read density points without SQL.

    Returns
    -------
    View
        The rows (or lat/lon only) and how many incidents matched.
    """
    if snapshot is not None:
        keep = flt.mask(snapshot)
        matched = int(keep.sum())
        if matched > marker_limit:
            return View(snapshot.points(keep), matched)
    frame = _plain(queries.incidents(store, flt, limit=marker_limit + 1))
    if len(frame) > marker_limit:
        frame = _plain(queries.incidents(store, flt))
    return View(frame, len(frame))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
