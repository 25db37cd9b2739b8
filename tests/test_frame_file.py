"""geo._frame_file: a kept matrix or series is today's answer for the store as it is now.

Every expected frame is a fresh :mod:`geo.store.queries` computation on the same store;
the services (which keep their answers in files) must give exactly that, on the first
call, from the file, and after the store changes (a batch, a status move).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from geo import _frame_file, metrics, services, sustain, sustain_views
from geo.auth import User
from geo.ingest import ingest
from geo.sample import sample_incidents, write_sample
from geo.services import photos as photo_services
from geo.store import clearances, inspections, queries, workflow
from geo.store import photos as stored_photos
from geo.store import places as stored_places
from geo.store.photos import PhotoRecord
from tests.conftest import REPO

SAMPLE = REPO / "data" / "incidents" / "sample_incidents.csv"
ADMIN = User("frames", frozenset({"admin"}))

#: (service, domain read, arguments) — the reads that are kept on disk.
READS = [
    (services.week_counts, queries.week_counts, ()),
    (services.week_counts, queries.week_counts, (dt.date(2025, 2, 1), dt.date(2025, 4, 30))),
    (services.progress, queries.progress, ()),
    (services.progress, queries.progress, ("city", None, "W")),
    (services.progress, queries.progress, ("city", None, "D", dt.date(2025, 3, 1), dt.date(2025, 3, 31))),
    # per ward / street: kept only for a period that has ended
    (services.ward_stats, queries.ward_stats, (None, dt.date(2025, 3, 31))),
    (services.ward_stats, queries.ward_stats, (dt.date(2025, 2, 1), dt.date(2025, 3, 31))),
    (services.street_stats, queries.street_stats, (None, dt.date(2025, 3, 31))),
    # the recurrences chart (places), every stored instant being past
    (services.recurrence_counts, sustain_views.stored_recurrences, ("W",)),
    (services.recurrence_counts, sustain_views.stored_recurrences, ("D",)),
]


@pytest.fixture
def snapshot_dir(tmp_path, monkeypatch):
    folder = tmp_path / "frames"
    monkeypatch.setenv("GEO_SNAPSHOT_DIR", str(folder))
    return folder


@pytest.fixture
def sample_store(store, snapshot_dir):
    ingest(SAMPLE, store, actor="test")
    return store


def _frames(folder):
    return sorted(folder.glob("frame-*.parquet"))


def _assert_all_fresh(store) -> None:
    for service, domain, args in READS:
        pd.testing.assert_frame_equal(service(store, ADMIN, *args), domain(store, *args))


def test_first_call_kept_call_and_file_equal_the_computation(sample_store, snapshot_dir):
    _assert_all_fresh(sample_store)  # computed, written
    assert len(_frames(snapshot_dir)) == len(READS)
    _assert_all_fresh(sample_store)  # read from the files
    assert len(_frames(snapshot_dir)) == len(READS)  # no new file: every answer was found
    for path in _frames(snapshot_dir):
        assert _frame_file.read(path) is not None


def test_the_kept_file_is_what_is_served(sample_store, snapshot_dir):
    first = services.week_counts(sample_store, ADMIN)
    (path,) = _frames(snapshot_dir)
    doctored = first.assign(new=first["new"] + 1)
    _frame_file.write(doctored, path)
    pd.testing.assert_frame_equal(services.week_counts(sample_store, ADMIN), doctored)


def test_a_damaged_file_is_recomputed(sample_store, snapshot_dir):
    expected = queries.week_counts(sample_store)
    services.week_counts(sample_store, ADMIN)
    (path,) = _frames(snapshot_dir)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    assert _frame_file.read(path) is None
    pd.testing.assert_frame_equal(services.week_counts(sample_store, ADMIN), expected)


def test_a_batch_and_a_status_move_are_seen(sample_store, snapshot_dir, tmp_path):
    before = {i: service(sample_store, ADMIN, *args) for i, (service, _, args) in enumerate(READS)}
    reported = queries.incidents(sample_store)
    moved = int(reported.loc[reported["status"] == "reported", "id"].min())
    workflow.change_status(sample_store, moved, "cleared", actor="test")
    _assert_all_fresh(sample_store)
    assert not services.progress(sample_store, ADMIN).equals(before[2])  # one more cleared

    extra = write_sample(sample_incidents(40, seed=11), tmp_path / "extra.csv")
    assert ingest(extra, sample_store, actor="test").summary()["accepted"] == 40
    _assert_all_fresh(sample_store)
    assert not services.week_counts(sample_store, ADMIN).equals(before[0])


def _open_periods():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    return [(), (None, None), (dt.date(2025, 2, 1), tomorrow)]


def test_open_periods_are_kept_when_every_stored_instant_is_past(sample_store, snapshot_dir):
    layer = services.active_wards(sample_store)
    for _ in range(2):  # computed, then from the files
        for args in _open_periods():
            pd.testing.assert_frame_equal(services.ward_stats(sample_store, ADMIN, *args), queries.ward_stats(sample_store, *args))
            pd.testing.assert_frame_equal(services.street_stats(sample_store, ADMIN, *args), queries.street_stats(sample_store, *args))
        pd.testing.assert_frame_equal(
            services.ward_metrics(sample_store, ADMIN, layer), metrics.ward_metrics(
                queries.ward_stats(sample_store), layer, queries.ward_stats(sample_store, *metrics.week_window())
            )
        )
    # ward_stats: () and (None, None) are one question; street_stats: three; ward_metrics adds its week
    assert len(_frames(snapshot_dir)) == 2 + 3 + 1


def test_open_periods_are_not_kept_while_a_stored_instant_is_ahead(sample_store, snapshot_dir):
    t = sample_store.tables["incidents"]
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)  # an incident due in three days
    with sample_store.engine.begin() as conn:
        conn.execute(update(t).where(t.c.id == select(func.min(t.c.id)).scalar_subquery()).values(due_at=ahead))
    for args in _open_periods():
        pd.testing.assert_frame_equal(services.ward_stats(sample_store, ADMIN, *args), queries.ward_stats(sample_store, *args))
        pd.testing.assert_frame_equal(services.street_stats(sample_store, ADMIN, *args), queries.street_stats(sample_store, *args))
    assert _frames(snapshot_dir) == []  # "overdue" there moves with the clock
    services.ward_stats(sample_store, ADMIN, None, dt.date(2025, 3, 31))  # an ended period still is
    assert len(_frames(snapshot_dir)) == 1


def test_another_day_is_another_answer(sample_store, snapshot_dir, monkeypatch):
    services.progress(sample_store, ADMIN)
    monkeypatch.setattr(_frame_file, "_today", lambda: dt.date(2100, 1, 1))
    services.progress(sample_store, ADMIN)
    assert len(_frames(snapshot_dir)) == 2


def test_a_store_recreated_under_the_same_url_does_not_reuse_files(tmp_path, snapshot_dir):
    from geo.store import open_store

    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    first = open_store(url)
    ingest(SAMPLE, first, actor="test")
    services.week_counts(first, ADMIN)
    first.engine.dispose()
    (tmp_path / "again.sqlite").unlink()
    second = open_store(url)
    few = write_sample(sample_incidents(25, seed=3), tmp_path / "few.csv")
    ingest(few, second, actor="test")
    pd.testing.assert_frame_equal(services.week_counts(second, ADMIN), queries.week_counts(second))


def test_a_places_rebuild_is_seen(sample_store, snapshot_dir):
    from geo.store import places as stored_places

    first = services.recurrence_counts(sample_store, ADMIN, "W")
    (path,) = _frames(snapshot_dir)
    _frame_file.write(first.assign(recurrences=first["recurrences"] + 1), path)  # a stale answer
    stored_places.rebuild(sample_store, actor="test")
    pd.testing.assert_frame_equal(
        services.recurrence_counts(sample_store, ADMIN, "W"), sustain_views.stored_recurrences(sample_store, "W")
    )


# ----------------------------------------------------------------- Compare's sustained-order and photo figures

#: (keyword arguments) of the sustained-order measures Compare asks for: the open window
#: and a window that has ended.
SUSTAIN_ASKS = [
    {"by": "ward"},
    {"by": "ward", "date_from": pd.Timestamp("2025-02-01", tz="Asia/Ho_Chi_Minh"),
     "date_to": pd.Timestamp("2025-04-01", tz="Asia/Ho_Chi_Minh")},
    {"by": "type"},
]  # fmt: skip
SHARE_ASKS = [(), (dt.date(2025, 2, 1), dt.date(2025, 3, 31))]


def _assert_compare_fresh(store) -> None:
    for kwargs in SUSTAIN_ASKS:
        pd.testing.assert_frame_equal(
            services.sustain_measures(store, ADMIN, **kwargs), sustain.stored_measures(store, **kwargs)
        )
    for args in SHARE_ASKS:
        pd.testing.assert_frame_equal(photo_services.verified_share(store, ADMIN, *args), clearances.verified_share(store, *args))


def _a_cleared_place(store) -> tuple[int, pd.Timestamp]:
    """A place whose latest incident is cleared, and that clearance's instant."""
    incidents = stored_places.place_incidents_frame(store)
    last = incidents.sort_values("reported_at").groupby("place_id").tail(1)
    row = last[last["cleared_at"].notna()].iloc[0]
    return int(row["place_id"]), pd.Timestamp(row["cleared_at"])


