"""The history of status moves: a status event and an audit entry per move, hash-chained.

Split from :mod:`geo.store.workflow`, which decides the moves; this writes them down.
A single change of status builds its rows one by one; an ingest's recurrences (tens of
thousands) are built a column at a time, with the same rows and hashes either way
(tests/store/test_chain_columns.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from geo.store import _chain
from geo.store._instants import utc_text

if TYPE_CHECKING:
    from geo.store._core import Store


@dataclass(frozen=True)
class Moved:
    """The moves made, a list per column (history and audit are built from them)."""

    incident: list[int]
    from_status: list[str]
    to_status: list[str]
    at: list[datetime]
    note: list[str | None]

    def add(self, incident: int, from_status: str, to_status: str, at: datetime, note: str | None) -> None:
        self.incident.append(incident)
        self.from_status.append(from_status)
        self.to_status.append(to_status)
        self.at.append(at)
        self.note.append(note)


#: From this many moves on, their history and audit rows are encoded a column at a time
#: (an ingest's recurrences: tens of thousands), else a dict per row, as every
#: single change of status is.
COLUMN_MOVES_MIN = _chain.BULK_APPEND_ROWS


def write_history(
    store: Store, conn: Connection, moved: Moved, *, actor: str, batch_id: int | None, now: datetime
) -> None:
    """Append a status event and an audit entry per move, hash-chained; the same rows
    and hashes either way (tests/store/test_chain_columns.py)."""
    n = len(moved.incident)
    if n >= COLUMN_MOVES_MIN:
        _write_history_columns(store, conn, moved, actor=actor, batch_id=batch_id, now=now)
        return
    rows = list(zip(moved.incident, moved.from_status, moved.to_status, moved.at, moved.note, strict=True))
    events = [
        {"incident_id": incident_id, "from_status": current, "to_status": to_status,
         "at": at_utc, "actor": actor, "note": note, "batch_id": batch_id}
        for incident_id, current, to_status, at_utc, note in rows
    ]  # fmt: skip
    audits = [
        {"at": now, "actor": actor, "action": "status", "object_type": "incident",
         "object_id": str(incident_id),
         "details": {"from": current, "to": to_status, "at": at_utc.isoformat(),
                     "note": note, "batch_id": batch_id}}
        for incident_id, current, to_status, at_utc, note in rows
    ]  # fmt: skip
    _chain.append(store, conn, "status_events", events)
    _chain.append(store, conn, "audit_log", audits)


def _json_texts(values: Sequence[str | None]) -> list[str]:
    """Each text as its JSON string (``json.dumps``: ASCII, escaped), None as ``null``;
    each distinct value quoted once (statuses repeat)."""
    quoted = {v: "null" if v is None else encode_basestring_ascii(v) for v in set(values)}
    return [quoted[v] for v in values]


def _write_history_columns(
    store: Store, conn: Connection, moved: Moved, *, actor: str, batch_id: int | None, now: datetime
) -> None:
    """:func:`write_history` a column at a time: the audit details' canonical and stored
    JSON texts are joined from quoted columns by Arrow, in the key orders
    :func:`geo.store._chain.canonical_json` (sorted) and ``json.dumps`` (as built) give."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(moved.incident)
    at_text = [utc_text(at) for at in moved.at]
    _chain.append_columns(
        store, conn, "status_events",
        {"incident_id": moved.incident, "from_status": moved.from_status,
         "to_status": moved.to_status, "at": at_text, "actor": _chain.Constant(actor),
         "note": moved.note, "batch_id": _chain.Constant(batch_id)},
        n,
    )  # fmt: skip
    quoted = {
        "at": pa.array([encode_basestring_ascii(at.isoformat()) for at in moved.at], pa.string()),
        "from": pa.array(_json_texts(moved.from_status), pa.string()),
        "to": pa.array(_json_texts(moved.to_status), pa.string()),
        "note": pa.array(_json_texts(moved.note), pa.string()),
    }
    canonical = pc.binary_join_element_wise(
        '{"at":', quoted["at"], ',"batch_id":', _chain.canonical_json(batch_id),
        ',"from":', quoted["from"], ',"note":', quoted["note"], ',"to":', quoted["to"], "}", "",
    )  # fmt: skip
    stored = pc.binary_join_element_wise(
        '{"from": ', quoted["from"], ', "to": ', quoted["to"], ', "at": ', quoted["at"],
        ', "note": ', quoted["note"], ', "batch_id": ', json.dumps(batch_id), "}", "",
    )  # fmt: skip
    _chain.append_columns(
        store, conn, "audit_log",
        {"at": _chain.Constant(utc_text(now)), "actor": _chain.Constant(actor),
         "action": _chain.Constant("status"), "object_type": _chain.Constant("incident"),
         "object_id": [str(i) for i in moved.incident],
         "details": _chain.JsonColumn(canonical, stored.to_pylist())},
        n,
    )  # fmt: skip
