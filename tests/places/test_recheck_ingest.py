"""Re-inspection results through ``python -m geo ingest`` (issue 12 §2) on a real SQLite
file and on PostGIS: every reason, balanced counts, a violation reopens the place, and a
file ingested twice adds nothing."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import func, select

from geo import services
from geo.cli import main
from geo.ingest.recheck import looks_like_results_file
from geo.store import batches
from geo.store import places as stored_places
from tests._store_data import NO_UPDATES, batch, incidents, ts

HOAN_KIEM = "00070"
LAT0, LON0 = 21.0340, 105.8500
M_LON = 111_320.0 * math.cos(math.radians(LAT0))

RESULTS = (
    "mã điểm,vĩ độ,kinh độ,ngày tái kiểm tra,kết quả,ghi chú\n"
    "1,,,2025-04-01,còn thông thoáng,ok\n"             # accepted (clear)
    f",{LAT0},{LON0 + 100 / M_LON + 3 / M_LON},02/04/2025,tái lấn chiếm,\n"  # 3 m from place 2
    "99,,,2025-04-01,thông thoáng,\n"                  # no_place
    "1,,,2025-02-01,thông thoáng,\n"                   # check_before_clear
    "1,,,2025-04-03,vi phạm?,\n"                       # bad_result
    "1,,,2099-01-01,thông thoáng,\n"                   # future_date
    f",{LAT0 + 0.01},{LON0},2025-04-01,thông thoáng,\n"  # no_place (1 km away)
    "1,,,2025-04-01,thông thoáng,\n"                   # duplicate of row 1
)


@pytest.fixture
def world(store, store_url, monkeypatch, tmp_path):
    cleared = {"status": "cleared", "ward_code": HOAN_KIEM, "lat": LAT0,
               "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 09:00")}  # fmt: skip
    batches.commit_batch(store, batch(), incidents([
        {**cleared, "lon": LON0}, {**cleared, "lon": LON0 + 100 / M_LON},
    ]), NO_UPDATES, actor="field")  # fmt: skip
    services.create_first_admin(store, "boss", "a-long-admin-password")
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    path = tmp_path / "ket_qua.csv"
    path.write_text(RESULTS, encoding="utf-8")
    return store, path


def count(store, table: str) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(store.tables[table])).scalar())


def ingest_json(capsys, *argv: str) -> dict:
    assert main(["ingest", *argv, "--json", "--user", "boss"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_results_file_is_recognised_and_every_row_decided(world, capsys):
    store, path = world
    summary = ingest_json(capsys, str(path))  # --kind auto: a result and a check-date column
    assert summary["kind"] == "recheck"
    assert (summary["rows"], summary["accepted"], summary["duplicate"], summary["rejected"]) == (8, 2, 1, 5)
    assert summary["reasons"] == {"no_place": 2, "check_before_clear": 1, "bad_result": 1, "future_date": 1}
    assert (summary["clear"], summary["violation"]) == (1, 1)
    checks = stored_places.inspections_frame(store)
    assert checks[["place_id", "result"]].values.tolist() == [[1, "clear"], [2, "violation"]]
    assert checks["note"].iloc[0] == "ok" and checks["note"].isna().iloc[1]
    assert set(checks["batch_id"]) == {summary["batch_id"]}
    timeline = stored_places.place_incidents_frame(store)
    assert timeline.query("place_id == 2")["status"].tolist() == ["recurred", "reported"]
    assert count(store, "incidents") == 3  # the violation opened one recurrence; clear adds none


def test_the_same_file_twice_adds_nothing(world, capsys):
    store, path = world
    ingest_json(capsys, str(path), "--kind", "recheck")
    before = {t: count(store, t) for t in ("incidents", "inspections", "status_events")}
    again = ingest_json(capsys, str(path), "--kind", "recheck")
    assert (again["accepted"], again["duplicate"]) == (0, 3)
    assert again["rows"] == again["accepted"] + again["duplicate"] + again["rejected"]
    assert {t: count(store, t) for t in before} == before


def test_a_dry_run_writes_nothing(world, capsys):
    store, path = world
    summary = ingest_json(capsys, str(path), "--dry-run")
    assert summary["accepted"] == 2 and summary["batch_id"] is None
    assert count(store, "inspections") == 0 and count(store, "incidents") == 2


@pytest.mark.parametrize("break_", ["\n", "\r\n", "\r", "\u2028"])
def test_a_results_header_with_a_cell_on_two_lines_is_still_recognised(break_):
    """A spreadsheet's header cell written on two lines (Alt+Enter: quoted, with a line
    break inside) before the result and check-date columns: the header is the first
    record, not the first physical line, so the file is still read as results."""
    head = (
        f'"mã điểm{break_}(ID)",vĩ độ,kinh độ,ngày tái kiểm tra,kết quả\n'
        "1,,,2025-04-01,còn thông thoáng\n"
    ).encode()
    assert looks_like_results_file("ket_qua.csv", head)
    assert not looks_like_results_file("ket_qua.csv", head.replace("kết quả".encode(), b"ghi chu"))
    assert not looks_like_results_file("ket_qua.csv", b"  \n")


def test_the_text_summary_names_each_rejected_row_in_both_languages(world, capsys):
    """At the terminal each reject reason reads in both languages beside its code, and each
    rejected row is named by its number, the column its reason is about (the place id when
    the row gives one, else the position; the result; the check date) and the value read
    there, Vietnamese then English."""
    _store, path = world
    assert main(["ingest", str(path), "--dry-run", "--user", "boss"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ket_qua.csv (thử / dry run) [tái kiểm tra / re-inspection]")
    assert "no_place (2): " in out and "future_date (1): ngày kiểm tra ở tương lai / the check is dated in the future" in out
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith("Dòng ")]
    assert lines == [
        "Dòng 3, cột “mã điểm”: không có điểm với mã này, hoặc không có điểm nào trong bán kính "
        "của vị trí ('99'). / Row 3, column 'mã điểm': no place with that id, or none within the "
        "radius of the position ('99').",
        "Dòng 4, cột “ngày tái kiểm tra”: ngày kiểm tra trước ngày điểm được xử lý lần đầu "
        "('2025-02-01'). / Row 4, column 'ngày tái kiểm tra': the check is dated before the place "
        "was first cleared ('2025-02-01').",
        "Dòng 5, cột “kết quả”: kết quả không đọc được ('vi phạm?'). / Row 5, column 'kết quả': "
        "a result word it does not know ('vi phạm?').",
        "Dòng 6, cột “ngày tái kiểm tra”: ngày kiểm tra ở tương lai ('2099-01-01'). / Row 6, "
        "column 'ngày tái kiểm tra': the check is dated in the future ('2099-01-01').",
        f"Dòng 7, cột “vĩ độ, kinh độ”: không có điểm với mã này, hoặc không có điểm nào trong "
        f"bán kính của vị trí ('{LAT0 + 0.01} | {LON0}'). / Row 7, column 'vĩ độ, kinh độ': no "
        f"place with that id, or none within the radius of the position ('{LAT0 + 0.01} | {LON0}').",
    ]
