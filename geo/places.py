"""Places: where violations happen again and again.

An incident is one observation; a *place* is the spot that keeps being reported. Each
incident belongs to exactly one place, by one rule applied in incident order:

    a new incident joins the nearest existing place of the same violation type, in the
    same ward, within the radius (``GEO_PLACE_RADIUS_M``, default 15 m, measured in
    EPSG:32648); otherwise it starts a new place at its own position.

"Existing" includes places started by earlier incidents of the same batch. A place keeps
the position of its first incident for ever, so it never drifts towards later reports and
a chain of reports 10 m apart does not crawl down a street as one place. Ids are never
renumbered: new places get ids after the largest existing id, in incident order, so
matching batch A and then batch B gives the same places as one pass over A + B, and a
rebuild (no existing places, the whole store in incident order) gives the same result
every time.

Distances: ``dx² + dy² <= r²`` in float64 metres, so a point exactly on the radius joins.
Equal distances go to the smallest place id. An incident without a ward is matched with
the other ward-less incidents of its type; one without finite coordinates starts a place
of its own that nothing joins (there is nothing to measure from).

The work is done by :mod:`geo._places_match` on a sorted grid index, in bulk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyproj import Transformer

from geo._places_match import Places, match
from geo._tables import require_columns
from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.errors import InvalidArgument

DEFAULT_RADIUS_M = 15.0

#: Columns of the incidents passed to :func:`assign_places` (in incident order).
INCIDENT_COLUMNS: tuple[str, ...] = ("type", "ward_code", "lon", "lat")
#: Columns of the existing places (positions in EPSG:32648 metres).
PLACE_COLUMNS: tuple[str, ...] = ("place_id", "type", "ward_code", "x", "y")
#: Columns of :attr:`PlaceAssignment.new_places`.
NEW_PLACE_COLUMNS: tuple[str, ...] = (*PLACE_COLUMNS, "lon", "lat", "first_incident")

_TO_METRIC = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)
_TO_STORAGE = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)


@dataclass(frozen=True)
class PlaceAssignment:
    """The place of each incident of a batch, and the places the batch started.

    ``place_id[i]`` is the place of the batch's i-th incident. ``new_places`` has
    :data:`NEW_PLACE_COLUMNS`; ``first_incident`` is the batch position of the incident
    that started it, and its position is that incident's.
    """

    place_id: np.ndarray
    new_places: pd.DataFrame


def place_radius(value: float) -> float:
    """The matching radius in metres, checked (the environment's ``GEO_PLACE_RADIUS_M`` is
    read and checked by :data:`geo.settings.place_radius_m`; this guards direct callers).

    Parameters
    ----------
    value
        A radius in metres.

    Returns
    -------
    float
        The radius, checked finite and above 0.
    """
    try:
        radius = float(value)
    except (TypeError, ValueError):
        radius = float("nan")
    if not np.isfinite(radius) or radius <= 0:
        raise InvalidArgument(
            f"Bán kính ghép địa điểm phải là số mét dương, không phải {value!r}.",
            f"The place radius must be a positive number of metres, not {value!r}.",
        )
    return radius


def project_lonlat(lon: Sequence[float] | np.ndarray, lat: Sequence[float] | np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """WGS 84 longitude/latitude → EPSG:32648 x/y in metres (NaN stays NaN).

    Parameters
    ----------
    lon, lat
        WGS 84 degrees.

    Returns
    -------
    tuple of numpy.ndarray
        x and y in EPSG:32648 metres.
    """
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def unproject_xy(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """EPSG:32648 metres → WGS 84 longitude/latitude.

    Parameters
    ----------
    x, y
        EPSG:32648 metres.

    Returns
    -------
    tuple of numpy.ndarray
        Longitude and latitude in WGS 84 degrees.
    """
    lon, lat = _TO_STORAGE.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def empty_places() -> pd.DataFrame:
    """A places frame with no rows (a rebuild starts from it).

    Returns
    -------
    pandas.DataFrame
        No rows, the columns of :data:`PLACE_COLUMNS`.
    """
    return pd.DataFrame(
        {
            "place_id": pd.Series(dtype="int64"),
            "type": pd.Series(dtype=object),
            "ward_code": pd.Series(dtype=object),
            "x": pd.Series(dtype=float),
            "y": pd.Series(dtype=float),
        }
    )




def _place_ids(places: pd.DataFrame) -> np.ndarray:
    ids = pd.to_numeric(places["place_id"], errors="coerce")
    bad = ids.isna() | (ids != ids.round()) | (ids < 1)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InvalidArgument(
            f"Địa điểm ở dòng {row}: place_id phải là số nguyên dương, không phải "
            f"{places['place_id'].iloc[row]!r}.",
            f"Place at row {row}: place_id must be a positive integer, not "
            f"{places['place_id'].iloc[row]!r}.",
        )
    out = ids.to_numpy(dtype=np.int64)
    dup = pd.Index(out).duplicated()
    if dup.any():
        value = int(out[np.flatnonzero(dup)[0]])
        raise InvalidArgument(
            f"place_id {value} xuất hiện hai lần trong bảng địa điểm.",
            f"place_id {value} appears twice in the places table.",
        )
    return out


#: Stands for a missing type or ward (None, NaN, NA alike) when grouping.
_MISSING = "\x00missing"


def _keys(values: np.ndarray) -> np.ndarray:
    """Values as grouping keys: objects, every kind of missing value the same."""
    out = np.array(values, dtype=object)
    out[pd.isna(out)] = _MISSING
    return out


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a column, a missing value being one value of its own."""
    codes, uniques = pd.factorize(values)
    codes = codes.astype(np.int64)
    keys = pd.Index(uniques.astype(object), dtype=object)
    if (codes < 0).any():
        codes[codes < 0] = len(keys)
        keys = keys.append(pd.Index([_MISSING], dtype=object))
    return codes, keys


