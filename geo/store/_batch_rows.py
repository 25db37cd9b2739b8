"""The incidents of one ingest batch, held column by column until they are written.

:func:`prepare_incidents` checks a batch's frame and keeps its text in pyarrow arrays and
its numbers and instants in numpy arrays; :class:`IncidentRows` hands them to a backend as
row tuples per chunk, as Arrow tables (SQLite's staging file, PostgreSQL's CSV copy) or as
constants shared by every row. Nothing here is per-row Python work except the tuples of
the chunk being written: the commit path of a million rows depends on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import StorageError
from geo.store._instants import SQLITE_TS_FORMAT
from geo.store._schema import INCIDENT_INSERT_COLUMNS
from geo.store.workflow import TRANSITIONS, check_state, due_dates, sla_days

#: Incidents converted to Python values and written per chunk (memory stays bounded).
INSERT_CHUNK_ROWS = 100_000

_REQUIRED = ("source", "fingerprint", "type", "lat", "lon", "status", "reported_at")

#: A new incident's first status event is dated when it was cleared if it arrives in one
#: of these states with a ``cleared_at``, else when it was reported: in SQL (alias ``i``
#: for ``incidents``) and, for the event's hash, in :meth:`IncidentRows.first_event_at`.
CLEARED_ON_ARRIVAL = ("cleared", "recurred")
FIRST_EVENT_AT_SQL = (
    f"CASE WHEN i.status IN ({', '.join(repr(s) for s in CLEARED_ON_ARRIVAL)}) "
    "AND i.cleared_at IS NOT NULL THEN i.cleared_at ELSE i.reported_at END"
)
#: Columns a batch's first status events are inserted with.
FIRST_EVENT_COLUMNS = (
    "id, incident_id, from_status, to_status, at, actor, note, batch_id, row_hash"
)


@dataclass(frozen=True)
class FirstEvents:
    """The first status event of each new incident of a batch, ready to insert.

    ``ids[k]`` is the event of incident ``incident_ids[k]`` (the ``k``-th row of
    ``incidents``), its hash the ``k``-th 64 hex digits of ``hashes``
    (:mod:`geo.store._chain`). SQLite copies the status and time from the incident rows
    just written (:data:`FIRST_EVENT_AT_SQL`) and cuts the hashes in SQL; PostgreSQL
    copies :meth:`arrow_table`.
    """

    incidents: IncidentRows
    incident_ids: Sequence[int]
    ids: Sequence[int]
    hashes: bytes
    batch_id: int
    actor: str
    note: str

    def arrow_table(self, *, instants: bool = False) -> Any:
        """Every column of the events as one Arrow table (times with the rows' suffix, or
        with ``instants`` as Arrow UTC timestamps, for a binary COPY)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        n = self.incidents.n
        if instants:
            at = arrow_instants(self.incidents.first_event_at())
        else:
            at = iso_arrow(self.incidents.first_event_at())
            if self.incidents.suffix:
                at = pc.binary_join_element_wise(at, self.incidents.suffix, "")
        assert len(self.hashes) == 64 * n
        offsets = np.arange(0, 64 * (n + 1), 64, dtype=np.int32)
        return pa.table({
            "id": pa.array(np.asarray(self.ids, dtype=np.int64)),
            "incident_id": pa.array(np.asarray(self.incident_ids, dtype=np.int64)),
            "from_status": pa.nulls(n, pa.string()),
            "to_status": pa.array(self.incidents.columns["status"], type=pa.string()),
            "at": at,
            "actor": pa.repeat(pa.scalar(self.actor, pa.string()), n),
            "note": pa.repeat(pa.scalar(self.note, pa.string()), n),
            "batch_id": pa.repeat(pa.scalar(self.batch_id, pa.int64()), n),
            "row_hash": pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(self.hashes)),
        })  # fmt: skip

def texts(series: pd.Series) -> list[Any]:
    """Text values (None for missing) with NUL characters, which PostgreSQL cannot store,
    replaced by U+FFFD on both backends, so the two hold the same text."""
    text_ = series.astype("string")
    if text_.str.contains("\x00", regex=False).fillna(False).any():
        text_ = text_.str.replace("\x00", "\ufffd", regex=False)
    values: list[Any] = text_.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
    return values


