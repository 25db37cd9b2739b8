"""Every UI label, Vietnamese first, English available: one table, one lookup.

Officers read Vietnamese; maintainers and visitors may switch to English. Pages never
hard-code a label: they call :func:`t`. Violation types and workflow states keep their
labels in :mod:`geo.vocab` (they are stored codes); :func:`type_label` and
:func:`status_label` read them from there so the two tables cannot drift apart.

The table is kept in one private module per page area, because one 700-line literal was
hard to review and every page's change touched the same file. A key's prefix (the part
before the first dot) names its area, and each prefix lives in exactly one module:

- ``_shell``: ``app``, ``lang``, ``nav``, ``auth``, ``role``, ``filter``, ``common``, ``error``
- ``_map``: ``map``, ``ward``, ``incident``, ``photos``, ``status``
- ``_upload``: ``upload``
- ``_leaders``: ``compare``, ``progress``, ``wardpage``, ``metric``, ``report``
- ``_sustain``: ``reinspect``, ``sustain``
- ``_residents``: ``reports``, ``lookup``
- ``_admin``: ``admin``

Numbers given for a placeholder are written as the page's language writes numbers
("{n} vụ việc" with 1234 reads "1.234 vụ việc"; "1,234 incidents" in English), whatever the
placeholder is called: no list of count names to forget. An identifier that must stay as
stored ("vụ việc #{id:id}", batch {batch:id}) is marked ``:id`` in both languages.

Add a key to the module of its prefix, as ``key: (vietnamese, english)``; a new prefix
gets a line here and a home in one module. :data:`LABELS` merges the modules and refuses a
key two of them define (merging dicts would let the later one win without a word);
ruff (F601) refuses a key repeated inside one module.
"""

from __future__ import annotations

import numbers
import string
from collections.abc import Iterable, Mapping
from typing import Any

from geo.i18n import _admin, _leaders, _map, _residents, _shell, _sustain, _upload

LANGS: tuple[str, ...] = ("vi", "en")
DEFAULT_LANG = "vi"

#: The area modules, in the order their labels enter :data:`LABELS`.
_AREAS = (_shell, _map, _upload, _leaders, _sustain, _residents, _admin)


def _merge(
    areas: Iterable[tuple[str, Mapping[str, tuple[str, str]]]],
) -> dict[str, tuple[str, str]]:
    """One table from ``(area name, labels)`` pairs; a key two areas define raises
    ``ValueError`` naming both, so no area can silently replace another's label."""
    merged: dict[str, tuple[str, str]] = {}
    owner: dict[str, str] = {}
    for area, labels in areas:
        for key, pair in labels.items():
            if key in owner:
                raise ValueError(f"label {key!r} is defined twice: in {owner[key]} and in {area}")
            owner[key] = area
            merged[key] = pair
    return merged


LABELS: dict[str, tuple[str, str]] = _merge((m.__name__, m.LABELS) for m in _AREAS)


def norm_lang(lang: str | None) -> str:
    """``"en"`` or ``"vi"``; anything else (None, "fr", "") falls back to Vietnamese.

    Parameters
    ----------
    lang : str or None
        The language asked for.

    Returns
    -------
    str
        One of :data:`LANGS`.
    """
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = DEFAULT_LANG, **fmt: Any) -> str:
    """The label for ``key`` in ``lang``, formatted with ``fmt``.

    A missing key raises ``KeyError``: a silently English (or blank) label in the
    Vietnamese UI is a bug the tests should catch.

    Parameters
    ----------
    key : str
        A key of :data:`LABELS`, e.g. ``"metric.volume"``.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).
    **fmt : Any
        Values for the label's ``{placeholders}``. A number is written as ``lang`` writes
        numbers (1.234 / 1,234) unless its placeholder is marked ``{name:id}``.

    Returns
    -------
    str
        The label text.

    Raises
    ------
    KeyError
        ``key`` is not in :data:`LABELS`.
    """
    vi, en = LABELS[key]
    text = en if norm_lang(lang) == "en" else vi
    return _Labels(norm_lang(lang)).format(text, **fmt) if fmt else text


#: The format spec that marks a placeholder as an identifier: its value is written as given.
ID_SPEC = "id"


