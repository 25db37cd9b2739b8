"""The ingest's match methods and coordinate/date formats: one declaration, every code labelled.

The codes come from their declaration (:mod:`geo.ingest.codes`), which the producers must
use: the source of geo/ingest is read, and a bare literal code anywhere but in the
declaration fails (the few strings that are also a file kind or a field name are listed
with their meaning). Every declared code then needs a word in both languages, so a new
code cannot reach the upload preview as itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from geo import i18n
from geo.ingest import codes

INGEST = Path(__file__).resolve().parents[2] / "geo" / "ingest"

#: Strings equal to a code with another meaning: (file, text) → what it means there.
OTHER_MEANINGS = {
    ("_readers.py", "geojson"): "the file kind",
    ("_geojson.py", "geojson"): "the file kind",
    ("_geojson.py", "geometry"): "the GeoJSON member of a feature",
    ("_locate.py", "geometry"): "the field a rejection names",
    ("_reasons.py", "geometry"): "the field a rejection names",
}


def _declared() -> set[str]:
    return {code for kind_codes, _ in codes.KINDS.values() for code in kind_codes}


def test_no_producer_writes_a_bare_code():
    """``fmt[i] = "utm"`` in a producer would bypass the declaration (and its label)."""
    declared = _declared()
    assert len(declared) == 19  # 7 match methods, 7 coordinate and 5 date formats
    bare = sorted(
        (path.name, node.lineno, node.value)
        for path in INGEST.glob("*.py")
        if path.name != "codes.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in declared
        and (path.name, node.value) not in OTHER_MEANINGS
    )  # fmt: skip
    assert bare == []
    # each named exception is still there (else it would hide a new use)
    for name, text in OTHER_MEANINGS:
        tree = ast.parse((INGEST / name).read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.Constant) and n.value == text for n in ast.walk(tree)), (name, text)


@pytest.mark.parametrize("kind", sorted(codes.KINDS))
def test_every_declared_code_has_a_word_in_both_languages(kind):
    kind_codes, prefix = codes.KINDS[kind]
    missing = []
    for code in kind_codes:
        key = codes.label_key(kind, code)
        pair = i18n.LABELS.get(key or "")
        if key is None or not key.startswith(prefix + ".") or pair is None \
                or not all(text.strip() for text in pair) or pair[0] == code:
            missing.append((code, key, pair))
    assert missing == []
    # no label is left for a code nothing declares
    labelled = {key for key in i18n.LABELS if key.startswith(prefix + ".")}
    assert labelled == {codes.label_key(kind, code) for code in kind_codes}


def test_no_value_and_an_undeclared_code_have_no_label_key():
    assert codes.label_key("date_format", "") is None
    assert codes.label_key("coord_format", "utm") is None
    assert codes.label_key("date_format", codes.DATE_DMY) == "upload.datefmt.dmy"
    assert codes.label_key("how", codes.HOW_KOBO) == "upload.how.kobo"
