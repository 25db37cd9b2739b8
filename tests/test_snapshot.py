"""geo.snapshot: the in-memory view of the store selects exactly what the store's SQL selects."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event

from geo.ingest import IngestOptions, ingest
from geo.maps import density_grid
from geo.sample import sample_incidents, write_sample
from geo.snapshot import load_snapshot, store_version, up_to_date
from geo.store import IncidentFilter, queries, workflow
from geo.views import load_view
from tests._snapshots import assert_metres_of_degrees, decoded, resent

if TYPE_CHECKING:
    from geo.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "incidents" / "sample_incidents.csv"
NOW = dt.datetime(2025, 11, 15, 5, 0, tzinfo=dt.UTC)

#: What an officer picks on the map (IncidentFilter.from_choices: nothing picked = any).
CHOICES = [
    {},
    {"wards": ("00070",)},
    {"wards": ("00070", "00199"), "statuses": ("reported", "in_progress")},
    {"types": ("awning",)},
    {"types": ("no_such_type",)},
    {"statuses": ("cleared",), "date_from": dt.date(2025, 9, 1)},
    {"date_from": dt.date(2025, 8, 1), "date_to": dt.date(2025, 8, 31)},
    {"date_to": dt.date(2025, 7, 1)},
    {"street": "hang ma"},
    {"street": "Hàng Mã", "wards": ("00070",)},
    {"street": "Không Có Phố"},
    {"overdue": True},
    {"overdue": True, "types": ("signboard",)},
]


@pytest.fixture
def sample_store(store):
    ingest(SAMPLE, store, actor="test")
    return store


def test_snapshot_selects_what_the_store_selects(sample_store):
    snapshot = load_snapshot(sample_store)
    assert len(snapshot) == sample_store.row_counts()["incidents"] > 1000
    streets = snapshot.labels["street"]
    nonempty = 0
    for choices in CHOICES:
        flt = IncidentFilter.from_choices(**choices, street_names=streets)
        expected = queries.incidents(sample_store, flt, now=NOW)
        got = flt.mask(snapshot, now=NOW)
        assert sorted(snapshot.ids[got]) == sorted(expected["id"].astype(int)), flt
        nonempty += bool(len(expected))
    assert nonempty >= len(CHOICES) - 3  # the filters above really select something
    bbox = IncidentFilter(bbox=(105.84, 21.02, 105.86, 21.04))
    inside = queries.incidents(sample_store, bbox)
    assert 0 < len(inside) < len(snapshot)
    assert sorted(snapshot.ids[bbox.mask(snapshot)]) == sorted(inside["id"].astype(int))


def test_load_view_with_a_snapshot_matches_the_sql_view(sample_store):
    snapshot = load_snapshot(sample_store)
    for flt in (
        IncidentFilter(),
        IncidentFilter(wards=("00070",)),
        IncidentFilter.from_choices(street="hang ma", street_names=queries.street_names(sample_store)),
    ):
        plain = load_view(sample_store, flt, marker_limit=200)
        fast = load_view(sample_store, flt, marker_limit=200, snapshot=snapshot)
        assert fast.matched == plain.matched > 0, flt
        if plain.matched > 200:  # density: the same points
            for column in ("lat", "lon"):
                assert np.allclose(
                    np.sort(fast.incidents[column].to_numpy(float)),
                    np.sort(plain.incidents[column].to_numpy(float)),
                )
        else:  # markers: the store's own rows
            assert list(fast.incidents["id"]) == list(plain.incidents["id"])


def test_markers_from_a_snapshot_are_its_ids_read_by_id_and_still_filtered(sample_store):
    """A markers view with the snapshot reads the rows the snapshot's mask chose by their
    ids, not by scanning what the filter's index names; the filter still applies in the
    SQL, so an incident moved out of the view after the snapshot is not drawn."""
    snapshot = load_snapshot(sample_store)
    flt = IncidentFilter(wards=("00070",), statuses="reported")
    plain = load_view(sample_store, flt, marker_limit=5000)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(sample_store.engine, "before_cursor_execute", seen)
    try:
        fast = load_view(sample_store, flt, marker_limit=5000, snapshot=snapshot)
    finally:
        event.remove(sample_store.engine, "before_cursor_execute", seen)
    assert 1 < fast.matched == plain.matched < 5000
    assert fast.incidents["id"].tolist() == plain.incidents["id"].tolist()
    pd.testing.assert_frame_equal(fast.incidents.drop(columns="overdue"), plain.incidents.drop(columns="overdue"))
    selects = [text for text in statements if text.startswith("SELECT")]
    assert len(selects) == 1 and "incidents.id IN" in selects[0]
    moved = int(plain.incidents["id"].iloc[0])
    workflow.change_status(sample_store, moved, "verified", actor="test")
    stale = load_view(sample_store, flt, marker_limit=5000, snapshot=snapshot)  # the snapshot from before
    assert stale.incidents["id"].tolist() == plain.incidents["id"].tolist()[1:]


@pytest.mark.parametrize("max_cells", [30_000, 200, 40])
def test_the_density_grid_from_the_snapshots_metres_is_the_grid_of_its_degrees(sample_store, max_cells):
    """The map's density layer counts the snapshot's stored metres; the grid is the one
    counted by projecting every point's lat/lon (what the map did before), cell for cell,
    at the first cell size and after doubling it (fewer ``max_cells``)."""
    snapshot = load_snapshot(sample_store)
    for flt in (IncidentFilter(), IncidentFilter(wards=("00070", "00199")), IncidentFilter(statuses="reported")):
        view = load_view(sample_store, flt, marker_limit=10, snapshot=snapshot)
        assert {"x", "y"} <= set(view.incidents.columns) and view.matched > 10
        grid = density_grid(view.incidents, max_cells=max_cells)
        projected = density_grid(view.incidents[["lat", "lon"]], max_cells=max_cells)
        assert 1 < len(grid) <= max_cells
        pd.testing.assert_frame_equal(grid, projected)
        assert grid["count"].sum() == view.matched


def test_a_view_of_every_incident_shares_the_snapshots_columns_and_cannot_write_them(sample_store):
    """The first map page (no filter) draws every incident from the snapshot's own arrays,
    not from copies (640 MB at 10M), and a write through its frame raises instead of
    changing the snapshot every session shares. A filtered view holds the chosen rows."""
    snapshot = load_snapshot(sample_store)
    before = {column: getattr(snapshot, column).copy() for column in ("lat", "lon", "x", "y")}
    writable = {column: getattr(snapshot, column).flags.writeable for column in before}
    view = load_view(sample_store, IncidentFilter(), marker_limit=10, snapshot=snapshot)
    assert view.matched == len(snapshot) == len(view.incidents)
    for column, values in before.items():
        shown = view.incidents[column].to_numpy()
        assert np.shares_memory(shown, getattr(snapshot, column)), column
        np.testing.assert_array_equal(shown, values)
        assert not shown.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            view.incidents.loc[0, column] = 0.0
        np.testing.assert_array_equal(getattr(snapshot, column), values)
        assert getattr(snapshot, column).flags.writeable == writable[column]  # the snapshot's own flag untouched
    flt = IncidentFilter(statuses="reported")
    some = load_view(sample_store, flt, marker_limit=10, snapshot=snapshot)
    keep = flt.mask(snapshot)
    assert 10 < some.matched < len(snapshot)
    for column, values in before.items():
        np.testing.assert_array_equal(some.incidents[column].to_numpy(), values[keep])


def test_every_write_changes_the_version(sample_store):
    before = store_version(sample_store)
    snapshot = load_snapshot(sample_store)
    assert snapshot.version == before
    first = int(queries.incidents(sample_store, IncidentFilter(statuses="reported"), limit=1)["id"].iloc[0])
    workflow.change_status(sample_store, first, "verified", actor="test", note="checked")
    after = store_version(sample_store)
    assert after != before and after[:2] == before[:2]  # same incidents, one more audit entry
    fresh = load_snapshot(sample_store)
    position = int(np.flatnonzero(fresh.ids == first)[0])
    assert fresh.labels["status"][fresh.codes["status"][position]] == "verified"


def test_a_move_shares_the_columns_it_did_not_change_with_the_snapshot_before(sample_store):
    """A status move changes one incident's status (and a clearance its ``cleared_at``):
    the patched snapshot holds new arrays for those columns only and the same arrays as
    the snapshot before for every other, which is left as it was; both equal fresh reads."""
    first = load_snapshot(sample_store)
    before = decoded(first)
    reported = int(queries.incidents(sample_store, IncidentFilter(statuses="reported"), limit=1)["id"].iloc[0])
    workflow.change_status(sample_store, reported, "verified", actor="test")
    moved = up_to_date(first, sample_store)
    pd.testing.assert_frame_equal(decoded(moved), decoded(load_snapshot(sample_store)))
    pd.testing.assert_frame_equal(decoded(first), before)
    assert moved.codes["status"] is not first.codes["status"]
    for name in ("ids", "lat", "lon", "x", "y"):
        assert getattr(moved, name) is getattr(first, name), name
    for column in ("ward_code", "type", "street"):
        assert moved.codes[column] is first.codes[column], column
    assert all(moved.times[column] is first.times[column] for column in first.times)
    workflow.change_status(sample_store, reported, "cleared", actor="test")
    cleared = up_to_date(moved, sample_store)
    pd.testing.assert_frame_equal(decoded(cleared), decoded(load_snapshot(sample_store)))
    assert cleared.times["cleared_at"] is not moved.times["cleared_at"]
    assert cleared.times["reported_at"] is first.times["reported_at"] and cleared.lat is first.lat


def test_up_to_date_after_writes_equals_a_fresh_load(sample_store, tmp_path):
    first = load_snapshot(sample_store)
    before = decoded(first)
    assert up_to_date(first, sample_store) is first  # nothing written: nothing read
    reported = queries.incidents(sample_store, IncidentFilter(statuses="reported"), limit=2)["id"].astype(int).tolist()
    workflow.change_status(sample_store, reported[0], "verified", actor="test")
    workflow.change_status(sample_store, reported[1], "cleared", actor="test", note="done")
    cleared = int(queries.incidents(sample_store, IncidentFilter(statuses="cleared"), limit=1)["id"].iloc[0])
    workflow.record_recurrence(sample_store, cleared, actor="test")
    extra = write_sample(sample_incidents(40, seed=99), tmp_path / "extra.csv")
    assert ingest(extra, sample_store, actor="test").summary()["accepted"] == 40

    patched = up_to_date(first, sample_store)
    assert patched.version == store_version(sample_store) != first.version
    assert len(patched) == len(first) + 41
    assert_metres_of_degrees(first)
    assert_metres_of_degrees(patched)  # the 41 patched-in rows too
    # both databases patch: the 41 new incidents and the 3 changed ones
    assert patched.rows_read == 41 + 3
    pd.testing.assert_frame_equal(decoded(patched), decoded(load_snapshot(sample_store)))
    pd.testing.assert_frame_equal(decoded(first), before)  # the old snapshot is untouched
    position = int(np.flatnonzero(patched.ids == reported[1])[0])
    assert patched.labels["status"][patched.codes["status"][position]] == "cleared"


def test_a_snapshot_read_in_chunks_holds_every_row_as_stored(sample_store, monkeypatch):
    """Read 7 rows at a time (the real chunk is 250,000): every value is the stored one,
    and each category's labels are numbered in first-seen order across the chunks."""
    import geo._snapshot_read

    monkeypatch.setattr(geo._snapshot_read, "CHUNK_ROWS", 7)
    snapshot = load_snapshot(sample_store)
    names = ["id", "lat", "lon", "ward_code", "type", "status", "street", "reported_at", "due_at", "cleared_at"]
    with sample_store.read() as conn:
        rows = conn.exec_driver_sql(f"SELECT {', '.join(names)} FROM incidents ORDER BY id").all()  # noqa: S608
    stored = pd.DataFrame([tuple(r) for r in rows], columns=names)
    assert len(stored) > 7 * 3 and stored["cleared_at"].notna().any()
    got = decoded(snapshot)
    for column in ("id", "lat", "lon", "ward_code", "type", "status", "street"):
        assert got[column].tolist() == stored[column].where(stored[column].notna(), None).tolist(), column
    for column in ("reported_at", "due_at", "cleared_at"):
        want = pd.to_datetime(stored[column].astype(object), utc=True, format="ISO8601").dt.tz_convert(None)
        assert pd.Series(got[column]).equals(want.astype("datetime64[ns]")), column
    for column in ("status", "ward_code"):
        assert list(snapshot.labels[column]) == list(dict.fromkeys(stored[column].dropna())), column


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2025-09-04T22:14:00.000000", "2025-09-04 22:14:00"], ["2025-09-04T22:14", "2025-09-04T22:14"]),
        (["2025-09-04 22:14:00.5", None], ["2025-09-04T22:14:00.5", "NaT"]),
        (["2025-09-05T05:14:00+07:00"], ["2025-09-04T22:14"]),  # an offset: its UTC instant
        ([dt.datetime(2025, 9, 5, 5, 14, tzinfo=dt.timezone(dt.timedelta(hours=7))), None], ["2025-09-04T22:14", "NaT"]),
        ([None, None], ["NaT", "NaT"]),
        ([], []),
    ],
)
def test_stored_instants_of_either_database_read_as_utc(values, expected):
    from geo.store._values import utc_instants

    got = utc_instants(values)
    assert got.dtype == np.dtype("datetime64[ns]")
    assert got.tolist() == np.array(expected, dtype="datetime64[ns]").tolist()


