"""The :class:`Store`: one interface over SQLite and PostgreSQL + PostGIS."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, bindparam, func, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError

from geo import settings
from geo.crs import STORAGE_CRS, to_storage
from geo.errors import NotFound, StorageError, WorkflowError
from geo.store import _postgis, _sqlite, queries
from geo.store._schema import (
    APPEND_ONLY,
    INCIDENT_INSERT_COLUMNS,
    SCHEMA_VERSION,
    SQLITE_TS_FORMAT,
    build_metadata,
    to_utc,
)
from geo.store.workflow import TRANSITIONS, check_state, check_transition, due_dates, sla_days

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SQLITE = settings.DEFAULT_SQLITE
URL_ENV = settings.DATABASE_URL.name

#: Longest a writer keeps retrying a locked SQLite database before giving up.
MAX_WRITE_WAIT_S = 600.0

_REQUIRED = ("source", "fingerprint", "type", "lat", "lon", "status", "reported_at")
_KEY_COLUMNS = ("id", "source", "source_id", "fingerprint", "status", "row")


def default_url() -> str:
    return settings.database_url()


def _resolve_url(url: str | None) -> str:
    url = url or default_url()
    if "://" not in url:  # a bare file path
        return f"sqlite:///{Path(url).resolve()}"
    return url


def utcnow() -> datetime:
    return datetime.now(UTC)


def _texts(series: pd.Series) -> list[Any]:
    """Text values (None for missing) with NUL characters, which PostgreSQL cannot store,
    replaced by U+FFFD on both backends, so the two hold the same text."""
    text_ = series.astype("string")
    if text_.str.contains("\x00", regex=False).fillna(False).any():
        text_ = text_.str.replace("\x00", "\ufffd", regex=False)
    return text_.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]


def _text_arrow(series: pd.Series) -> Any:
    """A text column as one pyarrow string array (null for missing, NUL → U+FFFD).

    Arrow keeps a million strings in one compact buffer; Python strings are made only
    for the rows of the chunk being written (see :class:`_IncidentRows`).
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