def test_compare_figures_kept_then_fresh_after_a_check_a_photo_and_a_batch(sample_store, snapshot_dir, tmp_path):
    _assert_compare_fresh(sample_store)  # computed, written: every stored instant is months past
    kept = len(_frames(snapshot_dir))
    assert kept == len(SUSTAIN_ASKS) + len(SHARE_ASKS)
    _assert_compare_fresh(sample_store)  # from the files
    assert len(_frames(snapshot_dir)) == kept
    before = services.sustain_measures(sample_store, ADMIN, by="ward")

    place, cleared = _a_cleared_place(sample_store)  # a "clear" re-inspection: no incident audited
    inspections.record_inspection(sample_store, place, checked_at=cleared + pd.Timedelta(days=40),
                                  result="clear", actor="test")  # fmt: skip
    _assert_compare_fresh(sample_store)
    assert not services.sustain_measures(sample_store, ADMIN, by="ward").equals(before)

    shares = photo_services.verified_share(sample_store, ADMIN)
    cleared_id = int(queries.incidents(sample_store).query("status == 'cleared'")["id"].min())
    stored_photos.attach(sample_store, [PhotoRecord(cleared_id, "after", "e" * 64)], actor="test")
    _assert_compare_fresh(sample_store)
    assert photo_services.verified_share(sample_store, ADMIN)["verified"].sum() == shares["verified"].sum() + 1

    extra = write_sample(sample_incidents(40, seed=12), tmp_path / "extra.csv")
    assert ingest(extra, sample_store, actor="test").summary()["accepted"] == 40
    _assert_compare_fresh(sample_store)


