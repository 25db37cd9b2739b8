"""One incident view for the map page, the shareable map file and the CLI.

A view (wards, types, statuses, dates, street, overdue only) is a small value object so
the app can put it in the URL and ``python -m geo map`` can rebuild exactly that view.
Filtering itself happens in the store's SQL (:func:`geo.store.queries.incidents`); this module only
resolves a typed street name to the stored spellings and bounds how much is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo.names import ascii_key, name_key
from geo.store import Store, queries

if TYPE_CHECKING:
    from geo.snapshot import IncidentSnapshot


@dataclass(frozen=True)
class IncidentFilter:
    """Empty fields select everything; dates are inclusive Hà Nội days."""

    wards: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    street: str = ""
    overdue: bool = False


def match_streets(query: str, names: Iterable[str]) -> list[str]:
    """Stored street names containing ``query``.

    Typed with diacritics, "Hàng Mã" keeps them (it does not match "Hàng Mả"); typed
    without ("hang ma"), it matches regardless of diacritics, as officers type on phones.
    """
    query = query.strip()
    if not query:
        return []
    plain = ascii_key(query).replace("_", " ") == name_key(query)
    needle = ascii_key(query) if plain else name_key(query)
    key = ascii_key if plain else name_key
    return [name for name in dict.fromkeys(names) if name and needle in key(name)]


@dataclass(frozen=True)
class View:
    """The incidents of a view: all of them, or a density sample when too many."""

    incidents: pd.DataFrame
    matched: int
    street_names: tuple[str, ...]


def store_query(flt: IncidentFilter, street_names: Iterable[str] = ()) -> dict[str, Any]:
    """Keyword arguments for :func:`geo.store.queries.incidents`."""
    kwargs: dict[str, Any] = {
        "wards": list(flt.wards) or None,
        "types": list(flt.types) or None,
        "statuses": list(flt.statuses) or None,
        "date_from": flt.date_from,
        "date_to": flt.date_to,
        "overdue_only": flt.overdue,
    }
    if flt.street:
        # a typed street that matches nothing selects nothing (an empty IN), not everything;
        # no sentinel value: PostgreSQL refuses NUL characters in text parameters
        kwargs["street"] = list(match_streets(flt.street, street_names))
    return kwargs


def load_view(
    store: Store, flt: IncidentFilter, *, marker_limit: int, snapshot: IncidentSnapshot | None = None
) -> View:
    """Incidents of ``flt`` from ``store``: at most ``marker_limit`` + 1 rows first, and
    all matching rows (lat/lon for a density grid) only when the view is over the limit.

    With a :class:`geo.snapshot.IncidentSnapshot` of the store, the count and a density
    view's points come from its arrays (milliseconds for a million incidents), and SQL
    only reads views of at most ``marker_limit`` rows.
    """
    streets: tuple[str, ...] = ()
    if flt.street and snapshot is not None:
        streets = tuple(str(s) for s in snapshot.labels["street"])
    elif flt.street:
        stats = queries.street_stats(store, wards=list(flt.wards) or None)
        streets = tuple(str(s) for s in stats["street"])
    kwargs = store_query(flt, streets)
    if snapshot is not None:
        keep = snapshot.mask(**kwargs)
        matched = int(keep.sum())
        if matched > marker_limit:
            return View(snapshot.points(keep), matched, streets)
    frame = _plain(queries.incidents(store, **kwargs, limit=marker_limit + 1))
    if len(frame) > marker_limit:
        frame = _plain(queries.incidents(store, **kwargs))
    return View(frame, len(frame), streets)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
