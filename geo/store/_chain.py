"""The audit log and the status history as hash chains: how a row is hashed and appended.

Each row of a chained table (:data:`CHAINED`) carries ``row_hash`` = SHA-256 of the
previous row's hash (a per-table start value for the first row) followed by a canonical
text of the row's content, every column but the hash itself. Rows are chained in id
order, so changing, removing or inserting a row breaks the chain at that row or the next
one, and :mod:`geo.store.chain` finds it.

The canonical text must come out the same whether the row is hashed before it is
written, read back from SQLite or read back from PostgreSQL, so each column has a kind:

- ``int``: decimal digits;
- ``text``: the text itself;
- ``instant``: UTC as ``YYYY-MM-DDTHH:MM:SS.ffffff`` (SQLite's stored form; PostgreSQL
  renders it in SQL, see :meth:`geo.store._backend.Backend.instant_text`);
- ``json``: :func:`canonical_json` of the parsed value (sorted keys, numbers in one form:
  PostgreSQL's ``jsonb`` writes ``1e+16`` back as ``10000000000000000``).

A value is written ``<UTF-8 length>:<text>`` and a NULL ``~``, joined by ``;``, so no
content can be shifted from one column to another. Whole columns are encoded at once by
Arrow; only the chaining itself is a Python loop, one ``hashlib`` call per row (measured
here for a million first status events of an ingest: ~0.4 s to encode, ~0.5 s to chain).

Appending takes the chain lock (SQLite: the write lock the transaction holds already;
PostgreSQL: a table lock), reads the last row's hash, reserves ids and writes the rows
with their hashes, all in the caller's transaction: two writers cannot fork the chain.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Table, select

from geo import audit_codes
from geo.store._instants import to_utc, utc_text

if TYPE_CHECKING:
    from geo.store._core import Store

#: Chained tables → their content columns in hash order, with each column's kind.
CHAINED: dict[str, tuple[tuple[str, str], ...]] = {
    "status_events": (
        ("id", "int"), ("incident_id", "int"), ("from_status", "text"), ("to_status", "text"),
        ("at", "instant"), ("actor", "text"), ("note", "text"), ("batch_id", "int"),
    ),
    "audit_log": (
        ("id", "int"), ("at", "instant"), ("actor", "text"), ("action", "text"),
        ("object_type", "text"), ("object_id", "text"), ("details", "json"),
    ),
}  # fmt: skip

#: The chained table whose ``action`` and ``object_type`` must be declared codes
#: (:mod:`geo.audit_codes`), checked by :func:`append` and :func:`append_columns`.
AUDIT_TABLE = "audit_log"


def _distinct(values: Any) -> set[Any]:
    """The distinct values of a column given to :func:`append_columns`."""
    return {values.value} if isinstance(values, Constant) else set(values)


#: The column holding each row's hash (lower-case hex).
HASH_COLUMN = "row_hash"

#: Changes the hash of every row when the encoding changes (a schema migration re-seals).
_VERSION = b"geo-chain-v1"

#: Text of a NULL value in the canonical encoding.
_NULL = "~"


def genesis(table: str) -> bytes:
    """The "previous hash" of a table's first row (differs per table: a row cannot be
    moved from one chain to the other)."""
    return hashlib.sha256(_VERSION + b"\x00" + table.encode()).digest()


def as_digest(stored: Any) -> bytes:
    """A stored hash as 32 bytes; anything that is not 64 hex digits is hashed itself,
    so a damaged head still gives writers a definite value to chain from."""
    text = "" if stored is None else str(stored)
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    return hashlib.sha256(b"invalid:" + text.encode("utf-8", "surrogatepass")).digest()


# -- canonical values ------------------------------------------------------------------


def _number(value: int | float) -> str:
    """One text per number: digits without trailing zeros and a decimal exponent."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # NaN/inf: SQLite's JSON only (PostgreSQL refuses them)
    exact = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    sign, digit_tuple, exponent = exact.as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    if not digits:
        return "0"
    stripped = digits.rstrip("0")
    assert isinstance(exponent, int)
    return f"{'-' if sign else ''}{stripped}e{exponent + len(digits) - len(stripped)}"


