"""GeoReport v2 answers as JSON or XML, from the same plain records.

Every answer is built once as dicts and lists (:mod:`geo.open311.documents`) and written
here in the format the client asked for by the path's extension. XML goes through
:mod:`xml.etree.ElementTree`, which escapes text, so a hostile description arrives as
text in both formats. XML element names follow the spec: a list is written as a
container of one element per item (``services``/``service``, ``service_requests``/
``request``, ``errors``/``error``, ``attributes``/``attribute``, ``values``/``value``,
``endpoints``/``endpoint``, ``formats``/``format``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import orjson

#: The formats served, by extension, with their media types.
MEDIA_TYPES: dict[str, str] = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}
#: XML element of each item of a nested list, by the list's key.
_ITEM = {
    "attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return ",".join(value)
    return str(value)


def _fill(element: ET.Element, record: dict[str, Any]) -> None:
    for key, value in record.items():
        child = ET.SubElement(element, key)
        if isinstance(value, dict):
            _fill(child, value)
        elif isinstance(value, list | tuple) and key in _ITEM:
            for item in value:
                grandchild = ET.SubElement(child, _ITEM[key])
                if isinstance(item, dict):
                    _fill(grandchild, item)
                else:
                    grandchild.text = _text(item)
        else:
            child.text = _text(value)


def to_xml(root: str, item: str | None, body: Any) -> bytes:
    """``body`` (a list of records under ``root``/``item``, or one record under ``root``)
    as a UTF-8 XML document with its declaration.

    Parameters
    ----------
    root
        The root element.
    item
        The element of each record (None: ``body`` is one record).
    body
        A list of records, or one record.

    Returns
    -------
    bytes
        The document.
    """
    element = ET.Element(root)
    if item is None:
        _fill(element, body)
    else:
        for record in body:
            _fill(ET.SubElement(element, item), record)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def to_json(body: Any) -> bytes:
    """``body`` as UTF-8 JSON (Vietnamese kept as it is, ``<`` escaped so the text can
    never close a script element it is pasted into), written by ``orjson``: a page of
    1,000 requests in about 1 ms instead of 6 (issue 14's GET target).

    Parameters
    ----------
    body
        Records (lists, dicts, text, numbers).

    Returns
    -------
    bytes
        The document.
    """
    return orjson.dumps(body).replace(b"<", b"\\u003c")


def render(fmt: str, root: str, item: str | None, body: Any) -> tuple[bytes, str]:
    """(content, media type) of ``body`` in ``fmt`` (``json`` or ``xml``).

    Parameters
    ----------
    fmt
        ``json`` or ``xml``.
    root, item, body
        As :func:`to_xml` takes them.

    Returns
    -------
    tuple
        (content, media type).
    """
    if fmt == "xml":
        return to_xml(root, item, body), MEDIA_TYPES["xml"]
    return to_json(body), MEDIA_TYPES["json"]