@contextmanager
def _few_variables(store: Store) -> Iterator[None]:
    """At most 100 parameters per statement on the store's SQLite connections meanwhile
    (the default is 32,766): a statement listing more ids than that fails."""
    if store.backend.name != "sqlite":
        yield
        return

    def limit(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 100)

    store.engine.dispose()
    event.listen(store.engine, "connect", limit)
    try:
        yield
    finally:
        event.remove(store.engine, "connect", limit)
        store.engine.dispose()


def _changed_rows(before: pd.DataFrame, after: pd.DataFrame) -> int:
    """Rows of ``before`` (same ids, same order) with any value changed in ``after``."""
    after = after.iloc[: len(before)].reset_index(drop=True)
    assert after["id"].tolist() == before["id"].tolist()
    same = (after == before) | (after.isna() & before.isna())
    return int((~same).any(axis=1).sum())


def test_a_patch_after_a_batch_with_many_moves_reads_only_those_and_equals_a_fresh_load(
    store, tmp_path, monkeypatch
):
    """A batch of new incidents that also moves many stored ones (an ingest's status
    updates; recurrences move older ones too): the patch reads the new incidents and the
    older ones whose row changed, however many, and ends equal to a full read; past
    PATCH_SHARE of the snapshot changed, it reads everything again (both databases)."""
    import geo.snapshot
    from geo.snapshot import PATCH_SHARE

    team = IngestOptions(source="team")  # one namespace of ids: a row sent again is the same incident
    first_file = sample_incidents(3000, seed=11)
    assert ingest(write_sample(first_file, tmp_path / "a.csv"), store, team, actor="test").summary()["accepted"] == 3000
    first = load_snapshot(store)
    # 600 of the 3,000 move (20 %, under the share), 800 new incidents arrive with them
    batch = pd.concat([resent(first_file, 600), sample_incidents(800, seed=12)], ignore_index=True)
    summary = ingest(write_sample(batch, tmp_path / "b.csv"), store, team, actor="test").summary()
    assert (summary["accepted"], summary["status_updates"]) == (800, 600)

    with _few_variables(store):  # the refresh may not list the 600 ids in its statements
        patched = up_to_date(first, store)
    fresh = load_snapshot(store)
    pd.testing.assert_frame_equal(decoded(patched), decoded(fresh))
    changed = _changed_rows(decoded(first), decoded(fresh))
    assert changed >= 600  # the status updates, and any recurrence of an older clearance
    assert changed <= PATCH_SHARE * len(first)
    assert patched.rows_read == 800 + changed  # only the new rows and the changed ones

    # more than the share of the snapshot moves (a share of 0.2 here): one full read instead
    monkeypatch.setattr(geo.snapshot, "PATCH_SHARE", 0.2)
    status = batch.columns[2]
    unhandled = batch[status].isin(["Chưa xử lý", "Đang xử lý"])
    again = batch.copy()
    again.loc[unhandled, status] = "Đã xử lý"
    moved = int(unhandled.sum())
    assert moved > 0.2 * len(patched)
    summary = ingest(write_sample(again, tmp_path / "c.csv"), store, team, actor="test").summary()
    assert (summary["accepted"], summary["status_updates"]) == (0, moved)
    reloaded = up_to_date(patched, store)
    assert reloaded.rows_read == len(reloaded) == len(fresh)
    pd.testing.assert_frame_equal(decoded(reloaded), decoded(load_snapshot(store)))


