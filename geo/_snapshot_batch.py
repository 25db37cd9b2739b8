"""The map's snapshot file brought up to date by the ingest that changed the store.

After a batch the first page of a freshly started app used to patch the snapshot file
itself: it read the batch's million rows back from the store through the driver's row
tuples (5–7 s whatever the store's size) and wrote the file again (benchmarks/RESULTS.md,
"first page after a batch, session 23"). The ingest holds those rows as arrays already,
so when a file exists it patches the file right after its batch commits: the new rows
from its own arrays, the older rows the batch moved (and any another write changed since
the file) read through the audit log as the page's patch reads them. A freshly started
page then finds a current file.

The file is a cache, so this never fails an ingest: it runs after the commit, and any
error leaves the old file, which the page then patches as before (logged). It writes a
file only for the version the batch left, and only when that is the store's version:

- ``audit_before`` / ``audit_after`` (:class:`geo.store.batches.CommittedBatch`) are read
  inside the batch's transaction, under the chains' append lock every write holds, so
  the audit entries between them are exactly the batch's;
- the file read back passes every check of :mod:`geo._snapshot_file` (its audit entry's
  hash among them) and is no newer than the batch;
- the store's version and the changed rows are read in one read transaction, and
  nothing is written when its largest audit id is no longer the batch's (a write landed
  after it: the page patches from the old file, which it can account for);
- rows added since the file by other writes are read from the store, and the result
  must hold exactly the store's count (:func:`geo.snapshot.patch`).

The file starts from nothing only on a page (a 10M snapshot is not built by an ingest).
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from geo import _snapshot_file
from geo._snapshot_read import CATEGORIES, NAMED, SELECT, TIMES, one_state, read_arrays, with_metres
from geo.snapshot import IncidentSnapshot, patch_columns, version_in

if TYPE_CHECKING:
    from geo.store import Store
    from geo.store.batches import CommittedBatch

log = logging.getLogger(__name__)


def held(store: Store) -> bool:
    """Whether ``store`` has a snapshot file an ingest should keep current (checked
    before the batch, so a store without one pays nothing)."""
    return _snapshot_file.path_for(store).exists()


def follow(store: Store, batch: CommittedBatch) -> Path | None:
    """Bring the store's snapshot file up to date with ``batch``, just committed.

    Never raises an error of its own: the batch is stored whatever happens here.

    Parameters
    ----------
    store : Store
        The store the batch was written to.
    batch : CommittedBatch
        What the batch wrote (:func:`geo.store.batches.commit_batch`'s ``committed``).

    Returns
    -------
    pathlib.Path or None
        The file written; None when none was (no usable file, another write since the
        batch, or a failure, which is logged).
    """
    try:
        _give_back_freed_memory()
        return _follow(store, batch)
    except Exception:  # a cache: the old file stays, and the page patches it as before
        log.warning("snapshot file not brought up to date after batch %s", batch.batch_id, exc_info=True)
        return None


def _give_back_freed_memory() -> None:
    """Return to the system what the ingest has freed before the update allocates about a
    snapshot's worth of arrays. At follow's start a 1M batch into 4M held 2.49 GB, of
    which about 790 MB were blocks glibc's heaps kept after the preview's and commit's
    frames were freed, and 70 MB pages Arrow's pool kept: the update's arrays are large
    enough to be mapped afresh, so they came on top (benchmarks/RESULTS.md, "Ingest's
    file update in bounded memory, session 25"). ``malloc_trim`` is glibc's; where the C
    library has none, nothing is trimmed."""
    pa.default_memory_pool().release_unused()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, TypeError, AttributeError):  # not glibc (or no C library to load by None)
        return
    trim(0)


def _follow(store: Store, batch: CommittedBatch) -> Path | None:
    # the old file is read a column at a time while the new snapshot is made, and the new
    # file hashed as it is written: the update holds about one snapshot, not the old file,
    # its decoded arrays, the new arrays and the new file's bytes at once (4.3 GB peaks
    # at 10M, benchmarks/RESULTS.md "Ingest's file update in bounded memory, session 25")
    with _snapshot_file.opened(store) as start:
        if start is None or start.version[2] > batch.audit_before:
            return None  # none to keep, or one written after the batch already
        result = _patched(store, batch, start)
    if result is None or (len(result) and int(result.ids[-1]) != result.version[1]):
        return None
    return _snapshot_file.write(result, store)


def _patched(store: Store, batch: CommittedBatch, start: _snapshot_file.FileColumns) -> IncidentSnapshot | None:
    """The snapshot of the store the batch left: ``start`` patched with the batch's rows,
    the rows the audit log names since the file, and any another write added; None when
    the store is no longer the batch's, or the rows cannot be accounted for."""
    since = start.version[2]
    top = int(start.ids[-1]) if len(start) else 0
    index = {column: {v: i for i, v in enumerate(start.labels[column])} for column in CATEGORIES}
    given = batch.ids
    if isinstance(given, range) and given.step == 1:  # one block (the usual batch): no list of ids
        ids = np.arange(given.start, given.stop, dtype=np.int64)
    else:
        ids = np.asarray(given, dtype=np.int64)
    if len(ids) > 1 and not bool(np.all(np.diff(ids) > 0)):
        return None  # the file's ids ascend; a batch's always do (one block, or drawn in order)
    with one_state(store) as conn:  # one state of the store: the version and the rows it stands for
        version = version_in(conn)
        if version[2] != batch.audit_after:
            return None  # written to since: the page patches the old file
        changed = read_arrays(
            store, conn, f"{SELECT} WHERE id IN ({NAMED} AND id <= ?) ORDER BY id",
            (since, batch.audit_after), index,
        )  # fmt: skip
        others = version[0] - len(start) - len(ids)  # incidents other writes added since the file
        parts = [_batch_arrays(batch, ids, index)]
        if others > 0:
            if len(ids) and ids[-1] - ids[0] + 1 != len(ids):
                return None  # another write's rows may sit between the batch's ids
            low = int(ids[0]) if len(ids) else version[1] + 1
            high = int(ids[-1]) if len(ids) else version[1]
            parts.insert(0, read_arrays(store, conn, f"{SELECT} WHERE id > ? AND id < ? ORDER BY id", (top, low), index))
            parts.append(read_arrays(store, conn, f"{SELECT} WHERE id > ? ORDER BY id", (high,), index))
    added = sum(len(part["id"]) for part in parts)
    if not added and not len(changed["id"]):
        return None  # no incident changed: the page moves the file's version on for nothing
    return patch_columns(start.column, version, parts, changed, index, len(changed["id"]) + added - len(ids))


def _batch_arrays(batch: CommittedBatch, ids: np.ndarray, index: dict[str, dict[Any, int]]) -> dict[str, np.ndarray]:
    """The batch's rows as :func:`geo._snapshot_read.read_arrays` reads them back from the store:
    the same columns, categories coded in ``index`` (extended in first-seen order), UTC
    instants in ns, metres by :func:`geo._snapshot_read.with_metres`; from the arrays the batch
    was written from."""
    table = batch.rows.arrow_table(names=["lat", "lon", *CATEGORIES, *TIMES], instants=True)
    out: dict[str, np.ndarray] = {"id": ids}
    for column in ("lat", "lon"):
        out[column] = table[column].to_numpy().astype(np.float64, copy=False)  # null → NaN
    for column in CATEGORIES:
        out[column] = _coded(table[column].combine_chunks(), index[column])
    for column in TIMES:
        out[column] = table[column].to_numpy().astype("datetime64[ns]")  # UTC, NaT for null
    return with_metres(out)


def _coded(values: pa.Array, index: dict[Any, int]) -> np.ndarray:
    """Codes of text ``values`` in the running ``index`` (-1: null), as
    :func:`geo._snapshot_read._coded` numbers them, but encoded in C (a million rows)."""
    encoded = pc.dictionary_encode(values)
    labels = encoded.dictionary.to_pylist()
    if not labels:
        return np.full(len(values), -1, dtype=np.int32)
    mapping = np.array([index.setdefault(v, len(index)) for v in labels], dtype=np.int32)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(codes >= 0, mapping[np.maximum(codes, 0)], -1).astype(np.int32)
