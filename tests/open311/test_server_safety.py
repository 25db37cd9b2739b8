"""The server's guards, against a real uvicorn server (issue 14, "Safety").

Keys (missing, wrong, revoked), rate limits per key and per address with 429 and
Retry-After, body and attribute limits, the 4,000-character description, hostile text in
both formats, personal data never returned, media_url never fetched, no CORS unless an
origin is configured, and jurisdiction_id checked when one is.
"""

from __future__ import annotations

import http.server
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import ClassVar

import pytest

from geo.services import reports as moderation
from geo.store import open_store
from geo.store import reports as stored
from tests._open311 import IN_HOAN_KIEM, Served, serve

HOSTILE = (
    "<script>alert('x')</script> & \"quotes\" ]]> <![CDATA[x]]> "
    "'; DROP TABLE incidents; -- {{7*7}} ${7*7} </request><status>closed</status>"
)


def _accept(served: Served, token: str) -> str:
    store = open_store(served.store_url)
    try:
        report = stored.report(store, token=token)
        return str(moderation.accept_report(store, served.users["admin"], int(report["id"])))
    finally:
        store.close()


# -- keys ---------------------------------------------------------------------------------


def test_a_missing_wrong_or_revoked_key_is_refused(sqlite_server):
    fields = {"service_code": "sidewalk", "lat": IN_HOAN_KIEM[0], "long": IN_HOAN_KIEM[1]}
    assert sqlite_server.post("json", fields).status == 400
    wrong = sqlite_server.post("json", {**fields, "api_key": sqlite_server.key + "x"})
    assert wrong.status == 403 and wrong.json()[0]["code"] == 403
    store = open_store(sqlite_server.store_url)
    try:
        spare = moderation.add_api_key(store, sqlite_server.users["admin"], "spare app")
        assert sqlite_server.post("json", {**fields, "api_key": spare}).status == 200
        moderation.revoke_api_key(store, sqlite_server.users["admin"], "spare app")
        stored_hashes = stored.list_api_keys(store).to_string()
    finally:
        store.close()
    time.sleep(1.1)  # a server reuses a key's state for a second (GeoReport.recheck_s)
    assert sqlite_server.post("json", {**fields, "api_key": spare}).status == 403
    assert spare not in stored_hashes and sqlite_server.key not in stored_hashes


# -- limits -------------------------------------------------------------------------------


def test_the_description_may_be_4000_characters_and_no_more(sqlite_server):
    assert sqlite_server.report(description="x" * 4000, device_id="long-ok").status == 200
    refused = sqlite_server.report(description="x" * 4001, device_id="long-no")
    assert refused.status == 400
    assert "4,000" in refused.json()[0]["description"]


def test_an_oversize_body_is_refused_before_it_is_read(sqlite_server):
    big = sqlite_server.report(description="y" * 70_000, device_id="big")
    assert big.status == 413
    assert big.json()[0]["code"] == 413


def test_too_many_attributes_are_refused(sqlite_server):
    fields = [("api_key", sqlite_server.key), ("service_code", "signboard"),
              ("lat", str(IN_HOAN_KIEM[0])), ("long", str(IN_HOAN_KIEM[1]))]
    fields += [("attribute[signboard_kind][]", "banner")] * 21
    assert sqlite_server.post("json", fields).status == 400
    ok = fields[:4] + [("attribute[signboard_kind][]", "banner")] * 2
    assert sqlite_server.post("json", ok).status == 200


def test_unknown_attributes_values_and_bad_fields_are_refused(sqlite_server):
    assert sqlite_server.report(service_code="awning", **{"attribute[awning_kind]": "castle"}).status == 400
    assert sqlite_server.report(service_code="awning", **{"attribute[colour]": "red"}).status == 400
    assert sqlite_server.report(service_code="no_such").status == 400
    assert sqlite_server.report(lat_long=(91.0, 105.85)).status == 400
    assert sqlite_server.report(lat_long=(float("nan"), 105.85)).status == 400
    assert sqlite_server.report(media_url="file:///etc/passwd").status == 400
    assert sqlite_server.report(description="bell \x07 inside").status == 400
    wrong_type = sqlite_server.call("POST", "/requests.json", b'{"api_key": "x"}',
                                    {"Content-Type": "application/json"})
    assert wrong_type.status == 400


# -- hostile text ---------------------------------------------------------------------------


def test_hostile_text_is_escaped_in_json_and_xml(sqlite_server):
    token = sqlite_server.report(description=HOSTILE, address_string=HOSTILE,
                                 device_id="hostile").json()[0]["token"]
    request_id = _accept(sqlite_server, token)
    as_json = sqlite_server.get(f"/requests/{request_id}.json")
    assert b"<script>" not in as_json.body  # '<' is escaped in JSON
    assert as_json.json()[0]["description"] == HOSTILE
    assert as_json.json()[0]["address"] == HOSTILE
    as_xml = sqlite_server.get(f"/requests/{request_id}.xml")
    assert b"<script>" not in as_xml.body
    root = ET.fromstring(as_xml.body)
    (request,) = root.findall("request")  # the injected </request> did not split it
    assert request.findtext("description") == HOSTILE
    assert request.findtext("status") == "open"  # the injected <status> is text


