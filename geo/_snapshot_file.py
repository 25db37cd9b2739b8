"""The incident snapshot on disk: what a freshly started app reads instead of a million rows.

One Arrow IPC file per store in ``GEO_SNAPSHOT_DIR`` (:data:`geo.settings.snapshot_dir`),
named by a digest of the store URL. Reading 40–60 MB from a local file takes a fraction
of a second; reading the same columns from SQLite took several seconds at a million
incidents, and that was most of the first map's wait.

The file is a cache, so it is never trusted: :func:`read` returns None (and the caller
reads the store) unless every check passes:

- the first bytes are this format's magic and a SHA-256 of the rest, and the rest hashes
  to it (a torn, truncated or bit-flipped file fails here);
- the file names the same store (URL digest) and the same schema version (a migration may
  rewrite incidents, so a file from before one is not used);
- the audit entry the snapshot's version points at is still there with the same
  ``row_hash``. The audit log is a hash chain (:mod:`geo.store._chain`), so equal hashes
  mean the whole history up to that entry is the one the file was built from; a store
  re-created under the same URL fails here even when its counts happen to agree;
- the arrays are consistent (lengths, ascending ids, codes inside their labels).

What the store gained after the file was written is then applied by
:func:`geo.snapshot.up_to_date`, exactly as for a snapshot held in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from sqlalchemy import select

from geo import settings
from geo._sealed_file import Sink, opened_sealed, read_sealed, write_sealed_from

if TYPE_CHECKING:
    from geo.snapshot import IncidentSnapshot
    from geo.store import Store

#: The file's first bytes; the number changes with any change of the layout below.
#: 4: the EPSG:32648 metres ``x``/``y`` beside lat/lon. A file of an older layout fails
#: :func:`read`'s first check, so the page reads the store whole once and writes this one.
MAGIC = b"GEOSNAP4"
_KEY = b"geo_snapshot"  # schema metadata entry holding the identity (JSON)


def path_for(store: Store) -> Path:
    """The snapshot file of ``store`` (one per store URL) in ``GEO_SNAPSHOT_DIR``."""
    digest = hashlib.sha256(store.url.encode()).hexdigest()[:20]
    return settings.snapshot_dir() / f"incidents-{digest}.arrow"


def _audit_hash(store: Store, audit_id: int) -> str:
    """``row_hash`` of audit entry ``audit_id`` ("" for 0, or when there is no such entry)."""
    if audit_id <= 0:
        return ""
    t = store.tables["audit_log"]
    with store.read() as conn:
        found = conn.execute(select(t.c.row_hash).where(t.c.id == int(audit_id))).scalar()
    return "" if found is None else str(found)


def _identity(store: Store, version: tuple[int, int, int]) -> dict[str, Any]:
    """What must match between a file and the store for the file to be used."""
    return {
        "store": hashlib.sha256(store.url.encode()).hexdigest(),
        "schema": int(store.schema_version()),
        "version": [int(v) for v in version],
        "audit_hash": _audit_hash(store, int(version[2])),
    }


# --- writing ------------------------------------------------------------------------------


def _table(snapshot: IncidentSnapshot, identity: dict[str, Any]) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "id": pa.array(snapshot.ids, type=pa.int64()),
        "lat": pa.array(snapshot.lat, type=pa.float64()),
        "lon": pa.array(snapshot.lon, type=pa.float64()),
        "x": pa.array(snapshot.x, type=pa.float64()),
        "y": pa.array(snapshot.y, type=pa.float64()),
    }
    for name, codes in snapshot.codes.items():
        indices = pa.array(codes, type=pa.int32(), mask=codes < 0)
        labels = pa.array(list(snapshot.labels[name]), type=pa.string())
        columns[f"code:{name}"] = pa.DictionaryArray.from_arrays(indices, labels)
    for name, values in snapshot.times.items():
        columns[f"time:{name}"] = pa.array(values, type=pa.timestamp("ns"), from_pandas=True)
    table = pa.table(columns)
    return table.replace_schema_metadata({_KEY: json.dumps(identity).encode()})


def _ipc_file(table: pa.Table, out: Sink) -> None:
    """``table`` as an Arrow IPC file written to ``out`` as it is made: the sealed file
    hashes it on the way to disk (:func:`geo._sealed_file.write_sealed_from`), so the
    800 MB of a 10M snapshot never stand whole in memory beside the arrays they come
    from. (A growing ``BufferOutputStream`` once also copied the body at each doubling,
    and a buffer of the exact size still held it all.)"""
    with pa.ipc.new_file(out, table.schema) as writer:
        writer.write_table(table)


def write(snapshot: IncidentSnapshot, store: Store) -> Path | None:
    """Keep ``snapshot`` for the next process; atomically replaces the store's file.

    A failure to write (read-only or full disk, labels that are not text) leaves the old
    file or none: a missing file only costs the next start a full read, so it is not an
    error of the app.

    Parameters
    ----------
    snapshot : IncidentSnapshot
        A snapshot of ``store`` (its ``version`` read before its rows).
    store : Store
        The store.

    Returns
    -------
    pathlib.Path or None
        The file written, or None when it could not be.
    """
    target = path_for(store)
    try:
        table = _table(snapshot, _identity(store, snapshot.version))
        write_sealed_from(target, MAGIC, lambda out: _ipc_file(table, out))
    except (OSError, pa.ArrowException):
        return None
    return target


# --- reading ------------------------------------------------------------------------------


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    """``column`` as one array: its only chunk as it is (``combine_chunks`` copies even
    that one: 240 MB more for the three instant columns at 10M), or its chunks joined."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    array = _one_array(column)
    if not isinstance(array, pa.DictionaryArray):
        raise pa.ArrowInvalid("not a dictionary column")
    codes = _filled(array.indices, np.int32, -1)
    labels = np.asarray(array.dictionary.to_pylist(), dtype=object)
    if len(codes) and (codes.max(initial=-1) >= len(labels) or codes.min(initial=0) < -1):
        raise pa.ArrowInvalid("a code outside its labels")
    return codes, labels


