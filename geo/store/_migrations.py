"""Schema migrations: what each version changes in a store made by an earlier one.

:meth:`geo.store.Store._migrate` runs, in its one migration transaction, every step from
the store's version up to :data:`~geo.store._schema.SCHEMA_VERSION` and records each in
``schema_version``. A step that cannot apply cleanly refuses with a bilingual
:class:`~geo.errors.StorageError` and the transaction leaves the store exactly as it was.

Version 2 (issue 16) makes the identity rule a constraint: two writers can no longer
both store one incident. A store that already holds one incident twice is refused, with
the counts, unless the operator asks for its duplicates to be re-keyed
(``python -m geo db migrate --rekey-duplicates``): nothing is deleted either way.

Version 3 (issue 11) makes the audit log and the status history hash chains
(:mod:`geo.store._chain`): every row stored so far is sealed in id order.

Audit entries written while a store migrates (a re-keying, the migration itself) are
appended once every step has run: before version 3 the log has no ``row_hash`` column
to chain them with (:meth:`geo.store.Store.audit`).

Version 5 (issue 12) adds places, each incident's place and re-inspections, and places
the stored incidents by the rule.

Version 6 (issue 11) adds the sign-in state: failed attempts and locks (throttling),
server-side sessions and the one-time setup token (:data:`~geo.store._schema.SIGN_IN_TABLES`).
Only new tables: nothing stored so far changes.

Version 7 (issue 13) adds the ``photos`` table (photo evidence of incidents); nothing
already stored changes.

Version 8 (issue 14) adds the ward's public note to incidents (``public_note``: the only
note Open311 shows; the status events' notes are officers' and stay internal) and the
mark of the incidents a resident's report reached (``service_request``: accepted or
merged reports), with the partial index ``GET requests`` pages through. Stored notes are
not copied into the public note: they were written as internal ones.

Version 9 (issue 15) adds ``ix_places_cell``: each place's group (ward, type) and the
16 m cell of its position, so a batch reads only the places near its points instead of
every place of its wards.

Version 10 places the incidents stored without a place: before ``reports.accept`` placed
its incident (commit c716f68), an accepted resident's report had no ``incident_places``
row, so no place, timeline, sustain figure or re-inspection saw it. The step runs the
ingest's placing on exactly those incidents (:func:`geo.store.places.place_unplaced_in`),
recurrences, history and audit included. The schema itself does not change; the version
is what makes the healing run once, at the first open by this software, and keeps
software from before it (which would store such incidents again) from opening the store.

"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, inspect, text, update
from sqlalchemy.schema import CreateIndex

from geo.errors import StorageError
from geo.store import _chain
from geo.store._schema import (
    APPEND_ONLY,
    IDENTITY_INDEXES,
    OPEN311_TABLES,
    PLACE_CELLS_SCHEMA_VERSION,
    PLACE_TABLES,
    PLACED_REPORTS_SCHEMA_VERSION,
    PLACES_SCHEMA_VERSION,
    PUBLIC_NOTES_SCHEMA_VERSION,
    SIGN_IN_TABLES,
)
from geo.store.places import place_unplaced_in, rebuild_in

if TYPE_CHECKING:
    from geo.store._core import Store

#: The flag a re-keyed later copy of an incident carries (``incidents.flags``).
DUPLICATE_KEY_FLAG = "duplicate_key"

#: Version 1's plain indexes on the keys, replaced by :data:`IDENTITY_INDEXES`.
_V1_KEY_INDEXES = ("ix_incidents_source_source_id", "ix_incidents_fingerprint")

#: Per identity index: how a later copy's key is told apart from the first holder's.
_SAME_KEY = {
    "uq_incidents_source_id": "o.source = i.source AND o.source_id = i.source_id",
    "uq_incidents_fingerprint": "o.fingerprint = i.fingerprint AND o.source_id IS NULL",
}
#: Per identity index: the column a re-keyed copy's suffix goes on.
_KEY_COLUMN = {"uq_incidents_source_id": "source_id", "uq_incidents_fingerprint": "fingerprint"}


@dataclass(frozen=True)
class DuplicateKeys:
    """Keys of the identity rule held by more than one stored incident."""

    #: (source, source_id) pairs held by several incidents.
    by_id: int
    #: Fingerprints held by several incidents without an id.
    by_fingerprint: int
    #: Incidents beyond the first (lowest id) of each such key.
    extra: int

    def __bool__(self) -> bool:
        return bool(self.by_id or self.by_fingerprint)


def duplicate_keys(conn: Connection) -> DuplicateKeys:
    """Count the identity keys that more than one stored incident holds (one pass per index).

    Parameters
    ----------
    conn
        A connection to the store.

    Returns
    -------
    DuplicateKeys
        Keys by id, keys by fingerprint, and the incidents beyond the first of each.
    """
    counts = []
    for columns, where in IDENTITY_INDEXES.values():
        keys, extra = conn.execute(
            text(
                "SELECT count(*), COALESCE(sum(n - 1), 0) FROM (SELECT count(*) AS n "  # noqa: S608
                f"FROM incidents WHERE {where} GROUP BY {', '.join(columns)} "
                "HAVING count(*) > 1) d"
            )
        ).one()
        counts.append((int(keys), int(extra)))
    (by_id, extra_id), (by_fp, extra_fp) = counts
    return DuplicateKeys(by_id, by_fp, extra_id + extra_fp)


def _refuse(found: DuplicateKeys) -> StorageError:
    return StorageError(
        f"Không nâng cấp được cơ sở dữ liệu lên lược đồ 2: {found.by_id:,} mã (nguồn, mã "
        f"sự việc) và {found.by_fingerprint:,} dấu vân tay của sự việc không có mã đang "
        f"thuộc về nhiều hơn một sự việc ({found.extra:,} bản thừa), mà lược đồ 2 bắt "
        "buộc mỗi khóa là duy nhất. Không có gì bị thay đổi. Chạy 'python -m geo db "
        "migrate --rekey-duplicates' để giữ sự việc cũ nhất của mỗi khóa và đánh dấu "
        f"các bản sau ('{DUPLICATE_KEY_FLAG}', khóa có hậu tố ~dup<id>; không xóa gì).",
        f"Cannot upgrade the store to schema 2: {found.by_id:,} (source, source_id) keys "
        f"and {found.by_fingerprint:,} fingerprints of incidents without an id are each "
        f"held by more than one incident ({found.extra:,} extra incidents), and schema 2 "
        "makes every key unique. Nothing was changed. Run 'python -m geo db migrate "
        "--rekey-duplicates' to keep the oldest incident of each key and mark the later "
        f"copies (flag '{DUPLICATE_KEY_FLAG}', key suffixed ~dup<id>; nothing is deleted).",
    )


def rekey_duplicates(store: Store, conn: Connection, *, actor: str) -> list[int]:
    """Give every later copy of a key a key of its own, keeping all its data and history.

    The oldest incident (lowest id) of each key keeps it; each later one gets ``~dup<id>``
    appended to the key column (``source_id``, or ``fingerprint`` for incidents without
    an id) and the flag :data:`DUPLICATE_KEY_FLAG`, so they can be found and reviewed.
    Nothing is deleted; one audit entry lists the incidents changed.

    Parameters
    ----------
    store, conn
        The store and a connection in its open (migration) transaction.
    actor
        Named in the audit entry.

    Returns
    -------
    list of int
        The re-keyed incidents' ids.
    """
    changed: list[int] = []
    for name, (_columns, where) in IDENTITY_INDEXES.items():
        later = [
            int(r[0])
            for r in conn.execute(
                text(
                    f"SELECT i.id FROM incidents i WHERE i.{where} AND EXISTS "  # noqa: S608
                    f"(SELECT 1 FROM incidents o WHERE {_SAME_KEY[name]} AND o.id < i.id) "
                    "ORDER BY i.id"
                )
            )
        ]
        column = _KEY_COLUMN[name]
        for start in range(0, len(later), 500):
            conn.execute(
                text(
                    f"UPDATE incidents SET {column} = {column} || '~dup' || CAST(id AS TEXT), "  # noqa: S608
                    f"flags = CASE WHEN flags = '' THEN '{DUPLICATE_KEY_FLAG}' "
                    f"ELSE '{DUPLICATE_KEY_FLAG},' || flags END "
                    f"WHERE id IN ({', '.join(str(i) for i in later[start : start + 500])})"
                )
            )
        changed += later
    if changed:
        store.audit(actor, "rekey_duplicates", "store", None, {"incidents": changed}, conn=conn)
    return changed


def to_v2(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 2: the identity rule as unique indexes (issue 16).

    Refuses (nothing changed) when stored incidents already share a key, unless
    ``rekey``: then :func:`rekey_duplicates` first.
    """
    found = duplicate_keys(conn)
    if found and not rekey:
        raise _refuse(found)
    changed = rekey_duplicates(store, conn, actor="system") if found else []
    for name in _V1_KEY_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    for index in store.tables["incidents"].indexes:
        if index.name in IDENTITY_INDEXES:
            index.create(conn)
    note = f"; {len(changed)} later copies re-keyed" if changed else ""
    return "identity keys unique: (source, source_id) with an id, fingerprint without" + note


