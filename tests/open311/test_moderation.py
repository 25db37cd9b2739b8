"""Moderating residents' reports: rights, the three decisions, audit, CLI; both backends.

Rules (issue 14): an officer moderates only their own wards' reports, an admin every
ward; accept makes a new incident (status reported, source open311), merge attaches the
report to an existing incident, reject needs a public reason; every decision is in the
audit log; duplicates offered are open incidents of the same type within 30 m. API keys
are an admin's; ``apikeys add`` prints the key alone on the last line.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from sqlalchemy import text

from geo import services
from geo.cli import main
from geo.errors import AccessDenied, InvalidArgument, NotFound, WorkflowError
from geo.services import reports as moderation
from geo.store import batches, chain, queries
from geo.store import reports as stored
from geo.store.public_notes import PUBLIC_NOTE_CHARS
from tests._open311 import HOAN_KIEM, IN_HOAN_KIEM, IN_LANG, LANG, prepare_store

_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
_TO_LL = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)


def _moved(lat: float, lon: float, east_m: float) -> tuple[float, float]:
    """The point ``east_m`` metres east of (lat, lon), measured in UTM 48N."""
    x, y = _TO_M.transform(lon, lat)
    new_lon, new_lat = _TO_LL.transform(x + east_m, y)
    return float(new_lat), float(new_lon)


@pytest.fixture
def world(store_url, store):
    key, users = prepare_store(store_url)
    key_id = stored.active_key(store, key)
    assert key_id is not None
    return store, users, key_id[0]


def _report(store, key_id: int, where=IN_HOAN_KIEM, ward=HOAN_KIEM, code="sidewalk", device="d1") -> int:
    received = stored.receive(store, stored.NewReport(
        service_code=code, lat=where[0], lon=where[1], ward_code=ward, address=None,
        description="mô tả", media_url=None, api_key_id=key_id, contact={"device_id": device},
    ), actor="apikey:test")
    return received.report_id


def _audit_actions(store) -> list[tuple[str, str, str]]:
    log = queries.audit_log(store)
    return list(zip(log["actor"], log["action"], log["object_id"].astype(str), strict=True))


def test_an_officer_moderates_only_their_own_wards(world):
    store, users, key_id = world
    hk = _report(store, key_id)
    lang = _report(store, key_id, IN_LANG, LANG, device="d2")
    officer = users["officer_hk"]
    assert list(moderation.list_reports(store, officer)["id"]) == [hk]
    assert set(moderation.list_reports(store, users["admin"])["id"]) == {hk, lang}
    with pytest.raises(AccessDenied):
        moderation.list_reports(store, officer, ward=LANG)
    with pytest.raises(AccessDenied):
        moderation.list_reports(store, users["viewer"])
    with pytest.raises(AccessDenied):
        moderation.accept_report(store, officer, lang)
    assert ("officer_hk", "denied", str(lang)) in _audit_actions(store)
    assert stored.report(store, lang)["status"] == "pending"
    incident = moderation.accept_report(store, users["officer_lang"], lang)
    assert stored.report(store, lang)["incident_id"] == incident


def test_accept_merge_reject_and_their_audit(world):
    store, users, key_id = world
    officer = users["officer_hk"]
    first, second, third = (_report(store, key_id, device=f"dev{i}") for i in range(3))
    incident = moderation.accept_report(store, officer, first)
    row = queries.incident(store, incident).incident
    assert (row["source"], row["status"], row["ward_code"], row["type"]) == ("open311", "reported", HOAN_KIEM, "sidewalk")
    assert (row["lat"], row["lon"]) == IN_HOAN_KIEM
    moderation.merge_report(store, officer, second, incident)
    with pytest.raises(InvalidArgument):
        moderation.reject_report(store, officer, third, "   ")
    moderation.reject_report(store, officer, third, "Không thuộc trật tự đô thị")
    assert [stored.report(store, i)["status"] for i in (first, second, third)] == ["accepted", "merged", "rejected"]
    assert stored.report(store, third)["public_reason"] == "Không thuộc trật tự đô thị"
    actions = _audit_actions(store)
    for action, report_id in (("report_accepted", first), ("report_merged", second), ("report_rejected", third)):
        assert ("officer_hk", action, str(report_id)) in actions
    assert all(s.ok for s in chain.verify(store))  # the history and the audit log still chain
    with pytest.raises(WorkflowError):
        moderation.accept_report(store, officer, first)  # once only
    fourth = _report(store, key_id, device="dev4")
    with pytest.raises(NotFound):
        moderation.merge_report(store, officer, fourth, 987654)
    assert stored.report(store, fourth)["status"] == "pending"


def _public_note(store, incident_id: int):
    (row,) = stored.service_requests(store, stored.RequestQuery(ids=(int(incident_id),)))
    return row["public_note"]


def test_public_notes_are_set_when_moderating_and_moving_on_and_audited(world, store_url, capsys):
    store, users, key_id = world
    officer = users["officer_hk"]
    first, second, third = (_report(store, key_id, device=f"pn{i}") for i in range(3))
    incident = moderation.accept_report(store, officer, first, "Đã tiếp nhận, sẽ kiểm tra")
    assert _public_note(store, incident) == "Đã tiếp nhận, sẽ kiểm tra"
    moderation.merge_report(store, officer, second, incident)  # no note: the note stays
    assert _public_note(store, incident) == "Đã tiếp nhận, sẽ kiểm tra"
    too_long = "x" * (PUBLIC_NOTE_CHARS + 1)
    with pytest.raises(InvalidArgument, match="công khai"):
        moderation.merge_report(store, officer, third, incident, too_long)
    assert stored.report(store, third)["status"] == "pending"  # nothing half-written
    services.change_status(store, officer, incident, "verified", "nội bộ: chủ quán quen")
    assert _public_note(store, incident) == "Đã tiếp nhận, sẽ kiểm tra"  # internal note only
    services.change_status(store, officer, incident, "in_progress", public_note="  Đang xử lý  ")
    assert _public_note(store, incident) == "Đang xử lý"
    assert main(["status", str(incident), "--to", "cleared", "--note", "biên bản 7",
                 "--public-note", "Đã dọn xong", "--user", "officer_hk", "--database", store_url]) == 0
    capsys.readouterr()
    assert _public_note(store, incident) == "Đã dọn xong"
    log = queries.audit_log(store)
    notes = log[log["action"] == "public_note"]
    assert sorted(notes["details"].map(lambda d: d["public_note"])) == ["Đang xử lý", "Đã dọn xong"]
    accepted = log[log["action"] == "report_accepted"]["details"].iloc[-1]
    assert accepted["public_note"] == "Đã tiếp nhận, sẽ kiểm tra"
    assert all(s.ok for s in chain.verify(store))


def test_duplicate_suggestions_are_open_incidents_of_the_type_within_30_m(world):
    store, users, key_id = world
    lat, lon = IN_HOAN_KIEM
    rows = [
        ("near", "sidewalk", "reported", *_moved(lat, lon, 20.0)),
        ("far", "sidewalk", "reported", *_moved(lat, lon, 40.0)),
        ("cleared", "sidewalk", "cleared", *_moved(lat, lon, 5.0)),
        ("other type", "parking", "reported", *_moved(lat, lon, 5.0)),
        ("edge", "sidewalk", "verified", *_moved(lat, lon, -29.0)),
    ]
    frame = pd.DataFrame(rows, columns=["address", "type", "status", "lat", "lon"])
    n = len(frame)
    frame["reported_at"] = pd.Timestamp("2026-11-01T03:00Z")
    frame["cleared_at"] = frame["reported_at"].where(frame["status"] == "cleared")
    frame = frame.assign(source="dups", source_id=[f"d{i}" for i in range(n)],
                         fingerprint=[f"fp{i}" for i in range(n)], type_text=frame["type"], note="",
                         flags="", ward_code=HOAN_KIEM, street="", row_number=np.arange(1, n + 1))
    batches.commit_batch(store, {"file_name": "d.csv", "sha256": "0" * 64, "source": "dups"}, frame,
                         pd.DataFrame(columns=["incident_id", "to_status", "at", "note"]), actor="test")
    report_id = _report(store, key_id)
    found = moderation.duplicate_suggestions(store, users["officer_hk"], report_id)
    assert list(found["address"]) == ["near", "edge"]
    assert found["distance_m"].between(19.5, 29.5).all()


def test_reports_cli(world, store_url, capsys):
    store, users, key_id = world
    hk = _report(store, key_id)
    common = ["--database", store_url]
    assert main(["reports", "list", "--json", "--user", "officer_hk", *common]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [hk]
    assert set(listed[0]) == {"id", "token", "ward_code", "service_code", "lat", "long",
                              "description", "received_at"}
    assert main(["reports", "list", "--json", "--user", "officer_lang", *common]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["reports", "reject", str(hk), "--reason", "Trùng lặp", "--user", "officer_lang", *common]) == 2
    assert "officer_lang" in capsys.readouterr().err
    assert main(["reports", "reject", str(hk), "--reason", "Trùng lặp", "--user", "officer_hk", *common]) == 0
    other = _report(store, key_id, device="cli2")
    incident = _report(store, key_id, device="cli3")
    made = moderation.accept_report(store, users["admin"], incident)
    assert main(["reports", "merge", str(other), "--into", str(made), "--user", "boss", *common]) == 0
    assert stored.report(store, other)["incident_id"] == made


def test_apikeys_cli_prints_the_key_alone_on_the_last_line(world, store_url, capsys):
    store, users, _ = world
    common = ["--database", store_url]
    assert main(["apikeys", "add", "Ứng dụng phường", "--user", "boss", *common]) == 0
    key = capsys.readouterr().out.rstrip("\n").split("\n")[-1]
    assert key.strip() == key and len(key) >= 32
    assert stored.active_key(store, key) is not None
    assert main(["apikeys", "list", "--json", "--user", "boss", *common]) == 0
    listing = capsys.readouterr().out
    assert "Ứng dụng phường" in listing and key not in listing
    assert main(["apikeys", "add", "sneaky", "--user", "officer_hk", *common]) == 2
    assert main(["apikeys", "revoke", "Ứng dụng phường", "--user", "boss", *common]) == 0
    assert stored.active_key(store, key) is None
    assert services.audit_log(store, users["admin"])["action"].isin(["apikey_add", "apikey_revoke"]).sum() >= 3


def test_an_accepted_report_is_placed_and_recurs_from_a_cleared_incident_at_its_place(world):
    """Every write that creates an incident gives it its place (docs/storage.md, issue 12),
    and a new incident at a place whose every incident is cleared, reported after the
    clearance, recurs from it (docs/sustained_order.md): an accepted resident's report is
    such an incident. Expected by the rule: the report at the cleared incident's spot joins
    its place and links it, which moves to ``recurred`` with its history; one 200 m away
    (beyond the 15 m radius) starts a place of its own and links nothing."""
    from tests._store_data import NO_UPDATES, batch, incidents, ts

    store, users, key_id = world
    officer = users["officer_hk"]
    lat, lon = IN_HOAN_KIEM
    batches.commit_batch(store, batch("old.csv"), incidents([{
        "lat": lat, "lon": lon, "ward_code": HOAN_KIEM, "status": "cleared",
        "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 09:00"),
    }], source="old.csv"), NO_UPDATES, actor="field")  # fmt: skip
    with store.read() as conn:
        (old,) = conn.exec_driver_sql("SELECT id FROM incidents").scalars().all()
    same_spot = moderation.accept_report(store, officer, _report(store, key_id, device="r1"))
    far_lat, far_lon = _moved(lat, lon, 200.0)
    far = moderation.accept_report(store, officer, _report(store, key_id, where=(far_lat, far_lon), device="r2"))
    with store.read() as conn:
        place = dict(conn.exec_driver_sql("SELECT incident_id, place_id FROM incident_places").all())
        rows = {r[0]: r[1:] for r in conn.exec_driver_sql("SELECT id, status, recurrence_of FROM incidents").all()}
        moves = conn.execute(text(
            "SELECT from_status, to_status, actor FROM status_events WHERE incident_id = :i AND from_status IS NOT NULL"
        ), {"i": old}).all()  # fmt: skip
    assert set(place) == {old, same_spot, far}  # one place each, none left without
    assert place[same_spot] == place[old] != place[far]
    assert rows[same_spot] == ("reported", old) and rows[far] == ("reported", None)
    assert rows[old][0] == "recurred"
    assert [tuple(m) for m in moves] == [("cleared", "recurred", "officer_hk")]
    assert all(s.ok for s in chain.verify(store))