def canonical_json(value: Any) -> str:
    """A JSON value as one text: keys sorted, no spaces, ASCII, numbers by :func:`_number`."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k)}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def stored_json(value: Any) -> Any:
    """A value as it reads back from a JSON column (tuples → lists, keys → text …)."""
    return None if value is None else json.loads(json.dumps(value))


def instant_text(value: Any) -> str | None:
    """An instant as the fixed-width UTC text (SQLite's stored form)."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 26 and value[10] == "T":
        return value  # stored text, already in this form
    return utc_text(to_utc(value))


def _text_of(kind: str, value: Any) -> str | None:
    """One value of ``kind`` as canonical text, None for NULL (json: ``null``).

    A value that is not of its kind (SQLite lets raw SQL put text in an integer column)
    gets a text no proper value has, ``?`` and its repr: the row then fails to verify
    instead of stopping the walk.
    """
    try:
        if kind == "json":
            return canonical_json(json.loads(value) if isinstance(value, str) else value)
        if value is None:
            return None
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(value)
            return str(int(value))
        if kind == "instant":
            return instant_text(value)
    except (ValueError, TypeError, OverflowError):
        return f"?{value!r}"
    return str(value)


# -- encoding whole columns ------------------------------------------------------------


def _field(values: Any) -> Any:
    """Arrow text values as ``<bytes>:<text>`` (``~`` for null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = values.cast(pa.string())
    lengths = pc.binary_length(values).cast(pa.string())
    return pc.fill_null(pc.binary_join_element_wise(lengths, ":", values, ""), _NULL)


def field_constant(kind: str, value: Any) -> str:
    """The encoded field of a value shared by every row (a batch's actor, say)."""
    text = _text_of(kind, value)
    return _NULL if text is None else f"{len(text.encode())}:{text}"


def column_array(kind: str, values: Any) -> Any:
    """A column as Arrow text in canonical form, converted in C where every value is of
    its kind (ints; texts and instants already in text form), else value by value.

    Arrow would truncate 2.5 into an int64 column silently, so ints are inferred, not
    cast: a column that is not all integers takes the value-by-value way.
    """
    import pyarrow as pa

    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    if kind == "int" and isinstance(values, np.ndarray | range):
        return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())
    try:
        if kind == "int":
            inferred = pa.array(values)
            if pa.types.is_integer(inferred.type) or pa.types.is_null(inferred.type):
                return inferred.cast(pa.string())
        elif kind != "json":
            return pa.array(values, type=pa.string(), from_pandas=isinstance(values, np.ndarray))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass  # datetimes to render, values of another kind …
    return pa.array([_text_of(kind, v) for v in values], type=pa.string())


def encode(table: str, columns: Mapping[str, Any], n: int) -> list[bytes]:
    """The canonical content of ``n`` rows of ``table``, one ``bytes`` per row.

    ``columns`` maps every content column to its values: a sequence or array of ``n``
    (see :func:`column_array`), or a :class:`Constant` shared by all rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if n == 0:
        return []
    parts: list[Any] = []
    for name, kind in CHAINED[table]:
        values = columns[name]
        if isinstance(values, Constant):
            parts.append(field_constant(kind, values.value))
        elif isinstance(values, JsonColumn):
            parts.append(_field(values.canonical))
        else:
            parts.append(_field(column_array(kind, values)))
    if all(isinstance(p, str) for p in parts):
        return [";".join(parts).encode()] * n
    joined = pc.binary_join_element_wise(*parts, ";")
    encoded: list[bytes] = joined.cast(pa.binary()).to_pylist()
    return encoded


#: Up to this many rows, :func:`encode_few` encodes value by value: Arrow's per-call cost
#: (about 0.5 ms for one audit entry, measured for issue 14) is paid per column, not per row.
FEW_ROWS = 8


def encode_few(table: str, columns: Mapping[str, Any], n: int) -> list[bytes]:
    """:func:`encode` for rows being appended (instants as datetimes, JSON as stored):
    value by value for a few rows, by Arrow for more. Both give the same bytes
    (tests/store/test_audit_chain.py compares them); verification always reads back
    through :func:`encode`.
    """
    if n > FEW_ROWS:
        return encode(table, columns, n)
    kinds = CHAINED[table]
    return [
        ";".join(field_constant(kind, columns[name][i]) for name, kind in kinds).encode()
        for i in range(n)
    ]


@dataclass(frozen=True)
class Constant:
    """A value every row of an encoded block shares."""

    value: Any


@dataclass(frozen=True)
class JsonColumn:
    """A JSON column given as text, twice: ``canonical`` (:func:`canonical_json` of each
    value, an Arrow text array; hashed) and ``stored`` (the text written, as
    ``json.dumps`` gives it). Built per column by the caller, so that no value is
    rendered row by row here."""

    canonical: Any
    stored: Sequence[str]


def chain_hex(prev: bytes, runs: Iterable[Sequence[bytes]]) -> bytes:
    """:func:`link` over runs of contents, one after the other, as one buffer of hex
    digits (64 per row): a million hashes held in 64 MB, not a million objects."""
    sha256 = hashlib.sha256
    out = bytearray()
    for contents in runs:
        for content in contents:
            prev = sha256(prev + content).digest()
            out += prev
    return binascii.hexlify(out)


def link(prev: bytes, contents: Iterable[bytes]) -> list[bytes]:
    """Chain ``contents`` from ``prev``: each row's digest is SHA-256(previous + content)."""
    sha256 = hashlib.sha256
    out: list[bytes] = []
    append = out.append
    for content in contents:
        prev = sha256(prev + content).digest()
        append(prev)
    return out


# -- appending -------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """Ids reserved at the end of a chain, and the hash they chain from."""

    table: str
    ids: Sequence[int]
    prev: bytes


def reserve(store: Store, conn: Connection, table: str, n: int) -> Block:
    """Lock the chains, read ``table``'s last hash and reserve ``n`` ids after it.

    The caller writes the rows (with :func:`link`'s hashes) in the same transaction.
    """
    store.backend.lock_chains(conn)
    t = store.tables[table]
    last = conn.execute(select(t.c[HASH_COLUMN]).order_by(t.c.id.desc()).limit(1)).scalar()
    prev = genesis(table) if last is None else as_digest(last)
    return Block(table, store.backend.reserve_ids(conn, table, n, locked=True), prev)


def append(
    store: Store, conn: Connection, table: str, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Append ``rows`` (content columns but ``id``) to a chained table in ``conn``'s
    transaction, each with its id and hash; returns the ids."""
    if not rows:
        return []
    if table == AUDIT_TABLE:
        audit_codes.require((r.get("action") for r in rows), (r.get("object_type") for r in rows))
    kinds = dict(CHAINED[table])
    block = reserve(store, conn, table, len(rows))
    columns: dict[str, Any] = {"id": np.asarray(block.ids, dtype=np.int64)}
    for name, kind in CHAINED[table][1:]:
        column = [row.get(name) for row in rows]
        if kind == "instant":  # rendered once: hashed and (in bulk) written as this text
            column = [instant_text(v) for v in column]
        elif kind == "json":
            column = [stored_json(v) for v in column]
        columns[name] = column
    digests = link(block.prev, encode_few(table, columns, len(rows)))
    if len(rows) >= BULK_APPEND_ROWS:
        _bulk_append(store, conn, table, columns, digests)
        return [int(i) for i in block.ids]
    values = [
        {
            k: (to_utc(v) if kinds.get(k) == "instant" and v is not None else v)
            for k, v in row.items()
        }
        for row in rows
    ]
    names = [name for name, _ in CHAINED[table]]
    ids = [int(i) for i in block.ids]
    rows_out = zip(
        *(ids if name == "id" else [row.get(name) for row in values] for name in names),
        [digest.hex() for digest in digests],
        strict=True,
    )
    _insert_bound(conn, store.tables[table], [*names, HASH_COLUMN], list(rows_out))
    return ids


def _insert_bound(
    conn: Connection, table: Table, names: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """``executemany`` of ``rows`` on the driver, each value through its column type's own
    bind processing (so stored exactly as SQLAlchemy stores it), without SQLAlchemy's
    per-row parameter dictionaries: the tens of thousands of events and audit entries
    of a large ingest's recurrences cost a third less CPU."""
    dialect = conn.dialect
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    columns = [
        [process(v) for v in column] if process is not None else column
        for process, column in zip(processors, zip(*rows, strict=True), strict=True)
    ]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"  # noqa: S608
    conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))


