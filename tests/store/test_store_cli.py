"""``python -m geo stats | export | status | backup | db`` against a store from GEO_DATABASE_URL."""

from __future__ import annotations

import json
import sqlite3

import pytest

from geo import services
from geo.cli import main
from geo.store import batches, open_store, queries
from geo.store import wards as stored_wards
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, ts, two_wards

PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
def cli_store(store_url, monkeypatch):
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    monkeypatch.delenv("GEO_USER", raising=False)
    store = open_store()
    stored_wards.ensure(store, two_wards())
    batches.commit_batch(store,
        batch(),
        incidents([
            {"ward_code": WEST, "note": "=1+1"},
            {"ward_code": EAST, "street": "Lý Thái Tổ", "reported_at": ts("2025-03-10 09:00")},
        ]),
        NO_UPDATES,
        actor="field1",
    )
    services.create_first_admin(store, "admin", PASSWORD)
    yield store
    store.close()


def test_stats_by_ward_street_and_week(cli_store, capsys):
    assert main(["stats", "--by", "ward", "--json", "--user", "admin"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["ward_code"], r["open"], r["new"]) for r in rows] == [(WEST, 1, 1), (EAST, 1, 1)]
    assert main(["stats", "--by", "ward", "--from", "2025-03-05", "--to", "2025-03-31", "--json", "--user", "admin"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["ward_code"], r["new"]) for r in rows] == [(WEST, 0), (EAST, 1)]
    assert main(["stats", "--by", "street", "--user", "admin"]) == 0
    assert "Lý Thái Tổ" in capsys.readouterr().out
    assert main(["stats", "--by", "week", "--to", "2025-03-16", "--json", "--user", "admin"]) == 0
    weeks = json.loads(capsys.readouterr().out)
    assert {w["iso_week"] for w in weeks} == {"2025-W10", "2025-W11"}


def test_status_moves_an_incident_and_refuses_bad_moves(cli_store, capsys):
    first = int(queries.incidents(cli_store)["id"].iloc[0])
    assert main(["status", str(first), "--to", "cleared", "--note", "đã dọn", "--user", "admin"]) == 0
    assert "reported → cleared" in capsys.readouterr().out
    history = queries.incident(cli_store, first).history
    assert history.iloc[-1][["to_status", "actor", "note"]].tolist() == ["cleared", "admin", "đã dọn"]
    assert main(["status", str(first), "--to", "verified", "--user", "admin"]) == 2
    err = capsys.readouterr().err
    assert "không thể chuyển" in err and "cannot move" in err
    assert main(["status", str(first), "--to", "recurred", "--user", "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err
    assert queries.incident(cli_store, first).incident["status"] == "cleared"


#: Backward moves (docs/storage.md "Workflow": never back), each from a state reached by
#: the allowed forward moves first.
BACKWARD = [
    (("verified",), "reported"),
    (("in_progress",), "verified"),
    (("cleared",), "reported"),
    (("cleared",), "in_progress"),
    (("cleared", "recurred"), "cleared"),
    (("cleared", "recurred"), "reported"),
]


@pytest.mark.parametrize(("forward", "back"), BACKWARD)
def test_status_refuses_every_backward_move(cli_store, capsys, forward, back):
    first = int(queries.incidents(cli_store)["id"].iloc[0])
    for state in forward:
        assert main(["status", str(first), "--to", state, "--user", "admin"]) == 0
    capsys.readouterr()
    events = len(queries.incident(cli_store, first).history)
    assert main(["status", str(first), "--to", back, "--user", "admin"]) == 2
    err = capsys.readouterr().err
    assert "không thể chuyển" in err and "cannot move" in err and back in err
    after = queries.incident(cli_store, first)
    assert after.incident["status"] == forward[-1]
    assert len(after.history) == events  # no event written


def test_export_and_backup(cli_store, tmp_path, capsys):
    out = tmp_path / "west.csv"
    assert main(["export", "--format", "csv", "--out", str(out), "--ward", WEST, "--user", "admin"]) == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and "Lý Thái Tổ" not in text
    capsys.readouterr()
    copy = tmp_path / "copy.backup"
    assert main(["backup", str(copy), "--user", "admin"]) == 0
    assert copy.exists() and copy.stat().st_size > 0
    if cli_store.backend.name != "postgis":
        raw = sqlite3.connect(copy)
        assert raw.execute("SELECT count(*) FROM incidents").fetchone() == (2,)
        raw.close()


def test_db_info(cli_store, capsys):
    assert main(["db", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backend"] == cli_store.backend.name and info["schema_version"] == 10
    assert info["rows"]["incidents"] == 2 and info["rows"]["users"] == 1


def test_stats_loads_geo_boundaries_into_an_empty_store(tmp_path, monkeypatch, capsys):
    layer = tmp_path / "wards.geojson"
    two_wards().to_file(layer, driver="GeoJSON")
    monkeypatch.setenv("GEO_BOUNDARIES", str(layer))
    monkeypatch.setenv("GEO_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    store = open_store()
    services.create_first_admin(store, "admin", PASSWORD)
    store.close()
    assert main(["stats", "--json", "--user", "admin"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["ward_code"], r["ward_name"]) for r in rows] == [(WEST, "Phường Tây"), (EAST, "Phường Đông")]
