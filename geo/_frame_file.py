"""Figures a freshly started app reads from disk instead of recounting a million incidents.

The weekly ward matrix and the progress series are the same until the stored incidents
change or the Hà Nội day turns (the series run to today), yet each costs a full scan of
the incidents at first view (about 9 s of CPU for the matrix at a million). A process
that computed one keeps it in ``GEO_SNAPSHOT_DIR`` (next to the map's snapshot, see
:mod:`geo._snapshot_file`) as a Parquet file whose name is a digest of everything the
answer depends on:

- the store (URL digest) and its schema version;
- :func:`geo.store.batches.change_marker`, which moves with every batch, status change and
  recurrence, and the ``row_hash`` of the audit entry it names (the audit log is a hash
  chain, so a store re-created under the same URL gets another name even when its counts
  agree);
- the ward layer's version (ward names are part of some answers);
- the audit entries about places (a ``places_rebuild``, a single ``reinspection``): their
  count and the latest one's id and ``row_hash``. A rebuild relinks incidents to places and
  a "clear" re-inspection extends a spell, neither necessarily moving the change marker;
- the Hà Nội date today;
- the read's name and arguments.

Per-ward and per-street figures "at the period's end" are as of *now* when the period
ends today or later (overdue moves with the clock), so those are kept
(``persisted(..., as_of_now=True)``) only when the clock cannot move them: for a period
that has ended (every instant they compare with is then fixed), or when every instant the
store holds (reported, cleared, due, each status event) was already in the past when the
figures were computed. Every such figure compares a stored instant with the period's end
or with now by ``<``, so from then on it is the same at any later now, and the change
marker in the name pins the stored instants.

A file under that name can only hold the answer to that question, so a change of the
store or of the day is a miss, never a stale answer. The file is still not trusted:
it carries a SHA-256 of its body and is ignored (recomputed) when that does not match or
it does not read. Writing is best effort and atomic (a temporary file renamed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec

import pandas as pd
from sqlalchemy import func, select

from geo import _snapshot_file, settings
from geo._sealed_file import read_sealed, write_sealed
from geo.crs import LOCAL_TZ
from geo.store import Store, batches
from geo.store import wards as stored_wards
from geo.store._periods import local_bound

P = ParamSpec("P")

#: The file's first bytes; the number changes with any change of the layout.
MAGIC = b"GEOFRAM1"


def _today() -> dt.date:
    """The Hà Nội day, as :func:`geo.store._periods.cumulate` takes it."""
    return pd.Timestamp(dt.datetime.now(dt.UTC)).tz_convert(LOCAL_TZ).date()


#: Audit actions about places, not incidents, that change what the sustained-order reads see.
_PLACE_ACTIONS = ("places_rebuild", "reinspection")


def _place_writes(store: Store) -> list[Any]:
    """Count, latest id and ``row_hash`` of the audit entries in :data:`_PLACE_ACTIONS`.

    The count is there for PostgreSQL, where a smaller id may commit after a larger one.
    """
    t = store.tables["audit_log"]
    about_places = t.c.action.in_(_PLACE_ACTIONS)
    with store.read() as conn:
        count = int(conn.execute(select(func.count()).select_from(t).where(about_places)).scalar() or 0)
        row = conn.execute(select(t.c.id, t.c.row_hash).where(about_places).order_by(t.c.id.desc()).limit(1)).first()
    return [count] if row is None else [count, int(row[0]), str(row[1])]


def key(store: Store, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The digest that names the answer of ``name(store, *args, **kwargs)`` today."""
    marker = batches.change_marker(store)
    identity = {
        "store": hashlib.sha256(store.url.encode()).hexdigest(),
        "schema": int(store.schema_version()),
        "marker": [int(v) for v in marker],
        "audit_hash": _snapshot_file._audit_hash(store, int(marker[-1])),
        "wards": [str(v) for v in stored_wards.version(store)],
        "places": _place_writes(store),
        "today": _today().isoformat(),
        "read": name,
        "args": [repr(a) for a in args],
        "kwargs": sorted((k, repr(v)) for k, v in kwargs.items()),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def path_for(digest: str) -> Path:
    """The file of one answer in ``GEO_SNAPSHOT_DIR``."""
    return settings.snapshot_dir() / f"frame-{digest}.parquet"


def read(path: Path) -> pd.DataFrame | None:
    """The frame kept at ``path``, or None when there is none or it fails its digest."""
    body = read_sealed(path, MAGIC)
    if body is None:
        return None
    try:
        return pd.read_parquet(io.BytesIO(body))
    except (OSError, ValueError):
        return None


def write(frame: pd.DataFrame, path: Path) -> Path | None:
    """Keep ``frame`` at ``path`` atomically; None when it cannot be (a cache, not an error)."""
    try:
        sink = io.BytesIO()
        frame.to_parquet(sink, index=True)
        body = sink.getvalue()
        write_sealed(path, MAGIC, body)
    except (OSError, ValueError, TypeError, ImportError):
        return None
    return path


def _ended(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """A ``(date_from, date_to, ...)`` period whose last instant has passed."""
    date_to = kwargs.get("date_to", args[1] if len(args) > 1 else None)
    stop = local_bound(date_to, end=True)
    return stop is not None and stop <= dt.datetime.now(dt.UTC)


def latest_instant(store: Store) -> dt.datetime | None:
    """The latest instant the store holds: reported, cleared, due, a status event's or a
    re-inspection's."""
    t, e, c = store.tables["incidents"], store.tables["status_events"], store.tables["inspections"]
    with store.read() as conn:
        row = conn.execute(select(func.max(t.c.reported_at), func.max(t.c.cleared_at), func.max(t.c.due_at))).one()
        event = conn.execute(select(func.max(e.c.at))).scalar()
        checked = conn.execute(select(func.max(c.c.checked_at))).scalar()
    found = [pd.Timestamp(v) for v in (*row, event, checked) if v is not None]
    stamps = [v.tz_localize("UTC") if v.tzinfo is None else v.tz_convert("UTC") for v in found]
    return max(stamps).to_pydatetime() if stamps else None


def persisted(
    compute: Callable[Concatenate[Store, P], pd.DataFrame],
    *,
    as_of_now: bool = False,
    settle: dt.timedelta = dt.timedelta(0),
    unkeyed: tuple[str, ...] = (),
) -> Callable[Concatenate[Store, P], pd.DataFrame]:
    """``compute`` answered from its file when one names the same question, else kept.

    Only for reads whose answer depends on nothing but the stored incidents, the ward
    layer, the Hà Nội date and their arguments (see the module's docstring). With
    ``as_of_now``, ``compute(store, date_from, date_to, ...)`` judges "open" and "overdue"
    as of now when the period has not ended; its answer is then kept only when no stored
    instant was later than the moment it was computed at (otherwise it is computed every
    time, as before). ``settle`` widens that margin for a read that also asks whether a
    stored instant is at least so long ago (the sustained-order measures count a spell as
    "old enough to have been re-inspected" 30 days after its clearance): kept only when
    every stored instant is at least ``settle`` before the moment it was computed at.
    Keyword arguments named in ``unkeyed`` are passed on but left out of the file's name:
    they choose how the answer is computed, never what it is (the per-ward figures
    summed in SQL or over the snapshot's arrays are one answer, kept once).
    """

    def read_or_compute(store: Store, /, *args: P.args, **kwargs: P.kwargs) -> pd.DataFrame:
        began = dt.datetime.now(dt.UTC)
        keyed = {k: v for k, v in kwargs.items() if k not in unkeyed}
        path = path_for(key(store, compute.__name__, args, keyed))
        kept = read(path)
        if kept is not None:
            return kept
        frame = compute(store, *args, **kwargs)
        if as_of_now and not _ended(args, keyed):
            latest = latest_instant(store)
            if latest is not None and latest >= began - settle:
                return frame  # the clock still moves this answer
        write(frame, path)
        return frame

    read_or_compute.__name__ = read_or_compute.__qualname__ = compute.__name__
    read_or_compute.__doc__ = compute.__doc__
    return read_or_compute