class _Labels(string.Formatter):
    """``str.format`` for labels: a number with no spec of its own is written as ``lang``
    writes numbers (:func:`number`), so a count cannot show as "12345" on a page that
    writes "12.345" because its placeholder was new; ``{name:id}`` writes an identifier
    (incident, batch, place) as given, since "#12.345" would misquote a stored id."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == ID_SPEC:
            return str(value)
        if not format_spec and not isinstance(value, bool):
            if isinstance(value, numbers.Integral):
                return number(int(value), self.lang)
            if isinstance(value, numbers.Real):
                return _real(float(value), self.lang)
        return str(super().format_field(value, format_spec))


def _real(value: float, lang: str | None) -> str:
    """A measured number with as few decimals (at most 3) as show it to 3 places."""
    decimals = next((d for d in range(3) if round(value, d) == round(value, 3)), 3)
    return number(value, lang, decimals)


def type_label(code: str, lang: str | None = DEFAULT_LANG) -> str:
    """The label of an incident type, so pages show words, not codes.

    Parameters
    ----------
    code : str
        A type code of :data:`geo.vocab.TYPES`.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The label, or ``code`` itself when it is not a known type.
    """
    from geo.vocab import TYPES

    return _term_label(TYPES, code, lang)


def status_label(code: str, lang: str | None = DEFAULT_LANG) -> str:
    """The label of a workflow status, so pages show words, not codes.

    Parameters
    ----------
    code : str
        A status code of :data:`geo.vocab.STATES`.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The label, or ``code`` itself when it is not a known status.
    """
    from geo.vocab import STATES

    return _term_label(STATES, code, lang)


def audit_label(kind: str, code: object, lang: str | None = DEFAULT_LANG) -> str:
    """The label of an audit entry's action or object type, so the audit log reads as words.

    The codes are those of :mod:`geo.audit_codes` (each labelled here, tests/test_audit_codes.py);
    an entry written by an older version under a code since retired is shown as its code.

    Parameters
    ----------
    kind : str
        ``"action"`` or ``"object"``.
    code : object
        The stored code (``"user_add"``, ``"incident"``…); None or NaN shows as "".
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The label, or ``code`` itself when it has none.
    """
    if not isinstance(code, str):
        return ""
    key = f"admin.{kind}.{code}"
    return t(key, lang) if key in LABELS else code



#: How numbers are written in each language: Vietnamese groups thousands with a dot and
#: writes a decimal comma (1.234,5), English the other way round (1,234.5). Vega-Lite's
#: ``config.locale.number`` takes this form as it stands (:func:`number_locale`).
_NUMBER_MARKS: dict[str, tuple[str, str]] = {"vi": (".", ","), "en": (",", ".")}


def number(value: float, lang: str | None = DEFAULT_LANG, decimals: int = 0) -> str:
    """``value`` as the page's language writes a number: ``1.234,5`` (vi), ``1,234.5`` (en).

    Parameters
    ----------
    value : float
        The number.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).
    decimals : int
        Digits after the decimal mark.

    Returns
    -------
    str
        The number with thousands grouped and the language's decimal mark.
    """
    thousands, decimal = _NUMBER_MARKS[norm_lang(lang)]
    marks: dict[str, str | int | None] = {",": thousands, ".": decimal}
    return f"{value:,.{decimals}f}".translate(str.maketrans(marks))


def number_locale(lang: str | None = DEFAULT_LANG) -> dict[str, Any]:
    """The number locale of ``lang`` for a chart (Vega-Lite ``config.locale.number``, the
    d3-format definition), so axes and tooltips write numbers as :func:`number` does.

    Parameters
    ----------
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    dict
        ``decimal``, ``thousands``, ``grouping`` and ``currency``.
    """
    thousands, decimal = _NUMBER_MARKS[norm_lang(lang)]
    currency = ["", "\u00a0₫"] if norm_lang(lang) == "vi" else ["", ""]
    return {"decimal": decimal, "thousands": thousands, "grouping": [3], "currency": currency}


def _detail_label(key: str, lang: str | None) -> str:
    """The word for a details key; an ingest's ``flag_<flag>`` count names the flag as the
    upload page does; a key with no label shows as itself."""
    if f"admin.detail.{key}" in LABELS:
        label = t(f"admin.detail.{key}", lang)
        return label[:1].upper() + label[1:]
    flag = f"upload.flag.{key.removeprefix('flag_')}"
    if key.startswith("flag_") and flag in LABELS:
        return _detail_label("flag", lang) + f" «{t(flag, lang)}»"
    return key


def _instant(text: str) -> str | None:
    """An ISO instant with its offset as Hà Nội reads a clock, else None (dates, names)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from geo.crs import LOCAL_TZ

    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        return None
    return stamp.astimezone(ZoneInfo(LOCAL_TZ)).strftime("%d/%m/%Y %H:%M")


def right_label(code: str, lang: str | None = DEFAULT_LANG) -> str:
    """The words of a right (an action the services check, :data:`geo.auth.ACTIONS`), so
    a refusal's "right needed" reads "đổi trạng thái vụ việc", not ``change_status``.

    Parameters
    ----------
    code : str
        The right's code.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The words, or ``code`` itself when it is not declared (a right since retired).
    """
    from geo.auth import ACTIONS

    return _pair_label(ACTIONS, code, lang)


