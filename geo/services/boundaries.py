"""The ward layer in use: read it (anyone), replace it with a checked one (admins)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd

from geo.auth import User
from geo.boundaries import layer_from_stored, load_boundaries
from geo.boundary_checks import check_boundary_layer
from geo.services._rights import check
from geo.store import Store
from geo.store import wards as stored_wards


def active_wards(store: Store) -> gpd.GeoDataFrame:
    """The ward layer in use: the store's current ward table, in :func:`load_boundaries`' shape.

    Ward names and polygons are public, so no right is needed. An imported official
    layer must win over the file, so the file (``GEO_BOUNDARIES`` or the committed
    default) only seeds an empty table, once.

    Parameters
    ----------
    store
        The store.

    Returns
    -------
    geopandas.GeoDataFrame
        The current wards (:data:`geo.boundaries.COLUMNS`, EPSG:4326, sorted by code).
    """
    layer = stored_wards.current(store)
    if layer.empty:
        stored_wards.ensure(store, load_boundaries(), actor="system")  # a no-op if another got there
        layer = stored_wards.current(store)
    return layer_from_stored(layer)


def ward_layer_version(store: Store) -> tuple[int, int, str]:
    """A value that changes whenever the ward layer does (the app's cache key; public).

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    tuple
        (stored versions, retired versions, latest ``valid_from`` as text): see
        :func:`geo.store.wards.version`.
    """
    return stored_wards.version(store)


def replace_boundaries(
    store: Store,
    actor: User,
    layer: gpd.GeoDataFrame | str | Path,
    *,
    valid_from: Any = None,
    crs: Any = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Make a checked ward layer the one in use, keeping the old versions (admins only).

    A layer that fails the checks, or would start before the one in use, is refused
    before anything is written.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``replace_boundaries``.
    layer
        The new layer, or a file holding it.
    valid_from
        When it takes effect (default: now).
    crs
        The file's CRS when it declares none.
    source
        The layer's name in messages and the audit log (the upload's, not a temp path).

    Returns
    -------
    dict
        ``added``/``changed``/``retired`` ward counts and ``report`` (the check report).
    """
    check(store, actor, "replace_boundaries", object_type="wards")
    candidate, report = check_boundary_layer(layer, crs=crs, source=source)
    stored_wards.check_valid_from(store, valid_from)
    counts = stored_wards.ensure(store, candidate, actor=actor.username, valid_from=valid_from)
    summary = {k: v for k, v in report.items() if k not in ("repairs", "overlap_pairs")}
    store.audit(
        actor.username, "boundaries_replace", "wards", None,
        {**counts, "wards": len(candidate), "report": summary},
    )
    return {**counts, "report": report}
