"""The incident filter: one value, one meaning, compiled to SQL and to a numpy mask.

Every read that selects incidents (the map's markers and density points, exports, the
ward report, the Compare page's density grid, the CLI) takes one :class:`IncidentFilter`.
Its meaning is stated once, here, and so are the two places that carry it out:

* :meth:`IncidentFilter.conditions` — SQL conditions on ``incidents`` for
  :func:`geo.store.queries.incidents` and :func:`geo.density.incident_points`, with the
  SQLite/PostGIS differences (the bounding box) in the store's backend;
* :meth:`IncidentFilter.mask` — the same selection over the column arrays of a
  :class:`geo.snapshot.IncidentSnapshot`, vectorised, for the map's filter-change rerun
  (a million incidents in milliseconds).

The meaning (the store's, unchanged since the first release):

* ``wards``, ``types``, ``statuses``, ``streets``: ``None`` is no condition; a tuple keeps
  the incidents whose ward code / type code / state / stored street name is in it, so an
  **empty tuple selects nothing** (a typed street that matches no stored name must show
  no incident, not the whole city);
* ``date_from``, ``date_to``: reported in the period; a bare date (or ``YYYY-MM-DD``
  text) is a Hà Nội day and both ends are inclusive; a timestamp is an instant (naive:
  Hà Nội time), from it inclusive, up to it exclusive;
* ``bbox``: (min lon, min lat, max lon, max lat), edges included;
* ``overdue``: still open (:data:`~geo.store.workflow.OPEN_STATES`) and past ``due_at``.

Widgets and command-line flags, where "nothing picked" means "any", are converted once
by :meth:`IncidentFilter.from_choices`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement

from geo.errors import InvalidArgument
from geo.names import ascii_key, name_key
from geo.store._periods import Codes, DateBound, local_bound
from geo.store.workflow import OPEN_STATES

if TYPE_CHECKING:
    from geo.store._core import Store

__all__ = ["FILTER_COLUMNS", "IncidentColumns", "IncidentFilter", "match_streets"]

#: Filter field → the ``incidents`` column whose value must be among the field's codes.
_CODE_FIELDS: tuple[tuple[str, str], ...] = (
    ("wards", "ward_code"),
    ("types", "type"),
    ("statuses", "status"),
    ("streets", "street"),
)
#: Columns a filter reads besides lat/lon: what a snapshot must hold to be filtered.
FILTER_COLUMNS: tuple[str, ...] = (*(column for _, column in _CODE_FIELDS), "reported_at", "due_at")


class IncidentColumns(Protocol):
    """Column arrays of the stored incidents, one entry per incident (a snapshot).

    ``codes[column]`` holds int codes into ``labels[column]`` (-1: NULL) for the text
    columns of :data:`FILTER_COLUMNS`; ``times[column]`` UTC ``datetime64[ns]`` (NaT: NULL).
    """

    @property
    def ids(self) -> np.ndarray: ...

    @property
    def lat(self) -> np.ndarray: ...

    @property
    def lon(self) -> np.ndarray: ...

    @property
    def codes(self) -> Mapping[str, np.ndarray]: ...

    @property
    def labels(self) -> Mapping[str, np.ndarray]: ...

    @property
    def times(self) -> Mapping[str, np.ndarray]: ...

    def __len__(self) -> int: ...


def _codes(value: Codes) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _bbox(value: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        minx, miny, maxx, maxy = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"Khung bbox {value!r} phải có 4 số: kinh độ nhỏ nhất, vĩ độ nhỏ nhất, kinh độ lớn nhất, vĩ độ lớn nhất.",
            f"The bbox {value!r} must be 4 numbers: min lon, min lat, max lon, max lat.",
        ) from exc
    return minx, miny, maxx, maxy


def _utc_naive(instant: dt.datetime) -> np.datetime64:
    return np.datetime64(instant.astimezone(dt.UTC).replace(tzinfo=None), "ns")


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents a read selects (see the module docstring for the meaning).

    Parameters
    ----------
    wards, types, statuses, streets
        Ward codes, type codes, states, stored street names; ``None`` for any, an empty
        tuple for none. A single string is one code; any iterable is taken as a tuple.
    date_from, date_to
        Reported in the period: bare dates (or ``YYYY-MM-DD`` text) are Hà Nội days,
        both inclusive; timestamps are instants (``date_to`` exclusive); ``None`` leaves
        that end open.
    bbox
        (min lon, min lat, max lon, max lat), edges included.
    overdue
        Only incidents still open and past their deadline.
    """

    wards: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    date_from: DateBound = None
    date_to: DateBound = None
    streets: tuple[str, ...] | None = None
    bbox: tuple[float, float, float, float] | None = None
    overdue: bool = False

    def __post_init__(self) -> None:
        # normalised once, so equal filters compare (and cache) equal whatever was passed
        for name, _ in _CODE_FIELDS:
            object.__setattr__(self, name, _codes(getattr(self, name)))
        object.__setattr__(self, "bbox", _bbox(self.bbox))
        object.__setattr__(self, "overdue", bool(self.overdue))

    @classmethod
    def from_choices(
        cls,
        *,
        wards: Iterable[str] = (),
        types: Iterable[str] = (),
        statuses: Iterable[str] = (),
        date_from: DateBound = None,
        date_to: DateBound = None,
        street: str = "",
        street_names: Iterable[str] = (),
        overdue: bool = False,
    ) -> IncidentFilter:
        """The filter of what someone picked in a form or typed as flags.

        In a form, leaving a list empty means "any" (an officer who picks no ward wants
        the whole city), and a street is typed, not picked: it is looked up among the
        stored names with :func:`match_streets`, and selects nothing when none matches.

        Parameters
        ----------
        wards, types, statuses
            The codes picked; empty for any.
        date_from, date_to
            The period picked (bare dates: Hà Nội days, inclusive).
        street
            The street as typed ("" for any).
        street_names
            The stored street names to look ``street`` up in (unused when it is blank).
        overdue
            Only overdue incidents.

        Returns
        -------
        IncidentFilter
            The filter the store's reads and the snapshot apply.
        """
        return cls(
            wards=tuple(wards) or None,
            types=tuple(types) or None,
            statuses=tuple(statuses) or None,
            date_from=date_from,
            date_to=date_to,
            streets=tuple(match_streets(street, street_names)) if street.strip() else None,
            overdue=overdue,
        )

    def period(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """``[start, stop)`` as UTC instants (None: open), from the Hà Nội days given.

        Returns
        -------
        tuple of (datetime.datetime or None, datetime.datetime or None)
            The start (inclusive) and stop (exclusive), aware UTC.

        Raises
        ------
        geo.errors.StorageError
            A date given as text cannot be read.
        """
        return local_bound(self.date_from), local_bound(self.date_to, end=True)

    def describe(self) -> dict[str, str]:
        """The fields that select something, as text (for the audit log).

        Returns
        -------
        dict of str to str
            Field name -> value as text, for the fields that differ from the default.
        """
        default = IncidentFilter()
        return {
            f.name: str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    def conditions(self, store: Store, *, now: dt.datetime | None = None) -> list[ColumnElement[bool]]:
        """SQL conditions on the store's ``incidents`` table (all must hold).

        Parameters
        ----------
        store
            The store whose table and backend the conditions are built for.
        now
            The instant ``overdue`` compares deadlines with (default: now).

        Returns
        -------
        list of sqlalchemy.ColumnElement
            Conditions for ``select(...).where(*conditions)``.
        """
        t = store.tables["incidents"]
        conds: list[ColumnElement[bool]] = []
        for name, column in _CODE_FIELDS:
            if (values := getattr(self, name)) is not None:
                conds.append(t.c[column].in_(values))
        start, stop = self.period()
        if start is not None:
            conds.append(t.c.reported_at >= start)
        if stop is not None:
            conds.append(t.c.reported_at < stop)
        if self.bbox is not None:
            conds.extend(store.backend.bbox_conditions(t, self.bbox))
        if self.overdue:
            conds.append(t.c.status.in_(OPEN_STATES))
            conds.append(t.c.due_at < (now or dt.datetime.now(dt.UTC)))
        return conds

    def mask(self, columns: IncidentColumns, *, now: dt.datetime | None = None) -> np.ndarray:
        """The incidents of ``columns`` that :meth:`conditions` selects, as a boolean array.

        Work is per distinct value (the labels) and then one vectorised pass per
        condition, never per incident in Python: the map reruns this on every filter
        change over up to a million incidents.

        Parameters
        ----------
        columns
            The incidents' column arrays (a :class:`geo.snapshot.IncidentSnapshot`).
        now
            The instant ``overdue`` compares deadlines with (default: now).

        Returns
        -------
        numpy.ndarray
            One bool per incident, in the order of ``columns``.
        """
        keep = np.ones(len(columns), dtype=bool)
        for name, column in _CODE_FIELDS:
            if (values := getattr(self, name)) is not None:
                keep &= _isin(columns, column, values)
        reported = columns.times["reported_at"]
        start, stop = self.period()
        if start is not None:
            keep &= reported >= _utc_naive(start)
        if stop is not None:
            keep &= reported < _utc_naive(stop)
        if self.bbox is not None:
            minx, miny, maxx, maxy = self.bbox
            lon, lat = columns.lon, columns.lat
            keep &= (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)  # NaN: False
        if self.overdue:
            keep &= _isin(columns, "status", OPEN_STATES)
            keep &= columns.times["due_at"] < _utc_naive(now or dt.datetime.now(dt.UTC))  # NaT: False
        return keep


def _isin(columns: IncidentColumns, column: str, values: Iterable[str]) -> np.ndarray:
    """Rows whose ``column`` is among ``values``: matched on the labels, then on the codes."""
    known = np.flatnonzero(np.isin(columns.labels[column], np.asarray(list(values), dtype=object)))
    return np.isin(columns.codes[column], known)


def _texts(columns: IncidentColumns, column: str, rows: np.ndarray) -> np.ndarray:
    """The ``rows``' values of a coded column as texts (None where NULL)."""
    labels: np.ndarray = np.asarray([*columns.labels[column], None], dtype=object)  # code -1 picks the None
    picked: np.ndarray = labels[columns.codes[column][rows]]
    return picked


def _instants(columns: IncidentColumns, column: str, rows: np.ndarray) -> pd.Series:
    """The ``rows``' values of an instant column as UTC timestamps (NaT where NULL)."""
    return pd.Series(columns.times[column][rows].astype("datetime64[ns]")).dt.tz_localize("UTC")


def match_streets(query: str, names: Iterable[str]) -> list[str]:
    """Stored street names containing ``query``, each once, in the order given.

    Typed with diacritics, "Hàng Mã" keeps them (it does not match "Hàng Mả"); typed
    without ("hang ma"), it matches regardless of diacritics, as officers type on phones.
    Case, Unicode form and tone-mark placement never matter.

    Parameters
    ----------
    query
        The street as typed (blank: no name matches).
    names
        Stored street names (empty and missing names are skipped).

    Returns
    -------
    list of str
        The matching names.
    """
    query = query.strip()
    if not query:
        return []
    plain = ascii_key(query).replace("_", " ") == name_key(query)
    needle = ascii_key(query) if plain else name_key(query)
    key = ascii_key if plain else name_key
    return [name for name in dict.fromkeys(names) if name and needle in key(name)]
