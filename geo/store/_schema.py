"""Tables of the store, for both backends, in SQLAlchemy Core.

One definition serves SQLite and PostGIS; only the geometry columns differ. SQLite keeps
incident positions as ``lat``/``lon`` and ward polygons as WKB, PostGIS adds typed
``geometry`` columns (a generated point from lon/lat, so no writer can let them drift
apart) with GiST indexes so spatial joins and per-ward aggregates run in the database.
Instants are :class:`geo.store._instants.UTCDateTime` columns.

The schema versions and the table lists the migrations add are named here;
the migrations themselves are :mod:`geo.store._migrations`, the guards of the append-only
tables :mod:`geo.store._postgis_guards` (PostgreSQL) and the SQLite backend's triggers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from geo.store._instants import UTCDateTime

#: Bumped by every migration; stored in ``schema_version`` (see :mod:`geo.store._migrations`).
SCHEMA_VERSION = 10

#: The version that added the ward's public note and the service-request mark (issue 14).
PUBLIC_NOTES_SCHEMA_VERSION = 8

#: The incidents ``GET requests`` lists (issue 14): the ones a resident's report reached
#: (accepted or merged). A partial index per backend serves the newest-first page.
SERVICE_REQUEST_WHERE = {"sqlite": "service_request = 1", "postgresql": "service_request = true"}

#: The version that added places, incident_places and inspections (issue 12).
PLACES_SCHEMA_VERSION = 5

#: The version that added ``ix_places_cell`` (issue 15): a batch reads only the stored
#: places near its points, so its cost does not grow with the places stored.
PLACE_CELLS_SCHEMA_VERSION = 9

#: The version that places the incidents stored without a place (accepted residents'
#: reports before they were placed at accept): nothing in the schema changes, but software
#: older than it, which could store such incidents again, no longer opens the store.
PLACED_REPORTS_SCHEMA_VERSION = 10

#: Side of the square cells of ``ix_places_cell``, in EPSG:32648 metres (a literal of
#: the index expression: changing it needs a migration).
PLACE_CELL_M = 16.0
#: Cell key = column × stride + row. The key is linear in (column, row), so "rows a..b of
#: column c" is one key range whatever the coordinates (far rows only add extra reads).
PLACE_CELL_STRIDE = 1 << 22


def place_cell_sql(postgis: bool) -> str:
    """The cell key of a place as SQL over its ``x``/``y``: both coordinates divided by
    :data:`PLACE_CELL_M` and truncated toward zero (``numpy.trunc`` gives the same
    integers: IEEE division, then truncation). PostgreSQL's cast rounds, so it truncates
    first. The text is the index's expression and the query's, character for character."""
    def part(column: str) -> str:
        value = f"{column} / {PLACE_CELL_M}"
        return f"CAST(trunc({value}) AS BIGINT)" if postgis else f"CAST({value} AS INTEGER)"

    return f"{part('x')} * {PLACE_CELL_STRIDE} + {part('y')}"


#: The group part of ``ix_places_cell``: a missing ward is a group of its own.
PLACE_WARD_SQL = "COALESCE(ward_code, '')"

#: The identity rule held by the store (docs/storage.md, "Identity"): unique index name →
#: (its columns, the rows it covers). An incident with a source id is its (source,
#: source_id); one without is its fingerprint. Every incident is in exactly one of them.
IDENTITY_INDEXES: dict[str, tuple[tuple[str, ...], str]] = {
    "uq_incidents_source_id": (("source", "source_id"), "source_id IS NOT NULL"),
    "uq_incidents_fingerprint": (("fingerprint",), "source_id IS NULL"),
}

ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite rowid aliases need INTEGER
JSONType = JSON().with_variant(JSONB(), "postgresql")

#: Tables of sign-in state added by schema version 6 (:func:`geo.store._migrations.to_sign_in`).
SIGN_IN_TABLES = ("login_failures", "login_locks", "sessions", "setup_tokens")

#: The tables that no one may update or delete from; each row carries ``row_hash``, a
#: link of the table's hash chain (:mod:`geo.store._chain`).
APPEND_ONLY = ("status_events", "audit_log")



def _row_hash() -> Column[str]:
    """``row_hash``: SHA-256 of the previous row's hash and this row's content, in hex."""
    return Column("row_hash", String(64), nullable=False)


def service_request_index() -> Index:
    """The newest-first page of ``GET requests``: (reported_at, id) of service requests only,
    so the page is read from the index end whatever share of incidents residents reported."""
    return Index(
        "ix_incidents_service_requests", "reported_at", "id", "type", "status",
        sqlite_where=text(SERVICE_REQUEST_WHERE["sqlite"]),
        postgresql_where=text(SERVICE_REQUEST_WHERE["postgresql"]),
    )


def _identity_indexes() -> list[Index]:
    """:data:`IDENTITY_INDEXES` as partial unique indexes (both backends support them)."""
    return [
        Index(name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where))
        for name, (columns, where) in IDENTITY_INDEXES.items()
    ]


def build_metadata(postgis: bool) -> MetaData:
    """The schema; ``postgis`` adds geometry columns and their GiST indexes."""
    md = MetaData()
    Table(
        "schema_version",
        md,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("applied_at", UTCDateTime, nullable=False),
        Column("description", Text, nullable=False),
    )
    ward_cols: list[Any] = [
        Column("id", ID, primary_key=True),
        Column("code", String(5), nullable=False),
        Column("name", Text, nullable=False),
        Column("name_en", Text),
        Column("kind", String(10)),
        Column("area_km2", Float),
        Column("population", BigInteger),
        Column("osm_id", Text),
        Column("valid_from", UTCDateTime, nullable=False),
        Column("valid_to", UTCDateTime),
    ]
    if postgis:
        from geoalchemy2 import Geometry

        ward_cols.append(Column("geom", Geometry("MULTIPOLYGON", 4326), nullable=False))
    else:
        ward_cols.append(Column("geom", LargeBinary, nullable=False))  # WKB, EPSG:4326
    Table(
        "wards",
        md,
        *ward_cols,
        UniqueConstraint("code", "valid_from", name="uq_wards_code_valid_from"),
        Index("ix_wards_code", "code"),
    )
    Table(
        "batches",
        md,
        Column("id", ID, primary_key=True),
        Column("file_name", Text),
        Column("sha256", String(64)),
        Column("source", Text),
        Column("actor", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("n_incidents", Integer, nullable=False, default=0),
        Column("n_status_updates", Integer, nullable=False, default=0),
        Column("counts", JSONType),
        Index("ix_batches_sha256", "sha256"),
    )
    incident_cols: list[Any] = [
        Column("id", ID, primary_key=True),
        Column("source", Text, nullable=False),
        Column("source_id", Text),
        Column("source_row", Integer),
        Column("fingerprint", Text, nullable=False),
        Column("type", String(20), nullable=False),
        Column("type_text", Text),
        Column("lat", Float),
        Column("lon", Float),
        Column("ward_code", String(5)),
        Column("street", Text),
        Column("address", Text),
        Column("note", Text),
        Column("status", String(20), nullable=False),
        Column("reported_at", UTCDateTime, nullable=False),
        Column("cleared_at", UTCDateTime),
        Column("due_at", UTCDateTime),
        Column("flags", Text, nullable=False, default=""),
        Column("batch_id", ID, ForeignKey("batches.id")),
        Column("recurrence_of", ID, ForeignKey("incidents.id")),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        # issue 14: the ward's public note (the only note an Open311 GET shows; status
        # events' notes stay internal), and whether a resident's report reached it
        Column("public_note", Text),
        Column("service_request", Boolean, nullable=False, default=False, server_default=false()),
    ]
    if postgis:
        from geoalchemy2 import Geometry

        incident_cols.append(
            Column(
                "geom",
                Geometry("POINT", 4326),
                Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
            )
        )
    Table(
        "incidents",
        md,
        *incident_cols,
        Index("ix_incidents_ward_code", "ward_code"),
        Index("ix_incidents_status", "status"),
        Index("ix_incidents_reported_at", "reported_at"),
        service_request_index(),
        *_identity_indexes(),
    )
    Table(
        "status_events",
        md,
        Column("id", ID, primary_key=True),
        Column("incident_id", ID, ForeignKey("incidents.id"), nullable=False),
        Column("from_status", String(20)),
        Column("to_status", String(20), nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("actor", Text, nullable=False),
        Column("note", Text),
        Column("batch_id", ID, ForeignKey("batches.id")),
        _row_hash(),
        Index("ix_status_events_incident_id", "incident_id"),
    )
    Table(
        "audit_log",
        md,
        Column("id", ID, primary_key=True),
        Column("at", UTCDateTime, nullable=False),
        Column("actor", Text, nullable=False),
        Column("action", String(40), nullable=False),
        Column("object_type", String(40), nullable=False),
        Column("object_id", Text),
        Column("details", JSONType),
        _row_hash(),
        Index("ix_audit_log_at", "at"),
    )
    _place_tables(md, postgis)
    photo_table(md)
    Table(
        "users",
        md,
        Column("username", String(100), primary_key=True),
        Column("password_hash", Text),
        Column("roles", Text, nullable=False, default=""),  # comma-joined role codes
        Column("wards", Text, nullable=False, default=""),  # comma-joined ward codes
        Column("disabled", Boolean, nullable=False, default=False),
        Column("created_at", UTCDateTime, nullable=False),
    )
    open311_tables(md)
    _sign_in_tables(md)
    return md


def photo_table(md: MetaData) -> Table:
    """``photos``: one row per photo attached to an incident (issue 13).

    The file itself is in the media store under its ``sha256`` (:mod:`geo.photos.media`);
    this row is what the checks found (``flags``: comma-joined codes of
    :data:`geo.photos.FLAGS`, ``distance_m`` in EPSG:32648) and who attached it, when,
    in which batch. A KoboToolbox link not fetched yet is a row with ``link`` and no
    ``sha256``. The same bytes attach to one incident once (unique incident + sha256);
    the ``sha256`` index answers "already attached elsewhere?" (``photo_reused``).
    """
    return Table(
        "photos",
        md,
        Column("id", ID, primary_key=True),
        Column("incident_id", ID, ForeignKey("incidents.id"), nullable=False),
        Column("role", String(10), nullable=False),
        Column("sha256", String(64)),
        Column("format", String(10)),
        Column("file_name", Text),
        Column("size_bytes", BigInteger),
        Column("width", Integer),
        Column("height", Integer),
        Column("taken_at", UTCDateTime),
        Column("lat", Float),
        Column("lon", Float),
        Column("distance_m", Float),
        Column("flags", Text, nullable=False, default=""),
        Column("phash", String(32)),
        Column("link", Text),
        Column("actor", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("batch_id", ID, ForeignKey("batches.id")),
        UniqueConstraint("incident_id", "sha256", name="uq_photos_incident_sha256"),
        Index("ix_photos_incident_id", "incident_id"),
        Index("ix_photos_sha256", "sha256"),
    )


#: Tables of residents' reports (Open311), created by the schema-4 migration on older stores.
OPEN311_TABLES: tuple[str, ...] = ("api_keys", "open311_requests", "open311_contacts")


def open311_tables(md: MetaData) -> None:
    """Residents' reports: API keys, the reports, and their personal data kept apart.

    A report's personal data (names, e-mail, phone, device id, account id) lives in
    ``open311_contacts``, one row per report, so no read of reports or incidents can
    carry it by accident and an erasure is one row's update. Keys are stored as SHA-256
    of a 256-bit random secret: a fast hash is enough for a secret no one can guess,
    and every POST checks one.
    """
    Table(
        "api_keys",
        md,
        Column("id", ID, primary_key=True),
        Column("name", String(100), nullable=False),
        Column("key_hash", String(64), nullable=False),
        Column("prefix", String(12), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("created_by", Text, nullable=False),
        Column("revoked_at", UTCDateTime),
        UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        UniqueConstraint("name", name="uq_api_keys_name"),
    )
    Table(
        "open311_requests",
        md,
        Column("id", ID, primary_key=True),
        Column("token", String(36), nullable=False),
        Column("service_code", String(20), nullable=False),
        Column("lat", Float),
        Column("lon", Float),
        Column("ward_code", String(5)),
        Column("address", Text),
        Column("description", Text),
        Column("media_url", Text),
        Column("attributes", JSONType),
        Column("api_key_id", ID, ForeignKey("api_keys.id"), nullable=False),
        Column("submitter", String(64)),  # hash of the device id, or of the key: for dedup
        Column("status", String(10), nullable=False),  # pending, accepted, merged, rejected
        Column("incident_id", ID, ForeignKey("incidents.id")),
        Column("public_reason", Text),
        Column("received_at", UTCDateTime, nullable=False),
        Column("moderated_at", UTCDateTime),
        Column("moderated_by", Text),
        UniqueConstraint("token", name="uq_open311_requests_token"),
        Index("ix_open311_requests_status_ward", "status", "ward_code"),
        Index("ix_open311_requests_submitter", "submitter", "received_at"),
        Index("ix_open311_requests_incident_id", "incident_id"),
    )
    Table(
        "open311_contacts",
        md,
        Column("request_id", ID, ForeignKey("open311_requests.id"), primary_key=True),
        Column("email", Text),
        Column("first_name", Text),
        Column("last_name", Text),
        Column("phone", Text),
        Column("device_id", Text),
        Column("account_id", Text),
        Column("erased_at", UTCDateTime),
        Column("erased_by", Text),
    )


def _sign_in_tables(md: MetaData) -> None:
    """Sign-in state (issue 11): failed attempts, locks, sessions, the setup token.

    Secrets are never stored: a session id or setup token is kept as its SHA-256 (hex), so
    a copy of the database does not sign anyone in. Failures older than the counting
    window are pruned as new ones are written.
    """
    Table(
        "login_failures",
        md,
        Column("id", ID, primary_key=True),
        Column("at", UTCDateTime, nullable=False),
        Column("account", String(100)),  # the name typed, whether or not it exists
        Column("address", String(64)),  # the client address (None: unknown, e.g. localhost)
        Index("ix_login_failures_account_at", "account", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
        Index("ix_login_failures_at", "at"),
    )
    Table(
        "login_locks",
        md,
        Column("scope", String(10), primary_key=True),  # "account" or "address"
        Column("key", String(100), primary_key=True),
        Column("since", UTCDateTime, nullable=False),
        Column("until", UTCDateTime, nullable=False),
    )
    Table(
        "sessions",
        md,
        Column("id_hash", String(64), primary_key=True),
        Column("username", String(100), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("last_seen_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("ended_at", UTCDateTime),
        Column("end_reason", String(20)),
        Index("ix_sessions_username", "username"),
    )
    Table(
        "setup_tokens",
        md,
        Column("token_hash", String(64), primary_key=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("used_at", UTCDateTime),
    )


def _place_tables(md: MetaData, postgis: bool) -> None:
    """Places (issue 12): where violations recur, each incident's place, re-inspections.

    A place's id is chosen by the matching rule (:mod:`geo.places`: ids in incident order,
    never renumbered), not by the database. ``incident_places`` is a table of its own so
    the incidents' bulk insert stays as it was; its primary key holds "one place per
    incident". An inspection names its place without a foreign key, so ``places
    rebuild`` can replace the places and then carry the inspections over.
    """
    place_cols: list[Any] = [
        Column("id", ID, primary_key=True, autoincrement=False),
        Column("type", String(20), nullable=False),
        Column("ward_code", String(5)),
        Column("lon", Float),
        Column("lat", Float),
        Column("x", Float),  # EPSG:32648 metres, fixed at the first incident
        Column("y", Float),
        Column("first_incident", ID, ForeignKey("incidents.id"), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
    ]
    if postgis:
        from geoalchemy2 import Geometry

        place_cols.append(
            Column(
                "geom",
                Geometry("POINT", 4326),
                Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
            )
        )
    Table(
        "places", md, *place_cols, Index("ix_places_ward_type", "ward_code", "type"),
        Index("ix_places_cell", text(f"({PLACE_WARD_SQL})"), text("type"),
              text(f"({place_cell_sql(postgis)})")),
    )  # fmt: skip
    Table(
        "incident_places",
        md,
        Column("incident_id", ID, ForeignKey("incidents.id"), primary_key=True, autoincrement=False),
        Column("place_id", ID, ForeignKey("places.id"), nullable=False),
        Index("ix_incident_places_place_id", "place_id"),
    )
    Table(
        "inspections",
        md,
        Column("id", ID, primary_key=True),
        Column("place_id", ID, nullable=False),
        Column("checked_at", UTCDateTime, nullable=False),
        Column("result", String(20), nullable=False),  # clear | violation
        Column("note", Text),
        Column("actor", Text, nullable=False),
        Column("batch_id", ID, ForeignKey("batches.id")),
        Column("incident_id", ID, ForeignKey("incidents.id")),  # the recurrence it opened
        Column("created_at", UTCDateTime, nullable=False),
        UniqueConstraint("place_id", "checked_at", name="uq_inspections_place_checked_at"),
    )


#: Tables added by :data:`PLACES_SCHEMA_VERSION`, in creation order.
PLACE_TABLES: tuple[str, ...] = ("places", "incident_places", "inspections")


#: Columns of ``incidents`` written by the bulk path, in insert order (``id`` first).
INCIDENT_INSERT_COLUMNS: tuple[str, ...] = (
    "id",
    "source",
    "source_id",
    "source_row",
    "fingerprint",
    "type",
    "type_text",
    "lat",
    "lon",
    "ward_code",
    "street",
    "address",
    "note",
    "status",
    "reported_at",
    "cleared_at",
    "due_at",
    "flags",
    "batch_id",
    "recurrence_of",
    "created_at",
    "updated_at",
)

#: Incident columns holding instants (read back as ``datetime64[..., UTC]``).
TIMESTAMP_COLUMNS: tuple[str, ...] = ("reported_at", "cleared_at", "due_at", "created_at", "updated_at")

