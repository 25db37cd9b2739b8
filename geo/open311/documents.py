"""The GeoReport v2 documents as plain records, ready for :mod:`geo.open311.render`.

Each function returns ``(root, item, body)``: the XML root element, the element of each
item (None for a single record), and the body (a list of records, or one record), with
the field names of the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geo.errors import GeoError
from geo.open311.services import Service, services

#: The specification this server follows (``discovery``'s ``specification``).
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When this server's interface last changed (``discovery``'s ``changeset``).
CHANGESET = "2026-11-30T00:00:00+07:00"

Document = tuple[str, str | None, Any]


def discovery(base_url: str) -> Document:
    """The service discovery document: one production endpoint, both formats.

    Parameters
    ----------
    base_url
        Where the server is reached (the endpoint's ``url``).

    Returns
    -------
    Document
        ``discovery``.
    """
    return "discovery", None, {
        "changeset": CHANGESET,
        "contact": "Phường, xã nơi xảy ra vi phạm / the ward where the violation is",
        "key_service": "Khóa API do quản trị viên cấp (python -m geo apikeys add) / "
        "API keys are issued by an administrator",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url.rstrip("/"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def _service_record(svc: Service) -> dict[str, Any]:
    return {
        "service_code": svc.service_code,
        "service_name": svc.service_name,
        "description": svc.description,
        "metadata": svc.metadata,
        "type": "batch",  # a report waits for the ward's moderation before it has an id
        "keywords": ",".join(svc.keywords),
        "group": svc.group,
    }


def service_list() -> Document:
    """``GET services``: every service.

    Returns
    -------
    Document
        ``services``/``service``.
    """
    return "services", "service", [_service_record(s) for s in services()]


def service_definition(svc: Service) -> Document:
    """``GET services/{code}``: the service's attributes.

    Parameters
    ----------
    svc
        The service.

    Returns
    -------
    Document
        ``service_definition``.
    """
    return "service_definition", None, {
        "service_code": svc.service_code,
        "attributes": [
            {
                "variable": a.variable,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description or None,
                "order": a.order,
                "description": a.description,
                "values": [{"key": k, "name": n} for k, n in a.values],
            }
            for a in svc.attributes
        ],
    }


def errors(exc: GeoError, code: int) -> Document:
    """The spec's error list: one error, its description in both languages.

    Parameters
    ----------
    exc
        The refusal (its bilingual message is the description).
    code
        The error's code (the HTTP status).

    Returns
    -------
    Document
        ``errors``/``error``.
    """
    return "errors", "error", [{"code": code, "description": exc.bilingual}]


def posted(token: str, notice: str) -> Document:
    """``POST requests``' answer: the token (no id yet: the report waits for moderation).

    Parameters
    ----------
    token
        The report's token.
    notice
        The service notice (its deadline).

    Returns
    -------
    Document
        ``service_requests``/``request``.
    """
    return "service_requests", "request", [
        {"token": token, "service_notice": notice, "account_id": None}
    ]


def requests(records: list[dict[str, Any]]) -> Document:
    """``GET requests`` and ``GET requests/{id}``.

    Parameters
    ----------
    records
        Requests as :func:`geo.open311.requests.request_record` makes them.

    Returns
    -------
    Document
        ``service_requests``/``request``.
    """
    return "service_requests", "request", records


def token(report: Mapping[str, Any]) -> Document:
    """``GET tokens/{token}``: the request id once the report is accepted or merged.

    Besides the spec's two fields, ``report_status`` (pending, accepted, merged,
    rejected) and ``status_notes`` (the public reason of a rejection) tell a resident
    what became of a report that never got an id.

    Parameters
    ----------
    report
        The report (:func:`geo.store.reports.report`).

    Returns
    -------
    Document
        ``service_requests``/``request``.
    """
    incident = report.get("incident_id")
    return "service_requests", "request", [
        {
            "service_request_id": None if incident is None else str(incident),
            "token": report["token"],
            "report_status": report["status"],
            "status_notes": report.get("public_reason"),
        }
    ]