def _place_groups(
    places: pd.DataFrame, types: pd.Index, wards: pd.Index
) -> Callable[[np.ndarray], np.ndarray]:
    """The batch's group code of some existing places (-1 where the batch has no such group)."""
    def group_of(rows: np.ndarray) -> np.ndarray:
        # only the rows asked for are read: converting a million strings costs more
        t = types.get_indexer(pd.Index(_keys(places["type"].take(rows).to_numpy(dtype=object))))
        w = wards.get_indexer(pd.Index(_keys(places["ward_code"].take(rows).to_numpy(dtype=object))))
        return np.where((t >= 0) & (w >= 0), t * len(wards) + w, -1)

    return group_of


def assign_places_metric(
    incidents: pd.DataFrame,
    places: pd.DataFrame | None = None,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    next_id: int | None = None,
) -> PlaceAssignment:
    """:func:`assign_places` for incidents that already carry ``x``/``y`` in EPSG:32648.

    ``incidents`` needs ``type``, ``ward_code``, ``x``, ``y`` (and may carry ``lon``/``lat``,
    copied to the new places; otherwise they are computed from x/y).

    Parameters
    ----------
    incidents
        ``type``, ``ward_code``, ``x``, ``y`` (optionally ``lon``/``lat``), in incident
        order.
    places
        The existing places (:data:`PLACE_COLUMNS`), or None for none.
    radius_m
        The matching radius in metres.
    next_id
        The store's next free place id when ``places`` holds only some places.

    Returns
    -------
    PlaceAssignment
        Each incident's place id and the new places.
    """
    radius = place_radius(radius_m)
    require_columns(incidents, ("type", "ward_code", "x", "y"), "incidents")
    places = empty_places() if places is None else places
    require_columns(places, PLACE_COLUMNS, "places")
    ids = _place_ids(places)
    t_codes, types = _codes(incidents["type"])
    w_codes, wards = _codes(incidents["ward_code"])
    group = t_codes * max(len(wards), 1) + w_codes
    x = incidents["x"].to_numpy(dtype=float)
    y = incidents["y"].to_numpy(dtype=float)
    existing = Places(
        x=places["x"].to_numpy(dtype=float),
        y=places["y"].to_numpy(dtype=float),
        id=ids,
        group_of=_place_groups(places, types, wards),
    )
    first_new = int(ids.max()) + 1 if len(ids) else 1
    first_new = max(first_new, next_id or 1)
    result = match(group, x, y, existing, radius, first_new)
    return PlaceAssignment(result.place, _new_places(incidents, result.place, result.leader))


