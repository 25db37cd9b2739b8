"""Every number a label shows is written as the page's language writes numbers.

The rule (docs of :mod:`geo.i18n`): Vietnamese groups thousands with "." and marks decimals
with ","; English the other way round. A count shown as "12345" on a page that writes
"12.345" everywhere else is the defect this guards (it happened with ``{shown}`` when the
grouping depended on a list of count names). Identifiers are the one exception and are
marked ``{name:id}`` in the message.

The expected strings are written out here from the rule, not read from the code's tables;
every message of the catalogue is rendered in both languages, and every ``t(`` call in the
app and in geo/ is read from the source, so a new message or a new call is covered without
editing this file.
"""

from __future__ import annotations

import ast
import string
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from geo import i18n

REPO = Path(__file__).resolve().parents[1]

#: 12345 as each language writes it, from the rule above.
GROUPED = {"vi": "12.345", "en": "12,345"}
#: 1234.5 as each language writes it.
DECIMAL = {"vi": "1.234,5", "en": "1,234.5"}


def _fields(text: str) -> list[tuple[str, str]]:
    """``(name, format spec)`` of each placeholder of ``text``."""
    return [
        (name, spec or "")
        for _, name, spec, _ in string.Formatter().parse(text)
        if name is not None
    ]


def _messages() -> list[tuple[str, str, str]]:
    """``(key, lang, text)`` for every label with a placeholder, in both languages."""
    return [
        (key, lang, text)
        for key, pair in i18n.LABELS.items()
        for lang, text in zip(i18n.LANGS, pair, strict=True)
        if _fields(text)
    ]


def _id_names() -> dict[str, set[bool]]:
    """Each placeholder name → whether it is marked as an id, over the whole catalogue."""
    marked: dict[str, set[bool]] = defaultdict(set)
    for _key, _lang, text in _messages():
        for name, spec in _fields(text):
            marked[name].add(spec == "id")
    return marked


def test_the_catalogue_has_number_placeholders_and_ids():
    """The scan below sees the messages (a broken parse would pass vacuously)."""
    names = _id_names()
    assert len(_messages()) > 60
    assert {"n", "shown", "total", "accepted"} <= {n for n, ids in names.items() if ids == {False}}
    assert {"id", "batch", "place"} <= {n for n, ids in names.items() if ids == {True}}


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("value", [12345, np.int64(12345)], ids=["int", "numpy"])
def test_every_count_placeholder_is_grouped_and_every_id_is_not(lang, value):
    """Each message rendered with 12345 for each placeholder (one at a time, the others
    holding a word) shows "12.345" (vi) / "12,345" (en) there; an id shows "12345"."""
    wrong = []
    for key, text_lang, text in _messages():
        if text_lang != lang:
            continue
        fields = _fields(text)
        for name, spec in fields:
            args = {other: "x" for other, _ in fields} | {name: value}
            shown = i18n.t(key, lang, **args)
            want = "12345" if spec == "id" else GROUPED[lang]
            unwanted = GROUPED[lang] if spec == "id" else "12345"
            if want not in shown or unwanted in shown:
                wrong.append((key, name, shown))
    assert wrong == []


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_a_measured_number_gets_the_languages_decimal_mark(lang):
    """A float (minutes, metres) is written with the language's marks, not Python's."""
    assert DECIMAL[lang] in i18n.t("auth.expired", lang, minutes=1234.5)
    assert GROUPED[lang] + " m" in i18n.t("photos.distance", lang, m=12345.0)
    assert i18n.t("reports.waiting", lang, n=True).startswith(
        "True"
    )  # a bool is no count: as given


def test_a_placeholder_name_means_the_same_in_every_message_and_language():
    """``{place}`` is an id wherever it appears, ``{n}`` a count wherever it appears: so a
    call whose key is chosen at run time (``t(key, place=…)``) is still an id or a count,
    and the Vietnamese and English texts of a message cannot disagree about it."""
    mixed = {name: ids for name, ids in _id_names().items() if len(ids) > 1}
    assert mixed == {}


def _calls() -> list[tuple[str, int, str | None, ast.keyword]]:
    """``(file, line, literal key or None, keyword)`` of every ``t(…, name=value)`` call."""
    files = [REPO / "app.py", *(REPO / "app_pages").glob("*.py"), *(REPO / "geo").rglob("*.py")]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = (
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            )
            if name not in ("t", "_t") or not node.args:
                continue
            first = node.args[0]
            key = (
                first.value
                if isinstance(first, ast.Constant) and isinstance(first.value, str)
                else None
            )
            where = path.relative_to(REPO).as_posix()
            found += [(where, node.lineno, key, kw) for kw in node.keywords if kw.arg is not None]
    return found


def _number_as_text(value: ast.expr) -> bool:
    """``str(x)``, ``f"{x}"``, ``f"{x:.0f}"``, ``"%d" % x``, ``"{}".format(x)``: a value
    turned into text before ``t`` could write it as the page's language writes numbers."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in ("str", "repr")
    ):
        return True
    if isinstance(value, ast.JoinedStr):
        return len(value.values) == 1 and isinstance(value.values[0], ast.FormattedValue)
    if (
        isinstance(value, ast.BinOp)
        and isinstance(value.op, ast.Mod)
        and isinstance(value.left, ast.Constant)
    ):
        return True
    return isinstance(value, ast.Call) and getattr(value.func, "attr", "") == "format"


def test_no_call_turns_a_count_into_text_or_feeds_an_id_to_a_count():
    """Read from the source: a count placeholder gets a number (``t`` groups it), not
    ``str(n)`` or ``f"{n}"`` (which would show "12345"); a value named like an id
    (``place_id``, ``batch_id``) goes to an ``:id`` placeholder (else "#12.345"); and a
    literal key's keywords are that message's placeholders (a misspelt one would be
    silently ignored and the placeholder raise)."""
    ids = {name for name, marked in _id_names().items() if marked == {True}}
    calls = _calls()
    assert len(calls) > 50  # the reader still finds the calls
    wrong = []
    for where, line, key, kw in calls:
        name = str(kw.arg)
        source = ast.unparse(kw.value)
        if name not in ids and _number_as_text(kw.value):
            wrong.append((where, line, name, source, "number as text"))
        if name not in ids and ("_id" in source or source.endswith(".id")):
            wrong.append((where, line, name, source, "id to a count"))
        if key is not None and key in i18n.LABELS:
            if name not in {n for text in i18n.LABELS[key] for n, _ in _fields(text)}:
                wrong.append((where, line, name, source, f"not a placeholder of {key}"))
    assert wrong == []


def test_the_scan_catches_what_it_is_for():
    """The source reader flags the forms it exists to catch."""
    flagged = [
        _number_as_text(ast.parse(src, mode="eval").body)
        for src in ("str(n)", 'f"{n}"', 'f"{d:.0f}"', '"%d" % n', '"{}".format(n)')
    ]
    kept = [
        _number_as_text(ast.parse(src, mode="eval").body)
        for src in ("n", "len(rows)", 'f"{a} [{b}]"', '", ".join(names)', "user.username")
    ]
    assert flagged == [True] * 5 and kept == [False] * 5
