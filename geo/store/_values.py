"""Small value helpers shared by the store's modules: the clock, text/JSON cleaning and
reading a query's rows as a frame."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection

if TYPE_CHECKING:
    from geo.store._core import Store


def utcnow() -> datetime:
    """Now, timezone-aware UTC (the only clock the store reads)."""
    return datetime.now(UTC)


def clean(value: Any) -> Any:
    """A text with NUL characters, which PostgreSQL cannot store, replaced by U+FFFD (both
    backends, so the two hold the same text); any other value unchanged."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def plain(value: Any) -> Any:
    """JSON-safe scalars (numpy ints from value_counts and friends), texts cleaned."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def read_frame(
    store: Store,
    sql: str,
    params: Sequence[Any],
    columns: Sequence[str],
    *,
    instants: Sequence[str] = (),
    conn: Connection | None = None,
) -> pd.DataFrame:
    """A query's rows (``?`` placeholders) as a frame of ``columns``, ``instants`` as UTC
    timestamps, read in ``conn``'s transaction or a read of its own.

    Read through the driver's cursor and built column by column: SQLAlchemy's rows parse
    every stored instant in Python and pandas then asks each row for attributes, which
    made the million-row timeline of :mod:`geo.sustain` cost 12.5 s instead of about 5 s.
    Stored instants are ISO text on SQLite and datetimes on PostgreSQL; both parse here.
    """
    if conn is None:
        with store.read() as own:
            rows = store.backend.fetch_rows(own, sql, params)
    else:
        rows = store.backend.fetch_rows(conn, sql, params)
    data: dict[str, Any] = dict(zip(columns, zip(*rows, strict=True) if rows else [() for _ in columns], strict=True))
    for column in instants:  # from the driver's values, before pandas reads them its own way
        data[column] = pd.Series(utc_instants(data[column]), dtype="datetime64[ns]").dt.tz_localize("UTC")
    return pd.DataFrame(data, columns=list(columns))


def chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """``values`` in slices of ``size``: ids go into ``IN (…)`` a slice at a time, so no
    statement outgrows a driver's limit on bound parameters (SQLite's is 32,766)."""
    return (values[start : start + size] for start in range(0, len(values), size))


def utc_instants(values: Sequence[Any]) -> np.ndarray:
    """Stored instants (naive ISO text on SQLite, datetimes on PostgreSQL; None for none)
    as UTC ``datetime64[ns]`` (NaT for none).

    Arrow parses the text in C: for a million clearance instants with gaps, pandas'
    ``to_datetime`` took 1.9 s and Arrow 0.06 s. Text Arrow cannot read (an offset, say)
    goes through pandas, which reads every ISO 8601 form.
    """
    try:
        array = pa.array(values)
        if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
            array = array.cast(pa.timestamp("us"))
        elif pa.types.is_timestamp(array.type) and array.type.tz is not None:
            array = array.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        elif pa.types.is_null(array.type):
            return np.full(len(array), np.datetime64("NaT"), dtype="datetime64[ns]")
        if not pa.types.is_timestamp(array.type):
            raise pa.ArrowInvalid(f"not instants: {array.type}")
        out: np.ndarray = array.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
        return out
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
        return stamps.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