def _new_places(incidents: pd.DataFrame, place: np.ndarray, leader: np.ndarray) -> pd.DataFrame:
    rows = np.flatnonzero(leader)
    picked = incidents.iloc[rows]
    x = picked["x"].to_numpy(dtype=float)
    y = picked["y"].to_numpy(dtype=float)
    if "lon" in picked.columns and "lat" in picked.columns:
        lon, lat = picked["lon"].to_numpy(dtype=float), picked["lat"].to_numpy(dtype=float)
    else:
        lon, lat = unproject_xy(x, y)
    return pd.DataFrame(
        {
            "place_id": place[rows],
            "type": picked["type"].reset_index(drop=True),
            "ward_code": picked["ward_code"].reset_index(drop=True),
            "x": x,
            "y": y,
            "lon": lon,
            "lat": lat,
            "first_incident": rows.astype(np.int64),
        }
    )


def assign_places(
    incidents: pd.DataFrame,
    places: pd.DataFrame | None = None,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    next_id: int | None = None,
) -> PlaceAssignment:
    """Match a batch of incidents (in incident order) against the existing places.

    ``incidents`` has :data:`INCIDENT_COLUMNS` (lon/lat in WGS 84); ``places`` has
    :data:`PLACE_COLUMNS` or is None for none. Returns each incident's place id and the new
    places (ids after the largest existing one, or from ``next_id`` when that is larger —
    a caller that passes only the places near the batch knows the store's next id —
    allocated in incident order). The rule is in the module docstring.

    Parameters
    ----------
    incidents
        :data:`INCIDENT_COLUMNS`, lon/lat in WGS 84, in incident order.
    places
        The existing places (:data:`PLACE_COLUMNS`), or None for none.
    radius_m
        The matching radius in metres.
    next_id
        The store's next free place id when ``places`` holds only some places.

    Returns
    -------
    PlaceAssignment
        Each incident's place id and the new places.
    """
    require_columns(incidents, INCIDENT_COLUMNS, "incidents")
    x, y = project_lonlat(incidents["lon"].to_numpy(dtype=float),
                          incidents["lat"].to_numpy(dtype=float))  # fmt: skip
    frame = incidents[["type", "ward_code"]].reset_index(drop=True)  # dtypes kept, no copies
    frame["x"], frame["y"] = x, y
    frame["lon"] = incidents["lon"].to_numpy(dtype=float)
    frame["lat"] = incidents["lat"].to_numpy(dtype=float)
    return assign_places_metric(frame, places, radius_m=radius_m, next_id=next_id)


def rebuild_places(incidents: pd.DataFrame, *, radius_m: float = DEFAULT_RADIUS_M) -> PlaceAssignment:
    """The places of a whole store from scratch: :func:`assign_places` with no existing
    places, the incidents in incident order. Running it twice gives the same places.

    Parameters
    ----------
    incidents
        :data:`INCIDENT_COLUMNS`, the whole store in incident order.
    radius_m
        The matching radius in metres.

    Returns
    -------
    PlaceAssignment
        Every incident's place; places numbered from 1 in incident order.
    """
    return assign_places(incidents, None, radius_m=radius_m)


#: Columns of the stored state :func:`recurrence_links` starts from, one row per place.
STATE_COLUMNS: tuple[str, ...] = ("place_id", "open", "last_id", "last_cleared", "last_linkable")


