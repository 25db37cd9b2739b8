"""COPY into PostgreSQL: the binary format, built from Arrow columns a whole chunk at a
time, and the sending of rows, CSV and binary chunks inside the open transaction.

A million-row batch sent as CSV makes the server parse every value from text: five
instants, two floats and the integers of each incident row took about 3 of the COPY's
6.3 s of server time per million rows (benchmarks/NOTES.md, "pgingest, session 21").
The binary format carries them as the server stores them (8-byte integers, IEEE
floats, microseconds since 2000-01-01), so the server only copies them.

psycopg's ``write_row`` builds that format one Python value at a time, slower than the
CSV it would replace; here each column is turned into its bytes with numpy (one array
operation per column, none per value) and the rows are interleaved by index arithmetic:
every row is a field count, then per field a length (−1: NULL) and the value's bytes.

The sending (:func:`bulk_insert`, :func:`copy_arrow`, :func:`copy_binary`,
:func:`copy_parts`) picks the form: psycopg's rows for a few, Arrow-written CSV for many
plain values, this format for a batch's columns; a second thread encodes the next chunk
while one is sent (:func:`send_chunks`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv
from sqlalchemy.engine import Connection

from geo.store._batch_rows import INSERT_CHUNK_ROWS

#: The file header: signature, flags, header-extension length.
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
#: The end of the data: a field count of −1.
TRAILER = b"\xff\xff"
#: 2000-01-01 (PostgreSQL's epoch) in microseconds since 1970-01-01.
_PG_EPOCH_US = 946_684_800_000_000

#: The column types sent in binary, by ``format_type`` name (without a type modifier).
_FIXED = {"bigint": ">i8", "integer": ">i4", "double precision": ">f8", "timestamp with time zone": ">i8"}
_TEXT = ("text", "character varying")

#: The types of a table's columns, as ``format_type`` names without modifiers.
COLUMN_TYPES_SQL = """
SELECT a.attname, format_type(a.atttypid, NULL)
FROM pg_attribute a
WHERE a.attrelid = CAST(%s AS regclass) AND a.attnum > 0 AND NOT a.attisdropped
"""


def supported(types: list[str]) -> bool:
    """Whether every one of ``types`` (``format_type`` names) can be sent by :func:`encode`."""
    return all(t in _FIXED or t in _TEXT for t in types)


def _fields(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    """Byte strings (Arrow large binary) from their offsets and concatenated bytes."""
    n = len(offsets) - 1
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data)]
    )


def _fixed(values: pa.Array, kind: str, pg_type: str) -> pa.Array:
    """Numbers and instants: each row's field, a 4-byte length then the big-endian value
    (only the length −1 for NULL)."""
    width = np.dtype(kind).itemsize
    if pg_type == "timestamp with time zone":
        values = _instants(values)
        numbers = pc.subtract(values.cast(pa.int64()), pa.scalar(_PG_EPOCH_US))
    elif kind == ">f8":
        numbers = values.cast(pa.float64())
    else:
        numbers = values.cast(pa.int32() if kind == ">i4" else pa.int64())  # safe: raises on overflow
    n = len(values)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    plain = numbers.fill_null(0).to_numpy(zero_copy_only=False).astype(kind)
    grid = np.empty((n, 4 + width), dtype=np.uint8)
    grid[:, :4] = np.where(valid, width, -1).astype(">i4").view(np.uint8).reshape(n, 4)
    grid[:, 4:] = plain.view(np.uint8).reshape(n, width)
    if valid.all():
        return _fields(np.arange(0, (4 + width) * (n + 1), 4 + width), grid.reshape(-1))
    keep = np.ones((n, 4 + width), dtype=bool)
    keep[:, 4:] = valid[:, None]  # row-major: a NULL keeps only its length
    sizes = np.where(valid, 4 + width, 4)
    return _fields(np.concatenate([[0], np.cumsum(sizes)]), grid[keep])


def _instants(values: pa.Array) -> pa.Array:
    """Instants as Arrow UTC microseconds; text (a batch's constant stamps) is parsed once
    per distinct value."""
    if pa.types.is_timestamp(values.type):
        return values.cast(pa.timestamp("us", tz="UTC"))
    import pandas as pd

    coded = pc.dictionary_encode(values)
    parsed = pd.to_datetime(pd.Series(coded.dictionary.to_pylist(), dtype=object), utc=True)
    stamps = pa.array(parsed.astype("datetime64[us, UTC]"), type=pa.timestamp("us", tz="UTC"))
    return pc.take(stamps, coded.indices)


def _text(values: pa.Array) -> pa.Array:
    """Text: each row's field, a 4-byte length then the UTF-8 bytes Arrow holds already
    (only the length −1 for NULL)."""
    n = len(values)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.asarray(pc.binary_length(values).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    prefix = np.where(valid, lengths, -1).astype(">i4").view(np.uint8)
    heads = _fields(np.arange(0, 4 * (n + 1), 4), prefix)
    body = values.cast(pa.large_binary()).fill_null(b"")
    return pc.binary_join_element_wise(heads, body, pa.scalar(b"", pa.large_binary()))


def encode(data: pa.Table, types: dict[str, str], *, first: bool, last: bool) -> bytes | memoryview:
    """Rows of ``data`` in the binary COPY format; ``types``: each column's
    ``format_type`` name (see :data:`COLUMN_TYPES_SQL`). ``first``/``last``: whether to
    start with the header and end with the trailer.

    Each column becomes one byte string per row (its field: length and value), and
    Arrow joins them row by row in C (``binary_join_element_wise``), after a field
    count: the joined values, back to back, are the rows.
    """
    n = data.num_rows
    count = np.full(n, data.num_columns, dtype=">i2").view(np.uint8)
    parts = [_fields(np.arange(0, 2 * (n + 1), 2), count)]
    for name in data.column_names:
        pg_type = types[name]
        column = data.column(name).combine_chunks()
        parts.append(_fixed(column, _FIXED[pg_type], pg_type) if pg_type in _FIXED else _text(column))
    rows = pc.binary_join_element_wise(*parts, pa.scalar(b"", pa.large_binary()))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + n + 1]
    body = memoryview(rows.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
    if not (first or last):
        return body  # Arrow's own buffer, not a copy of it
    return b"".join([SIGNATURE if first else b"", body, TRAILER if last else b""])


def column_types(cursor: Any, table: str) -> dict[str, str]:
    """``format_type`` names of ``table``'s columns, through a psycopg cursor."""
    cursor.execute(COLUMN_TYPES_SQL, (table,))
    return {str(name): str(kind) for name, kind in cursor.fetchall()}


# -- sending ------------------------------------------------------------------------------


def bulk_insert(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY plain tuples into ``table`` inside the open transaction.

    Many rows of plain values (numbers, text, None) go as Arrow-written CSV, a column at
    a time (:func:`copy_arrow`): psycopg's ``write_row`` formats each value in Python (an
    ingest's recurrence moves append tens of thousands of history and audit rows).
    """
    if len(rows) >= CSV_COPY_MIN_ROWS:
        data = _plain_table(columns, rows)
        if data is not None:
            copy_arrow(conn, table, data, chunk_rows=INSERT_CHUNK_ROWS)
            return
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


#: Batches from this size on are copied as CSV written by Arrow (C speed per cell).
CSV_COPY_MIN_ROWS = 10_000


def _plain_table(columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> Any:
    """``rows`` as an Arrow table when every column holds only integers, floats, text or
    None (whose CSV is PostgreSQL's reading of them); None otherwise (bytes, instants,
    booleans: left to psycopg's own adaptation)."""
    plain = (pa.types.is_integer, pa.types.is_floating, pa.types.is_string, pa.types.is_null)
    try:
        arrays = [pa.array(list(values)) for values in zip(*rows, strict=True)]
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None
    if not all(any(check(a.type) for check in plain) for a in arrays):
        return None
    return pa.table(dict(zip(columns, arrays, strict=True)))


def copy_arrow(conn: Connection, table: str, data: Any, *, chunk_rows: int = 100_000) -> None:
    """COPY an Arrow table into ``table`` as CSV, chunk by chunk, inside the open transaction.

    Arrow writes strings always quoted and missing values as empty unquoted fields, which
    is exactly PostgreSQL's CSV reading of text and NULL. A second thread writes the next
    chunk while this one is sent (:func:`send_chunks`).
    """
    columns = ", ".join(data.column_names)
    send_chunks(conn, f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)",
                lambda lo: _csv(data.slice(lo, chunk_rows)), range(0, data.num_rows, chunk_rows))  # fmt: skip


def _csv(data: Any) -> bytes:
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
    return buffer.getvalue()


#: Rows per chunk of a binary COPY: a chunk of incidents is about 40 MB while it is
#: encoded, and two are held at once (:func:`send_chunks`).
COPY_CHUNK_ROWS = 25_000


def send_chunks(
    conn: Connection, statement: str, chunk: Callable[[int], bytes | memoryview], starts: Sequence[int]
) -> None:
    """Run the COPY ``statement`` with the data ``chunk(start)`` for each of ``starts``,
    each made in a second thread while the one before it is sent.

    At most two chunks are held: the one on the wire and the next. psycopg's queued
    writer, used before, queued up to 128 MB of copied slices whenever the server read
    more slowly than numpy encoded, and so lifted the 1M ingest's peak over 2 GB
    (benchmarks/RESULTS.md, "pgrebuild, session 22").
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy, ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="geo-copy"
    ) as pool:
        ahead = list(starts)
        pending = pool.submit(chunk, ahead.pop(0)) if ahead else None
        while pending is not None:
            data = pending.result()
            pending = pool.submit(chunk, ahead.pop(0)) if ahead else None
            copy.write(memoryview(data))  # slices of a memoryview are not copies
            del data


def copy_binary(conn: Connection, table: str, data: Any, *, chunk_rows: int = COPY_CHUNK_ROWS) -> None:
    """COPY an Arrow table into ``table`` in the binary format (see :func:`copy_parts`)."""
    copy_parts(conn, table, data.column_names, data.num_rows, lambda lo, hi: data.slice(lo, hi - lo),
               chunk_rows=chunk_rows)  # fmt: skip


def copy_parts(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    n: int,
    part: Callable[[int, int], Any],
    *,
    chunk_rows: int = COPY_CHUNK_ROWS,
) -> None:
    """COPY ``n`` rows into ``table`` in the binary format (:func:`encode`),
    ``part(lo, hi)`` giving rows ``lo:hi`` as an Arrow table of ``columns``, a chunk at a
    time inside the open transaction; as CSV (:func:`copy_arrow`) when a column has a
    type the encoder does not send.

    Instants go as microseconds and numbers as their bytes, so the server parses no
    text; a second thread builds and encodes the next chunk while one is sent
    (:func:`send_chunks`), so a batch is never held whole in this form.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        types = column_types(cursor, table)
    names = ", ".join(columns)
    if not supported([types.get(c, "?") for c in columns]):
        send_chunks(conn, f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)",
                    lambda lo: _csv(part(lo, min(n, lo + chunk_rows))), range(0, n, chunk_rows))  # fmt: skip
        return

    def chunk(lo: int) -> bytes | memoryview:
        hi = min(n, lo + chunk_rows)
        return encode(part(lo, hi), types, first=lo == 0, last=hi >= n)

    send_chunks(conn, f"COPY {table} ({names}) FROM STDIN WITH (FORMAT binary)", chunk, range(0, max(n, 1), chunk_rows))
