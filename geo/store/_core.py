"""The :class:`Store` core: engine, transactions, schema, audit; the backend chosen once.

Everything the store does by topic lives in the modules beside this one, as functions
taking the store first (``geo.store.batches``, ``.wards``, ``.workflow``, ``.queries``,
``.users``); what differs between SQLite and PostGIS is asked of ``store.backend``
(:mod:`geo.store._backend`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, func, insert, inspect, select
from sqlalchemy.exc import DBAPIError, OperationalError

from geo import settings
from geo.errors import StorageError
from geo.store import _chain
from geo.store._backend import Backend, backend_for
from geo.store._migrations import MIGRATIONS
from geo.store._schema import APPEND_ONLY, SCHEMA_VERSION, build_metadata
from geo.store._values import plain, utcnow

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE = settings.DEFAULT_SQLITE
URL_ENV = settings.database_url.name

#: (Vietnamese, English) of :meth:`Store._unusable`, by what was being done.
_UNUSABLE = {
    "open": (
        "Không mở được cơ sở dữ liệu {name}: {reason}",
        "Cannot open the database {name}: {reason}",
    ),
    "read": (
        "Không đọc được cơ sở dữ liệu {name}: {reason}",
        "Cannot read the database {name}: {reason}",
    ),
    "write": (
        "Không ghi được vào cơ sở dữ liệu {name}: {reason}. Không có gì được lưu; dữ liệu đã "
        "có vẫn nguyên vẹn.",
        "Cannot write to the database {name}: {reason}. Nothing was stored; the data "
        "already there is intact.",
    ),
}

#: Longest a writer keeps retrying a locked SQLite database before giving up.
MAX_WRITE_WAIT_S = 600.0

__all__ = ["DEFAULT_SQLITE", "MAX_WRITE_WAIT_S", "URL_ENV", "Store", "default_url", "utcnow"]


def _entry(
    actor: str, action: str, object_type: str, object_id: object, details: Mapping[str, Any] | None
) -> dict[str, Any]:
    """One audit entry's columns (see :meth:`Store.audit`)."""
    return {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "details": plain(dict(details or {})),
    }


def default_url() -> str:
    """``GEO_DATABASE_URL``, else the SQLite file under ``data/``.

    Returns
    -------
    str
        A store URL.
    """
    return settings.database_url()


def _resolve_url(url: str | None) -> str:
    url = url or default_url()
    if "://" not in url:  # a bare file path
        return f"sqlite:///{Path(url).resolve()}"
    return url