def _instants(values: Sequence[object] | np.ndarray | pd.Series) -> np.ndarray:
    """Instants as UTC nanoseconds (NaT → the smallest int64, earlier than any instant)."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    stamps = pd.to_datetime(series, utc=True)
    return stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def recurrence_links(
    place: np.ndarray,
    reported: Sequence[object] | np.ndarray | pd.Series,
    cleared: Sequence[object] | np.ndarray | pd.Series,
    linkable: np.ndarray,
    linked: np.ndarray,
    ids: np.ndarray,
    stored: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """Which incidents of a batch are recurrences, and of which earlier incident, in bulk.

    The rule, read in incident order per place: an incident starts a new episode at its
    place when no incident there so far is open (uncleared), the place's latest clearance
    (latest ``cleared_at``, the later incident on a tie) belongs to an incident that may be
    linked (``linkable``: still ``cleared``), the incident has no link of its own
    (``linked``) and it was reported after that clearance. It is then linked to that
    incident. Every incident, linked or not, then becomes part of its place's history.

    The sequential reading has a closed form: "open so far" is a running ``any`` and
    "latest clearance so far" a running maximum per place, so the whole batch is decided
    with a sort and a few grouped cumulative operations, never a Python step per row.

    Parameters
    ----------
    place
        Each batch incident's place id, in incident order.
    reported, cleared
        Report and clearance instants (NaT: not cleared).
    linkable
        Per batch incident: whether a later incident may be linked to it.
    linked
        Per batch incident: whether it carries a link of its own already.
    ids
        The batch incidents' ids.
    stored
        :data:`STATE_COLUMNS`: per place, what its incidents before the batch left
        (``open``: one is not cleared; the latest clearance's incident, instant and
        whether it may be linked; ``last_id`` null when none is cleared).

    Returns
    -------
    tuple of numpy.ndarray
        Batch positions of the recurrences (ascending) and the ids they recur from.
    """
    n = len(place)
    nat = np.iinfo(np.int64).min
    s_last = pd.to_numeric(stored["last_id"], errors="coerce")
    s_has = s_last.notna().to_numpy()
    frame = pd.DataFrame(
        {
            "place": np.concatenate([stored["place_id"].to_numpy(dtype=np.int64),
                                     np.asarray(place, dtype=np.int64)]),
            "seq": np.concatenate([np.full(len(stored), -1, dtype=np.int64),
                                   np.arange(n, dtype=np.int64)]),
            "open": np.concatenate([stored["open"].to_numpy(dtype=bool),
                                    _instants(cleared) == nat]),
            "cleared": np.concatenate([np.where(s_has, _instants(stored["last_cleared"]), nat),
                                       _instants(cleared)]),
            "linkable": np.concatenate([stored["last_linkable"].to_numpy(dtype=bool) & s_has,
                                        np.asarray(linkable, dtype=bool)]),
            "id": np.concatenate([s_last.fillna(-1).to_numpy(dtype=np.int64),
                                  np.asarray(ids, dtype=np.int64)]),
        }
    )  # fmt: skip
    frame = frame.sort_values(["place", "seq"], kind="stable").reset_index(drop=True)
    groups = frame.groupby("place", sort=False)
    row = np.arange(len(frame), dtype=np.int64)
    first = np.ones(len(frame), dtype=bool)
    first[1:] = frame["place"].to_numpy()[1:] != frame["place"].to_numpy()[:-1]
    # open before this row: any open row earlier in the place
    open_so_far = groups["open"].cummax().to_numpy()
    open_before = np.where(first, False, np.roll(open_so_far, 1))
    # the latest clearance before this row: the last row that reached the running maximum
    cleared = frame["cleared"].to_numpy()
    top = groups["cleared"].cummax().to_numpy()
    candidate = (cleared != nat) & (cleared == top)
    frame["winner"] = np.where(candidate, row, -1)
    winner = groups["winner"].cummax().to_numpy()
    winner_before = np.where(first, -1, np.roll(winner, 1))
    has = winner_before >= 0
    safe = np.where(has, winner_before, 0)
    seq = frame["seq"].to_numpy()
    batch_row = seq >= 0
    own = np.zeros(len(frame), dtype=bool)
    own[batch_row] = np.asarray(linked, dtype=bool)[seq[batch_row]]
    reported_ns = np.full(len(frame), nat, dtype=np.int64)
    reported_ns[batch_row] = _instants(reported)[seq[batch_row]]
    link = (batch_row & ~open_before & has & frame["linkable"].to_numpy()[safe] & ~own
            & (reported_ns > cleared[safe]))  # fmt: skip
    positions = seq[link]
    order = np.argsort(positions, kind="stable")
    return positions[order], frame["id"].to_numpy()[safe[link]][order]