#: From this many rows on, :func:`append` writes through the backend's bulk means (COPY on
#: PostgreSQL): an ingest's recurrences move thousands of incidents at once.
BULK_APPEND_ROWS = 500


def _bulk_append(
    store: Store, conn: Connection, table: str, columns: Mapping[str, Any], digests: Sequence[bytes]
) -> None:
    """Write rows as plain values in their stored forms: instants (already the fixed-width
    UTC text) with the backend's suffix, JSON as its text, the forms the ORM path stores."""
    suffix = store.backend.stamp_suffix
    names = [name for name, _ in CHAINED[table]]
    data: list[list[Any]] = []
    for name, kind in CHAINED[table]:
        values = columns[name]
        if kind == "instant":
            data.append([None if v is None else f"{v}{suffix}" for v in values])
        elif kind == "json":
            data.append([json.dumps(v) for v in values])
        elif kind == "int":
            data.append([None if v is None else int(v) for v in values])
        else:
            data.append(list(values))
    data.append([d.hex() for d in digests])
    store.backend.bulk_insert(conn, table, [*names, HASH_COLUMN], list(zip(*data, strict=True)))


def append_columns(
    store: Store, conn: Connection, table: str, columns: Mapping[str, Any], n: int
) -> list[int]:
    """:func:`append` of ``n`` rows given per column, for many rows (an ingest's
    recurrence moves): encoded and written a column at a time, never a dict per row.

    ``columns`` maps each content column but ``id`` to a :class:`Constant`, a
    :class:`JsonColumn` (kind ``json``) or ``n`` values already in stored form: ints,
    texts, instants as :func:`instant_text`. The hashes are those :func:`append` gives
    for the same rows (tests/store/test_chain_columns.py builds both).
    """
    if n == 0:
        return []
    if table == AUDIT_TABLE:
        audit_codes.require(_distinct(columns["action"]), _distinct(columns["object_type"]))
    block = reserve(store, conn, table, n)
    full = {"id": np.asarray(block.ids, dtype=np.int64), **columns}
    hexed = chain_hex(block.prev, [encode(table, full, n)]).decode()
    suffix = store.backend.stamp_suffix
    data: list[Sequence[Any]] = []
    for name, kind in CHAINED[table]:
        values = full[name]
        if isinstance(values, Constant):
            value = values.value
            if kind == "instant" and value is not None:
                value = f"{value}{suffix}"
            data.append([value] * n)
        elif isinstance(values, JsonColumn):
            data.append(values.stored)
        elif kind == "instant" and suffix:
            data.append([None if v is None else f"{v}{suffix}" for v in values])
        elif isinstance(values, np.ndarray):
            data.append(values.tolist())
        else:
            data.append(values)
    data.append([hexed[k : k + 64] for k in range(0, 64 * n, 64)])
    names = [name for name, _ in CHAINED[table]]
    store.backend.bulk_insert(conn, table, [*names, HASH_COLUMN], list(zip(*data, strict=True)))
    return [int(i) for i in block.ids]


