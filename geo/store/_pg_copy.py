"""PostgreSQL's binary COPY format, built from Arrow columns a whole chunk at a time.

A million-row batch sent as CSV makes the server parse every value from text: five
instants, two floats and the integers of each incident row took about 3 of the COPY's
6.3 s of server time per million rows (benchmarks/NOTES.md, "pgingest, session 21").
The binary format carries them as the server stores them (8-byte integers, IEEE
floats, microseconds since 2000-01-01), so the server only copies them.

psycopg's ``write_row`` builds that format one Python value at a time, slower than the
CSV it would replace; here each column is turned into its bytes with numpy (one array
operation per column, none per value) and the rows are interleaved by index arithmetic:
every row is a field count, then per field a length (−1: NULL) and the value's bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
