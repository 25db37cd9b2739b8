"""Service requests as GeoReport v2 shows them: the filters of ``GET requests`` and the
mapping of an incident (and the report that opened it) to a request's fields.

Mapping (issue 14): ``status`` is ``open`` while the incident needs action (reported,
verified, in progress) and ``closed`` once it is cleared (or recurred, when a new
incident carries on); ``status_notes`` is the ward's public note (``incidents.public_note``,
written when moderating or changing the status); the notes on status events are officers'
internal ones and are never shown;
``agency_responsible`` is the ward's name; ``expected_datetime`` the deadline; every time
is ISO 8601 with Hà Nội's +07:00 offset. ``media_url`` is the public thumbnail of the
incident's after photo, else of its before photo (:func:`geo.evidence.public_media_urls`),
never the resident's own link and never an original with its GPS.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from geo.errors import Open311Error
from geo.store.reports import RequestQuery
from geo.store.workflow import CLOSED_STATES, sla_days
from geo.vocab import TYPE_CODES, type_label

#: Hà Nội's offset: every time the server writes carries it.
HANOI = timezone(timedelta(hours=7))
#: The spec's default and largest span of ``GET requests``, and its largest answer.
MAX_SPAN = timedelta(days=90)
MAX_ROWS = 1000
#: Field order of a request, as the spec lists them.
REQUEST_FIELDS: tuple[str, ...] = (
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long",
    "media_url",
)


def iso(instant: datetime | None) -> str | None:
    """ISO 8601 with the +07:00 offset, to the second (None stays None).

    Parameters
    ----------
    instant
        An aware instant (naive: UTC), or None.

    Returns
    -------
    str or None
        ``YYYY-MM-DDTHH:MM:SS+07:00``.
    """
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(HANOI).isoformat(timespec="seconds")


def service_notice(code: str) -> str:
    """The deadline of a type, in words (both languages).

    Parameters
    ----------
    code
        A type code.

    Returns
    -------
    str
        The notice, Vietnamese / English.
    """
    days = sla_days().get(code, sla_days()["other"])
    return (
        f"Phường, xã xử lý trong {days:g} ngày kể từ khi tiếp nhận / "
        f"the ward handles it within {days:g} days of receiving it"
    )


def open_or_closed(state: str) -> str:
    """GeoReport's two statuses from a workflow state.

    Parameters
    ----------
    state
        A workflow state.

    Returns
    -------
    str
        ``open`` or ``closed``.
    """
    return "closed" if state in CLOSED_STATES else "open"


def request_records(
    rows: list[dict[str, Any]], ward_names: Mapping[str, str], media: Mapping[int, str] | None = None
) -> list[dict[str, Any]]:
    """:func:`request_record` of every row, the notices worked out once per type.

    Parameters
    ----------
    rows
        Rows of :func:`geo.store.reports.service_requests`.
    ward_names
        Ward code → name.
    media
        Incident id → public photo URL (:func:`geo.evidence.public_media_urls`).

    Returns
    -------
    list of dict
        The requests, in the rows' order.
    """
    notices = {code: service_notice(code) for code in {str(r["type"]) for r in rows}}
    return [request_record(row, ward_names, notices, media) for row in rows]


def request_record(
    row: Mapping[str, Any],
    ward_names: Mapping[str, str],
    notices: Mapping[str, str] | None = None,
    media: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """One service request (:data:`REQUEST_FIELDS`) from a row of
    :func:`geo.store.reports.service_requests`; ``notices`` are the types' service
    notices when known already.

    Parameters
    ----------
    row
        One row of :func:`geo.store.reports.service_requests`.
    ward_names
        Ward code → name.
    notices
        Type code → service notice (None: worked out here).
    media
        Incident id → public photo URL (:func:`geo.evidence.public_media_urls`); an
        incident missing from it has no ``media_url``.

    Returns
    -------
    dict
        The request's fields.
    """
    status = open_or_closed(str(row["status"]))
    note = row.get("public_note") or None
    if status == "closed" and note is None:
        note = "Đã xử lý xong / cleared"
    ward = row.get("ward_code")
    return {
        "service_request_id": str(row["id"]),
        "status": status,
        "status_notes": note,
        "service_name": type_label(str(row["type"])),
        "service_code": str(row["type"]),
        "description": row.get("description"),
        "agency_responsible": ward_names.get(str(ward), ward) if ward else None,
        "service_notice": (notices or {}).get(str(row["type"])) or service_notice(str(row["type"])),
        "requested_datetime": iso(row["reported_at"]),
        "updated_datetime": iso(row["updated_at"]),
        "expected_datetime": iso(row["due_at"]),
        "address": row.get("address"),
        "address_id": None,
        "zipcode": None,
        "lat": None if row.get("lat") is None else float(row["lat"]),
        "long": None if row.get("lon") is None else float(row["lon"]),
        "media_url": (media or {}).get(int(row["id"])),
    }


# -- the filters of GET requests -------------------------------------------------------------


def _bad(name: str, value: str, vi: str, en: str) -> Open311Error:
    return Open311Error(400, f"Tham số {name}={value!r} {vi}.", f"Parameter {name}={value!r} {en}.")


def _instant(name: str, value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _bad(name, value, "không phải thời điểm ISO 8601",
                   "is not an ISO 8601 date/time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=HANOI)


def _codes(name: str, value: str | None, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    if value is None or not value.strip():
        return None
    codes = tuple(dict.fromkeys(c.strip() for c in value.split(",") if c.strip()))
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise _bad(name, value, f"có giá trị không hợp lệ; chọn trong {', '.join(allowed)}",
                   f"has an invalid value; choose from {', '.join(allowed)}")
    return codes


def _positive(name: str, value: str | None, default: int, high: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= high:
        raise _bad(name, value, f"phải là số nguyên từ 1 đến {high}",
                   f"must be an integer from 1 to {high}")
    return number


def _ids(value: str) -> tuple[int, ...]:
    ids: list[int] = []
    for part in (p.strip() for p in value.split(",")):
        if part and not part.isdigit():
            raise _bad("service_request_id", value, "phải là các số, cách nhau bằng dấu phẩy",
                       "must be numbers separated by commas")
        if part:
            ids.append(int(part))
    if len(ids) > MAX_ROWS:
        raise _bad("service_request_id", value[:40] + "…", f"có quá {MAX_ROWS} mã",
                   f"names more than {MAX_ROWS} ids")
    return tuple(dict.fromkeys(ids))


def query(params: Mapping[str, str], *, now: datetime | None = None) -> RequestQuery:
    """The filters of ``GET requests`` with the spec's defaults.

    ``service_request_id`` (a comma list) overrides every other filter. Otherwise the
    span is at most 90 days: the last 90 days by default, 90 days from ``start_date`` or
    up to ``end_date`` when only one is given. ``status`` is ``open``, ``closed`` or both;
    ``page`` and ``page_size`` (the common extension) page through at most 1,000 rows.

    Parameters
    ----------
    params
        The query string's parameters.
    now
        The end of the default span (default: now).

    Returns
    -------
    RequestQuery
        The filters for :func:`geo.store.reports.service_requests`.
    """
    size = _positive("page_size", params.get("page_size"), MAX_ROWS, MAX_ROWS)
    page = _positive("page", params.get("page"), 1, 10**6)
    ids = params.get("service_request_id")
    if ids is not None and ids.strip():
        return RequestQuery(ids=_ids(ids), limit=size, offset=(page - 1) * size)
    start = _instant("start_date", params.get("start_date"))
    end = _instant("end_date", params.get("end_date"))
    if start is None and end is None:
        end = now or datetime.now(UTC)
    if start is None:
        assert end is not None
        start = end - MAX_SPAN
    if end is None:
        end = start + MAX_SPAN
    if end < start or end - start > MAX_SPAN:
        raise Open311Error(
            400,
            "start_date và end_date phải theo thứ tự và cách nhau không quá 90 ngày.",
            "start_date and end_date must be in order and at most 90 days apart.",
        )
    return RequestQuery(
        service_codes=_codes("service_code", params.get("service_code"), TYPE_CODES),
        start=start, end=end,
        statuses=_codes("status", params.get("status"), ("open", "closed")),
        limit=size, offset=(page - 1) * size,
    )