def _filled(array: pa.Array, dtype: type[np.generic], null: int) -> np.ndarray:
    """The fixed-width values of ``array`` as ``dtype``, ``null`` where a value is null.

    Without nulls, a read-only view of the bytes read (no snapshot array is ever
    written); with them, one new array, its nulls taken from the validity bitmap. Why not
    ``pyarrow.compute.fill_null(...).to_numpy()``: at 10M that made a filled copy of
    every coded column, null or not (0.98 s of the 10M first page's profile for the four,
    benchmarks/RESULTS.md "page27, session 27"), and ``to_numpy`` of an instant column
    with nulls another.
    """
    width = np.dtype(dtype).itemsize
    if pa.types.is_dictionary(array.type) or array.type.byte_width != width:
        raise pa.ArrowInvalid("not a column of that width")
    validity, data = array.buffers()[:2]
    values = np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * width)
    if not array.null_count:
        values.flags.writeable = False  # the file's bytes, shared by every session
        return values
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=array.offset + len(array), bitorder="little")
    return np.where(bits[array.offset :].view(bool), values, np.asarray(null, dtype=dtype))


def _values(column: pa.ChunkedArray, kind: str) -> np.ndarray:
    """A stored id, coordinate or (``kind`` "time") instant column as the snapshot holds it."""
    if kind == "time":
        array = _one_array(column)
        if not pa.types.is_timestamp(array.type) or array.type.unit != "ns":
            raise pa.ArrowInvalid("not an instant column")
        return _filled(array, np.int64, np.iinfo(np.int64).min).view("datetime64[ns]")  # int64's least is NaT
    return column.to_numpy().astype(np.int64 if kind == "id" else np.float64, copy=False)


def _snapshot(table: pa.Table, version: tuple[int, int, int]) -> IncidentSnapshot:
    from geo.snapshot import IncidentSnapshot

    codes: dict[str, np.ndarray] = {}
    labels: dict[str, np.ndarray] = {}
    times: dict[str, np.ndarray] = {}
    for name in table.column_names:
        kind, _, column = name.partition(":")
        if kind == "code":
            codes[column], labels[column] = _codes(table[name])
        elif kind == "time":
            times[column] = _values(table[name], kind)
    return IncidentSnapshot(
        version=version,
        ids=_values(table["id"], "id"),
        lat=_values(table["lat"], "lat"),
        lon=_values(table["lon"], "lon"),
        x=_values(table["x"], "x"),
        y=_values(table["y"], "y"),
        codes=codes,
        labels=labels,
        times=times,
        rows_read=0,
    )


def _consistent(snapshot: IncidentSnapshot, expected: IncidentSnapshot | None) -> bool:
    """Lengths agree, ids strictly ascend, the columns are the ones a snapshot holds."""
    arrays = [snapshot.lat, snapshot.lon, snapshot.x, snapshot.y, *snapshot.codes.values(), *snapshot.times.values()]
    if any(len(a) != len(snapshot.ids) for a in arrays) or not _ids_agree(snapshot.ids, snapshot.version):
        return False
    if expected is not None:
        return set(snapshot.codes) == set(expected.codes) and set(snapshot.times) == set(expected.times)
    from geo._snapshot_read import CATEGORIES, TIMES

    return set(snapshot.codes) == set(CATEGORIES) and set(snapshot.times) == set(TIMES)


def _ids_agree(ids: np.ndarray, version: tuple[int, int, int]) -> bool:
    """As many ids as ``version`` counts, strictly ascending, the last its largest."""
    n = len(ids)
    if n != version[0] or (n > 1 and not bool(np.all(ids[1:] > ids[:-1]))):  # np.diff: 80 MB more at 10M
        return False
    return not n or int(ids[-1]) == version[1]