def test_a_kept_measure_is_what_is_served_until_a_check(sample_store, snapshot_dir):
    first = services.sustain_measures(sample_store, ADMIN, by="ward")
    (path,) = _frames(snapshot_dir)
    doctored = first.assign(spells=first["spells"] + 1)
    _frame_file.write(doctored, path)
    pd.testing.assert_frame_equal(services.sustain_measures(sample_store, ADMIN, by="ward"), doctored)
    place, cleared = _a_cleared_place(sample_store)
    inspections.record_inspection(sample_store, place, checked_at=cleared + pd.Timedelta(days=5),
                                  result="clear", actor="test")  # fmt: skip
    pd.testing.assert_frame_equal(
        services.sustain_measures(sample_store, ADMIN, by="ward"), sustain.stored_measures(sample_store, by="ward")
    )


def test_measures_are_not_kept_while_a_clearance_is_under_30_days_old(sample_store, snapshot_dir):
    reported = queries.incidents(sample_store)
    moved = int(reported.loc[reported["status"] == "reported", "id"].min())
    workflow.change_status(sample_store, moved, "cleared", actor="test")  # cleared now
    pd.testing.assert_frame_equal(
        services.sustain_measures(sample_store, ADMIN, by="ward"), sustain.stored_measures(sample_store, by="ward")
    )
    assert _frames(snapshot_dir) == []  # in 30 days it counts as "old enough to be re-inspected"


