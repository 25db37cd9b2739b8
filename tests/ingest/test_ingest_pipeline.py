"""Row outcomes, flags, identity, repeats, workflow moves, rejects, limits and the CLI."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from geo.errors import IngestError, LimitExceeded
from geo.ingest import IngestLimits, IngestOptions, commit, ingest, preview
from geo.store import open_store, queries
from geo.store import wards as stored_wards
from tests._files import HEADER, ROWS, csv_text

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def db(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield store
    store.close()


def write(tmp_path, name, rows, header=HEADER):
    path = tmp_path / name
    path.write_text(csv_text(rows, header), encoding="utf-8")
    return path


def balanced(summary):
    return summary["accepted"] + summary["duplicate"] + summary["rejected"] == summary["rows"]


def test_outcomes_flags_and_messages(db, tmp_path, wards):
    rows = [list(r) for r in ROWS]
    rows += [
        ["S-1", 105.8490, 21.0365, "Đỗ xe", "", "08/07/2025", "", "", ""],  # swapped
        ["O-1", 10.7769, 106.7009, "Đỗ xe", "", "08/07/2025", "", "", ""],  # Sài Gòn
        ["M-1", 21.0365, 105.8490, "Rác thải", "", "08/07/2025", "", "Phường Láng", ""],
        ["B-1", "", 105.8490, "Đỗ xe", "", "08/07/2025", "", "", ""],
        ["B-2", "21.0365", "105.8490", "Đỗ xe", "chờ trời sáng", "08/07/2025", "", "", ""],
        ["B-3", "abc", "105.8490", "Đỗ xe", "", "08/07/2025", "", "", ""],
        ["B-4", "21.0365", "105.8490", "Đỗ xe", "", "", "", "", ""],
        ["HK-1", 21.0365, 105.8490, "Lấn chiếm vỉa hè", "chưa xử lý", "05/07/2025", "", "", ""],
    ]
    p = preview(write(tmp_path, "mixed.csv", rows), IngestOptions(wards=wards), store=db)
    s = p.summary()
    assert (s["rows"], s["accepted"], s["duplicate"], s["rejected"]) == (11, 6, 1, 4)
    assert s["flags"]["swapped_lat_lon"] == 1
    assert s["flags"]["outside"] == 1
    assert s["flags"]["ward_mismatch"] == 1
    assert s["reasons"] == {"missing_coordinates": 1, "unknown_status": 1,
                            "bad_coordinates": 1, "missing_date": 1}  # fmt: skip
    by_row = p.rows.set_index("row")
    assert by_row.loc[4, "lat"] == pytest.approx(21.0365)  # swapped back
    assert by_row.loc[4, "ward_code"] == "00070"
    assert pd.isna(by_row.loc[5, "ward_code"]) and "outside" in by_row.loc[5, "flags"]
    # a row's flags: their names sorted and joined by commas (no street outside Hà Nội)
    assert by_row.loc[5, "flags"] == "no_street,outside"
    assert by_row.loc[11, "outcome"] == "duplicate" and by_row.loc[11, "duplicate_of_row"] == 1
    assert by_row.loc[8, "message_vi"] == (
        "Dòng 8, cột “Trạng thái”: trạng thái không nhận ra (chưa xử lý, đã xác minh, "
        "đang xử lý, đã xử lý, tái phạm) ('chờ trời sáng')."
    )
    assert by_row.loc[8, "message_en"].startswith("Row 8, column 'Trạng thái': unknown status")
    assert by_row.loc[9, "message_en"] == (
        "Row 9, column 'Vĩ độ, Kinh độ': the coordinates cannot be read ('abc | 105.8490')."
    )
    # The pre-2025 name "Phường Hàng Mã, Quận Hoàn Kiếm" agrees with the point: no flag.
    assert by_row.loc[2, "flags"] == ""
    # Writing the preview changes nothing until commit.
    assert db.row_counts()["incidents"] == 0
    result = commit(p, db, actor="officer")
    assert result.batch_id is not None
    assert db.row_counts()["incidents"] == 6


def test_strict_rejects_outside_points(db, tmp_path, wards):
    rows = [["O-1", 10.7769, 106.7009, "Đỗ xe", "", "08/07/2025", "", "", ""]]
    path = write(tmp_path, "hcm.csv", rows)
    assert preview(path, IngestOptions(wards=wards)).summary()["accepted"] == 1
    strict = preview(path, IngestOptions(wards=wards, strict=True)).summary()
    assert strict["rejected"] == 1 and strict["reasons"] == {"outside_jurisdiction": 1}


def test_swap_only_when_it_lands_inside(db, tmp_path, wards):
    # Swapped, the point would be (lat 105.8, lon 10.7): still nowhere. Keep and flag outside.
    rows = [["X-1", 10.7769, 105.8, "Đỗ xe", "", "08/07/2025", "", "", ""]]
    p = preview(write(tmp_path, "x.csv", rows), IngestOptions(wards=wards))
    assert p.summary()["flags"]["swapped_lat_lon"] == 0
    assert p.rows["lat"].iloc[0] == pytest.approx(10.7769)


def test_reingest_same_file_adds_nothing(store, tmp_path, wards):
    path = write(tmp_path, "same.csv", ROWS)
    first = ingest(path, store, IngestOptions(wards=wards), actor="a").summary()
    before = store.row_counts()
    second = ingest(path, store, IngestOptions(wards=wards), actor="a").summary()
    assert first["accepted"] == 3
    assert second["accepted"] == 0
    assert second["duplicate"] == first["accepted"]
    assert second["status_updates"] == 0
    after = store.row_counts()
    assert after["incidents"] == before["incidents"] == 3
    assert after["batches"] == before["batches"] + 1  # the second batch is still recorded


def test_same_incident_in_two_files_is_stored_once(db, tmp_path, wards):
    # A file without ids, then a renamed copy of it (another file name, so another source):
    # rows without an id are recognised by their fingerprints, whatever their source.
    header = HEADER[1:]
    rows = [r[1:] for r in ROWS]
    ingest(write(tmp_path, "team_a.csv", rows[:2], header), db, IngestOptions(wards=wards), actor="a")
    s = ingest(
        write(tmp_path, "team_a (1).csv", rows, header), db,
        IngestOptions(wards=wards),
        actor="b",
    ).summary()
    assert (s["accepted"], s["duplicate"]) == (1, 2)
    assert db.row_counts()["incidents"] == 3


def test_later_status_moves_the_incident(db, tmp_path, wards):
    ingest(
        write(tmp_path, "july.csv", ROWS), db,
        IngestOptions(source="hk", wards=wards),
        actor="a",
    )
    later = [list(r) for r in ROWS]
    later[0][4] = "đã xử lý"  # reported → cleared
    later[1][4] = "chưa xử lý"  # in progress → reported would go backwards: ignored
    p = preview(
        write(tmp_path, "august.csv", later),
        IngestOptions(source="hk", wards=wards),
        store=db,
    )
    s = p.summary()
    assert (s["accepted"], s["duplicate"], s["status_updates"]) == (0, 3, 1)
    commit(p, db, actor="b")
    stored = queries.incidents(db).sort_values("source_row")
    assert stored["status"].tolist() == ["cleared", "in_progress", "cleared"]
    first_id = int(stored["id"].iloc[0])
    history = queries.incident(db, first_id).history
    assert history["to_status"].tolist()[-1] == "cleared"
    assert len(history) == 2


def test_status_change_inside_one_file(db, tmp_path, wards):
    rows = [list(ROWS[0]), list(ROWS[0])]
    rows[1][4] = "đã xử lý"
    path = write(tmp_path, "twice.csv", rows)
    s = ingest(path, db, IngestOptions(wards=wards), actor="a").summary()
    assert (s["accepted"], s["duplicate"]) == (1, 1)
    assert queries.incidents(db)["status"].tolist() == ["cleared"]


def test_rejects_file_keeps_original_columns(db, tmp_path, wards):
    rows = [list(r) for r in ROWS]
    rows[1][1] = "không rõ"
    rows[1][8] = "=HYPERLINK(\"http://x\")"  # goes back to a spreadsheet: must stay inert
    path = write(tmp_path, "r.csv", rows)
    p = preview(path, IngestOptions(wards=wards))
    out = p.write_rejects(tmp_path / "rejects.csv")
    back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert back.columns.tolist() == ["row", "reason", "field", "message_vi", "message_en", *HEADER]
    assert back["row"].tolist() == ["2"]
    assert back["reason"].tolist() == ["bad_coordinates"]
    assert back["Vĩ độ"].tolist() == ["không rõ"]
    assert back["Ghi chú"].tolist() == ["'=HYPERLINK(\"http://x\")"]


def test_rejects_file_neutralises_hostile_column_names(tmp_path, wards):
    """The rejected rows go back to the team's spreadsheet with the file's own column
    names: a name that reads as a formula is made inert there like any cell."""
    import csv
    import io

    from tests._hostile import HOSTILE_HEADERS, inert

    rows = [[*r, *(f"v{i}" for i in range(len(HOSTILE_HEADERS)))] for r in ROWS]
    rows[1][1] = "không rõ"
    buf = io.StringIO()
    csv.writer(buf).writerows([HEADER + HOSTILE_HEADERS, *rows])
    path = tmp_path / "hostile_names.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    p = preview(path, IngestOptions(wards=wards))
    assert p.summary()["rejected"] == 1
    for data in (p.rejects_csv(), p.write_rejects(tmp_path / "rej.csv").read_bytes()):
        header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert inert(header), header
        assert header[:14] == ["row", "reason", "field", "message_vi", "message_en", *HEADER]
        # the reader trims the blanks around a name ("\t=1+1" is read as "=1+1")
        assert header[14:] == ["'" + h.strip() for h in HOSTILE_HEADERS]
        assert row[14:] == [f"v{i}" for i in range(len(HOSTILE_HEADERS))]


def test_no_coordinate_columns_is_a_file_error(tmp_path, wards):
    path = write(tmp_path, "nocoords.csv", [("a", "b")], header=["loại", "ghi chú"])
    with pytest.raises(IngestError, match="no coordinate columns"):
        preview(path, IngestOptions(wards=wards))


@pytest.mark.parametrize("rows", [[("1", "2", "3")], []], ids=["with rows", "header only"])
def test_no_coordinates_names_the_files_own_columns(tmp_path, wards, rows):
    """The message lists the headers as the file writes them, in both languages, so the
    person sees what to rename: it listed only recognised columns by internal role code
    ('type=loại vi phạm'), and '-' for a file none of whose headers meant anything."""
    path = write(tmp_path, "bang.csv", rows, header=["Số nhà", "loại vi phạm", "X"])
    with pytest.raises(IngestError) as raised:
        preview(path, IngestOptions(wards=wards))
    assert raised.value.message_vi.startswith("bang.csv: không tìm thấy cột toạ độ")
    assert raised.value.message_vi.endswith("Các cột trong tệp: Số nhà, loại vi phạm, X.")
    assert raised.value.message_en.endswith("The file's columns: Số nhà, loại vi phạm, X.")
    assert "type=" not in raised.value.bilingual


def test_limits(tmp_path, wards, monkeypatch):
    path = write(tmp_path, "l.csv", ROWS)
    with pytest.raises(LimitExceeded, match="rows"):
        preview(path, IngestOptions(wards=wards, limits=IngestLimits(max_rows=2)))
    with pytest.raises(LimitExceeded, match="bytes"):
        preview(path, IngestOptions(wards=wards, limits=IngestLimits(max_bytes=100)))
    # One cell over the length limit rejects its row, not the file (issue 11 §6): rows 1
    # and 2 have a 16-character type ("Lấn chiếm vỉa hè", "Mái che, mái vảy"), row 3's
    # longest cell has 14.
    p = preview(path, IngestOptions(wards=wards, limits=IngestLimits(max_cell_chars=15)))
    rows = p.rows.set_index("row")
    assert rows["outcome"].tolist() == ["rejected", "rejected", "accepted"]
    assert rows.loc[1, "reason"] == "cell_too_long" and rows.loc[1, "field"] == "Loại vi phạm"
    assert rows.loc[2, "message_en"].startswith(
        "Row 2, column 'Loại vi phạm': a cell is longer than the character limit"
    )
    assert rows.loc[2, "message_vi"].startswith("Dòng 2, cột “Loại vi phạm”: một ô dài hơn")
    monkeypatch.setenv("GEO_INGEST_MAX_ROWS", "1")
    assert IngestLimits.from_env().max_rows == 1
    with pytest.raises(LimitExceeded):
        preview(path, IngestOptions(wards=wards))


def _cli(args, tmp_path, db_path):
    from tests._signin import ensure_account

    url = f"sqlite:///{db_path}"
    env = dict(os.environ, GEO_DATABASE_URL=url)
    if "--user" not in args:  # the CLI acts as a real account with the upload right
        args = [*args, "--user", ensure_account(url, "field")]
    return subprocess.run(
        [sys.executable, "-m", "geo", "ingest", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_cli_json_rejects_and_dry_run(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[2][5] = "hôm qua"
    path = write(tmp_path, "cli.csv", rows)
    db_path = tmp_path / "cli.sqlite"
    dry = _cli([str(path), "--json", "--dry-run"], tmp_path, db_path)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] is True
    nobody = _cli([str(path), "--json", "--user", "to_truong"], tmp_path, db_path)
    assert nobody.returncode == 2 and "to_truong" in nobody.stderr  # no such account
    from tests._signin import ensure_account

    field_user = ensure_account(f"sqlite:///{db_path}", "field")
    done = _cli([str(path), "--json", "--rejects", str(tmp_path / "rej.csv"),
                 "--user", field_user, "--source", "hk"], tmp_path, db_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["accepted"], summary["rejected"]) == (2, 1)
    assert set(summary["flags"]) == {"outside", "snapped", "swapped_lat_lon", "ward_mismatch",
                                     "no_street", "date_from_file", "cleared_unverified"}  # fmt: skip
    assert summary["batch_id"] is not None
    rejected_csv = (tmp_path / "rej.csv").read_text(encoding="utf-8-sig")
    assert rejected_csv.count("bad_date") == 1
    store = open_store(f"sqlite:///{db_path}")
    try:
        counts = store.row_counts()
        assert counts["incidents"] == 2 and counts["batches"] == 1  # the dry run stored nothing
        with store.read() as conn:
            batch = conn.exec_driver_sql(
                "SELECT file_name, sha256, actor, counts FROM batches"
            ).one()
        assert batch[0] == "cli.csv"
        assert batch[1] == summary["sha256"] and len(batch[1]) == 64
        assert batch[2] == field_user
        assert json.loads(batch[3])["rejected"] == 1
    finally:
        store.close()
    missing = _cli([str(tmp_path / "nope.csv")], tmp_path, db_path)
    assert missing.returncode == 2
    assert "Cannot read the file" in missing.stderr


def _count_calls(monkeypatch, fn):
    """Calls of ``fn``, wherever a ``geo`` module holds it (a name imported elsewhere too)."""
    calls = []

    @functools.wraps(fn)
    def counted(*args, **kwargs):
        calls.append(args)
        return fn(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if name == "geo" or name.startswith("geo."):
            for attr, value in list(vars(module).items()):
                if value is fn:
                    monkeypatch.setattr(module, attr, counted)
    return calls


@pytest.fixture
def counted(monkeypatch):
    """(classify calls, check_bytes calls) during the test."""
    from geo.ingest import pipeline

    sizes = []
    check_bytes = IngestLimits.check_bytes

    def counted_check_bytes(self, size, file_name):
        sizes.append(size)
        return check_bytes(self, size, file_name)

    monkeypatch.setattr(IngestLimits, "check_bytes", counted_check_bytes)
    return _count_calls(monkeypatch, pipeline.classify), sizes


def test_one_upload_classifies_once_and_checks_the_size_once(
    store_url, tmp_path, wards, counted, monkeypatch
):
    from geo import services
    from geo.cli import main
    from tests._signin import ensure_account

    classified, sized = counted
    user = ensure_account(store_url, "field")
    store = open_store(store_url)
    try:
        stored_wards.ensure(store, wards)
        actor = services.load_user(store, user)
        # The upload page: preview, then (on a later rerun) commit.
        data = csv_text(ROWS, HEADER).encode()
        p = services.preview_upload(store, actor, data, IngestOptions(file_name="page.csv"))
        assert (len(classified), len(sized)) == (1, 1)
        done = services.commit_upload(store, actor, p)
        assert (len(classified), len(sized)) == (1, 1)
        assert done.summary()["accepted"] == 3
        # geo.ingest.ingest, as the benchmarks and the seed call it.
        again = write(tmp_path, "again.csv", ROWS)
        options = IngestOptions(source="page", wards=wards)  # the page's ids, the page's source
        assert ingest(again, store, options, actor=user).summary()["duplicate"] == 3
        assert (len(classified), len(sized)) == (2, 2)
    finally:
        store.close()
    # The CLI, in this process: python -m geo ingest FILE.
    path = write(tmp_path, "cli.csv", [[f"C{r[0]}", *r[1:]] for r in ROWS])
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    assert main(["ingest", str(path), "--json", "--user", user]) == 0
    assert (len(classified), len(sized)) == (3, 3)
    assert sized == [len(data), again.stat().st_size, path.stat().st_size]


def test_commit_classifies_again_only_when_the_store_changed(db, tmp_path, wards, counted):
    classified, _ = counted
    path = write(tmp_path, "same.csv", ROWS)
    options = IngestOptions(source="hk", wards=wards)  # one source: the ids are one team's
    waiting = preview(path, options, store=db)
    quiet = preview(write(tmp_path, "other.csv", ROWS[:1]), options, store=db)
    assert len(classified) == 2
    commit(quiet, db, "first")  # nothing written since its preview: no second lookup
    assert len(classified) == 2
    result = commit(waiting, db, "late")  # the first commit stored one of its rows
    assert len(classified) == 3
    assert (result.summary()["accepted"], result.summary()["duplicate"]) == (2, 1)


def test_cli_text_names_each_rejected_row_in_both_languages(tmp_path, monkeypatch, capsys):
    """The text summary an officer reads at the terminal gives each reject reason in words
    of both languages beside its code (the codes alone, ``bad_date 1``, told them nothing),
    then each rejected row's message: Vietnamese, then English, naming row, column and value;
    past 20 rows it says how many more and where they all go (``--rejects``)."""
    from geo.cli import main as cli

    monkeypatch.setenv("GEO_DATABASE_URL", f"sqlite:///{tmp_path / 'text.sqlite'}")
    monkeypatch.setenv("GEO_USER", "boss")
    from geo import services

    store = open_store(f"sqlite:///{tmp_path / 'text.sqlite'}")
    services.create_first_admin(store, "boss", "a-long-admin-password")
    store.close()
    rows = [list(r) for r in ROWS]
    rows[1][5] = "hôm qua"  # row 2: the date cannot be read
    rows[2][1] = "abc"  # row 3: the latitude cannot be read
    path = write(tmp_path, "doi_3.csv", rows)
    assert cli(["ingest", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("doi_3.csv (thử / dry run)")
    assert "bad_date (1): không đọc được ngày" in out and "/ the date cannot be read" in out
    assert "bad_coordinates (1): không đọc được toạ độ / the coordinates cannot be read" in out
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("Dòng 2, cột “Ngày phát hiện”: không đọc được ngày") and
               "/ Row 2, column 'Ngày phát hiện': the date cannot be read" in line and
               "('hôm qua')" in line for line in lines), out  # fmt: skip
    assert any(line.startswith("Dòng 3, cột “Vĩ độ, Kinh độ”: không đọc được toạ độ ('abc | 105.8487').")
               and line.endswith("Row 3, column 'Vĩ độ, Kinh độ': the coordinates cannot be read ('abc | 105.8487').")
               for line in lines), out  # fmt: skip
    many = [[f"B-{i}", "", "105.8490", "Đỗ xe", "", "08/07/2025", "", "", ""] for i in range(25)]
    assert cli(["ingest", str(write(tmp_path, "nhieu.csv", many)), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert sum(line.strip().startswith("Dòng ") for line in out.splitlines()) == 20
    assert "Dòng 20, cột" in out and "Dòng 21, cột" not in out
    assert "… và 5 dòng nữa" in out and "… and 5 more rows (--rejects FILE writes them all)" in out