def _checked_version(store: Store, schema: pa.Schema) -> tuple[int, int, int] | None:
    """The version a file's ``schema`` names, when its identity is ``store``'s at that
    version (see the module docstring); None otherwise."""
    meta = json.loads((schema.metadata or {})[_KEY])
    version = tuple(int(v) for v in meta["version"])
    if len(version) != 3 or meta != _identity(store, (version[0], version[1], version[2])):
        return None
    return version[0], version[1], version[2]


def read(store: Store, *, columns_of: IncidentSnapshot | None = None) -> IncidentSnapshot | None:
    """The store's persisted snapshot, or None when there is none that may be trusted.

    Parameters
    ----------
    store : Store
        The store.
    columns_of : IncidentSnapshot, optional
        A snapshot whose column names the file must hold (None: not checked).

    Returns
    -------
    IncidentSnapshot or None
        The snapshot as it was written, at its own (possibly older) version; None when
        the file is missing, damaged, of another store or schema, or of a history that
        is not this store's (see the module docstring).
    """
    body = read_sealed(path_for(store), MAGIC)
    if body is None:
        return None
    try:
        table = pa.ipc.open_file(pa.BufferReader(body)).read_all()
        version = _checked_version(store, table.schema)
        if version is None:
            return None
        snapshot = _snapshot(table, version)
    except (pa.ArrowException, KeyError, ValueError, TypeError):
        return None
    return snapshot if _consistent(snapshot, columns_of) else None


class FileColumns:
    """The store's snapshot file, checked, with its columns read one at a time.

    :func:`read` holds the whole file and the arrays decoded from it; the ingest that
    patches a 10M file beside its own batch (:mod:`geo._snapshot_batch`) asks for one
    column, copies it into the new snapshot and lets it go (:func:`geo.snapshot.patch_columns`).
    What :func:`read` checks is checked here too: the digest (:func:`opened`), the
    identity, the column names, the ids against the version (read when opened), and each
    column's length and codes as it is read; a column that fails raises
    ``pyarrow.ArrowInvalid``.
    """

    def __init__(self, source: pa.NativeFile, names: list[str], version: tuple[int, int, int]) -> None:
        self.source = source
        self.names = names
        self.version = version
        self.ids = _values(self._field("id"), "id")
        self.labels = {
            name.partition(":")[2]: _codes(self._field(name))[1] for name in names if name.startswith("code:")
        }

    def __len__(self) -> int:
        return len(self.ids)

    def _field(self, name: str) -> pa.ChunkedArray:
        options = pa.ipc.IpcReadOptions(included_fields=[self.names.index(name)])
        return pa.ipc.open_file(self.source, options=options).read_all().column(0)

    def consistent(self) -> bool:
        """The columns a snapshot holds, and ids that agree with the version."""
        from geo._snapshot_read import CATEGORIES, TIMES

        expected = {"id", "lat", "lon", "x", "y", *(f"code:{c}" for c in CATEGORIES), *(f"time:{c}" for c in TIMES)}
        return set(self.names) == expected and len(self.names) == len(expected) and _ids_agree(self.ids, self.version)

    def column(self, name: str) -> np.ndarray:
        """Column ``name`` as :class:`geo.snapshot.IncidentSnapshot` holds it ("id", "lat",
        "lon", "x", "y", a category's codes in :attr:`labels`, or an instant column)."""
        if name == "id":
            return self.ids
        # the column read before is let go by now (patch_columns); Arrow's pool would keep
        # its pages, and the next column's would come on top (about 270 MB at 5M)
        pa.default_memory_pool().release_unused()
        if name in self.labels:
            values, labels = _codes(self._field(f"code:{name}"))
            if not np.array_equal(labels, self.labels[name]):
                raise pa.ArrowInvalid("labels changed while the file was read")
        else:
            kind = "time" if f"time:{name}" in self.names else name
            values = _values(self._field(name if kind == name else f"time:{name}"), kind)
        if len(values) != len(self.ids):
            raise pa.ArrowInvalid("a column of another length")
        return values


@contextmanager
def opened(store: Store) -> Iterator[FileColumns | None]:
    """The store's snapshot file, open and checked as :func:`read` checks it, its columns
    read one at a time (:class:`FileColumns`); None when :func:`read` would give None.

    The file is hashed in chunks and kept open while its columns are read, so they are
    the bytes hashed (:func:`geo._sealed_file.opened_sealed`).
    """
    with opened_sealed(path_for(store), MAGIC) as body:
        columns = None if body is None else _file_columns(store, pa.PythonFile(body, mode="r"))
        yield columns


def _file_columns(store: Store, source: pa.NativeFile) -> FileColumns | None:
    try:
        schema = pa.ipc.open_file(source).schema
        version = _checked_version(store, schema)
        if version is None:
            return None
        columns = FileColumns(source, schema.names, version)
    except (pa.ArrowException, KeyError, ValueError, TypeError):
        return None
    return columns if columns.consistent() else None
