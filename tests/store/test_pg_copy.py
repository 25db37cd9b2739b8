"""The binary COPY encoder and its sending (geo/store/_pg_copy.py) against PostgreSQL itself.

Values go in as Arrow columns, are sent in the binary format in several chunks, and are
read back by the server's own text rendering; the expected texts are written out here
by hand (PostgreSQL's output forms), not taken from the encoder.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import create_engine

from geo.store._pg_copy import copy_binary
from geo.store._postgis import normalise_url

_COLUMNS = "big bigint, small integer, x double precision, at timestamptz, txt text, code varchar(5)"


def _table() -> pa.Table:
    stamps = np.array(
        ["2026-12-01T03:04:05.123456", "NaT", "1999-12-31T23:59:59.999999", "2000-01-01T00:00:00",
         "1970-01-01T00:00:00.000001", "2030-06-30T12:00:00"],
        dtype="datetime64[us]",
    )  # fmt: skip
    return pa.table(
        {
            "big": pa.array([1, None, -5, 2**62, 0, 7], type=pa.int64()),
            "small": pa.array([None, 3, -2147483648, 2147483647, 0, 1], type=pa.int64()),
            "x": pa.array([1.5, None, -0.0, 1e300, 21.0285, 105.8542], type=pa.float64()),
            "at": pa.array(stamps, type=pa.timestamp("us"), from_pandas=True).cast(pa.timestamp("us", tz="UTC")),
            "txt": pa.array(["Hoàn Kiếm", None, "", "a,b\n\"c\"\\", "ký tự 𝄞", "x" * 300]),
            "code": pa.array(["00001", "", None, "ab", "Ba Đ", "z"]),
        }
    )


_EXPECTED = [
    ("1", None, "1.5", "2026-12-01 03:04:05.123456+00", "Hoàn Kiếm", "00001"),
    (None, "3", None, None, None, ""),
    ("-5", "-2147483648", "-0", "1999-12-31 23:59:59.999999+00", "", None),
    (str(2**62), "2147483647", "1e+300", "2000-01-01 00:00:00+00", "a,b\n\"c\"\\", "ab"),
    ("0", "0", "21.0285", "1970-01-01 00:00:00.000001+00", "ký tự 𝄞", "Ba Đ"),
    ("7", "1", "105.8542", "2030-06-30 12:00:00+00", "x" * 300, "z"),
]


def _copied(postgis_url: str, data: pa.Table, chunk_rows: int) -> list[tuple]:
    engine = create_engine(normalise_url(postgis_url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE t (k serial, {_COLUMNS})")
            copy_binary(conn, "t", data, chunk_rows=chunk_rows)
            rows = conn.exec_driver_sql(
                "SELECT big::text, small::text, x::text, at::text, txt, code::text FROM t ORDER BY k"
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


@pytest.mark.postgis
@pytest.mark.parametrize("chunk_rows", [1, 4, 100])
def test_binary_copy_stores_every_type_null_and_edge_value(postgis_url, chunk_rows):
    assert _copied(postgis_url, _table(), chunk_rows) == _EXPECTED


@pytest.mark.postgis
def test_binary_copy_parses_constant_instant_text_once_per_value(postgis_url):
    """A batch's constant stamps arrive as text (the bulk stamp form with its suffix)."""
    data = _table().set_column(3, "at", pa.array(["2026-12-01 03:00:00.000000+00:00"] * 6))
    stored = _copied(postgis_url, data, 4)
    assert [r[3] for r in stored] == ["2026-12-01 03:00:00+00"] * 6
    assert [r[:3] + r[4:] for r in stored] == [e[:3] + e[4:] for e in _EXPECTED]


@pytest.mark.postgis
def test_binary_copy_refuses_text_longer_than_the_column(postgis_url):
    import psycopg

    data = _table().set_column(5, "code", pa.array(["123456", "", None, "ab", "c", "z"]))
    with pytest.raises(psycopg.errors.StringDataRightTruncation, match="too long"):
        _copied(postgis_url, data, 100)


@pytest.mark.postgis
@pytest.mark.parametrize("rows", [0, 1])
def test_an_empty_or_one_row_table_is_copied_as_csv_and_binary(postgis_url, rows):
    from geo.store._pg_copy import copy_arrow

    data = _table().slice(0, rows)
    assert _copied(postgis_url, data, 4) == _EXPECTED[:rows]
    engine = create_engine(normalise_url(postgis_url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TEMPORARY TABLE c (k serial, big bigint, txt text)")
            copy_arrow(conn, "c", data.select(["big", "txt"]), chunk_rows=4)
            assert conn.exec_driver_sql("SELECT big, txt FROM c ORDER BY k").all() == [(1, "Hoàn Kiếm")][:rows]
    finally:
        engine.dispose()


class _Chunk(bytearray):
    """A chunk that can be watched (a weak reference says when it is let go)."""


@pytest.mark.postgis
def test_chunks_are_made_at_most_one_ahead_of_the_one_sent(postgis_url):
    """Memory stays bounded whatever the server's speed: when chunk k is made, every
    chunk before k − 1 has been sent and let go (the queued writer used before held up
    to 128 MB of them)."""
    import weakref

    from geo.store._pg_copy import send_chunks

    made: list[weakref.ref] = []
    alive_when_made: list[int] = []

    def chunk(lo: int) -> bytes:
        alive_when_made.append(sum(ref() is not None for ref in made))
        data = _Chunk(f"{lo}\tchunk {lo}\n".encode())
        made.append(weakref.ref(data))
        return data  # type: ignore[return-value]

    engine = create_engine(normalise_url(postgis_url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TEMPORARY TABLE w (n integer, label text)")
            send_chunks(conn, "COPY w (n, label) FROM STDIN", chunk, range(0, 50, 5))
            stored = conn.exec_driver_sql("SELECT n, label FROM w").all()
    finally:
        engine.dispose()
    assert stored == [(lo, f"chunk {lo}") for lo in range(0, 50, 5)]  # all, in order
    assert len(alive_when_made) == 10
    assert max(alive_when_made) <= 1
