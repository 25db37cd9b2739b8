"""The GeoReport v2 services: one per violation type of :mod:`geo.vocab`.

A service's ``service_code`` is the stored type code, so an accepted report becomes an
incident of that type with no mapping table to keep. Names are the Vietnamese labels,
``keywords`` and ``group`` come from the vocabulary too. A type whose reports need more
than a place and a text (the kind of awning) has attributes, listed by its service
definition (``metadata`` true).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from geo.errors import Open311Error
from geo.vocab import TYPE_GROUPS, TYPE_KEYWORDS_VI, TYPES


@dataclass(frozen=True)
class Attribute:
    """One attribute of a service definition (GeoReport v2 field names)."""

    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool
    description: str
    order: int
    datatype_description: str = ""
    variable: bool = True
    values: tuple[tuple[str, str], ...] = ()  # (key, name)


@dataclass(frozen=True)
class Service:
    """One GeoReport v2 service."""

    service_code: str
    service_name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)


#: Attributes by type code.
ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "awning": (
        Attribute(
            code="awning_kind",
            datatype="singlevaluelist",
            required=False,
            description="Loại mái che / kind of awning",
            order=1,
            values=(
                ("fixed", "Mái cố định (khung sắt, tôn) / fixed"),
                ("retractable", "Mái bạt kéo, mái di động / retractable"),
                ("umbrella", "Ô, dù che / umbrella"),
            ),
        ),
    ),
    "signboard": (
        Attribute(
            code="signboard_kind",
            datatype="multivaluelist",
            required=False,
            description="Loại biển / kind of sign",
            order=1,
            values=(
                ("billboard", "Biển quảng cáo tấm lớn / billboard"),
                ("shop_sign", "Biển hiệu cửa hàng / shop sign"),
                ("banner", "Băng rôn, phướn / banner"),
            ),
        ),
    ),
}


def services() -> tuple[Service, ...]:
    """Every service, in the vocabulary's order.

    Returns
    -------
    tuple of Service
        One per violation type.
    """
    return tuple(
        Service(
            service_code=t.code,
            service_name=t.label_vi,
            description=f"{t.label_vi} / {t.label_en}",
            group=TYPE_GROUPS[t.code],
            keywords=TYPE_KEYWORDS_VI[t.code],
            attributes=ATTRIBUTES.get(t.code, ()),
        )
        for t in TYPES
    )


def service(code: str) -> Service:
    """The service ``code``; a 404 :class:`~geo.errors.Open311Error` when there is none.

    Parameters
    ----------
    code
        A service code (a type code).

    Returns
    -------
    Service
        The service.
    """
    for item in services():
        if item.service_code == code:
            return item
    raise Open311Error(
        404,
        f"Không có dịch vụ (loại vi phạm) {code!r}.",
        f"There is no service (violation type) {code!r}.",
    )


def check_attributes(svc: Service, given: Mapping[str, list[str]]) -> dict[str, Any]:
    """The report's attributes checked against the service definition.

    Parameters
    ----------
    svc
        The service reported.
    given
        Attribute code → the values sent (``attribute[code]`` once, ``attribute[code][]``
        possibly several times).

    Returns
    -------
    dict
        Code → key (single value lists) or list of keys (multivalue lists).
    """
    known = {a.code: a for a in svc.attributes}
    out: dict[str, Any] = {}
    for code, values in given.items():
        attr = known.get(code)
        if attr is None:
            raise Open311Error(
                400,
                f"Dịch vụ {svc.service_code!r} không có thuộc tính {code!r}.",
                f"Service {svc.service_code!r} has no attribute {code!r}.",
            )
        keys = {k for k, _ in attr.values}
        bad = [v for v in values if v not in keys]
        if bad or (attr.datatype == "singlevaluelist" and len(values) != 1):
            allowed = ", ".join(sorted(keys))
            raise Open311Error(
                400,
                f"Giá trị không hợp lệ cho thuộc tính {code!r}; chọn một trong: {allowed}.",
                f"Invalid value for attribute {code!r}; choose from: {allowed}.",
            )
        out[code] = values[0] if attr.datatype == "singlevaluelist" else list(dict.fromkeys(values))
    missing = [a.code for a in svc.attributes if a.required and a.code not in out]
    if missing:
        raise Open311Error(
            400,
            f"Thiếu thuộc tính bắt buộc: {', '.join(missing)}.",
            f"Missing required attribute(s): {', '.join(missing)}.",
        )
    return out
