"""``GET requests``' filters, defaults and field mapping, on both backends.

From the GeoReport v2 text and issue 14: ``service_request_id`` (a comma list) overrides
every other filter; the default span is the last 90 days and no span may exceed 90
days; ``status`` is open and/or closed; at most 1,000 rows, paged with ``page`` and
``page_size``; newest first. A request is ``open`` while its incident is reported,
verified or in progress and ``closed`` once cleared or recurred; times carry +07:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from geo.errors import Open311Error
from geo.open311.requests import iso, open_or_closed, query
from geo.store import batches
from geo.store import reports as stored

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_the_default_span_is_the_last_90_days():
    q = query({}, now=NOW)
    assert (q.start, q.end) == (NOW - timedelta(days=90), NOW)
    assert (q.limit, q.offset, q.ids, q.statuses, q.service_codes) == (1000, 0, None, None, None)


def test_one_bound_gives_90_days_from_it_and_more_than_90_days_is_refused():
    q = query({"start_date": "2026-01-01T00:00:00+07:00"})
    assert q.end - q.start == timedelta(days=90)
    q = query({"end_date": "2026-06-01T00:00:00Z"})
    assert q.end == datetime(2026, 6, 1, tzinfo=UTC) and q.end - q.start == timedelta(days=90)
    assert query({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:00Z"})
    with pytest.raises(Open311Error) as caught:
        query({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-04-01T00:00:01Z"})
    assert caught.value.status == 400
    with pytest.raises(Open311Error):
        query({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"})
    with pytest.raises(Open311Error):
        query({"start_date": "yesterday"})


def test_ids_override_everything_and_paging_is_bounded():
    q = query({"service_request_id": "5, 7,5", "status": "closed", "start_date": "bad"})
    assert q.ids == (5, 7) and q.statuses is None and q.start is None
    q = query({"page": "3", "page_size": "50"})
    assert (q.limit, q.offset) == (50, 100)
    for bad in ({"page_size": "1001"}, {"page_size": "0"}, {"page": "-1"}, {"status": "maybe"},
                {"service_code": "sidewalk,unicorns"}, {"service_request_id": "1;DROP"}):
        with pytest.raises(Open311Error):
            query(bad)


def test_status_and_time_mapping():
    assert [open_or_closed(s) for s in ("reported", "verified", "in_progress", "cleared", "recurred")] == [
        "open", "open", "open", "closed", "closed"
    ]
    assert iso(datetime(2026, 11, 30, 17, 30, tzinfo=UTC)) == "2026-12-01T00:30:00+07:00"


def _incidents(store, rows):
    frame = pd.DataFrame(rows, columns=["type", "status", "reported_at"])
    n = len(frame)
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    frame["cleared_at"] = frame["reported_at"].where(frame["status"] == "cleared")
    frame = frame.assign(source="q", source_id=[f"q{i}" for i in range(n)],
                         fingerprint=[f"qf{i}" for i in range(n)], type_text=frame["type"], note="",
                         flags="", lat=21.0285, lon=105.8525, ward_code="00070", street="",
                         address=[f"số {i}" for i in range(n)], row_number=np.arange(1, n + 1))
    batches.commit_batch(store, {"file_name": "q.csv", "sha256": "1" * 64, "source": "q"}, frame,
                         pd.DataFrame(columns=["incident_id", "to_status", "at", "note"]), actor="test")


def _reached_by_reports(store, incident_ids):
    """A resident's report merged into each incident: that makes them service requests."""
    key = stored.active_key(store, stored.add_api_key(store, "filters", actor="test"))
    assert key is not None
    for n, incident in enumerate(incident_ids):
        got = stored.receive(store, stored.NewReport(
            service_code="sidewalk", lat=21.0285, lon=105.8525, ward_code="00070", address=None,
            description=None, media_url=None, api_key_id=key[0], contact={"device_id": f"dev{n}"},
        ), actor="apikey:filters")
        stored.merge(store, got.report_id, incident, actor="officer")


def test_service_requests_filters_in_the_store(store):
    _incidents(store, [
        ("sidewalk", "reported", "2026-11-20T03:00Z"),   # id 1
        ("parking", "cleared", "2026-11-21T03:00Z"),     # id 2
        ("sidewalk", "in_progress", "2026-08-01T03:00Z"),  # id 3: older than 90 days
        ("awning", "verified", "2026-11-25T03:00Z"),     # id 4
        ("sidewalk", "reported", "2026-11-26T03:00Z"),   # id 5: found by officers, no report
    ])
    _reached_by_reports(store, [1, 2, 3, 4])

    def ids(params):
        return [r["id"] for r in stored.service_requests(store, query(params, now=NOW))]

    assert ids({}) == [4, 2, 1]  # newest first, last 90 days
    assert ids({"status": "closed"}) == [2]
    assert ids({"status": "open"}) == [4, 1]
    assert ids({"status": "open,closed"}) == [4, 2, 1]
    assert ids({"service_code": "sidewalk,awning"}) == [4, 1]
    assert ids({"start_date": "2026-07-15T00:00:00+07:00"}) == [3]
    assert ids({"service_request_id": "3,1"}) == [1, 3]
    assert ids({"page_size": "2"}) == [4, 2]
    assert ids({"page_size": "2", "page": "2"}) == [1]
    # incident 5 is the newest, but no resident's report reached it: not a service request
    assert ids({"service_request_id": "5,4"}) == [4]
    assert ids({"status": "open", "service_code": "sidewalk"}) == [1]
