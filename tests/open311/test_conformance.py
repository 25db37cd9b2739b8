"""Every endpoint in both formats, parsed and checked against the GeoReport v2 text.

The field lists and types below are written from the specification
(wiki.open311.org/GeoReport_v2, read through the search tool), not from the server's
code: a list of services; a service definition with its attributes and their values;
the answer to a POST (a token while no id exists); service requests; tokens; errors as
a list of code and description; the discovery document. XML: a UTF-8 declaration, the
spec's root and item elements; JSON: the same fields, with numbers and booleans typed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import pytest

from geo.services import reports as moderation
from geo.store import reports as stored

# -- the spec, written down --------------------------------------------------------------

ISO = "iso8601"
#: field → type: str, bool, int, float, ISO (date/time with offset), a set (enumeration);
#: a tuple means "or None".
SERVICE = {
    "service_code": str, "service_name": str, "description": str, "metadata": bool,
    "type": {"realtime", "batch", "blackbox"}, "keywords": str, "group": str,
}
ATTRIBUTE = {
    "variable": bool, "code": str,
    "datatype": {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"},
    "required": bool, "datatype_description": (str, None), "order": int, "description": str,
}
VALUE = {"key": str, "name": str}
POSTED = {"token": str, "service_notice": (str, None), "account_id": (str, None)}
REQUEST = {
    "service_request_id": str, "status": {"open", "closed"}, "status_notes": (str, None),
    "service_name": (str, None), "service_code": (str, None), "description": (str, None),
    "agency_responsible": (str, None), "service_notice": (str, None),
    "requested_datetime": ISO, "updated_datetime": (ISO, None), "expected_datetime": (ISO, None),
    "address": (str, None), "address_id": (str, None), "zipcode": (str, None),
    "lat": float, "long": float, "media_url": (str, None),
}
TOKEN = {"service_request_id": (str, None), "token": str}
ERROR = {"code": int, "description": str}
DISCOVERY = {"changeset": ISO, "contact": str, "key_service": str}
ENDPOINT = {"specification": str, "url": str, "changeset": ISO, "type": {"production", "test"}}


def _json_ok(value: Any, kind: Any) -> bool:
    if isinstance(kind, tuple):
        return value is None or any(_json_ok(value, k) for k in kind if k is not None)
    if isinstance(kind, set):
        return value in kind
    if kind == ISO:
        return isinstance(value, str) and datetime.fromisoformat(value).utcoffset() is not None
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _xml_ok(text: str | None, kind: Any) -> bool:
    if isinstance(kind, tuple):
        return not text or any(_xml_ok(text, k) for k in kind if k is not None)
    if text is None:
        return False
    if isinstance(kind, set):
        return text in kind
    if kind == ISO:
        return datetime.fromisoformat(text).utcoffset() is not None
    if kind is bool:
        return text in {"true", "false"}
    if kind is int:
        return text.lstrip("-").isdigit()
    if kind is float:
        try:
            float(text)
        except ValueError:
            return False
        return True
    return True


def check_json(record: dict[str, Any], spec: dict[str, Any], *, exact: bool = True) -> None:
    missing = set(spec) - set(record)
    assert not missing, f"missing {missing} in {record}"
    if exact:
        assert set(record) == set(spec), set(record) ^ set(spec)
    for name, kind in spec.items():
        assert _json_ok(record[name], kind), (name, record[name])


def check_xml(element: ET.Element, spec: dict[str, Any], *, exact: bool = True) -> None:
    children = {child.tag: child for child in element}
    missing = set(spec) - set(children)
    assert not missing, f"missing {missing} in <{element.tag}>"
    if exact:
        plain = {tag for tag, child in children.items() if len(child) == 0 or tag in spec}
        assert plain == set(spec), plain ^ set(spec)
    for name, kind in spec.items():
        assert _xml_ok(children[name].text, kind), (name, children[name].text)


def xml_of(answer: Any, root: str) -> ET.Element:
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    element = ET.fromstring(answer.body)
    assert element.tag == root
    return element


def json_of(answer: Any) -> Any:
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json()


@pytest.fixture(scope="module")
def served(sqlite_server):
    """The SQLite server with one accepted report (with a link) and one pending."""
    from geo.store import open_store

    posted = sqlite_server.report(description="Biển quảng cáo che lối đi", service_code="signboard",
                                  media_url="https://example.vn/photo.jpg",
                                  **{"attribute[signboard_kind][]": "banner"})
    token = posted.json()[0]["token"]
    store = open_store(sqlite_server.store_url)
    try:
        found = stored.report(store, token=token)
        moderation.accept_report(store, sqlite_server.users["admin"], int(found["id"]))
    finally:
        store.close()
    sqlite_server.report(service_code="materials")
    return sqlite_server


# -- the endpoints ------------------------------------------------------------------------


def test_services_in_json_and_xml(served):
    listed = json_of(served.get("/services.json"))
    assert [s["service_code"] for s in listed] == [
        "sidewalk", "awning", "signboard", "parking", "materials", "other"
    ]
    for record in listed:
        check_json(record, SERVICE)
        assert record["keywords"] and record["group"]
    assert listed[0]["service_name"] == "Lấn chiếm vỉa hè, lòng đường"
    root = xml_of(served.get("/services.xml"), "services")
    items = root.findall("service")
    assert len(items) == 6
    for item in items:
        check_xml(item, SERVICE)


def test_service_definition_in_json_and_xml(served):
    definition = json_of(served.get("/services/awning.json"))
    assert definition["service_code"] == "awning"
    assert definition["attributes"], "the awning service asks for the kind of awning"
    for attribute in definition["attributes"]:
        check_json({k: v for k, v in attribute.items() if k != "values"}, ATTRIBUTE)
        for value in attribute["values"]:
            check_json(value, VALUE)
    root = xml_of(served.get("/services/awning.xml"), "service_definition")
    assert root.findtext("service_code") == "awning"
    for attribute in root.find("attributes") or []:
        assert attribute.tag == "attribute"
        check_xml(attribute, ATTRIBUTE)
        values = attribute.find("values")
        assert values is not None and len(values)
        for value in values:
            assert value.tag == "value"
            check_xml(value, VALUE)


def test_post_answers_a_token_in_both_formats(served):
    posted = json_of(served.report(service_code="parking", device_id="conf-1"))
    assert len(posted) == 1
    check_json(posted[0], POSTED)
    root = xml_of(served.report("xml", service_code="parking", device_id="conf-2"), "service_requests")
    (request,) = root.findall("request")
    check_xml(request, POSTED)


def test_requests_in_both_formats(served):
    rows = json_of(served.get("/requests.json"))
    assert rows, "the accepted report is a request"
    for record in rows:
        check_json(record, REQUEST)
    mine = next(r for r in rows if r["service_code"] == "signboard")
    assert mine["media_url"] is None  # the resident's link is never echoed; no photo stored
    root = xml_of(served.get("/requests.xml"), "service_requests")
    for request in root.findall("request"):
        check_xml(request, REQUEST)
    one = xml_of(served.get(f"/requests/{mine['service_request_id']}.xml"), "service_requests")
    (request,) = one.findall("request")
    check_xml(request, REQUEST)
    assert request.findtext("service_request_id") == mine["service_request_id"]


def test_tokens_in_both_formats(served):
    token = served.report(service_code="other", device_id="conf-token").json()[0]["token"]
    (record,) = json_of(served.get(f"/tokens/{token}.json"))
    check_json(record, TOKEN, exact=False)
    root = xml_of(served.get(f"/tokens/{token}.xml"), "service_requests")
    check_xml(root.find("request"), TOKEN, exact=False)


def test_discovery_in_both_formats(served):
    document = json_of(served.get("/discovery.json"))
    check_json({k: document[k] for k in DISCOVERY}, DISCOVERY)
    (endpoint,) = document["endpoints"]
    check_json({k: endpoint[k] for k in ENDPOINT}, ENDPOINT)
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert {"text/xml", "application/json"} <= set(endpoint["formats"])
    root = xml_of(served.get("/discovery.xml"), "discovery")
    check_xml(root, DISCOVERY, exact=False)
    formats = root.find("endpoints/endpoint/formats")
    assert formats is not None and {f.text for f in formats.findall("format")} >= {"text/xml", "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/services/no_such_type", 404),
        ("GET", "/requests/999999", 404),
        ("GET", "/requests/abc", 404),
        ("GET", "/tokens/no-such-token", 404),
        ("POST", "/requests", 400),  # no api_key
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_in_the_asked_format(served, method, path, status, fmt):
    data = b"service_code=sidewalk" if method == "POST" else None
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if method == "POST" else {}
    answer = served.call(method, f"{path}.{fmt}", data, headers)
    assert answer.status == status
    if fmt == "json":
        errors = json_of(answer)
        assert isinstance(errors, list) and len(errors) == 1
        check_json(errors[0], ERROR)
        assert errors[0]["code"] == status
        assert " / " in errors[0]["description"]  # Vietnamese / English
    else:
        root = xml_of(answer, "errors")
        (error,) = root.findall("error")
        check_xml(error, ERROR)
        assert error.findtext("code") == str(status)