# -- reading back ----------------------------------------------------------------------

#: Rows read per round trip when a chain is walked.
READ_CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class StoredRows:
    """A run of stored rows in id order: ids, canonical contents and stored hashes."""

    ids: list[int]
    contents: list[bytes]
    hashes: list[str | None]


def read_rows(store: Store, conn: Connection, table: str) -> Iterator[StoredRows]:
    """Walk ``table`` in id order, ``READ_CHUNK_ROWS`` at a time, as stored.

    Instants are rendered by the database (:meth:`Backend.instant_text`) and JSON read as
    its text, so both backends hand over the same values for the same rows.
    """

    def expression(name: str, kind: str) -> str:
        if kind == "instant":
            return store.backend.instant_text(name)
        return f"CAST({name} AS TEXT)" if kind == "json" else name

    columns = CHAINED[table]
    listed = ", ".join(expression(name, kind) for name, kind in columns)
    sql = f"SELECT {listed}, {HASH_COLUMN} FROM {table} ORDER BY id"  # noqa: S608
    for part in store.backend.stream_rows(conn, sql, READ_CHUNK_ROWS):
        values = list(zip(*part, strict=True))
        data = {name: values[k] for k, (name, _) in enumerate(columns)}
        yield StoredRows(list(values[0]), encode(table, data, len(part)), list(values[-1]))