class Store:
    """Incidents, their history, batches, wards, users and the audit log in one database.

    Open it with :func:`geo.store.open_store`. Every write is one transaction, retried
    with backoff when SQLite is busy, and recorded in the audit log. Reads and writes by
    topic are the functions of :mod:`geo.store.queries`, :mod:`~geo.store.batches`,
    :mod:`~geo.store.wards`, :mod:`~geo.store.workflow` and :mod:`~geo.store.users`.

    Parameters
    ----------
    url
        ``sqlite:///path`` or ``postgresql://…``; the schema is created or migrated here.
    rekey_duplicates
        When migrating to schema 2 finds incidents sharing an identity key, re-key the
        later copies instead of refusing (:func:`geo.store._migrations.rekey_duplicates`).

    Attributes
    ----------
    backend
        What differs between SQLite and PostGIS (:class:`geo.store._backend.Backend`).
    engine
        The SQLAlchemy engine.
    tables
        The schema's tables by name (:mod:`geo.store._schema`).
    """

    def __init__(self, url: str, *, rekey_duplicates: bool = False) -> None:
        self.url = url
        self.backend: Backend = backend_for(url)
        self.engine = self.backend.make_engine()
        #: The driver's own OperationalError (sqlite3's, psycopg's): raised as it is by the
        #: bulk paths that talk to the driver connection directly.
        self._driver_operational: type[Exception] = self.engine.dialect.loaded_dbapi.OperationalError
        self.metadata = build_metadata(self.backend.spatial)
        self.tables: Mapping[str, Table] = self.metadata.tables
        self._deferred_audit: list[dict[str, Any]] | None = None
        self._migrate(rekey_duplicates=rekey_duplicates)

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.backend.path

    @property
    def name(self) -> str:
        """The store as messages name it: the SQLite file, or the URL without its password."""
        path = self.path
        return str(path) if path is not None else self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close the engine's pooled connections (the store can be opened again)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------

    def write(self, work: Callable[[Connection], T], *, attach: Mapping[str, Path] | None = None) -> T:
        """Run ``work(conn)`` in one write transaction: all of it commits, or none of it.

        On SQLite the transaction takes the write lock up front and is retried with
        exponential backoff while another process holds it, so callers never see
        "database is locked". ``attach`` (SQLite only: schema name → file) attaches other
        database files to the connection for the transaction (SQLite attaches only
        outside a transaction); they are detached before the connection is returned.

        Every write appends to the audit log, a hash chain with one writer at a time
        (:mod:`geo.store._chain`): the transaction takes the chains' append lock first
        (a no-op on SQLite, whose write lock is taken up front anyway), so PostgreSQL
        writers queue at the start instead of deadlocking on incident rows one of them
        has locked (``FOR UPDATE``) while it waits for the chains.

        Parameters
        ----------
        work
            Called with the connection inside the transaction; may be called again when
            the transaction is retried, so it must not keep state between calls.
        attach
            Database files to attach for the transaction (schema name → path).

        Returns
        -------
        T
            What ``work`` returned.
        """
        def locked(conn: Connection) -> T:
            self.backend.lock_chains(conn)
            return work(conn)

        return self._write(locked, attach or {}, "write")

    def _write(self, work: Callable[[Connection], T], attach: Mapping[str, Path], doing: str) -> T:
        """:meth:`write`; ``doing`` ("write", "open") chooses the words of a failure."""
        started = time.monotonic()
        delay = 0.02
        while True:
            try:
                with self.engine.connect() as conn:
                    self.backend.begin_write(conn)
                    with self.backend.attached(conn, attach), conn.begin():
                        return work(conn)
            except (DBAPIError, self._driver_operational) as exc:
                waited = time.monotonic() - started
                if not self.backend.is_retryable(exc):
                    unusable = self._unusable(exc, doing)
                    if unusable is None:
                        raise
                    raise unusable from exc
                if waited > MAX_WRITE_WAIT_S:
                    raise StorageError(
                        f"Cơ sở dữ liệu bận quá {waited:.0f} giây; hãy thử lại sau.",
                        f"The database stayed busy for {waited:.0f} s; try again later.",
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (one consistent snapshot per transaction).

        Returns
        -------
        Iterator[Connection]
            A context manager yielding the connection, returned to the pool on exit.
        """
        try:
            with self.engine.connect() as conn:
                yield conn
        except (OperationalError, self._driver_operational) as exc:
            unusable = self._unusable(exc, "read")
            if unusable is None:
                raise
            raise unusable from exc

    # -- failures -----------------------------------------------------------------------

    def _unusable(self, exc: BaseException, doing: str) -> StorageError | None:
        """The bilingual error for a database that cannot be reached, opened, read or
        written (unreachable server, no permission, disk full: the DB-API's
        OperationalError), naming the store; None for anything else (a constraint, a
        bug), which goes on as it is. A failed write transaction has been rolled back."""
        if not isinstance(exc, (OperationalError, self._driver_operational)):
            return None
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
        vi, en = _UNUSABLE[doing]
        return StorageError(
            vi.format(name=self.name, reason=reason), en.format(name=self.name, reason=reason)
        )

    # -- schema -------------------------------------------------------------------------

    def _migrate(self, *, rekey_duplicates: bool) -> None:
        """Create, migrate and check the schema in one write transaction.

        Every open also checks the append-only guards and re-installs any that was
        dropped or changed, with a ``guards_restored`` audit entry (itself chained).
        """

        def work(conn: Connection) -> None:
            schema = self.backend.prepare_migration(conn)
            if not inspect(conn).has_table("schema_version", schema=schema):
                # DDL is transactional on both backends: no table exists without schema_version
                self.metadata.create_all(conn, checkfirst=False)
                self.backend.install_guards(conn, APPEND_ONLY)
                self._record_version(conn, SCHEMA_VERSION, "initial schema")
                return
            self._run_migrations(conn, self._stored_version(conn), rekey_duplicates)
            restored = self.backend.repair_guards(conn, APPEND_ONLY)
            if restored:
                self.audit("system", "guards_restored", "store", None, {"guards": restored}, conn=conn)

        try:
            self._write(work, {}, "open")
        except DBAPIError as exc:  # not an OperationalError: those are StorageErrors already
            raise StorageError(
                f"Không mở được cơ sở dữ liệu {self.name}: {exc.orig}",
                f"Cannot open the database {self.name}: {exc.orig}",
            ) from exc

    def _run_migrations(self, conn: Connection, current: int, rekey_duplicates: bool) -> None:
        """Every step from ``current`` up, each recorded in ``schema_version``.

        Audit entries the steps write (a re-keying) wait until all have run: before
        version 3 the log has no ``row_hash`` to chain them with.
        """
        if current == SCHEMA_VERSION:
            return
        self._deferred_audit = []
        try:
            for version in range(current + 1, SCHEMA_VERSION + 1):
                description = MIGRATIONS[version](self, conn, rekey=rekey_duplicates)
                self._record_version(conn, version, description)
            deferred = self._deferred_audit
        finally:
            self._deferred_audit = None
        _chain.append(self, conn, "audit_log", deferred)

    def _stored_version(self, conn: Connection) -> int:
        t = self.tables["schema_version"]
        current = int(conn.execute(select(func.max(t.c.version))).scalar() or 0)
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"Cơ sở dữ liệu có phiên bản lược đồ {current}, mới hơn phần mềm "
                f"({SCHEMA_VERSION}); hãy cập nhật phần mềm.",
                f"The database has schema version {current}, newer than this software "
                f"({SCHEMA_VERSION}); upgrade the software.",
            )
        return current

    def _record_version(self, conn: Connection, version: int, description: str) -> None:
        conn.execute(
            insert(self.tables["schema_version"]).values(
                version=version, applied_at=utcnow(), description=description
            )
        )

    def schema_version(self) -> int:
        """The schema version the database is at.

        Returns
        -------
        int
            The largest version in ``schema_version`` (:data:`geo.store._schema.SCHEMA_VERSION`).
        """
        with self.read() as conn:
            t = self.tables["schema_version"]
            return int(conn.execute(select(func.max(t.c.version))).scalar() or 0)

    def row_counts(self) -> dict[str, int]:
        """Rows per table.

        Returns
        -------
        dict
            Table name → row count.
        """
        with self.read() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
                for name, table in self.tables.items()
            }

    # -- audit and backup ---------------------------------------------------------------

    def audit(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_id: object = None,
        details: Mapping[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Append one audit entry (inside ``conn``'s transaction when given), chained to
        the one before it (:mod:`geo.store._chain`).

        Parameters
        ----------
        actor, action, object_type
            Who did what to which kind of thing (``"batch"``, ``"incident"``, ``"user"``…).
        object_id
            Which one (stored as text; None for none).
        details
            JSON-able facts; numpy scalars become Python values, NUL characters U+FFFD.
        conn
            A connection in an open write transaction; without it, a transaction of its own.
        """
        values = _entry(actor, action, object_type, object_id, details)
        if self._deferred_audit is not None:  # migrating: see _run_migrations
            self._deferred_audit.append(values)
        elif conn is not None:
            _chain.append(self, conn, "audit_log", [values])
        else:
            self.write(lambda c: _chain.append(self, c, "audit_log", [values]))

    def backup(self, out: str | Path, *, actor: str = "system") -> Path:
        """A consistent copy while others keep writing (SQLite backup API / pg_dump).

        Parameters
        ----------
        out
            The file to write (a SQLite file, or a ``pg_dump -Fc`` archive).
        actor
            Named in the audit entry.

        Returns
        -------
        Path
            The file written.
        """
        done = self.backend.backup(Path(out))
        self.audit(actor, "backup", "store", None, {"out": str(done)})
        return done
