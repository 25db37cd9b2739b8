"""geo/i18n: the label table kept in one module per page area, merged without overrides.

Expected values come from the rules in the package docstring (one home per key prefix, no
key in two areas, both languages for every label), not from the tables themselves.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from geo import i18n

REPO = Path(__file__).resolve().parents[1]

#: ``- ``_area``: ``prefix``, ``prefix`` `` lines of the package docstring.
_HOME_LINE = re.compile(r"^- ``(_\w+)``: (.+)$", re.MULTILINE)


def _area(module: object) -> str:
    return str(getattr(module, "__name__", "")).rsplit(".", 1)[1]


def test_no_two_areas_define_the_same_key():
    """A key in two area modules would make one label win silently over the other."""
    twice = {
        (_area(a), _area(b), key)
        for a, b in itertools.combinations(i18n._AREAS, 2)
        for key in a.LABELS.keys() & b.LABELS.keys()
    }
    assert twice == set()
    assert len(i18n.LABELS) == sum(len(area.LABELS) for area in i18n._AREAS)


def test_the_merge_refuses_a_key_two_areas_define():
    ours = {"map.title": ("Bản đồ", "Map")}
    theirs = {"map.title": ("Bản đồ khác", "Another map"), "map.other": ("Khác", "Other")}
    with pytest.raises(ValueError, match=r"'map\.title'.*_shell.*_map"):
        i18n._merge([("_shell", ours), ("_map", theirs)])
    assert i18n._merge([("_shell", ours), ("_map", {"map.other": ("Khác", "Other")})]) == {
        "map.title": ("Bản đồ", "Map"),
        "map.other": ("Khác", "Other"),
    }


def test_each_key_lives_in_the_module_the_docstring_names_for_its_prefix():
    """The docstring tells a contributor where a new key goes; the tables must agree."""
    homes = {
        prefix.strip("` "): area
        for area, prefixes in _HOME_LINE.findall(i18n.__doc__ or "")
        for prefix in prefixes.split(",")
    }
    assert sorted(set(homes.values())) == sorted(_area(m) for m in i18n._AREAS)
    misplaced = [
        (key, _area(module), homes.get(key.split(".", 1)[0]))
        for module in i18n._AREAS
        for key in module.LABELS
        if homes.get(key.split(".", 1)[0]) != _area(module)
    ]
    assert misplaced == []


def test_every_label_has_both_languages_with_the_same_placeholders():
    placeholders = re.compile(r"\{(\w*)[^}]*\}")
    incomplete = [
        key
        for key, pair in i18n.LABELS.items()
        if len(pair) != 2
        or not all(isinstance(text, str) and text.strip() for text in pair)
        or set(placeholders.findall(pair[0])) != set(placeholders.findall(pair[1]))
    ]
    assert incomplete == []


def test_every_key_the_code_names_is_known():
    """A key in a page or in geo/ that is missing from the table would raise KeyError only
    when that page runs; a key lost in a split is caught here. A key built at run time
    (``t(f"photos.flag.{flag}")``, ``t("photos.role." + role)``) must at least start like one."""
    call = re.compile(r"""\b_?t\(\s*f?["']([a-z_]+\.[\w.]*)(["'{])""")
    files = [REPO / "app.py", *(REPO / "app_pages").glob("*.py"), *(REPO / "geo").rglob("*.py")]
    named = {
        (
            key + ("*" if after == "{" or key.endswith(".") else ""),
            path.relative_to(REPO).as_posix(),
        )
        for path in files
        for key, after in call.findall(path.read_text(encoding="utf-8"))
    }
    assert len(named) > 300  # the pattern still finds the calls
    unknown = {
        (key, where)
        for key, where in named
        if not (
            any(k.startswith(key[:-1]) for k in i18n.LABELS)
            if key.endswith("*")
            else key in i18n.LABELS
        )
    }
    assert unknown == set()


def test_lookup_falls_back_to_vietnamese_and_refuses_an_unknown_key():
    assert i18n.t("app.title", "en") == "Hanoi urban-order monitor"
    for lang in (None, "fr", "", "vi"):
        assert i18n.t("app.title", lang) == "Giám sát trật tự đô thị Hà Nội"
    assert i18n.t("reports.waiting", "en", n=3) == "3 report(s) waiting"
    with pytest.raises(KeyError):
        i18n.t("app.no_such_label")


def test_numbers_are_written_as_each_language_writes_them():
    """Vietnamese groups thousands with "." and marks decimals with ","; English the
    other way round; charts get the same marks (Vega-Lite's number locale)."""
    from geo.i18n import number, number_locale
    from geo.metrics import format_value

    assert number(1234567.891, "vi", 2) == "1.234.567,89"
    assert number(1234567.891, "en", 2) == "1,234,567.89"
    assert number(-1000, "vi") == "-1.000" and number(999, "en") == "999"
    assert number(0.5, None, 1) == "0,5"  # no language: Vietnamese
    assert {k: number_locale("vi")[k] for k in ("decimal", "thousands")} == {"decimal": ",", "thousands": "."}
    assert {k: number_locale("en")[k] for k in ("decimal", "thousands")} == {"decimal": ".", "thousands": ","}
    assert format_value(1234.5, "median_days", "vi").startswith("1.234,5")
    assert format_value(1234.5, "median_days", "en").startswith("1,234.5")
    assert format_value(None, "median_days", "en") == "–"
