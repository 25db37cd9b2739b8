"""What differs between SQLite and PostgreSQL + PostGIS, declared once.

:class:`Backend` lists every operation whose SQL, driver call or strategy is not the same
on the two databases; :class:`geo.store._sqlite.SQLiteBackend` and
:class:`geo.store._postgis.PostGISBackend` implement it. A :class:`~geo.store.Store` holds
one of them, chosen from its URL by :func:`backend_for`, so the topic modules
(:mod:`~geo.store.batches`, :mod:`~geo.store.wards`, :mod:`~geo.store.queries`, …) never
ask which database they talk to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Engine, Table

if TYPE_CHECKING:
    import pyarrow as pa
    import shapely

    from geo.store._batch_rows import FirstEvents, IncidentRows

#: Columns of the temporary key table an ingest looks stored incidents up with.
TEMP_KEY_COLUMNS: tuple[str, ...] = ("pos", "source", "source_id", "fingerprint")


class Backend(Protocol):
    """One database engine's way of doing what the store needs (see the module docstring)."""

    #: ``"sqlite"`` or ``"postgis"`` (shown by ``python -m geo db info``).
    name: str
    #: Whether the tables carry typed geometry columns (PostGIS) besides lat/lon and WKB.
    spatial: bool
    #: Appended to the fixed-width UTC text of instants written in bulk ("" or "+00:00").
    stamp_suffix: str
    #: Whether incident ids grow in commit order (one writer at a time). Audit ids do on
    #: both databases: appends to the hash chain hold its lock until commit.
    ids_in_commit_order: bool
    #: The isolation level under which a read transaction sees one state of the database
    #: throughout (None: every read transaction does, as SQLite's do).
    one_state_isolation: str | None
    #: A place's cell key in SQL, the expression of ``ix_places_cell``
    #: (:func:`geo.store._schema.place_cell_sql`).
    place_cell: str

    # -- connection and transactions ------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The database file (None for a server or an in-memory database)."""

    def make_engine(self) -> Engine:
        """The SQLAlchemy engine, with this backend's connection settings."""

    def begin_write(self, conn: Connection) -> None:
        """Prepare ``conn`` (not yet in a transaction) to begin a write transaction."""

    def attached(self, conn: Connection, files: Mapping[str, Path]) -> AbstractContextManager[None]:
        """Attach other database files to ``conn`` for the duration (SQLite only)."""

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether a failed write transaction may simply be run again (busy, deadlock)."""

    def is_identity_conflict(self, exc: BaseException) -> bool:
        """Whether ``exc`` (raised by SQLAlchemy or by the driver itself) is a violation of
        an identity index (:data:`geo.store._schema.IDENTITY_INDEXES`)."""

    def serialize_on(self, conn: Connection, key: int) -> None:
        """Inside the open write transaction, wait for any other writer holding ``key``
        (a transaction-scoped advisory lock; SQLite's writer lock already serializes all)."""

    # -- schema -----------------------------------------------------------------------

    def prepare_migration(self, conn: Connection) -> str | None:
        """Serialise migrations and check extensions; returns the schema written to."""

    def install_guards(self, conn: Connection, tables: Sequence[str]) -> None:
        """Make ``tables`` append-only for every client, raw SQL included: no UPDATE, no
        DELETE, no REPLACE or upsert of an existing id."""

    def repair_guards(self, conn: Connection, tables: Sequence[str]) -> list[str]:
        """Re-install every guard of ``tables`` that is missing, disabled or changed and
        drop any other trigger or rule on them; the names touched (empty: all in place)."""

    def drop_guards(self, conn: Connection, tables: Sequence[str]) -> None:
        """Remove every trigger on ``tables`` (a migration rewriting their rows)."""

    def lock_chains(self, conn: Connection) -> None:
        """Hold the append lock of the hash-chained tables until the transaction ends."""

    def instant_text(self, column: str) -> str:
        """SQL rendering an instant column as ``YYYY-MM-DDTHH:MM:SS.ffffff`` in UTC."""

    def exclusive_lock(self, engine: Engine, *, name: str, key: int) -> AbstractContextManager[None]:
        """Hold a lock across processes (a file lock ``<db>.<name>.lock`` or advisory ``key``)."""

    def lock_places(self, conn: Connection) -> None:
        """Keep other writers from adding places until the open write transaction ends
        (place ids are chosen by the matching rule, so two matchers at once must not run)."""

    def index_probes(self, conn: Connection) -> AbstractContextManager[None]:
        """Inside: joins probe the inner table's index once per outer row.

        For a join of a batch's cell ranges (a temporary table, without statistics) to
        ``ix_places_cell``: PostgreSQL's planner, left to itself, merged the ranges with
        every place of their group and filtered the pairs (55 s for 84,000 ranges on 1.3
        million places, against under a second by probes). SQLite always loops this way."""

    def place_states_sql(self, conn: Connection, places: int) -> str:
        """The statement reading the state of the ``places`` stored places whose ids are in
        the temporary table ``geo_place_ids``: ``place_id, is_open, id, status,
        cleared_at`` first, one row per place with incidents (whether one is open; the
        latest clearance, latest ``cleared_at`` then the larger id, or a NULL
        ``cleared_at`` when there is none), as
        :data:`geo.store._place_states.STATES_WINDOW_SQL` gives them."""

    # -- writing rows -----------------------------------------------------------------

    def reserve_ids(self, conn: Connection, table: str, n: int, *, locked: bool = False) -> Sequence[int]:
        """``n`` new ids of ``table``, ascending, for the open write transaction.

        ``locked``: the caller holds the append lock of ``table`` (:meth:`lock_chains`), so
        no one else can insert into it before the commit and one contiguous block can be
        taken at once."""

    def bulk_insert(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Insert plain tuples in ``columns`` order inside the open transaction."""

    def temp_keys(self, conn: Connection, keys: pa.Table) -> AbstractContextManager[None]:
        """A temporary table ``geo_keys(pos, source, source_id, fingerprint)`` holding
        ``keys`` (Arrow columns of those names: PostgreSQL copies them without a Python
        value per key)."""

    def staged_batch(self, prepared: IncidentRows) -> AbstractContextManager[dict[str, Path]]:
        """Files to attach while the batch is written (empty: rows are bound directly)."""

    def large_batch(self, conn: Connection, rows: int) -> AbstractContextManager[None]:
        """Wrap the open transaction's writing of a batch of ``rows`` incidents with their
        first status events: from the batch record to the last event (indexes dropped
        and rebuilt where that is faster; nothing on SQLite, whose
        :meth:`insert_incidents` does its own)."""

    def insert_incidents(
        self,
        conn: Connection,
        prepared: IncidentRows,
        ids: Sequence[int],
        batch_id: int,
        *,
        staged: bool,
    ) -> None:
        """Write a batch's incidents inside the open transaction, as fast as this backend can."""

    def insert_first_events(self, conn: Connection, events: FirstEvents) -> None:
        """Write a batch's first status events (hashed) from its incident rows just written."""

    def insert_places(self, conn: Connection, places: pa.Table, links: pa.Table) -> None:
        """Write new places (the ``places`` columns, ``created_at`` as bulk instant text)
        and incident → place links (``incident_places``) in bulk, inside the open
        transaction (the places table is locked: :meth:`lock_places`)."""

    def change_marker(self, conn: Connection, about: str) -> tuple[int, ...]:
        """Largest incident id and the audit entries matching ``about`` (see ``batches``)."""

    def backup(self, out: Path) -> Path:
        """A consistent copy of the database while others keep writing."""

    # -- spatial ----------------------------------------------------------------------

    def geometry_param(self, geom: shapely.Geometry) -> Any:
        """A ward polygon as bound to the ``geom`` column."""

    def geometry_wkb(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """The ``geom`` column read as WKB."""

    def bbox_conditions(
        self, incidents: Table, bbox: tuple[float, float, float, float]
    ) -> list[ColumnElement[bool]]:
        """Incidents inside (minx, miny, maxx, maxy), edges included."""

    def assign_in_database(self, conn: Connection) -> pd.DataFrame | None:
        """Ward of every stored incident computed in SQL, or None without spatial SQL."""

    def filter_value(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """``column`` as a filter that a wider (covering) index should serve, not the
        column's own index: SQLite plans without statistics and takes an equality on an
        indexed column for the narrowest choice (issue 14's GET requests sorted every
        open incident at 1M); PostgreSQL plans from statistics, which an expression
        would hide from it."""

    # -- reading ----------------------------------------------------------------------

    def local_day(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """The Hà Nội calendar day of an instant column."""

    def local_week(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        """The Monday (Hà Nội time) of the ISO week holding an instant column."""

    def days_between(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[Any]:
        """Fractional days from ``earlier`` to ``later``."""

    def median_by(
        self, conn: Connection, key: ColumnElement[Any], values: ColumnElement[Any], where: ColumnElement[bool]
    ) -> pd.Series:
        """Median of ``values`` per ``key`` over the rows matching ``where`` (float Series)."""

    def fetch_rows(
        self, conn: Connection, sql: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows of a plain SQL query with ``?`` placeholders, through the driver's cursor."""

    def stream_rows(
        self, conn: Connection, sql: str, size: int, params: Sequence[Any] = ()
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of a plain SQL query with ``?`` placeholders, ``size`` at a time, through the
        driver's cursor (server-side on PostgreSQL: a table walked without holding it all)."""


def backend_for(url: str) -> Backend:
    """The backend of a store URL: PostgreSQL for ``postgres…``, SQLite otherwise."""
    if url.startswith("postgres"):
        from geo.store._postgis import PostGISBackend

        return PostGISBackend(url)
    from geo.store._sqlite import SQLiteBackend

    return SQLiteBackend(url)

