"""The GeoReport v2 endpoints over the store, without any web framework.

:class:`GeoReport` answers each endpoint with a :data:`~geo.open311.documents.Document`
or raises :class:`~geo.errors.Open311Error`; :mod:`geo.open311.app` only maps HTTP onto
it. The ward layer is read once per version of the stored layer, so a POST costs one
cheap version read, one assignment and one write transaction; an API key's state is
reused for a second, so a POST is one transaction.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geo import settings
from geo.assign import WardIndex, ward_index, ward_positions
from geo.errors import NotFound, Open311Error
from geo.evidence import public_media_urls
from geo.open311 import documents
from geo.open311.intake import new_report, parse_form
from geo.open311.limits import RateLimits
from geo.open311.requests import query, request_record, request_records, service_notice
from geo.open311.services import service
from geo.services.boundaries import active_wards, ward_layer_version
from geo.store import Store
from geo.store import reports as stored
from geo.store.reports import RequestQuery


def check_jurisdiction(value: str | None) -> None:
    """Refuse (404) a ``jurisdiction_id`` other than ``GEO_SERVE_JURISDICTION``, when set.

    Parameters
    ----------
    value
        The ``jurisdiction_id`` sent (None: not sent).

    Returns
    -------
    None
        Raises a 404 :class:`~geo.errors.Open311Error` instead for another jurisdiction.
    """
    mine = settings.serve_jurisdiction()
    if mine is not None and value is not None and value.strip() and value.strip() != mine:
        raise Open311Error(
            404,
            f"Máy chủ này không phục vụ jurisdiction_id {value!r} (chỉ {mine!r}).",
            f"This server does not serve jurisdiction_id {value!r} (only {mine!r}).",
        )


#: API-key answers a server remembers at most (see :meth:`GeoReport.active_key`).
KEYS_REMEMBERED = 1024


@dataclass
class GeoReport:
    """The endpoints of one server, on one store."""

    store: Store
    limits: RateLimits = field(default_factory=RateLimits)

    #: Seconds between two reads of the ward layer's version (a replaced layer is used
    #: from the next request after that), and of an API key's state.
    recheck_s: float = 1.0

    def __post_init__(self) -> None:
        self._wards: tuple[Any, WardIndex] | None = None
        self._names: tuple[Any, dict[str, str]] | None = None
        self._version: tuple[float, Any] = (-1e9, None)
        self._keys: dict[str, tuple[float, tuple[int, str] | None]] = {}

    def active_key(self, secret: str) -> tuple[int, str] | None:
        """(id, name) of the active key ``secret``, None for an unknown or revoked one.

        An answer is reused for :attr:`recheck_s` (a revoked key stops opening within a
        second), so a client's stream of POSTs costs one transaction each, not two
        (issue 14's speed). Unknown secrets are remembered too, a bounded number of them:
        guessing keys is not made cheaper for the store than sending them.
        """
        digest = stored.key_hash(secret)
        now = time.monotonic()
        checked = self._keys.get(digest)
        if checked is not None and now - checked[0] < self.recheck_s:
            return checked[1]
        found = stored.active_key(self.store, secret)
        if len(self._keys) >= KEYS_REMEMBERED:
            self._keys.clear()
        self._keys[digest] = (now, found)
        return found

    def _layer_version(self) -> Any:
        checked, version = self._version
        now = time.monotonic()
        if now - checked >= self.recheck_s:
            version = ward_layer_version(self.store)
            self._version = (now, version)
        return version

    # -- wards, read once per stored layer version ----------------------------------------

    def ward_index(self) -> WardIndex:
        """The assignment index of the ward layer in use (rebuilt when the layer changes)."""
        version = self._layer_version()
        if self._wards is None or self._wards[0] != version:
            self._wards = (version, ward_index(active_wards(self.store)))
        return self._wards[1]

    def locate(self, lon: float, lat: float) -> str | None:
        """The responsible ward of a point under the one-ward rule (:mod:`geo.assign`):
        covering ward with the smallest code, or the nearest within the snapping
        distance; None outside Hà Nội."""
        index = self.ward_index()
        positions, _snapped = ward_positions(np.array([lon], dtype=float), np.array([lat], dtype=float), index)
        return None if positions[0] < 0 else str(index.codes[positions[0]])

    def ward_names(self) -> dict[str, str]:
        version = self._layer_version()
        if self._names is None or self._names[0] != version:
            self._names = (version, stored.ward_names(self.store))
        return self._names[1]

    # -- the endpoints --------------------------------------------------------------------

    def discovery(self, base_url: str) -> documents.Document:
        return documents.discovery(base_url)

    def services(self) -> documents.Document:
        return documents.service_list()

    def definition(self, code: str) -> documents.Document:
        return documents.service_definition(service(code))

    def post(self, body: bytes) -> documents.Document:
        """``POST requests``: a new report (or the earlier one's token), waiting for moderation."""
        form = parse_form(body)
        check_jurisdiction(form.fields.get("jurisdiction_id"))
        secret = form.fields.get("api_key", "").strip()
        if not secret:
            raise Open311Error(400, "Thiếu api_key.", "api_key is required.")
        key = self.active_key(secret)
        if key is None:
            raise Open311Error(
                403, "api_key không hợp lệ hoặc đã bị thu hồi.", "The api_key is invalid or revoked."
            )
        key_id, key_name = key
        self.limits.key(key_id)
        known = set(self.ward_index().codes.tolist())
        report = new_report(form, api_key_id=key_id, locate=self.locate, known=known)
        received = stored.receive(self.store, report, actor=f"apikey:{key_name}")
        return documents.posted(received.token, service_notice(report.service_code))

    def requests(self, params: Mapping[str, str]) -> documents.Document:
        """``GET requests`` with the spec's filters and defaults."""
        check_jurisdiction(params.get("jurisdiction_id"))
        return self._requests(query(params))

    def request(self, request_id: str, params: Mapping[str, str]) -> documents.Document:
        """``GET requests/{id}``."""
        check_jurisdiction(params.get("jurisdiction_id"))
        found = documents.requests([])
        if request_id.isdigit() and len(request_id) < 19:
            found = self._requests(RequestQuery(ids=(int(request_id),), limit=1))
        if not found[2]:
            raise Open311Error(
                404, f"Không có yêu cầu số {request_id!r}.", f"There is no request {request_id!r}."
            )
        return found

    def token(self, token: str, params: Mapping[str, str]) -> documents.Document:
        """``GET tokens/{token}``."""
        check_jurisdiction(params.get("jurisdiction_id"))
        try:
            report = stored.report(self.store, token=token)
        except NotFound as missing:
            raise Open311Error(404, missing.message_vi, missing.message_en) from None
        return documents.token(report)

    def _requests(self, flt: RequestQuery) -> documents.Document:
        names = self.ward_names()
        rows = stored.service_requests(self.store, flt)
        return documents.requests(request_records(rows, names, _media(self.store, rows)))


def _media(store: Store, rows: list[dict[str, Any]]) -> dict[int, str]:
    """The requests' public photo links (``GEO_PUBLIC_MEDIA_URL``): thumbnails only."""
    return public_media_urls(store, [int(r["id"]) for r in rows], settings.public_media_url())


def lookup(store: Store, text: str) -> dict[str, Any] | None:
    """What a resident sees for a request id or a report token (the public lookup page).

    An id gives the service request (:data:`geo.open311.requests.REQUEST_FIELDS`); a
    token gives the report's state (``report_status``, ``status_notes`` for a rejection)
    and, once it is accepted or merged, the request it follows. None when neither exists.
    No personal data is read.

    Parameters
    ----------
    store
        The store.
    text
        A request number or a report token.

    Returns
    -------
    dict or None
        The fields shown to the resident, or None.
    """
    text = (text or "").strip()
    if not text or len(text) > 64:
        return None
    names = stored.ward_names(store)
    if text.isdigit() and len(text) < 19:
        rows = stored.service_requests(store, RequestQuery(ids=(int(text),), limit=1))
        return request_record(rows[0], names, media=_media(store, rows)) if rows else None
    try:
        report = stored.report(store, token=text)
    except NotFound:
        return None
    found: dict[str, Any] = {"token": report["token"], "report_status": report["status"],
                             "status_notes": report.get("public_reason")}
    if report.get("incident_id") is not None:
        rows = stored.service_requests(store, RequestQuery(ids=(int(report["incident_id"]),), limit=1))
        if rows:
            shown = request_record(rows[0], names, media=_media(store, rows))
            found = {**found, **shown, "report_status": report["status"]}
    return found