def _commit_copy(store: Store, new_id: int) -> None:
    """Commit a copy of the first incident under id ``new_id`` (a row as a batch that drew
    its ids earlier or later commits it), named by no incident's audit entry: only by its
    batch's, as every batch writes one (the refresh sees that the log moved on)."""
    from sqlalchemy import insert, select

    t = store.tables["incidents"]
    names = [c.name for c in t.columns if c.computed is None]

    def work(conn) -> None:
        row = dict(conn.execute(select(*[t.c[n] for n in names]).order_by(t.c.id).limit(1)).mappings().one())
        row.update(id=new_id, fingerprint=f"late#{new_id}", source_id=f"late-{new_id}")
        conn.execute(insert(t).values(**row))
        store.audit("test", "ingest", "batch", new_id, {"incidents": 1}, conn=conn)

    store.write(work)


def _top(store: Store) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("SELECT max(id) FROM incidents").scalar())


def test_a_row_committed_below_the_largest_id_is_not_missed_by_the_patch(sample_store):
    """PostgreSQL draws incident ids before commit, so a row may become visible after a
    snapshot that holds larger ids, named by no incident's audit entry. The patch reads
    neither it (not above the largest id) nor its audit (a batch's); its count falls
    short of the store's, so it reads everything again and equals a fresh load."""
    store = sample_store
    top = _top(store)
    _commit_copy(store, top + 10)  # a larger id, visible first
    snapshot = load_snapshot(store)
    _commit_copy(store, top + 5)  # commits late, below the snapshot's largest id
    reported = int(queries.incidents(store, IncidentFilter(statuses="reported"), limit=1)["id"].iloc[0])
    workflow.change_status(store, reported, "verified", actor="test")  # an audited write after it
    patched = up_to_date(snapshot, store)
    fresh = load_snapshot(store)
    assert top + 5 in set(patched.ids.tolist())
    pd.testing.assert_frame_equal(decoded(patched), decoded(fresh))


