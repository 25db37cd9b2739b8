"""Text on the maps stays text: template syntax, script marks and a lone ``{{`` in what a
user or a file wrote are shown as written, never evaluated (:mod:`geo._map_text`).

branca renders each element's script and then compiled that output as a new Jinja
template, so ``{{ 'PWN' ~ 'ED' }}`` in an incident's address came out as ``PWNED`` and a Jinja
expression could reach Python's objects on the server. Each case below draws a real map
with the hostile text in one kind of user text and reads the page a browser gets.
"""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest

from geo import _map_text
from geo.i18n import t
from geo.maps import map_html, ward_map
from geo.open311.moderation_map import report_map
from geo.place_layer import place_payload
from geo.safe_text import html_text
from tests._incidents import incident_frame

#: Evaluated, each would leave its mark ("PWNED", "EVALUATED") or fail to compile ("{{").
HOSTILE = [
    "số {{ 'PWN' ~ 'ED' }} Hàng Mã",
    "{% if true %}EVAL{% endif %}UATED",
    "{{ cycler.__init__.__globals__.os.getpid() }}",
    "mái che {{",
    "{# a comment #}",
]
MARKS = ("PWNED", "EVALUATED")


def _hostile_wards(wards, text: str):
    named = wards.copy()
    named.loc[named["code"] == "00070", "name"] = text
    return named


def _hostile_incidents(text: str) -> pd.DataFrame:
    incidents = incident_frame()
    incidents["id"] = range(1, len(incidents) + 1)
    incidents["address"] = text
    return incidents


def test_the_second_template_pass_is_gone():
    assert _map_text.installed()


@pytest.mark.parametrize("text", HOSTILE)
def test_template_syntax_in_addresses_ward_names_and_titles_is_shown_as_written(wards, text):
    page = map_html(ward_map(_hostile_wards(wards, text), _hostile_incidents(text), assets="cdn"), title=text)
    for mark in MARKS:
        assert mark not in page
    # the address (incident tooltips, JSON), the ward's tooltip (GeoJSON) and its label
    # (text written by the script) and the title each carry the text, escaped
    shown = html_text(text)
    assert page.count(json.dumps(shown, ensure_ascii=False)[1:-1]) >= 2
    labels = [json.loads(a) for a in re.findall(r"var d = (\[\[.*?\]\]);", page)]
    assert any(row[2] == text for rows in labels for row in rows)  # the ward's name label: its text
    assert f"<title>{shown}</title>" in page
    assert html.unescape(shown) == text  # and a browser shows exactly what was written


def test_a_resident_s_label_cannot_leave_folium_s_tooltip_template_literal():
    label = "`; alert(1); `${alert(2)}\\"
    page = report_map(21.03, 105.85, label, pd.DataFrame(columns=["id", "lat", "lon", "distance_m"]),
                      lang="vi").get_root().render()  # fmt: skip
    literals = re.findall(r"bindTooltip\(\s*`(.*?)`", page, flags=re.S)
    assert literals, "the tooltip is written as a template literal"
    held = [lit for lit in literals if "alert" in lit]
    assert held and all("${" not in lit and not lit.rstrip().endswith("\\") for lit in held)
    assert any(html.unescape(re.sub(r"<[^>]+>", "", lit)).strip() == label for lit in held)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_earlier_events_label_is_split_around_its_count(lang):
    events = pd.DataFrame({"place_id": 7, "kind": ["report", "clear"],
                           "at": pd.to_datetime(["2026-01-05 03:00", "2026-01-08 03:00"], utc=True),
                           "note": [None, None], "street": "Hàng Mã", "address": "{{ 'PWN' ~ 'ED' }}"})  # fmt: skip
    states = pd.DataFrame({"place_id": [7], "ward_code": ["00070"], "type": ["sidewalk"], "lon": [105.85],
                           "lat": [21.03], "state": ["clear"], "recurrences": [0], "incidents": [1],
                           "days_clear": [3.0], "chronic": [False]})  # fmt: skip
    payload = json.loads(place_payload(states, events, lang=lang).replace("<\\/", "</"))
    before, after = payload["t"]["earlier"]
    # the rule: the label with its count reads: the text before, the count, the text after
    assert html.unescape(before) + "12" + html.unescape(after) == t("sustain.earlier_events", lang, n="12")
    assert payload["p"][0][7] == html_text("{{ 'PWN' ~ 'ED' }}")


@pytest.mark.parametrize("text", ["{{ 1/0 }}", "mái che {{", HOSTILE[0]])
def test_what_st_folium_sends_holds_the_text_as_written(wards, text):
    """The app's path: st_folium renders the whole page first (its default, which the
    upload, ward, re-inspection and report pages use: the uploaded file's addresses and
    residents' reports), then reads each element's script once. What it sends never held
    the evaluated text, but the whole-page render evaluated it on the server all the
    same: ``{{ 1/0 }}`` raised there, ``{{`` failed to compile, and an expression with
    side effects would have run. Nothing may be evaluated, and the text arrives as written."""
    from streamlit_folium import _get_header, _get_html, _get_map_string

    fmap = ward_map(_hostile_wards(wards, text), _hostile_incidents(text), lang="vi")
    fmap.get_root().render()  # what st_folium does with render=True
    fmap.render()
    sent = "".join([_get_html(fmap), _get_header(fmap), _get_map_string(fmap)])
    for mark in MARKS:
        assert mark not in sent
    assert json.dumps(html_text(text), ensure_ascii=False)[1:-1] in sent
