"""The issue-12 commands on a real store (SQLite file and PostGIS): ``sustain --json``,
``reinspect`` in its four formats, ``places rebuild``, and the rights behind them.

Expected figures are worked out by hand from the definitions in the issue (Kaplan–Meier
with one event at day 10 among two spells, the other censored at its day-40 check).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from geo import services
from geo.cli import main
from geo.errors import AccessDenied
from geo.store import batches
from geo.store import places as stored_places
from tests._store_data import NO_UPDATES, batch, incidents, ts

LAT0, LON0 = 21.005, 105.805
#: Real ward codes (accounts are limited to wards of the official register).
WEST, EAST = "00070", "00199"
M_LON = 111_320.0 * math.cos(math.radians(LAT0))
KEYS = [
    "places", "spells", "retention_30", "retention_30_low", "retention_30_high",
    "retention_90", "retention_90_low", "retention_90_high", "median_days_clear",
    "recurrence_rate", "rechecked_share", "chronic_places", "campaign_flag",
]  # fmt: skip


def east_of(metres: float) -> float:
    return LON0 + metres / M_LON


@pytest.fixture
def world(store, store_url, monkeypatch):
    """Ward WEST: place 1 cleared 2 Mar, checked clear on day 40; place 2 cleared 2 Mar,
    reported again on day 10 (a recurrence). Ward EAST: place 3 cleared 2 Mar, unchecked."""
    cleared = {"status": "cleared", "reported_at": ts("2025-03-01 09:00"),
               "cleared_at": ts("2025-03-02 09:00"), "ward_code": WEST}  # fmt: skip
    batches.commit_batch(store, batch("a.csv"), incidents([
        {**cleared, "lon": LON0, "street": "Hàng Mã"},
        {**cleared, "lon": east_of(100), "street": "Hàng Mã"},
        {**cleared, "ward_code": EAST, "lon": 105.815, "street": "Hàng Bạc"},
    ], source="a.csv"), NO_UPDATES, actor="field")  # fmt: skip
    batches.commit_batch(store, batch("b.csv"), incidents(
        [{"lon": east_of(102), "ward_code": WEST, "reported_at": ts("2025-03-12 09:00")}],
        source="b.csv",
    ), NO_UPDATES, actor="field")  # fmt: skip
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    services.record_check(store, boss, 1, "còn thông thoáng", checked_at=ts("2025-04-11 09:00"))
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    return store, boss


def run_json(capsys, *argv: str) -> list[dict]:
    assert main([*argv, "--json", "--user", "boss"]) == 0
    return json.loads(capsys.readouterr().out)


def test_sustain_by_ward_gives_the_hand_computed_figures(world, capsys):
    rows = run_json(capsys, "sustain", "--by", "ward", "--from", "2025-03-01", "--to", "2025-12-31")
    assert [list(r) for r in rows] == [["ward_code", *KEYS]] * 2
    west, east = rows
    assert (west["ward_code"], east["ward_code"]) == (WEST, EAST)
    assert (west["places"], west["spells"]) == (2, 2)
    # KM: two at risk, an event at day 10 → 1/2; the other censored at day 40
    assert west["retention_30"] == pytest.approx(0.5, abs=1e-12)
    assert west["retention_90"] is None  # nobody followed past day 40: unknown, not 0.5
    assert 0 <= west["retention_30_low"] <= 0.5 <= west["retention_30_high"] <= 1
    assert west["median_days_clear"] == pytest.approx(10.0)
    assert west["recurrence_rate"] == 0.5  # place 2 has two episodes
    assert west["rechecked_share"] == 0.5  # place 1's check at day 40
    assert west["chronic_places"] == 0
    assert west["campaign_flag"] is True  # all in one 14-day span, retention 0.5 < 0.6
    # EAST: one spell, unchecked: censored at day 0, so nothing is known after it
    assert east["places"] == 1 and east["retention_30"] is None and east["median_days_clear"] is None
    assert east["rechecked_share"] == 0.0 and east["campaign_flag"] is None


def test_sustain_by_street_and_type_and_an_empty_window(world, capsys):
    streets = run_json(capsys, "sustain", "--by", "street")
    assert [r["street"] for r in streets] == ["Hàng Bạc", "Hàng Mã"]
    assert streets[1]["places"] == 2
    types = run_json(capsys, "sustain", "--by", "type")
    assert [(r["type"], r["spells"]) for r in types] == [("sidewalk", 3)]
    assert run_json(capsys, "sustain", "--from", "2026-01-01", "--to", "2026-01-31") == []


def read_due(path, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(path, encoding="utf-8-sig", dtype={"ward_code": str})
    if fmt == "xlsx":
        return pd.read_excel(path, dtype={"ward_code": str})
    if fmt == "geojson":
        data = json.loads(path.read_text(encoding="utf-8"))
        return pd.DataFrame([f["properties"] for f in data["features"]])
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    points = ET.parse(path).getroot().findall("g:wpt", ns)
    return pd.DataFrame({"lat": [float(p.get("lat")) for p in points]})


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson", "gpx"])
def test_reinspect_writes_the_due_places(world, tmp_path, capsys, fmt):
    out = tmp_path / f"due.{fmt}"
    # 12 March is day 10 after the clearance: the 7-day check is due for place 3 (EAST);
    # place 1 was checked on day 40, place 2 is open again
    assert main(["reinspect", "--ward", EAST, "--on", "2025-03-12", "--out", str(out),
                 "--user", "boss"]) == 0  # fmt: skip
    due = read_due(out, fmt)
    assert len(due) == 1
    if fmt != "gpx":
        row = due.iloc[0]
        assert int(row["place_id"]) == 3 and int(row["check_day"]) == 7
        assert int(row["days_since_clearance"]) == 10 and str(row["ward_code"]) == EAST
    assert main(["reinspect", "--on", "2025-03-05", "--out", str(out), "--user", "boss"]) == 0
    assert len(read_due(out, fmt)) == 0  # day 3: nothing due yet


def test_a_viewer_cannot_rebuild_and_an_officer_only_checks_in_their_ward(world, capsys):
    store, boss = world
    viewer = services.add_user(store, boss, "viewer1", "pw-viewer-0123456789", ["viewer"], [])
    officer = services.add_user(store, boss, "east_officer", "pw-officer-0123456789", ["officer"], [EAST])
    with pytest.raises(AccessDenied):
        services.rebuild_places(store, viewer)
    with pytest.raises(AccessDenied):
        services.record_check(store, officer, 1, "clear", checked_at=ts("2025-04-12 09:00"))
    services.record_check(store, officer, 3, "tái vi phạm", checked_at=ts("2025-03-20 09:00"))
    assert stored_places.place_incidents_frame(store).query("place_id == 3")["status"].tolist() == [
        "recurred", "reported"
    ]
    assert main(["places", "rebuild", "--user", "viewer1"]) == 2
    assert "rebuild" in capsys.readouterr().err
    assert main(["places", "rebuild", "--user", "boss"]) == 0
    assert "3" in capsys.readouterr().out