def patched(store) -> int:
    """1 where the figures take the snapshot (SQLite), 0 where they run SQL (PostgreSQL)."""
    return 1 if store.backend.name == "sqlite" else 0


def test_figures_summed_over_the_snapshot_are_the_same_answer_kept_once(sample_store, snapshot_dir):
    """The per-ward figures summed over the map's snapshot (what the pages ask for) equal
    the SQL ones, are kept under the same file, and the snapshot is taken only when no
    file answers, and only where it is patched cheaply (SQLite; PostgreSQL's aggregates
    run in the server); after a status move the snapshot gives the moved figures."""
    from geo.snapshot import load_snapshot

    taken: list[int] = []

    def snapshot():
        taken.append(1)
        return load_snapshot(sample_store)

    ended = (dt.date(2025, 2, 1), dt.date(2025, 3, 31))
    first = services.ward_stats(sample_store, ADMIN, *ended, snapshot=snapshot)
    pd.testing.assert_frame_equal(first, queries.ward_stats(sample_store, *ended))
    assert len(taken) == patched(sample_store) and len(_frames(snapshot_dir)) == 1
    pd.testing.assert_frame_equal(services.ward_stats(sample_store, ADMIN, *ended), first)  # the SQL caller reads it
    services.ward_stats(sample_store, ADMIN, *ended, snapshot=snapshot)
    assert len(taken) == patched(sample_store) and len(_frames(snapshot_dir)) == 1  # by the file

    reported = queries.incidents(sample_store)
    placed = reported[(reported["status"] == "reported") & reported["ward_code"].notna()]
    first_id, second_id = sorted(placed["id"].astype(int))[:2]
    before = queries.ward_stats(sample_store)
    workflow.change_status(sample_store, first_id, "cleared", actor="test")
    held = load_snapshot(sample_store)  # a snapshot from before the next move ...
    workflow.change_status(sample_store, second_id, "cleared", actor="test")
    now = (None, None)
    moved = services.ward_stats(sample_store, ADMIN, *now, snapshot=lambda: held)  # ... is brought up to date
    pd.testing.assert_frame_equal(moved, queries.ward_stats(sample_store, *now))
    assert int(moved["cleared"].sum()) == int(before["cleared"].sum()) + 2  # both moves are in it


def test_the_matrix_and_series_over_the_snapshot_are_the_same_answers_kept_once(sample_store, snapshot_dir):
    from geo.snapshot import load_snapshot

    taken: list[int] = []

    def snapshot():
        taken.append(1)
        return load_snapshot(sample_store)

    reads = [(services.week_counts, queries.week_counts, ()), (services.progress, queries.progress, ("city", None, "W"))]
    for service, read, args in reads:
        pd.testing.assert_frame_equal(service(sample_store, ADMIN, *args, snapshot=snapshot), read(sample_store, *args))
    assert len(taken) == 2 * patched(sample_store) and len(_frames(snapshot_dir)) == 2
    for service, read, args in reads:  # from the files, by either caller
        pd.testing.assert_frame_equal(service(sample_store, ADMIN, *args), read(sample_store, *args))
        pd.testing.assert_frame_equal(service(sample_store, ADMIN, *args, snapshot=snapshot), read(sample_store, *args))
    assert len(taken) == 2 * patched(sample_store) and len(_frames(snapshot_dir)) == 2
