"""How the map's snapshot reads incident rows into column arrays: shared by the page and the ingest.

A page's refresh (:mod:`geo.snapshot`: a full load, or a patch of the rows added and named
since) and an ingest's update of the snapshot file (:mod:`geo._snapshot_batch`) must read
rows the same way: the same columns, categories coded in the snapshot's running index,
UTC instants, metres projected from the degrees, and the version read in the same state of
the store as the rows. They share these pieces by design, so the pieces live here, and
neither module reaches into the other's private names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo.crs import metric_xy
from geo.store._values import utc_instants
from geo.store.filters import FILTER_COLUMNS

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from geo.store import Store

#: Columns read into a snapshot besides lat/lon: those an IncidentFilter reads, and the
#: clearance instant, which the per-ward figures (:mod:`geo.store._array_figures`) need.
TIMES = ("reported_at", "due_at", "cleared_at")
CATEGORIES = tuple(c for c in FILTER_COLUMNS if c not in TIMES)


@contextmanager
def one_state(store: Store) -> Iterator[Connection]:
    """A read transaction whose statements all see one state of the store, so a version
    and the rows read with it agree (``Backend.one_state_isolation``: REPEATABLE READ on
    PostgreSQL, whose default gives each statement the state at its start; a read-only
    transaction never fails for it. SQLite's read transaction is one already)."""
    with store.read() as conn:
        if store.backend.one_state_isolation is not None:
            conn.execution_options(isolation_level=store.backend.one_state_isolation)
        yield conn


COLUMNS = ("id", "lat", "lon", *CATEGORIES, *TIMES)
SELECT = f"SELECT {', '.join(COLUMNS)} FROM incidents"  # noqa: S608
#: The arrays of a snapshot's rows: those read, and the metres projected from lat/lon.
HELD = (*COLUMNS, "x", "y")


def with_metres(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` (:data:`COLUMNS`) with ``x``/``y``, their lon/lat in EPSG:32648 metres.

    Every way rows enter a snapshot goes through here (:func:`read_arrays` for a full load
    and a page's patch, :func:`geo._snapshot_batch._batch_arrays` for an ingest's), so
    the metres are always :func:`geo.crs.metric_xy` of the degrees held beside them.

    Parameters
    ----------
    arrays : dict of numpy.ndarray
        One array per column of :data:`COLUMNS`; not modified.

    Returns
    -------
    dict of numpy.ndarray
        The same arrays plus ``x`` and ``y`` (float64).
    """
    x, y = metric_xy(arrays["lon"], arrays["lat"])
    return {**arrays, "x": x, "y": y}


#: The incidents the audit log names after an entry: every status change is audited with
#: the incident's id as its ``object_id`` (text). A subquery, so a patch after a batch's
#: tens of thousands of moves needs no list of ids in the statement (SQLite allows 32,766
#: parameters). Only a text of digits is cast, to NULL otherwise: ``Store.audit`` takes any
#: object id, PostgreSQL raises on the cast of "abc" or "12.0" (every later refresh
#: failed), and SQLite reads a number's prefix ("12.0" named incident 12).
NAMED = (
    "SELECT CASE WHEN length(object_id) BETWEEN 1 AND 18 AND trim(object_id, '0123456789') = '' "
    "THEN CAST(object_id AS BIGINT) END AS n FROM audit_log "
    "WHERE id > ? AND object_type = 'incident'"
)


def _floats(values: Sequence[Any]) -> np.ndarray:
    return pd.Series(values, dtype="float64").to_numpy()


#: Rows turned into arrays at a time when a snapshot is read whole: ten million rows held
#: as Python tuples and texts at once took more memory than the page's 10 GB cap.
CHUNK_ROWS = 250_000


def _coded(values: Sequence[Any], index: dict[Any, int]) -> np.ndarray:
    """Codes of ``values`` in the running ``index`` of distinct values (-1: NULL), which
    grows in first-seen order, as ``pd.factorize`` would number them over all rows."""
    code, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    if not len(uniques):
        return np.full(len(code), -1, dtype=np.int32)
    mapping = np.array([index.setdefault(v, len(index)) for v in uniques], dtype=np.int32)
    return np.where(code >= 0, mapping[code], -1).astype(np.int32)


_EMPTY = {"id": np.int64, "lat": np.float64, "lon": np.float64} | dict.fromkeys(CATEGORIES, np.int32)


def read_arrays(
    store: Store, conn: Connection, sql: str, params: Sequence[Any], index: dict[str, dict[Any, int]]
) -> dict[str, np.ndarray]:
    """Each column of ``sql``'s rows (:data:`COLUMNS`, in that order) as one array,
    read :data:`CHUNK_ROWS` rows at a time; categories coded in ``index`` (extended);
    with their metres (:func:`with_metres`)."""
    parts: dict[str, list[np.ndarray]] = {column: [] for column in COLUMNS}
    for rows in store.backend.stream_rows(conn, sql, CHUNK_ROWS, params):
        by_name = dict(zip(COLUMNS, zip(*rows, strict=True), strict=True))
        parts["id"].append(np.asarray(by_name["id"], dtype=np.int64))
        parts["lat"].append(_floats(by_name["lat"]))
        parts["lon"].append(_floats(by_name["lon"]))
        for column in CATEGORIES:
            parts[column].append(_coded(by_name[column], index[column]))
        for column in TIMES:
            parts[column].append(utc_instants(by_name[column]))
    return with_metres({
        column: np.concatenate(chunks) if chunks else np.array([], dtype=_EMPTY.get(column, "datetime64[ns]"))
        for column, chunks in parts.items()
    })
