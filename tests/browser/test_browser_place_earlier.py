"""A place popup's "earlier events" line in headless Chromium: the label arrives split
around its count (so escaping cannot touch a placeholder) and the popup writes the count
between, grouped as the page's language groups numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.i18n import t
from geo.map_assets import localize
from geo.maps import base_map, map_html
from geo.place_layer import POPUP_EVENTS, add_place_layer

pytestmark = pytest.mark.browser

#: The place's events beyond what a popup carries: the popup counts them.
EARLIER = 1234


@pytest.mark.parametrize(("lang", "grouped"), [("vi", "1.234"), ("en", "1,234")])
def test_the_popup_writes_the_earlier_events_count_in_the_page_s_style(browser, lang, grouped):
    kinds = ["report"] + ["clear", "recurrence"] * ((EARLIER + POPUP_EVENTS) // 2)
    kinds = kinds[: EARLIER + POPUP_EVENTS]
    at = pd.Timestamp("2020-01-05 03:00", tz="UTC") + pd.to_timedelta(range(len(kinds)), unit="h")
    events = pd.DataFrame({"place_id": 7, "kind": kinds, "at": at, "note": None,
                           "street": "Hàng Mã", "address": "số {{ 1 }} `${x}`"})  # fmt: skip
    states = pd.DataFrame({"place_id": [7], "ward_code": ["00070"], "type": ["sidewalk"], "lon": [105.85],
                           "lat": [21.03], "state": ["open"], "recurrences": [600], "incidents": [601],
                           "days_clear": [float("nan")], "chronic": [True]})  # fmt: skip
    fmap = base_map(((21.02, 105.84), (21.04, 105.86)), lang=lang, tiles=False)
    add_place_layer(fmap, states, events, lang=lang)
    localize(fmap, mode="inline")
    page = browser.new_page()
    try:
        page.set_content(map_html(fmap), wait_until="load")
        page.locator("path.geo-place").first.dispatch_event("click")
        line = page.locator(".geo-place-popup .geo-earlier")
        line.wait_for(state="visible", timeout=30_000)
        # the rule: the label with the count written as the language writes numbers
        assert line.inner_text() == t("sustain.earlier_events", lang, n=EARLIER)
        assert grouped in line.inner_text()
        assert "số {{ 1 }} `${x}`" in page.locator(".geo-place-popup").inner_text()
    finally:
        page.close()