def text_arrow(series: pd.Series) -> Any:
    """A text column as one pyarrow string array (null for missing, NUL → U+FFFD).

    Arrow keeps a million strings in one compact buffer; Python strings are made only
    for the rows of the chunk being written (see :class:`IncidentRows`).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(series, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers or other objects: as text
        arr = pa.array(series.astype("string"), type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if len(arr) and pc.any(pc.match_substring(arr, "\x00")).as_py():
        arr = pc.replace_substring(arr, "\x00", "\ufffd")
    return arr


def _utc_us(stamps: pd.Series) -> np.ndarray:
    """Aware timestamps → naive UTC datetime64[us] (NaT for missing)."""
    ts = pd.to_datetime(stamps, utc=True).dt.tz_convert(None)
    return np.asarray(ts.to_numpy(dtype="datetime64[us]"))


class IncidentRows:
    """The incidents of one batch, column by column, turned into row tuples per chunk.

    Text stays in pyarrow arrays, numbers and instants in numpy arrays; a chunk's Python
    values exist only while that chunk is written.
    """

    def __init__(self, n: int, columns: dict[str, Any], suffix: str) -> None:
        self.n = n
        self.columns = columns
        self.suffix = suffix
        #: The rows as they were before :meth:`with_links` (what a staged file holds).
        self.unlinked: IncidentRows = self
        #: (batch positions, ids they recur from) that :meth:`with_links` added.
        self.links: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))

    def first_event_at(self) -> np.ndarray:
        """When each incident's first status event happened (see :data:`FIRST_EVENT_AT_SQL`)."""
        cleared = self.columns["cleared_at"]
        on_arrival = np.isin(self.columns["status"], CLEARED_ON_ARRIVAL) & ~np.isnat(cleared)
        at: np.ndarray = np.where(on_arrival, cleared, self.columns["reported_at"])
        return at

    def recurrences(self) -> list[tuple[int, int]]:
        """(position in the batch, earlier incident id) of rows recording a recurrence."""
        values = self.columns.get("recurrence_of")
        if values is None or not self.n:
            return []
        mask = ~np.asarray(values.isna())
        where = np.flatnonzero(mask)
        return [(int(i), int(values[i])) for i in where]

    def with_links(self, positions: np.ndarray, olds: np.ndarray) -> IncidentRows:
        """A copy whose rows at ``positions`` recur from ``olds`` (their ``recurrence_of``;
        the rule links only rows without one): the links then travel with the rows
        instead of an ``UPDATE`` after them. This batch itself is left as it is (a
        retried transaction starts again from it)."""
        if not len(positions):
            return self
        values = self.columns.get("recurrence_of")
        linked = (
            pd.array(np.full(self.n, pd.NA), dtype="Int64")
            if values is None
            else pd.array(values, dtype="Int64").copy()
        )
        at, old = np.asarray(positions, dtype=np.int64), np.asarray(olds, dtype=np.int64)
        linked[at] = old
        out = IncidentRows(self.n, {**self.columns, "recurrence_of": linked}, self.suffix)
        out.unlinked, out.links = self.unlinked, (at, old)
        return out

    def _chunk(self, name: str, lo: int, hi: int) -> Any:
        values = self.columns.get(name)
        size = hi - lo
        if values is None:
            return itertools.repeat(None, size)
        if isinstance(values, str):  # a constant (stamps, empty flags)
            return itertools.repeat(values, size)
        if isinstance(values, np.ndarray):
            part = values[lo:hi]
            if part.dtype.kind == "M":
                return _iso_chunk(part, self.suffix)
            if part.dtype.kind == "f":
                missing = np.isnan(part)
                if missing.any():
                    out = part.astype(object)
                    out[missing] = None
                    return out.tolist()
            return part.tolist()
        if isinstance(values, pd.arrays.IntegerArray):
            return values[lo:hi].to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[arg-type]
        return values.slice(lo, size).to_numpy(zero_copy_only=False).tolist()

    def constants(self, batch_id: int | None = None) -> dict[str, Any]:
        """Columns holding one value in every row of the batch (None: all missing)."""
        out: dict[str, Any] = {} if batch_id is None else {"batch_id": batch_id}
        for name in INCIDENT_INSERT_COLUMNS[1:]:
            values = self.columns.get(name)
            if name == "batch_id":
                continue
            if values is None or isinstance(values, str):
                out[name] = values
            elif isinstance(values, pd.arrays.IntegerArray) and bool(values.isna().all()):
                out[name] = None
            elif isinstance(values, np.ndarray) and values.dtype.kind == "M" and np.isnat(values).all():
                out[name] = None
            elif hasattr(values, "null_count") and self.n:
                if values.null_count == self.n:
                    out[name] = None
                elif name == "source" and values.null_count == 0:
                    import pyarrow.compute as pc

                    if pc.count_distinct(values).as_py() == 1:
                        out[name] = values[0].as_py()
        return out

    def keys_in_order(self, names: Sequence[str]) -> bool:
        """Whether this batch's keys of an index on ``names`` arrive clustered: constant or
        few distinct values (ward, status), or ascending in file order (ids written by a
        counter). Such an index is cheaper to keep during the insert (new keys land on
        the same few pages) than to rebuild; random keys (fingerprints, times) are not."""
        import pyarrow as pa
        import pyarrow.compute as pc

        varying = []
        for name in names:
            values = self.columns.get(name)
            if values is None or isinstance(values, str):
                continue
            if not isinstance(values, pa.Array):
                values = pa.array(values, from_pandas=True)
            if len(values) and pc.count_distinct(values.slice(0, 2), mode="all").as_py() == 1:
                if pc.count_distinct(values, mode="all").as_py() == 1:
                    continue  # one value throughout
            varying.append(values)
        if not varying:
            return True
        head = varying[0]
        if head.null_count == 0 and len(head) > 1:
            if pc.all(pc.greater_equal(head.slice(1), head.slice(0, len(head) - 1))).as_py():
                return True
        return all(
            pc.count_distinct(v.slice(0, 20_000)).as_py() <= 256
            and pc.count_distinct(v).as_py() <= 4096
            for v in varying
        )

    def staged_columns(self) -> list[str]:
        """The columns :meth:`arrow_table` holds (those not constant, less id and batch)."""
        constant = self.constants()
        return [c for c in INCIDENT_INSERT_COLUMNS[1:] if c != "batch_id" and c not in constant]

    def arrow_chunks(self, size: int) -> Iterator[Any]:
        """:meth:`arrow_table` of the staged columns, ``size`` rows at a time."""
        names = self.staged_columns()
        for lo in range(0, self.n, size):
            yield self.arrow_table(names=names, lo=lo, hi=min(self.n, lo + size))

    def arrow_table(
        self,
        *,
        all_columns: bool = False,
        names: Sequence[str] | None = None,
        lo: int = 0,
        hi: int | None = None,
        instants: bool = False,
    ) -> Any:
        """Rows ``lo:hi`` of the varying columns as one Arrow table (the SQLite staging
        path), in :meth:`staged_columns` order (or ``names``), or ``all_columns`` but id and
        batch_id (PostgreSQL's copy); values as :meth:`rows` would bind them (``instants``:
        varying instants as Arrow UTC timestamps instead of text, for a binary COPY)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if names is None:
            names = (
                [c for c in INCIDENT_INSERT_COLUMNS[1:] if c != "batch_id"]
                if all_columns
                else self.staged_columns()
            )
        hi = self.n if hi is None else hi
        size = hi - lo
        data: dict[str, Any] = {}
        for name in names:
            values = self.columns.get(name)
            if isinstance(values, np.ndarray | pd.arrays.IntegerArray):
                values = values[lo:hi]
            elif values is not None and not isinstance(values, str):
                values = values.slice(lo, size)
            if values is None:
                kind = pa.int64() if name in ("source_row", "recurrence_of") else pa.string()
                data[name] = pa.nulls(size, type=kind)
            elif isinstance(values, str):
                data[name] = pa.array(np.full(size, values, dtype=object), type=pa.string())
            elif isinstance(values, np.ndarray) and values.dtype.kind == "M" and instants:
                data[name] = arrow_instants(values)
            elif isinstance(values, np.ndarray) and values.dtype.kind == "M":
                stamps = iso_arrow(values)
                if self.suffix:
                    stamps = pc.binary_join_element_wise(stamps, self.suffix, "")
                data[name] = stamps
            elif isinstance(values, np.ndarray) and values.dtype.kind == "f":
                data[name] = pa.array(values, type=pa.float64(), from_pandas=True)  # NaN → null
            elif isinstance(values, np.ndarray):
                data[name] = pa.array(values, type=pa.string(), from_pandas=True)
            elif isinstance(values, pd.arrays.IntegerArray):
                data[name] = pa.array(values, type=pa.int64(), from_pandas=True)
            else:
                assert values is not None  # missing columns are constants
                data[name] = values.cast(pa.string())
        return pa.table(data)

    def rows(
        self, lo: int, hi: int, ids: Sequence[int], batch_id: int, skip: Mapping[str, Any] = {}
    ) -> list[tuple[Any, ...]]:
        """Row tuples in ``INCIDENT_INSERT_COLUMNS`` order (less ``skip``) for ``lo:hi``."""
        parts: list[Any] = [list(ids)]
        for name in INCIDENT_INSERT_COLUMNS[1:]:
            if name in skip:
                continue
            if name == "batch_id":
                parts.append(itertools.repeat(batch_id, hi - lo))
            else:
                parts.append(self._chunk(name, lo, hi))
        return list(zip(*parts))  # noqa: B905 (repeat() iterators are endless by design)


def _iso_chunk(values: np.ndarray, suffix: str) -> list[Any]:
    """Fixed-width UTC ISO strings (the SQLite storage form), None for NaT."""
    missing = np.isnat(values)
    if not missing.any():
        texts = np.datetime_as_string(values, unit="us")
        if suffix:
            texts = np.char.add(texts, suffix)
        whole: list[Any] = texts.tolist()
        return whole
    out: list[Any] = [None] * len(values)
    present = np.flatnonzero(~missing)
    if len(present):
        texts = np.datetime_as_string(values[present], unit="us")
        if suffix:
            texts = np.char.add(texts, suffix)
        for i, value in zip(present.tolist(), texts.tolist(), strict=True):
            out[i] = value
    return out


def arrow_instants(values: np.ndarray) -> Any:
    """Instants (numpy, naive UTC) as an Arrow UTC microsecond array, null for NaT."""
    import pyarrow as pa

    us = values.astype("datetime64[us]")
    return pa.array(us, type=pa.timestamp("us"), from_pandas=True).cast(pa.timestamp("us", tz="UTC"))


def iso_arrow(values: np.ndarray) -> Any:
    """:func:`_iso_chunk` for a whole column as an Arrow string array (null for NaT).

    Every text has the same 26 characters, so the digits are written into one byte
    matrix that becomes the array's buffer: ~10× faster than formatting each instant.
    """
    import pyarrow as pa

    us = values.astype("datetime64[us]")
    valid = ~np.isnat(us)
    safe = np.where(valid, us, np.datetime64(0, "us"))
    days = safe.astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    if len(years) and (years.min() < 1000 or years.max() > 9999):  # not 4 digits: the slow way
        texts = np.datetime_as_string(us, unit="us")
        return pa.array(texts, type=pa.string(), mask=~valid if not valid.all() else None)
    months = days.astype("datetime64[M]")
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    of_day = (safe - days.astype("datetime64[us]")).astype(np.int64)
    fields = (
        (years, 4), (month, 2), (day, 2), (of_day // 3_600_000_000, 2),
        (of_day // 60_000_000 % 60, 2), (of_day // 1_000_000 % 60, 2), (of_day % 1_000_000, 6),
    )  # fmt: skip
    separators = ("-", "-", "T", ":", ":", ".", "")
    width = 26
    grid = np.empty((len(us), width), dtype=np.uint8)
    pos = 0
    for (number, digits), sep in zip(fields, separators, strict=True):
        for k in range(digits):
            grid[:, pos + k] = 48 + number // 10 ** (digits - 1 - k) % 10
        pos += digits
        if sep:
            grid[:, pos] = ord(sep)
            pos += 1
    offsets = np.arange(0, width * (len(us) + 1), width, dtype=np.int32)
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(
        len(us), pa.py_buffer(offsets), pa.py_buffer(grid.tobytes()), bitmap
    )


def prepare_incidents(
    incidents: pd.DataFrame | None, now: datetime, *, stamp_suffix: str
) -> IncidentRows:
    """Check a batch's incidents and hold their columns compactly, ready to write in chunks.

    Parameters
    ----------
    incidents
        The new incidents (columns of :data:`INCIDENT_INSERT_COLUMNS`; ``row_number`` names
        the file row in messages); None or empty for none.
    now
        The batch's time, written as ``created_at``/``updated_at``.
    stamp_suffix
        The backend's suffix of instant texts (:attr:`Backend.stamp_suffix`).

    Returns
    -------
    IncidentRows
        The columns, ready for :meth:`Backend.insert_incidents`.
    """
    if incidents is None or len(incidents) == 0:
        return IncidentRows(0, {}, "")
    missing = [c for c in _REQUIRED if c not in incidents.columns]
    if missing:
        raise StorageError(
            f"Dữ liệu sự việc thiếu cột: {', '.join(missing)}.",
            f"The incidents to store lack columns: {', '.join(missing)}.",
        )
    n = len(incidents)
    row_numbers = incidents["row_number"] if "row_number" in incidents else pd.Series(
        np.arange(1, n + 1), index=incidents.index
    )
    status = incidents["status"].astype(object)
    bad_status = ~status.isin(list(TRANSITIONS))
    if bad_status.any():
        where = bad_status.to_numpy().nonzero()[0][0]
        check_state(str(status.iloc[where]), where=f"row {row_numbers.iloc[where]}, status")
    reported = pd.to_datetime(incidents["reported_at"], utc=True)
    if reported.isna().any():
        where = reported.isna().to_numpy().nonzero()[0][0]
        raise StorageError(
            f"Dòng {row_numbers.iloc[where]}: thiếu thời điểm phát hiện (reported_at).",
            f"Row {row_numbers.iloc[where]}: reported_at is missing.",
        )
    cleared = (
        pd.to_datetime(incidents["cleared_at"], utc=True)
        if "cleared_at" in incidents
        else pd.Series(pd.NaT, index=incidents.index, dtype="datetime64[us, UTC]")
    )
    due = due_dates(incidents["type"].astype(object), reported, sla_days())
    if "due_at" in incidents:
        given = pd.to_datetime(incidents["due_at"], utc=True)
        due = given.where(given.notna(), due)
    stamp = now.strftime(SQLITE_TS_FORMAT) + stamp_suffix

    def optional(name: str) -> Any:
        return text_arrow(incidents[name]) if name in incidents else None

    def optional_int(name: str) -> Any:
        if name not in incidents:
            return None
        return pd.to_numeric(incidents[name], errors="coerce").astype("Int64").array

    flags = optional("flags")
    if flags is not None:
        import pyarrow.compute as pc

        flags = pc.fill_null(flags, "")
    columns: dict[str, Any] = {
        "source": text_arrow(incidents["source"].astype(str)),
        "source_id": optional("source_id"),
        "source_row": optional_int("row_number"),
        "fingerprint": text_arrow(incidents["fingerprint"].astype(str)),
        "type": text_arrow(incidents["type"]),
        "type_text": optional("type_text"),
        "lat": pd.to_numeric(incidents["lat"], errors="coerce").to_numpy(dtype="float64"),
        "lon": pd.to_numeric(incidents["lon"], errors="coerce").to_numpy(dtype="float64"),
        "ward_code": optional("ward_code"),
        "street": optional("street"),
        "address": optional("address"),
        "note": optional("note"),
        "status": status.to_numpy(dtype=object),
        "reported_at": _utc_us(reported),
        "cleared_at": _utc_us(cleared),
        "due_at": _utc_us(due),
        "flags": flags if flags is not None else "",
        "recurrence_of": optional_int("recurrence_of"),
        "created_at": stamp,
        "updated_at": stamp,
    }
    return IncidentRows(n, columns, stamp_suffix)
