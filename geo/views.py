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


#: The most ids :func:`load_view` names in one statement (SQLite binds at most 32,766).
ID_LOOKUP_MAX = 10_000


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
    only reads views of at most ``marker_limit`` rows, by the ids the snapshot chose (up
    to :data:`ID_LOOKUP_MAX`; the filter still applies): 4,753 markers of one ward and
    status at 2M took 0.35 s of CPU as the filter's scan of the 100,000 rows of that
    status, 0.1 s looked up by id.

    Parameters
    ----------
    store
        The store.
    flt
        Which incidents.
    marker_limit
        Up to this many, the rows themselves (markers); above it, only lat/lon.
    snapshot
        The store's snapshot, up to date, to count and read density points without SQL.

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
        if matched <= ID_LOOKUP_MAX:
            frame = _plain(queries.incidents(store, flt, ids=snapshot.ids[keep].tolist()))
            return View(frame, len(frame))
    frame = _plain(queries.incidents(store, flt, limit=marker_limit + 1))
    if len(frame) > marker_limit:
        frame = _plain(queries.incidents(store, flt))
    return View(frame, len(frame))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
