"""A chart made by the pages' helper (app_pages._common.chart) writes its axis numbers as
the page's language does, in the Vega that Streamlit ships, in headless Debian Chromium:
"10.000" on a Vietnamese page, "10,000" on an English one. The chart is drawn as SVG here
(the app's charts use canvas, whose text a test cannot read); the number locale is the same."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PAGE = '''
import sys
sys.path.insert(0, {repo!r})
import altair as alt
import pandas as pd
import streamlit as st
from app_pages._common import chart

st.session_state["lang"] = st.query_params.get("lang", "vi")
bars = alt.Chart(pd.DataFrame({{"x": ["a", "b"], "y": [1000, 25000.5]}})).mark_bar().encode(x="x:N", y="y:Q")
st.altair_chart(chart(bars.properties(usermeta={{"embedOptions": {{"renderer": "svg"}}}})))
'''


@pytest.fixture(scope="module")
def chart_page(tmp_path_factory):
    from tests._browser import REPO, AppServer, free_port, require_browser_stack

    require_browser_stack()
    tmp = tmp_path_factory.mktemp("chart_page")
    script = tmp / "chart_page.py"
    script.write_text(PAGE.format(repo=str(REPO)), encoding="utf-8")
    import os

    server = AppServer(free_port(), dict(os.environ), tmp / "streamlit.log", script=script)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.mark.parametrize(("lang", "ticks"), [("vi", {"10.000", "20.000"}), ("en", {"10,000", "20,000"})])
def test_chart_axes_write_numbers_in_the_pages_language(browser, chart_page, lang, ticks):
    page = browser.new_page()
    try:
        page.goto(f"{chart_page.url}/?lang={lang}", wait_until="domcontentloaded")
        page.wait_for_selector("svg.marks text", timeout=60_000)
        texts = set(page.eval_on_selector_all("svg.marks text", "els => els.map(e => e.textContent)"))
        assert ticks <= texts, texts
    finally:
        page.close()
