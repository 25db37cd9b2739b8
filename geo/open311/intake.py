"""A POSTed service request, from form fields to a checked :class:`NewReport`.

Steps, each refusing with a bilingual :class:`~geo.errors.Open311Error` in the spec's
error format: parse the form (bounded number of fields), check the text fields (length,
no control characters), the service and its attributes, the place (a point in Hà Nội, or
an address naming a ward), then assign the one responsible ward with the project's rule
(:mod:`geo.assign`, through the ``locate`` the server passes in). ``media_url`` is kept as a link and never fetched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from geo import settings
from geo.admin_units import ward_code_from_text
from geo.errors import Open311Error
from geo.open311.services import check_attributes, service
from geo.store.reports import CONTACT_FIELDS, NewReport

#: Longest description accepted (issue 14), in characters.
MAX_DESCRIPTION = 4000
#: Longest of every other text field, in characters.
MAX_FIELD = 500
#: Longest ``media_url``.
MAX_URL = 2000
#: Control characters refused in text (XML 1.0 cannot carry them; tab and newlines stay).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.-]{1,50})\](\[\])?$")
#: Fields of a POST other than attributes (GeoReport v2).
FIELDS = (
    "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id",
    "description", "media_url", *CONTACT_FIELDS,
)


@dataclass(frozen=True)
class Form:
    """The POST's fields: plain ones (last value wins) and attributes (all values)."""

    fields: Mapping[str, str]
    attributes: Mapping[str, list[str]]


def parse_form(body: bytes) -> Form:
    """Parse an ``application/x-www-form-urlencoded`` body, bounding its number of fields.

    Unknown fields are ignored, as the spec lets servers do; more than
    ``GEO_SERVE_MAX_ATTRIBUTES`` attributes are refused.

    Parameters
    ----------
    body
        The raw body.

    Returns
    -------
    Form
        The known fields and the attributes.
    """
    limit = settings.serve_max_attributes()
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False,
                          max_num_fields=len(FIELDS) + limit + 10)
    except UnicodeDecodeError:
        raise Open311Error(400, "Nội dung gửi không phải UTF-8.", "The body is not UTF-8.") from None
    except ValueError:
        raise Open311Error(
            400,
            f"Quá nhiều trường; tối đa {limit} thuộc tính.",
            f"Too many fields; at most {limit} attributes.",
        ) from None
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for key, value in pairs:
        match = _ATTRIBUTE.match(key)
        if match:
            attributes.setdefault(match[1], []).append(value)
        elif key in FIELDS:
            fields[key] = value
    if len(attributes) > limit or sum(map(len, attributes.values())) > limit:
        raise Open311Error(
            400, f"Quá nhiều thuộc tính; tối đa {limit}.", f"Too many attributes; at most {limit}."
        )
    return Form(fields, attributes)


def _text(form: Form, name: str, limit: int = MAX_FIELD) -> str | None:
    """A text field, NFC, stripped; None when blank; refused when too long or with
    control characters."""
    raw = form.fields.get(name)
    if raw is None:
        return None
    value = unicodedata.normalize("NFC", raw).strip()
    if not value:
        return None
    if len(value) > limit:
        raise Open311Error(
            400,
            f"Trường {name} dài {len(value):,} ký tự, tối đa {limit:,}.",
            f"Field {name} is {len(value):,} characters long, at most {limit:,}.",
        )
    if _CONTROL.search(value):
        raise Open311Error(
            400,
            f"Trường {name} chứa ký tự điều khiển không hợp lệ.",
            f"Field {name} contains invalid control characters.",
        )
    return value


def _coordinate(form: Form, name: str, low: float, high: float) -> float | None:
    value = _text(form, name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not np.isfinite(number) or not low <= number <= high:
        raise Open311Error(
            400, f"Trường {name}={value!r} không phải tọa độ hợp lệ.",
            f"Field {name}={value!r} is not a valid coordinate.",
        )
    return number


def _media_url(form: Form) -> str | None:
    """An http(s) link, stored as it is and never fetched (no server-side requests)."""
    url = _text(form, "media_url", MAX_URL)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise Open311Error(
            400, "media_url phải là liên kết http(s).", "media_url must be an http(s) link."
        )
    return url


#: (lon, lat) → the responsible ward's code under the one-ward rule, None outside Hà Nội.
Locate = Callable[[float, float], str | None]


def _place(
    form: Form, locate: Locate, known: Collection[str]
) -> tuple[float | None, float | None, str, str | None]:
    """(lat, lon, ward code, address): a point in Hà Nội, or an address naming a ward."""
    lat = _coordinate(form, "lat", -90, 90)
    lon = _coordinate(form, "long", -180, 180)
    address = _text(form, "address_string")
    if (lat is None) != (lon is None):
        raise Open311Error(400, "Cần cả lat và long.", "Both lat and long are needed.")
    if lat is not None and lon is not None:
        ward = locate(lon, lat)
        if ward is None:
            raise Open311Error(
                400,
                f"Vị trí ({lat}, {lon}) nằm ngoài Hà Nội; máy chủ này chỉ nhận phản ánh trong "
                "các phường, xã của Hà Nội.",
                f"The point ({lat}, {lon}) is outside Hà Nội; this server takes reports in "
                "Hà Nội's wards and communes only.",
            )
        return lat, lon, ward, address
    if address is None:
        raise Open311Error(
            400, "Cần lat và long, hoặc address_string.", "lat and long, or address_string, are required."
        )
    for part in reversed(address.split(",")):
        code = ward_code_from_text(part.strip())
        if code is not None and code in known:
            return None, None, code, address
    raise Open311Error(
        400,
        "Địa chỉ không nêu được phường, xã nào của Hà Nội; hãy gửi lat và long, hoặc ghi "
        "rõ phường, xã (ví dụ: '12 Hàng Mã, Phường Hoàn Kiếm').",
        "The address names no ward of Hà Nội; send lat and long, or name the ward (for "
        "example '12 Hàng Mã, Phường Hoàn Kiếm').",
    )


def new_report(form: Form, *, api_key_id: int, locate: Locate, known: Collection[str]) -> NewReport:
    """The checked report of a parsed form, assigned to its ward.

    Parameters
    ----------
    form
        :func:`parse_form`'s answer.
    api_key_id
        The (checked) key that sent it.
    locate
        The one-ward rule on the layer in use (:meth:`geo.open311.endpoints.GeoReport.locate`).
    known
        The codes of that layer's wards (an address naming another is not placed).

    Returns
    -------
    NewReport
        Ready for :func:`geo.store.reports.receive`.
    """
    code = _text(form, "service_code")
    if code is None:
        raise Open311Error(400, "Thiếu service_code.", "service_code is required.")
    try:
        svc = service(code)
    except Open311Error as unknown:  # a field of the POST: a bad request, not a missing page
        raise Open311Error(400, unknown.message_vi, unknown.message_en) from None
    attributes = check_attributes(svc, form.attributes)
    description = _text(form, "description", MAX_DESCRIPTION)
    media_url = _media_url(form)
    lat, lon, ward_code, address = _place(form, locate, known)
    contact = {name: _text(form, name) for name in CONTACT_FIELDS}
    return NewReport(
        service_code=svc.service_code, lat=lat, lon=lon, ward_code=ward_code, address=address,
        description=description, media_url=media_url, api_key_id=api_key_id,
        attributes=attributes, contact=contact,
    )