def _clean(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _multipolygon(geom: Any) -> Any:
    if geom is not None and geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


class Store:
    """Incidents, their history, batches, wards, users and the audit log in one database.

    Open it with :func:`geo.store.open_store`. Reads return (Geo)DataFrames; every write is
    one transaction, retried with backoff when SQLite is busy, and recorded in the audit log.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = "postgis" if url.startswith("postgres") else "sqlite"
        if self.backend == "sqlite":
            self.engine = _sqlite.make_engine(url)
        else:
            self.engine = _postgis.make_engine(url)
        self.metadata = build_metadata(self.is_postgis)
        self.tables = self.metadata.tables
        self._migrate()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def is_postgis(self) -> bool:
        return self.backend == "postgis"

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return _sqlite.database_path(self.url) if not self.is_postgis else None

    def close(self) -> None:
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
        """
        retryable = _postgis.is_retryable if self.is_postgis else _sqlite.is_retryable
        started = time.monotonic()
        delay = 0.02
        while True:
            try:
                with self.engine.connect() as conn:
                    if not self.is_postgis:
                        conn.execution_options(sqlite_begin="IMMEDIATE")
                    with _sqlite.attached(conn, attach or {}), conn.begin():
                        return work(conn)
            except (OperationalError, DBAPIError) as exc:
                waited = time.monotonic() - started
                if not retryable(exc):
                    raise
                if waited > MAX_WRITE_WAIT_S:
                    raise StorageError(
                        f"Cơ sở dữ liệu bận quá {waited:.0f} giây; hãy thử lại sau.",
                        f"The database stayed busy for {waited:.0f} s; try again later.",
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads (one consistent snapshot per transaction)."""
        with self.engine.connect() as conn:
            yield conn

    # -- schema -------------------------------------------------------------------------

    def _migrate(self) -> None:
        version_table = self.tables["schema_version"]

        def work(conn: Connection) -> None:
            if self.is_postgis:
                _postgis.migration_lock(conn)
                has_postgis = conn.execute(
                    text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
                ).first()
                if not has_postgis:
                    try:
                        with conn.begin_nested():
                            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
                    except DBAPIError as exc:
                        raise StorageError(
                            "Cơ sở dữ liệu chưa có PostGIS và không tạo được: "
                            "hãy chạy 'CREATE EXTENSION postgis' với quyền quản trị.",
                            "The database has no PostGIS extension and it cannot be created; "
                            "run 'CREATE EXTENSION postgis' as a superuser.",
                        ) from exc
            # Look in the schema we write to, not everything on the search path: a store in
            # its own PostgreSQL schema must not adopt tables it merely sees in "public".
            schema = conn.execute(text("SELECT current_schema()")).scalar() if self.is_postgis else None
            if not inspect(conn).has_table("schema_version", schema=schema):
                # DDL is transactional on both backends: no table exists without schema_version
                self.metadata.create_all(conn, checkfirst=False)
                guards = _postgis.install_guards if self.is_postgis else _sqlite.install_guards
                guards(conn, APPEND_ONLY)
                conn.execute(
                    insert(version_table).values(
                        version=SCHEMA_VERSION, applied_at=utcnow(), description="initial schema"
                    )
                )
                return
            current = conn.execute(select(func.max(version_table.c.version))).scalar() or 0
            if current > SCHEMA_VERSION:
                raise StorageError(
                    f"Cơ sở dữ liệu có phiên bản lược đồ {current}, mới hơn phần mềm "
                    f"({SCHEMA_VERSION}); hãy cập nhật phần mềm.",
                    f"The database has schema version {current}, newer than this software "
                    f"({SCHEMA_VERSION}); upgrade the software.",
                )
            # Future migrations: for version in range(current + 1, SCHEMA_VERSION + 1): ...

        try:
            self.write(work)
        except (OperationalError, DBAPIError) as exc:
            raise StorageError(
                f"Không mở được cơ sở dữ liệu {self!r}: {exc.orig}",
                f"Cannot open the database {self!r}: {exc.orig}",
            ) from exc

    def schema_version(self) -> int:
        with self.read() as conn:
            t = self.tables["schema_version"]
            return int(conn.execute(select(func.max(t.c.version))).scalar() or 0)

    def row_counts(self) -> dict[str, int]:
        with self.read() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)
                for name, table in self.tables.items()
            }

    # -- audit --------------------------------------------------------------------------

    def audit(
        self,
        actor: str,
        action: str,
        object_type: str,
        object_id: Any = None,
        details: Mapping[str, Any] | None = None,
        *,
        conn: Connection | None = None,
    ) -> None:
        """Append one audit entry (inside ``conn``'s transaction when given)."""
        values = {
            "at": utcnow(),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "details": _plain(dict(details or {})),
        }
        stmt = insert(self.tables["audit_log"]).values(**values)
        if conn is not None:
            conn.execute(stmt)
        else:
            self.write(lambda c: c.execute(stmt))

    def audit_log(self, limit: int | None = None) -> pd.DataFrame:
        t = self.tables["audit_log"]
        stmt = select(t).order_by(t.c.id.desc())
        if limit:
            stmt = stmt.limit(limit)
        with self.read() as conn:
            rows = conn.execute(stmt).mappings().all()
        frame = pd.DataFrame(rows, columns=list(t.c.keys()))
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
        return frame

    # -- wards --------------------------------------------------------------------------

    def ensure_wards(
        self, wards_gdf: gpd.GeoDataFrame, *, actor: str = "system", valid_from: Any = None
    ) -> dict[str, int]:
        """Load or refresh the ward table from a boundaries layer, keeping history.

        A ward whose name or polygon changed gets a new version (the old one gets
        ``valid_to``), so incidents keep pointing at the ward as it was when assigned.
        """
        for column in ("code", "name", "geometry"):
            if column not in wards_gdf.columns:
                raise StorageError(
                    f"Lớp ranh giới thiếu cột {column!r}.",
                    f"The boundary layer has no {column!r} column.",
                )
        layer = to_storage(wards_gdf)
        since = to_utc(valid_from) if valid_from is not None else utcnow()
        table = self.tables["wards"]

        def value(row: Any, key: str) -> Any:
            v = row.get(key)
            return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v

        def work(conn: Connection) -> dict[str, int]:
            current = {w.code: w for w in self._current_wards(conn).itertuples(index=False)}
            added = changed = retired = 0
            seen: set[str] = set()
            for row in layer.to_dict("records"):
                code = str(row["code"])
                seen.add(code)
                geom = _multipolygon(row["geometry"])
                record = {
                    "code": code,
                    "name": value(row, "name"),
                    "name_en": value(row, "name_en"),
                    "kind": value(row, "kind"),
                    "area_km2": value(row, "area_km2"),
                    "population": None if value(row, "population") is None else int(row["population"]),
                    "osm_id": None if value(row, "osm_id") is None else str(row["osm_id"]),
                }
                old = current.get(code)
                if old is not None:
                    # pandas reads a missing text as NaN, the record holds None: same value.
                    same = all(
                        value({k: getattr(old, k)}, k) == record[k] for k in ("name", "name_en", "kind")
                    )
                    if same and shapely.equals_exact(old.geometry, geom, 1e-12):
                        continue
                    conn.execute(
                        update(table)
                        .where(table.c.code == code, table.c.valid_to.is_(None))
                        .values(valid_to=since)
                    )
                    changed += 1
                else:
                    added += 1
                conn.execute(insert(table).values(**record, valid_from=since, geom=self._geom_param(geom)))
            for code in set(current) - seen:
                conn.execute(
                    update(table)
                    .where(table.c.code == code, table.c.valid_to.is_(None))
                    .values(valid_to=since)
                )
                retired += 1
            counts = {"added": added, "changed": changed, "retired": retired}
            if added or changed or retired:
                self.audit(actor, "wards", "wards", None, counts, conn=conn)
            return counts

        return self.write(work)

    def _geom_param(self, geom: Any) -> Any:
        if self.is_postgis:
            from geoalchemy2.shape import from_shape

            return from_shape(geom, srid=4326)
        return shapely.to_wkb(geom)

    def _current_wards(self, conn: Connection) -> gpd.GeoDataFrame:
        t = self.tables["wards"]
        geom = func.ST_AsBinary(t.c.geom) if self.is_postgis else t.c.geom
        stmt = (
            select(
                t.c.code, t.c.name, t.c.name_en, t.c.kind, t.c.area_km2, t.c.population,
                t.c.osm_id, t.c.valid_from, geom.label("wkb"),
            )
            .where(t.c.valid_to.is_(None))
            .order_by(t.c.code)
        )
        rows = conn.execute(stmt).all()
        frame = pd.DataFrame(
            [r[:-1] for r in rows],
            columns=["code", "name", "name_en", "kind", "area_km2", "population", "osm_id", "valid_from"],
        )
        geometry = shapely.from_wkb([bytes(r[-1]) for r in rows]) if rows else []
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=STORAGE_CRS), crs=STORAGE_CRS)

    def wards(self) -> gpd.GeoDataFrame:
        """The current ward layer as stored (EPSG:4326, sorted by code)."""
        with self.read() as conn:
            return self._current_wards(conn)

    # -- ingest -------------------------------------------------------------------------

    def change_marker(self) -> tuple[int, ...]:
        """A value that changes whenever the stored incidents may have changed.

        Every write of incidents appends to the audit log an entry about an incident or a
        batch (batches, status changes, recurrences), so the largest such id moves with them. SQLite runs one writer at a
        time, so ids grow in commit order; PostgreSQL may commit a smaller id after a larger
        one, so there the log's row count is part of the marker too. Cheap: an ingest
        compares it before committing to skip a second lookup of a million keys.
        """
        # Entries about other things (a ward layer loaded, a backup, a user) are left out.
        about = "object_type IN ('incident', 'batch')"
        with self.read() as conn:
            top = conn.exec_driver_sql("SELECT max(id) FROM incidents").scalar()
            if self.is_postgis:
                count, audit = conn.exec_driver_sql(
                    f"SELECT count(*), max(id) FROM audit_log WHERE {about}"  # noqa: S608
                ).one()
                return (int(top or 0), int(count or 0), int(audit or 0))
            audit = conn.exec_driver_sql(
                f"SELECT id FROM audit_log WHERE {about} ORDER BY id DESC LIMIT 1"  # noqa: S608
            ).scalar()
            return (int(top or 0), int(audit or 0))

    def lookup_existing(self, keys: pd.DataFrame) -> pd.DataFrame:
        """Stored incidents matching incoming rows, at most one per row.

        A row matches by (source, source_id) when it has a source_id, else — or when that
        finds nothing — by fingerprint (in any source). The best match wins: source_id
        before fingerprint, then the newest incident. ``row`` is the input row's index.
        """
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in _KEY_COLUMNS})
        if keys.empty:
            return empty
        with self.read() as conn:  # an empty store matches nothing: skip the key upload
            if conn.exec_driver_sql("SELECT 1 FROM incidents LIMIT 1").first() is None:
                return empty
        positions = np.arange(len(keys))
        source_id = keys["source_id"] if "source_id" in keys else pd.Series(None, index=keys.index)
        rows = list(
            zip(
                positions.tolist(),
                _texts(keys["source"]),
                _texts(source_id),
                _texts(keys["fingerprint"]),
                strict=True,
            )
        )
        query = text(
            "SELECT k.pos, i.id, i.source, i.source_id, i.fingerprint, i.status, 0 AS how "
            "FROM geo_keys k JOIN incidents i ON i.source = k.source AND i.source_id = k.source_id "
            "WHERE k.source_id IS NOT NULL "
            "UNION ALL "
            "SELECT k.pos, i.id, i.source, i.source_id, i.fingerprint, i.status, 1 AS how "
            "FROM geo_keys k JOIN incidents i ON i.fingerprint = k.fingerprint "
            "WHERE k.fingerprint IS NOT NULL"
        )
        columns = ("pos", "source", "source_id", "fingerprint")
        with self.engine.connect() as conn, conn.begin():
            if self.is_postgis:
                conn.exec_driver_sql(
                    "CREATE TEMP TABLE geo_keys (pos bigint, source text, source_id text, "
                    "fingerprint text) ON COMMIT DROP"
                )
                _postgis.bulk_insert(conn, "geo_keys", columns, rows)
                conn.exec_driver_sql("ANALYZE geo_keys")
            else:
                conn.exec_driver_sql("DROP TABLE IF EXISTS temp.geo_keys")
                conn.exec_driver_sql(
                    "CREATE TEMP TABLE geo_keys (pos INTEGER, source TEXT, source_id TEXT, "
                    "fingerprint TEXT)"
                )
                _sqlite.bulk_insert(conn, "temp.geo_keys", columns, rows)
            found = conn.execute(query).all()
            if not self.is_postgis:
                conn.exec_driver_sql("DROP TABLE temp.geo_keys")
        if not found:
            return empty
        frame = pd.DataFrame(found, columns=["pos", "id", "source", "source_id", "fingerprint", "status", "how"])
        frame = frame.sort_values(["pos", "how", "id"], ascending=[True, True, False])
        frame = frame.drop_duplicates("pos").reset_index(drop=True)
        frame["row"] = keys.index.to_numpy()[frame["pos"].to_numpy()]
        frame["id"] = frame["id"].astype("int64")
        return frame[list(_KEY_COLUMNS)]

    def _prepare_incidents(self, incidents: pd.DataFrame | None, now: datetime) -> _IncidentRows:
        """Check the incidents and hold their columns compactly, ready to write in chunks."""
        if incidents is None or len(incidents) == 0:
            return _IncidentRows(0, {}, "")
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
        suffix = "+00:00" if self.is_postgis else ""
        stamp = now.strftime(SQLITE_TS_FORMAT) + suffix

        def optional(name: str) -> Any:
            return _text_arrow(incidents[name]) if name in incidents else None

        def optional_int(name: str) -> Any:
            if name not in incidents:
                return None
            return pd.to_numeric(incidents[name], errors="coerce").astype("Int64").array

        flags = optional("flags")
        if flags is not None:
            import pyarrow.compute as pc

            flags = pc.fill_null(flags, "")
        columns: dict[str, Any] = {
            "source": _text_arrow(incidents["source"].astype(str)),
            "source_id": optional("source_id"),
            "source_row": optional_int("row_number"),
            "fingerprint": _text_arrow(incidents["fingerprint"].astype(str)),
            "type": _text_arrow(incidents["type"]),
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
        return _IncidentRows(n, columns, suffix)

    def commit_batch(
        self,
        batch: Mapping[str, Any],
        incidents: pd.DataFrame | None,
        status_updates: pd.DataFrame | None,
        *,
        actor: str,
    ) -> int:
        """Store one upload in ONE transaction and return its batch id.

        Inserts the batch record, the new incidents with a first status event each, and
        moves existing incidents through the workflow (``status_updates``: incident_id,
        to_status, at, note). Any error — an invalid transition, a kill -9 — leaves the
        store exactly as before. An update to the incident's current status is a no-op.
        """
        now = utcnow()
        prepared = self._prepare_incidents(incidents, now)
        n = prepared.n
        updates = status_updates if status_updates is not None else pd.DataFrame()
        counts = {str(k): _plain(v) for k, v in dict(batch.get("counts") or {}).items()}
        file_name = _clean(batch.get("file_name"))

        # A large SQLite batch is first written to a scratch database file by the Arrow
        # driver (columns bound in C); the transaction then copies it with one INSERT.
        staged = None
        if not self.is_postgis and n >= _sqlite.STAGE_MIN_ROWS:
            staged = _sqlite.stage(prepared.arrow_chunks(INSERT_CHUNK_ROWS))

        def work(conn: Connection) -> int:
            result = conn.execute(
                insert(self.tables["batches"]).values(
                    file_name=file_name,
                    sha256=batch.get("sha256"),
                    source=_clean(batch.get("source")),
                    actor=_clean(batch.get("user") or actor),
                    created_at=now,
                    n_incidents=n,
                    n_status_updates=len(updates),
                    counts=counts,
                )
            )
            batch_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            ids: Sequence[int] = []
            if n:
                if self.is_postgis:
                    ids = _postgis.reserve_ids(conn, "incidents", n)
                else:
                    first = _sqlite.first_free_id(conn, "incidents")
                    ids = range(first, first + n)
                self._insert_incidents(conn, prepared, ids, batch_id, staged=staged is not None)
                conn.execute(
                    text(
                        "INSERT INTO status_events (incident_id, from_status, to_status, at, actor, "
                        "note, batch_id) SELECT id, NULL, status, CASE WHEN status IN "
                        "('cleared', 'recurred') AND cleared_at IS NOT NULL THEN cleared_at "
                        "ELSE reported_at END, :actor, :note, batch_id FROM incidents "
                        "WHERE batch_id = :batch AND id BETWEEN :lo AND :hi"
                    ),
                    {
                        "actor": actor,
                        "note": f"nhập từ / imported from {file_name or 'batch'}",
                        "batch": batch_id,
                        "lo": min(ids),
                        "hi": max(ids),
                    },
                )
            moves = _update_rows(updates)
            recurrences = [
                (old, "recurred", now, f"tái phạm: sự việc mới / recurred as incident {ids[pos]}")
                for pos, old in prepared.recurrences()
            ]
            applied = self._apply_moves(
                conn, moves, actor=actor, batch_id=batch_id, now=now, recurrences=recurrences
            )
            self.audit(
                actor,
                "ingest",
                "batch",
                batch_id,
                {
                    "file_name": file_name,
                    "sha256": batch.get("sha256"),
                    "source": batch.get("source"),
                    "incidents": n,
                    "status_updates": applied,
                    "counts": counts,
                },
                conn=conn,
            )
            return batch_id

        try:
            return self.write(work, attach={_sqlite.STAGED: staged} if staged else None)
        finally:
            if staged is not None:
                _sqlite.discard(staged)

    def _insert_incidents(
        self,
        conn: Connection,
        prepared: _IncidentRows,
        ids: Sequence[int],
        batch_id: int,
        *,
        staged: bool = False,
    ) -> None:
        """Write the batch's incidents in chunks inside the open transaction.

        Chunks bound the Python objects alive at once. On SQLite a batch that is large
        next to the table is written without the secondary indexes, which are rebuilt
        (sorted once) before the transaction ends: SQLite DDL is transactional, so a
        failure or a kill leaves the old indexes and rows exactly as they were.
        """
        rebuilt: list[str] = []
        # SQLite: values shared by every row go into the statement once, not into each row
        constants = {} if self.is_postgis else prepared.constants(batch_id)
        columns = [c for c in INCIDENT_INSERT_COLUMNS if c not in constants]
        if not self.is_postgis:
            if _sqlite.rebuild_indexes_for(conn, "incidents", prepared.n):
                rebuilt = _sqlite.drop_indexes(conn, "incidents", keep=prepared.keys_in_order)
            else:
                _sqlite.widen_cache(conn, prepared.n)
        if self.is_postgis and prepared.n >= _postgis.CSV_COPY_MIN_ROWS:
            import pyarrow as pa

            # COPY as CSV that Arrow writes in C: no Python value per cell
            table = prepared.arrow_table(all_columns=True)
            table = table.add_column(0, "id", pa.array(np.asarray(ids, dtype=np.int64)))
            table = table.append_column("batch_id", pa.array(np.full(prepared.n, batch_id, dtype=np.int64)))
            _postgis.copy_arrow(conn, "incidents", table, chunk_rows=INSERT_CHUNK_ROWS)
            return
        try:
            if staged:
                assert isinstance(ids, range)  # SQLite ids: one block above the largest
                _sqlite.insert_staged(
                    conn, "incidents", prepared.staged_columns(), ids.start,
                    constants={**constants, "batch_id": batch_id},
                )  # fmt: skip
            for lo in range(0, 0 if staged else prepared.n, INSERT_CHUNK_ROWS):
                hi = min(prepared.n, lo + INSERT_CHUNK_ROWS)
                rows = prepared.rows(lo, hi, ids[lo:hi], batch_id, skip=constants)
                if self.is_postgis:
                    _postgis.bulk_insert(conn, "incidents", columns, rows)
                else:
                    _sqlite.bulk_insert(conn, "incidents", columns, rows, constants=constants)
                del rows
            if rebuilt:
                _sqlite.create_indexes(conn, rebuilt)
        finally:
            if not self.is_postgis and not rebuilt:
                _sqlite.reset_cache(conn)

    # -- workflow -----------------------------------------------------------------------

    def _apply_moves(
        self,
        conn: Connection,
        moves: list[tuple[int, str, Any, str | None]],
        *,
        actor: str,
        batch_id: int | None,
        now: datetime,
        recurrences: Sequence[tuple[int, str, Any, str | None]] | None = None,
    ) -> int:
        """Apply (incident_id, to_status, at, note) moves in order; returns how many moved.

        ``recurrences`` mark earlier incidents as recurred only when they are cleared.
        """
        recurrences = recurrences or []
        if not moves and not recurrences:
            return 0
        t = self.tables["incidents"]
        wanted = sorted({m[0] for m in moves} | {r[0] for r in recurrences})
        state: dict[int, tuple[str, Any]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for row in conn.execute(select(t.c.id, t.c.status, t.c.cleared_at).where(t.c.id.in_(chunk))):
                state[int(row.id)] = (row.status, row.cleared_at)
        events: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        final: dict[int, tuple[str, Any]] = {}
        tagged = [(m, False) for m in moves] + [(r, True) for r in recurrences]
        for (incident_id, to_status, at, raw_note), optional in tagged:
            note = _clean(raw_note)
            if incident_id not in state:
                raise NotFound(
                    f"Không có sự việc số {incident_id}.", f"There is no incident {incident_id}."
                )
            current, cleared_at = state[incident_id]
            if to_status == current or (optional and current != "cleared"):
                continue
            check_transition(current, to_status, where=f"incident {incident_id}")
            at_utc = to_utc(at) if at is not None and not pd.isna(at) else now
            if to_status == "cleared":
                cleared_at = at_utc
            state[incident_id] = final[incident_id] = (to_status, cleared_at)
            events.append(
                {"incident_id": incident_id, "from_status": current, "to_status": to_status,
                 "at": at_utc, "actor": actor, "note": note, "batch_id": batch_id}
            )
            audits.append(
                {"at": now, "actor": actor, "action": "status", "object_type": "incident",
                 "object_id": str(incident_id),
                 "details": {"from": current, "to": to_status, "at": at_utc.isoformat(),
                             "note": note, "batch_id": batch_id}}
            )
        if final:
            conn.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(status=bindparam("b_status"), cleared_at=bindparam("b_cleared"), updated_at=now),
                [{"b_id": k, "b_status": s, "b_cleared": c} for k, (s, c) in final.items()],
            )
            conn.execute(insert(self.tables["status_events"]), events)
            conn.execute(insert(self.tables["audit_log"]), audits)
        return len(events)

    def change_status(
        self, incident_id: int, to_status: str, *, actor: str, note: str | None = None, at: Any = None
    ) -> dict[str, Any]:
        """Move one incident through the workflow; records the event and an audit entry."""
        check_state(to_status, where="to_status")
        now = utcnow()

        def work(conn: Connection) -> dict[str, Any]:
            t = self.tables["incidents"]
            current = conn.execute(select(t.c.status).where(t.c.id == int(incident_id))).scalar()
            if current is None:
                raise NotFound(f"Không có sự việc số {incident_id}.", f"There is no incident {incident_id}.")
            if current == to_status:
                raise WorkflowError(
                    f"Sự việc {incident_id} đã ở trạng thái {to_status!r}.",
                    f"Incident {incident_id} is already {to_status!r}.",
                )
            self._apply_moves(conn, [(int(incident_id), to_status, at, note)], actor=actor, batch_id=None, now=now)
            return {"id": int(incident_id), "from": current, "to": to_status}

        return self.write(work)

    def record_recurrence(
        self, incident_id: int, *, actor: str, note: str | None = None, at: Any = None
    ) -> int:
        """The place of a cleared incident is violated again: mark it ``recurred`` and open a
        new ``reported`` incident (same place and type, ``recurrence_of`` = the old one).
        Returns the new incident's id."""
        now = utcnow()
        when = to_utc(at) if at is not None else now
        note = _clean(note)

        def work(conn: Connection) -> int:
            t = self.tables["incidents"]
            old = conn.execute(select(t).where(t.c.id == int(incident_id))).mappings().first()
            if old is None:
                raise NotFound(f"Không có sự việc số {incident_id}.", f"There is no incident {incident_id}.")
            check_transition(old["status"], "recurred", where=f"incident {incident_id}")
            if self.is_postgis:
                new_id = _postgis.reserve_ids(conn, "incidents", 1)[0]
            else:
                new_id = _sqlite.first_free_id(conn, "incidents")
            fields = {k: old[k] for k in ("source", "type", "type_text", "lat", "lon", "ward_code",
                                          "street", "address", "flags")}
            due = due_dates(pd.Series([old["type"]]), pd.Series([when]), sla_days()).iloc[0]
            conn.execute(
                insert(t).values(
                    id=new_id, **fields, source_id=None, fingerprint=f"{old['fingerprint']}#r{new_id}",
                    note=note, status="reported", reported_at=when, due_at=due,
                    recurrence_of=int(incident_id), created_at=now, updated_at=now,
                )
            )
            conn.execute(
                insert(self.tables["status_events"]).values(
                    incident_id=new_id, from_status=None, to_status="reported", at=when,
                    actor=actor, note=note,
                )
            )
            self._apply_moves(
                conn,
                [(int(incident_id), "recurred", when, f"tái phạm / recurred as incident {new_id}")],
                actor=actor, batch_id=None, now=now,
            )
            self.audit(actor, "recurrence", "incident", new_id, {"recurrence_of": int(incident_id)}, conn=conn)
            return new_id

        return self.write(work)

    # -- reads (see geo.store.queries) -----------------------------------------------

    def incidents(
        self,
        wards: Any = None,
        types: Any = None,
        statuses: Any = None,
        date_from: Any = None,
        date_to: Any = None,
        street: Any = None,
        bbox: Any = None,
        overdue_only: bool = False,
        limit: int | None = None,
    ) -> gpd.GeoDataFrame:
        return queries.incidents(
            self, wards=wards, types=types, statuses=statuses, date_from=date_from,
            date_to=date_to, street=street, bbox=bbox, overdue_only=overdue_only, limit=limit,
        )

    def incident(self, incident_id: int) -> queries.IncidentDetail:
        return queries.incident(self, incident_id)

    def ward_stats(self, date_from: Any = None, date_to: Any = None) -> pd.DataFrame:
        return queries.ward_stats(self, date_from, date_to)

    def street_stats(self, date_from: Any = None, date_to: Any = None, wards: Any = None) -> pd.DataFrame:
        return queries.street_stats(self, date_from, date_to, wards)

    def week_counts(self, date_from: Any = None, date_to: Any = None, wards: Any = None) -> pd.DataFrame:
        return queries.week_counts(self, date_from, date_to, wards)

    def progress(
        self, level: str = "city", key: str | None = None, freq: str = "D",
        date_from: Any = None, date_to: Any = None,
    ) -> pd.DataFrame:
        return queries.progress(self, level, key, freq, date_from, date_to)

    # -- spatial ------------------------------------------------------------------------

    def assign_in_store(self) -> pd.DataFrame:
        """Ward of every stored incident under the project rule (see :mod:`geo.assign`).

        PostGIS computes it in SQL (ST_Covers, smallest code, 30 m snapping in UTM 48N);
        SQLite reads the points and uses :func:`geo.assign.assign_lonlat` on the stored wards.
        Returns id, ward_code, assign_flag sorted by id.
        """
        if self.is_postgis:
            from geo.assign import SNAP_DISTANCE_M

            with self.read() as conn:
                rows = conn.execute(text(_postgis.ASSIGN_SQL + " ORDER BY i.id"), {"snap": SNAP_DISTANCE_M}).all()
            return pd.DataFrame(rows, columns=["id", "ward_code", "assign_flag"])
        from geo.assign import assign_lonlat

        t = self.tables["incidents"]
        with self.read() as conn:
            rows = conn.execute(
                select(t.c.id, t.c.lon, t.c.lat).where(t.c.lat.is_not(None)).order_by(t.c.id)
            ).all()
        points = pd.DataFrame(rows, columns=["id", "lon", "lat"])
        assigned = assign_lonlat(points["lon"].to_numpy(float), points["lat"].to_numpy(float), self.wards())
        return pd.DataFrame(
            {"id": points["id"], "ward_code": assigned["ward_code"], "assign_flag": assigned["assign_flag"]}
        )

    # -- backup -------------------------------------------------------------------------

    def backup(self, out: str | Path, *, actor: str = "system") -> Path:
        """A consistent copy while others keep writing (SQLite backup API / pg_dump)."""
        if self.is_postgis:
            done = _postgis.backup(self.url, Path(out))
        else:
            path = self.path
            if path is None:
                raise StorageError("Không sao lưu được CSDL trong bộ nhớ.", "An in-memory database cannot be backed up.")
            done = _sqlite.backup(path, Path(out))
        self.audit(actor, "backup", "store", None, {"out": str(done)})
        return done


def _plain(value: Any) -> Any:
    """JSON-safe scalars (numpy ints from value_counts and friends)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _update_rows(updates: pd.DataFrame) -> list[tuple[int, str, Any, str | None]]:
    if updates is None or updates.empty:
        return []
    missing = [c for c in ("incident_id", "to_status") if c not in updates.columns]
    if missing:
        raise StorageError(
            f"Bảng cập nhật trạng thái thiếu cột: {', '.join(missing)}.",
            f"The status updates lack columns: {', '.join(missing)}.",
        )
    at = updates["at"] if "at" in updates else pd.Series(None, index=updates.index)
    note = updates["note"] if "note" in updates else pd.Series(None, index=updates.index)
    return [
        (int(i), str(s), None if a is None or pd.isna(a) else a, None if n is None or pd.isna(n) else str(n))
        for i, s, a, n in zip(updates["incident_id"], updates["to_status"], at, note, strict=True)
    ]



#: Incidents converted to Python values and written per chunk (memory stays bounded).
INSERT_CHUNK_ROWS = 100_000


def _utc_us(stamps: pd.Series) -> np.ndarray:
    """Aware timestamps → naive UTC datetime64[us] (NaT for missing)."""
    ts = pd.to_datetime(stamps, utc=True).dt.tz_convert(None)
    return np.asarray(ts.to_numpy(dtype="datetime64[us]"))


class _IncidentRows:
    """The incidents of one batch, column by column, turned into row tuples per chunk.

    Text stays in pyarrow arrays, numbers and instants in numpy arrays; a chunk's Python
    values exist only while that chunk is written.
    """

    def __init__(self, n: int, columns: dict[str, Any], suffix: str) -> None:
        self.n = n
        self.columns = columns
        self.suffix = suffix

    def recurrences(self) -> list[tuple[int, int]]:
        """(position in the batch, earlier incident id) of rows recording a recurrence."""
        values = self.columns.get("recurrence_of")
        if values is None or not self.n:
            return []
        mask = ~np.asarray(values.isna())
        where = np.flatnonzero(mask)
        return [(int(i), int(values[i])) for i in where]

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
    ) -> Any:
        """Rows ``lo:hi`` of the varying columns as one Arrow table (the SQLite staging
        path), in :meth:`staged_columns` order (or ``names``), or ``all_columns`` but id and
        batch_id (PostgreSQL's CSV copy); values as :meth:`rows` would bind them."""
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
            elif isinstance(values, np.ndarray) and values.dtype.kind == "M":
                stamps = _iso_arrow(values)
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
        return texts.tolist()
    out: list[Any] = [None] * len(values)
    present = np.flatnonzero(~missing)
    if len(present):
        texts = np.datetime_as_string(values[present], unit="us")
        if suffix:
            texts = np.char.add(texts, suffix)
        for i, value in zip(present.tolist(), texts.tolist(), strict=True):
            out[i] = value
    return out


def _iso_arrow(values: np.ndarray) -> Any:
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