# -- personal data and links ----------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.hits.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_personal_data_is_never_returned_and_media_url_never_fetched(sqlite_server, recorder, capsys):
    secret = {"email": "nguoidan.bi.mat@example.vn", "first_name": "Tênriêng", "last_name": "Họbímật",
              "phone": "0912345678", "device_id": "device-secret-42", "account_id": "acct-secret-9"}
    token = sqlite_server.report(media_url=f"{recorder}/photo.jpg?x=1", **secret).json()[0]["token"]
    request_id = _accept(sqlite_server, token)
    bodies = [
        sqlite_server.get(path).body
        for path in (f"/requests/{request_id}.json", f"/requests/{request_id}.xml", "/requests.json",
                     "/requests.xml", f"/tokens/{token}.json", f"/tokens/{token}.xml")
    ]
    from geo.cli import main

    assert main(["reports", "list", "--json", "--status", "all", "--user", "boss",
                 "--database", sqlite_server.store_url]) == 0
    bodies.append(capsys.readouterr().out.encode())
    for body in bodies:
        for value in secret.values():
            assert value.encode() not in body
    assert _Recorder.hits == []  # stored as a link, never fetched
    media = sqlite_server.get(f"/requests/{request_id}.json").json()[0]["media_url"]
    assert media is None  # kept for the moderators, never echoed: media_url is a stored photo's


def test_an_admin_erases_one_reports_personal_data(sqlite_server):
    token = sqlite_server.report(email="xoa@example.vn", phone="0900000000", device_id="erase-me").json()[0]["token"]
    keep = sqlite_server.report(email="giu@example.vn", device_id="keep-me").json()[0]["token"]
    store = open_store(sqlite_server.store_url)
    try:
        report_id = int(stored.report(store, token=token)["id"])
        with pytest.raises(PermissionError):
            moderation.erase_personal_data(store, sqlite_server.users["officer_hk"], report_id)
        moderation.erase_personal_data(store, sqlite_server.users["admin"], report_id)
        contacts = store.tables["open311_contacts"]
        with store.read() as conn:
            rows = {r.request_id: r for r in conn.execute(contacts.select())}
        keep_id = int(stored.report(store, token=keep)["id"])
    finally:
        store.close()
    erased = rows[report_id]
    assert (erased.email, erased.phone, erased.device_id) == (None, None, None)
    assert erased.erased_at is not None and erased.erased_by == "boss"
    assert rows[keep_id].email == "giu@example.vn"


# -- rate limits, CORS and jurisdiction (a server of their own) ------------------------------


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("open311_strict")
    yield from serve(
        f"sqlite:///{tmp / 'store.sqlite'}", tmp,
        GEO_SERVE_RATE_PER_KEY="3/hour", GEO_SERVE_RATE_PER_ADDRESS="12/hour",
        GEO_SERVE_ALLOWED_ORIGINS="https://phanhanh.hanoi.example", GEO_SERVE_JURISDICTION="hanoi.vn",
    )


def test_cors_only_for_the_configured_origin(sqlite_server, strict_server):
    from tests._open311 import Answer

    def preflight(served: Served, origin: str) -> Answer:
        return served.call("OPTIONS", "/requests.json", None, {
            "Origin": origin, "Access-Control-Request-Method": "POST"})

    def with_origin(served: Served, origin: str) -> Answer:
        return served.call("GET", "/services.json", None, {"Origin": origin})

    for answer in (with_origin(sqlite_server, "https://evil.example"),
                   preflight(sqlite_server, "https://evil.example")):
        assert "access-control-allow-origin" not in {k.lower() for k in answer.headers}
    allowed = with_origin(strict_server, "https://phanhanh.hanoi.example")
    assert allowed.headers.get("access-control-allow-origin") == "https://phanhanh.hanoi.example"
    other = with_origin(strict_server, "https://evil.example")
    assert "access-control-allow-origin" not in {k.lower() for k in other.headers}


def test_rate_limits_per_key_and_per_address_with_retry_after(strict_server):
    assert strict_server.get("/services.json", jurisdiction_id="hanoi.vn").status == 200
    assert strict_server.get("/requests.json", jurisdiction_id="other.city").status == 404
    statuses = [strict_server.report(device_id=f"rate-{i}", description=str(i)).status for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = strict_server.report(device_id="rate-x")
    assert limited.status == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()[0]["code"] == 429
    # the address's own budget (12/hour, CORS checks above spent 2) runs out too
    answers = [strict_server.get("/services.json") for _ in range(12)]
    assert answers[-1].status == 429 and "retry-after" in {k.lower() for k in answers[-1].headers}
    xml_limited = strict_server.get("/services.xml")
    assert xml_limited.status == 429 and ET.fromstring(xml_limited.body).tag == "errors"


def test_form_fields_are_read_as_utf8_form_encoding(sqlite_server):
    body = urllib.parse.urlencode({"api_key": sqlite_server.key, "service_code": "sidewalk",
                                   "lat": IN_HOAN_KIEM[0], "long": IN_HOAN_KIEM[1],
                                   "description": "Hàng quán lấn chiếm — đường Đinh Tiên Hoàng",
                                   "device_id": "utf8"}).encode("utf-8")
    answer = sqlite_server.call("POST", "/requests.json", body,
                                {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    assert answer.status == 200
    store = open_store(sqlite_server.store_url)
    try:
        found = stored.report(store, token=answer.json()[0]["token"])
    finally:
        store.close()
    assert found["description"] == "Hàng quán lấn chiếm — đường Đinh Tiên Hoàng"