def seal(store: Store, conn: Connection, table: str) -> int:
    """Write every row's ``row_hash``, chaining the rows as stored in id order."""
    t = store.tables[table]
    prev = _chain.genesis(table)
    sealed: list[dict[str, object]] = []
    for run in _chain.read_rows(store, conn, table):
        digests = _chain.link(prev, run.contents)
        prev = digests[-1]
        sealed.extend({"b_id": i, "b_hash": d.hex()} for i, d in zip(run.ids, digests, strict=True))
    step = (
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values({_chain.HASH_COLUMN: bindparam("b_hash")})
    )
    for lo in range(0, len(sealed), _chain.READ_CHUNK_ROWS):
        conn.execute(step, sealed[lo : lo + _chain.READ_CHUNK_ROWS])
    return len(sealed)


def to_v3(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 3: ``row_hash`` on the append-only tables, the rows stored so far sealed
    in id order (issue 11). The guards are lifted for the rewrite and put back, within
    the transaction."""
    store.backend.drop_guards(conn, APPEND_ONLY)
    sealed = 0
    for table in APPEND_ONLY:
        conn.exec_driver_sql(
            f"ALTER TABLE {table} ADD COLUMN {_chain.HASH_COLUMN} VARCHAR(64) NOT NULL DEFAULT ''"
        )
        sealed += seal(store, conn, table)
    store.backend.install_guards(conn, APPEND_ONLY)
    return f"hash chains on status_events and audit_log ({sealed} rows sealed)"


def to_open311(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Residents' reports (issue 14): API keys, reports and their personal data, apart.

    New tables only: nothing stored before is touched.
    """
    for name in OPEN311_TABLES:
        store.tables[name].create(conn, checkfirst=True)
    return "residents' reports (Open311): api_keys, open311_requests, open311_contacts"


def to_places(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 5 (issue 12): places, each incident's place, and re-inspections.

    The stored incidents get their places by the rule (:func:`geo.store.places.rebuild_in`),
    in the same migration transaction, so an upgraded store is like one that always had
    them.
    """
    for name in PLACE_TABLES:
        store.tables[name].create(conn)
    n_places, n_incidents = rebuild_in(store, conn)
    return f"places: {n_places} places for {n_incidents} incidents; re-inspections"


def to_sign_in(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 6: the sign-in tables (throttling, sessions, setup token; issue 11)."""
    for name in SIGN_IN_TABLES:
        store.tables[name].create(conn, checkfirst=True)
    return "sign-in state: login_failures, login_locks, sessions, setup_tokens"


def add_photos(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 7: the ``photos`` table and its indexes (issue 13); a new table only."""
    store.tables["photos"].create(conn, checkfirst=True)
    return "photos table (photo evidence: role, sha256, EXIF time and place, flags)"


def add_public_notes(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 8 (issue 14): ``incidents.public_note`` and ``incidents.service_request``,
    the latter set for every incident an accepted or merged report points at, and the
    partial index of ``GET requests``."""
    have = {c["name"] for c in inspect(conn).get_columns("incidents")}
    if "public_note" not in have:  # a store made by this version already has both
        conn.exec_driver_sql("ALTER TABLE incidents ADD COLUMN public_note TEXT")
    if "service_request" not in have:
        conn.exec_driver_sql(
            "ALTER TABLE incidents ADD COLUMN service_request BOOLEAN NOT NULL DEFAULT false"
        )
    marked = conn.exec_driver_sql(
        "UPDATE incidents SET service_request = true WHERE id IN (SELECT incident_id "
        "FROM open311_requests WHERE status IN ('accepted', 'merged'))"
    ).rowcount
    indexed = {ix["name"] for ix in inspect(conn).get_indexes("incidents")}
    for index in store.tables["incidents"].indexes:
        if index.name == "ix_incidents_service_requests" and index.name not in indexed:
            index.create(conn)
    return f"public notes; {marked} incidents marked as residents' service requests"


def add_place_cells(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 9 (issue 15): ``ix_places_cell``, so a batch reads only the stored places
    near its points (:func:`geo.store.places.place_incidents`); nothing stored changes."""
    for index in store.tables["places"].indexes:
        if index.name == "ix_places_cell":  # expression indexes are not reflected: IF NOT EXISTS
            conn.execute(CreateIndex(index, if_not_exists=True))
    return "places: cell index (a batch reads only the places near its points)"


def place_unplaced(store: Store, conn: Connection, *, rekey: bool) -> str:
    """Version 10: every incident stored without a place gets it, by the ingest's code
    (:func:`geo.store.places.place_unplaced_in`: joins or starts places, links the
    recurrences with their history and audit, as ``system``). One query when every
    incident has its place, as in a store made after the fix of ``reports.accept``."""
    placed, recurred = place_unplaced_in(store, conn, actor="system")
    return f"places: {placed} incidents stored without a place placed, {recurred} recurrences linked"


#: Version → the step that brings a store from the version before to it.
MIGRATIONS: dict[int, Callable[..., str]] = {
    2: to_v2, 3: to_v3, 4: to_open311, PLACES_SCHEMA_VERSION: to_places, 6: to_sign_in,
    7: add_photos, PUBLIC_NOTES_SCHEMA_VERSION: add_public_notes,
    PLACE_CELLS_SCHEMA_VERSION: add_place_cells, PLACED_REPORTS_SCHEMA_VERSION: place_unplaced,
}