def session_end_label(code: str, lang: str | None = DEFAULT_LANG) -> str:
    """The words of why a session ended (:data:`geo.sessions.END_REASONS`), not ``expired``.

    Parameters
    ----------
    code : str
        The stored ``end_reason``.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The words, or ``code`` itself when it is not declared.
    """
    from geo.sessions import END_REASONS

    return _pair_label(END_REASONS, code, lang)


def _pair_label(pairs: Mapping[str, tuple[str, str]], code: str, lang: str | None) -> str:
    pair = pairs.get(code)
    if pair is None:
        return code
    return pair[1] if norm_lang(lang) == "en" else pair[0]


def _detail_value(key: str, value: object, lang: str | None, action: object = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return t("admin.detail_yes" if value else "admin.detail_no", lang)
    if isinstance(value, int):
        return number(value, lang)
    if isinstance(value, float):
        return _real(value, lang)
    if isinstance(value, dict):
        return f"({audit_details(value, lang, action=action)})"
    if isinstance(value, list | tuple):
        return ", ".join(_detail_value(key, item, lang, action) for item in value)
    text = str(value)
    if not text:
        return "—"
    if key == "action":  # the right a refusal needed
        return right_label(text, lang)
    if key == "reason" and action == "session_end":
        return session_end_label(text, lang)
    if key == "result" and f"reinspect.{text}" in LABELS:  # a re-inspection's clear / violation
        return t(f"reinspect.{text}", lang)
    if key in ("types", "service_code"):  # violation types, as the filters and reports name them
        return type_label(text, lang)
    if key in ("from", "to", "statuses") and text in _state_codes():
        return status_label(text, lang)
    if key == "roles":  # stored as a list or as the account's "a,b" column
        return ", ".join(t(f"role.{r}", lang) if f"role.{r}" in LABELS else r for r in text.split(","))
    return (_instant(text) or text) if "T" in text else text


def _state_codes() -> tuple[str, ...]:
    from geo.vocab import STATE_CODES

    return STATE_CODES


def audit_details(details: object, lang: str | None = DEFAULT_LANG, *, action: object = None) -> str:
    """An audit entry's details as the administration page shows them: each key as a word
    in ``lang`` (``admin.detail.<key>``, declared in :data:`geo.audit_codes.DETAIL_KEYS`),
    each value as that language writes it ("Tên tệp: a.csv; Vụ việc: 1.234").

    Yes/no, numbers, workflow states, roles, rights, session ends, re-inspection results,
    violation types and instants (on the Hà Nội clock) are written in ``lang``; nested
    details show in brackets; a key or value with no word (a row written by an older
    version) shows as stored, so every old row still reads.

    Parameters
    ----------
    details : object
        The stored details: a dict, its JSON text, or None.
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).
    action : object
        The entry's action code: a ``session_end``'s ``reason`` is a code with words
        (:func:`session_end_label`), other entries' reasons are text as written.

    Returns
    -------
    str
        ``"label: value; label: value"``; "" for no details.
    """
    if isinstance(details, str):
        import json

        try:
            details = json.loads(details)
        except ValueError:
            return str(details)
    if not isinstance(details, dict):
        return "" if details is None else str(details)
    return "; ".join(
        f"{_detail_label(str(key), lang)}: {_detail_value(str(key), value, lang, action)}"
        for key, value in _one_language(details, lang).items()
    )


#: The suffix of a details key holding the Vietnamese text of the key without it (a
#: refusal's ``reason`` is English, as older entries have it; ``reason_vi`` Vietnamese).
VI_SUFFIX = "_vi"


def _one_language(details: dict[Any, Any], lang: str | None) -> dict[Any, Any]:
    """``details`` with each text stored in both languages once, in ``lang``: under the
    English key's place and word, the Vietnamese text on a Vietnamese page. An entry with
    only the English text (written before both were kept) shows it as stored."""
    pairs = {k for k in details if isinstance(k, str) and k.endswith(VI_SUFFIX) and k[: -len(VI_SUFFIX)] in details}
    shown = {k: v for k, v in details.items() if k not in pairs}
    if norm_lang(lang) == "vi":
        for key in pairs:
            if details[key]:
                shown[key[: -len(VI_SUFFIX)]] = details[key]
    return shown


def _term_label(terms: Any, code: str, lang: str | None) -> str:
    for term in terms:
        if term.code == code:
            return str(term.label_en if norm_lang(lang) == "en" else term.label_vi)
    return code