def test_an_incident_audit_entry_whose_object_id_is_no_number_names_no_incident(sample_store):
    """``Store.audit`` keeps any object id as text. An entry about an incident whose id is
    no decimal integer ("abc", "12.0", "7 and 8") names no incident, on either database:
    the patch goes on (PostgreSQL raised on the cast, on every later refresh) and reads
    only what did change, here the one incident moved after it."""
    store = sample_store
    snapshot = load_snapshot(store)
    for odd in ("abc", "12.0", "7 and 8", "", "99999999999999999999999"):
        store.audit("test", "public_note", "incident", odd, {})
    reported = int(queries.incidents(store, IncidentFilter(statuses="reported"), limit=1)["id"].iloc[0])
    workflow.change_status(store, reported, "verified", actor="test")
    patched = up_to_date(snapshot, store)
    assert patched.rows_read == 1
    pd.testing.assert_frame_equal(decoded(patched), decoded(load_snapshot(store)))


def test_a_commit_during_the_refresh_cannot_make_up_for_a_row_the_patch_missed(sample_store, monkeypatch):
    """The refresh takes the store's version and reads the rows in one state of the store.
    Read in separate transactions, a row committed between them (id above the snapshot's)
    was read by the patch but not counted in the version, so it made up for a row the patch
    cannot see (committed late below the largest id): the counts agreed, and the snapshot
    lacked that row under a version that counts it. Now the count check sees the gap."""
    import geo.snapshot

    store = sample_store
    top = _top(store)
    _commit_copy(store, top + 10)
    snapshot = load_snapshot(store)
    _commit_copy(store, top + 5)  # commits late, below the snapshot's largest id
    real = geo.snapshot._changed_count
    meanwhile: list[int] = []

    def another_batch_commits_meanwhile(*args, **kwargs):  # after the version, before the rows
        if not meanwhile:
            meanwhile.append(top + 20)
            _commit_copy(store, top + 20)
        return real(*args, **kwargs)

    monkeypatch.setattr(geo.snapshot, "_changed_count", another_batch_commits_meanwhile)
    patched = up_to_date(snapshot, store)
    assert meanwhile  # the commit did land inside the refresh
    assert top + 5 in set(patched.ids.tolist())
    # what the snapshot holds is the store at the version it names
    assert (len(patched), int(patched.ids[-1])) == patched.version[:2]
    monkeypatch.undo()
    pd.testing.assert_frame_equal(decoded(up_to_date(patched, store)), decoded(load_snapshot(store)))


def test_a_first_refresh_counts_the_incidents_once(sample_store, monkeypatch, tmp_path):
    """Without a snapshot (a new process, no file) the refresh is one full load, which
    reads the version with the rows; counting the incidents first as well cost a second
    count (a scan of the table on PostgreSQL) for nothing."""
    monkeypatch.setenv("GEO_SNAPSHOT_DIR", str(tmp_path / "none"))  # no file to start from
    counts: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        if "count(*) FROM incidents" in statement:
            counts.append(statement)

    event.listen(sample_store.engine, "before_cursor_execute", seen)
    try:
        loaded = up_to_date(None, sample_store)
    finally:
        event.remove(sample_store.engine, "before_cursor_execute", seen)
    assert len(counts) == 1
    pd.testing.assert_frame_equal(decoded(loaded), decoded(load_snapshot(sample_store)))
