"""A report's whole life through a real uvicorn server, on SQLite and on PostGIS.

POST → token; the ward moderates (CLI and services); GET tokens gives the request id;
GET requests/{id} follows the incident's status until it is cleared (closed, with the
ward's note). Expected values come from issue 14 and the GeoReport v2 text: open while
the incident needs action, closed once cleared; times in ISO 8601 with +07:00;
agency_responsible the ward's name.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from geo import services
from geo.cli import main
from geo.services import reports as moderation
from geo.store import queries
from tests._open311 import IN_HOAN_KIEM, IN_LANG, OUTSIDE_HANOI


def _token(answer) -> str:
    assert answer.status == 200, answer.body
    body = answer.json()
    assert isinstance(body, list) and len(body) == 1
    assert "service_request_id" not in body[0] or body[0]["service_request_id"] is None
    return body[0]["token"]


def _pending_id(served, token: str, open_store_of) -> int:
    from geo.store import reports

    return int(reports.report(open_store_of(served), token=token)["id"])


def test_post_moderate_follow_until_closed(server, open_store_of, capsys):
    token = _token(server.report(description="Quán nước lấn chiếm vỉa hè trước số 5",
                                 address_string="5 Lò Sứ", email="dan@example.vn"))
    waiting = server.get(f"/tokens/{token}.json").json()
    assert waiting[0]["token"] == token and waiting[0]["service_request_id"] is None

    # the officer of Hoàn Kiếm sees it in the CLI list and accepts it
    assert main(["reports", "list", "--json", "--user", "officer_hk",
                 "--database", server.store_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    mine = [r for r in listed if r["token"] == token]
    assert len(mine) == 1 and mine[0]["ward_code"] == "00070"
    assert main(["reports", "accept", str(mine[0]["id"]), "--user", "officer_hk",
                 "--database", server.store_url]) == 0
    capsys.readouterr()

    found = server.get(f"/tokens/{token}.json").json()[0]
    request_id = found["service_request_id"]
    assert request_id is not None and found["report_status"] == "accepted"
    store = open_store_of(server)
    incident = queries.incident(store, int(request_id)).incident
    assert (incident["source"], incident["status"], incident["type"]) == ("open311", "reported", "sidewalk")

    opened = server.get(f"/requests/{request_id}.json").json()[0]
    assert opened["status"] == "open"
    assert opened["agency_responsible"] == "Phường Hoàn Kiếm"
    assert opened["description"] == "Quán nước lấn chiếm vỉa hè trước số 5"
    assert opened["address"] == "5 Lò Sứ"
    assert (opened["lat"], opened["long"]) == IN_HOAN_KIEM
    requested = datetime.fromisoformat(opened["requested_datetime"])
    expected = datetime.fromisoformat(opened["expected_datetime"])
    assert requested.utcoffset() == timedelta(hours=7) == expected.utcoffset()
    assert expected - requested == timedelta(days=3)  # the sidewalk service level

    # the ward works on it: an internal note only, then a public one, then clears it;
    # officers' internal notes never reach the public answer (issue 14's privacy rule)
    officer = server.users["officer_hk"]
    services.change_status(store, officer, int(request_id), "verified", "Chủ quán là người quen")
    quiet = server.get(f"/requests/{request_id}.json")
    assert quiet.json()[0]["status"] == "open" and quiet.json()[0]["status_notes"] is None
    services.change_status(store, officer, int(request_id), "in_progress", "Gọi điện lần 2",
                           public_note="Đã nhắc chủ quán")
    moving = server.get(f"/requests/{request_id}.xml")
    request = ET.fromstring(moving.body).find("request")
    assert request is not None
    assert request.findtext("status") == "open" and request.findtext("status_notes") == "Đã nhắc chủ quán"
    services.change_status(store, officer, int(request_id), "cleared", "Biên bản số 12",
                           public_note="Đã dọn, vỉa hè thông thoáng")
    done = server.get(f"/requests/{request_id}.json").json()[0]
    assert done["status"] == "closed"
    assert done["status_notes"] == "Đã dọn, vỉa hè thông thoáng"
    for path in (f"/requests/{request_id}.json", f"/requests/{request_id}.xml", "/requests.json",
                 "/requests.xml"):
        body = server.get(path).body.decode("utf-8")
        for internal in ("Chủ quán là người quen", "Gọi điện lần 2", "Biên bản số 12"):
            assert internal not in body, (path, internal)
    assert datetime.fromisoformat(done["updated_datetime"]) >= requested

    closed = server.get("/requests.json", status="closed").json()
    assert request_id in [r["service_request_id"] for r in closed]
    still_open = server.get("/requests.json", status="open").json()
    assert request_id not in [r["service_request_id"] for r in still_open]


def test_merge_makes_the_resident_follow_the_existing_incident(server, open_store_of):
    store = open_store_of(server)
    first = _token(server.report(lat_long=IN_LANG, service_code="parking", device_id="phone-A"))
    incident = moderation.accept_report(store, server.users["officer_lang"],
                                              _pending_id(server, first, open_store_of))
    second = _token(server.report(lat_long=IN_LANG, service_code="parking", device_id="phone-B"))
    assert second != first  # another device: not a repeat
    moderation.merge_report(store, server.users["officer_lang"],
                                  _pending_id(server, second, open_store_of), incident)
    followed = server.get(f"/tokens/{second}.json").json()[0]
    assert followed["service_request_id"] == str(incident)
    assert followed["report_status"] == "merged"


def test_a_rejected_report_tells_its_public_reason_and_gets_no_id(server, open_store_of):
    store = open_store_of(server)
    token = _token(server.report(service_code="other", description="spam spam"))
    moderation.reject_report(store, server.users["admin"], _pending_id(server, token, open_store_of),
                                   "Không thuộc trật tự đô thị")
    answer = server.get(f"/tokens/{token}.xml")
    request = ET.fromstring(answer.body).find("request")
    assert request is not None
    assert request.findtext("service_request_id") in (None, "")
    assert request.findtext("report_status") == "rejected"
    assert request.findtext("status_notes") == "Không thuộc trật tự đô thị"


def test_the_same_device_type_and_place_within_minutes_gets_the_earlier_token(server):
    first = _token(server.report(service_code="materials", device_id="dup-phone"))
    # 10 m north: within 25 m (1e-4 degree of latitude is about 11 m)
    again = _token(server.report(service_code="materials", device_id="dup-phone",
                                 lat_long=(IN_HOAN_KIEM[0] + 0.0001, IN_HOAN_KIEM[1])))
    assert again == first
    # about 44 m away, another type, another device: new reports each
    far = _token(server.report(service_code="materials", device_id="dup-phone",
                               lat_long=(IN_HOAN_KIEM[0] + 0.0004, IN_HOAN_KIEM[1])))
    other_type = _token(server.report(service_code="parking", device_id="dup-phone"))
    other_device = _token(server.report(service_code="materials", device_id="other-phone"))
    assert len({first, far, other_type, other_device}) == 4
    # without a device id the key is the submitter
    keyed = _token(server.report(service_code="awning"))
    assert _token(server.report(service_code="awning")) == keyed


def test_a_report_outside_hanoi_is_refused_and_nothing_is_stored(server, open_store_of):
    before = open_store_of(server).row_counts()["open311_requests"]
    answer = server.report(lat_long=OUTSIDE_HANOI)
    assert answer.status == 400
    error = answer.json()[0]
    assert error["code"] == 400 and "Hà Nội" in error["description"]
    assert open_store_of(server).row_counts()["open311_requests"] == before
