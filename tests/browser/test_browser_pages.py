"""Leaders' pages in headless Debian Chromium: the Compare choropleth is drawn in a visible
frame from the app's own host; a ward clicked on it opens the ward page in the same,
signed-in session; screenshots of Compare, Progress and the ward page."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

MIN_FRAME_HEIGHT = 300
N_WARDS = 126


@pytest.fixture(scope="module")
def sample_app(tmp_path_factory, sample_store_url):
    """An app server over the committed 5,000-row sample (a leader's real view)."""
    from tests._browser import require_browser_stack, running_app

    require_browser_stack()
    with running_app(tmp_path_factory.mktemp("sample_app"), {"GEO_DATABASE_URL": sample_store_url}) as server:
        yield server


@pytest.fixture
def sample_page(browser, sample_app):
    from tests._browser import new_recorded_page
    from tests._signin import PASSWORD, ensure_account

    name = ensure_account(sample_app.env["GEO_DATABASE_URL"], "viewer")
    rec = new_recorded_page(browser, sample_app.host, credentials=(name, PASSWORD))
    rec.user = name  # type: ignore[attr-defined]
    yield rec
    rec.page.context.close()


def _errors(rec) -> list[str]:
    """Console errors but Streamlit's own probe of a page path as its base URL: opening
    /compare first asks /compare/_stcore/health and host-config (404), then the root."""
    return [e for e in rec.asset_errors() if "/_stcore/" not in e]


def _visible_map(rec, min_paths: int = N_WARDS):
    frame = rec.map_frame(min_paths=min_paths)
    assert frame.locator("path.leaflet-interactive").count() >= min_paths
    # a map whose scripts failed can keep its paths in the DOM in a 0 px frame
    assert rec.map_iframe_box()["height"] >= MIN_FRAME_HEIGHT
    assert frame.locator(".leaflet-container").first.bounding_box()["height"] >= MIN_FRAME_HEIGHT
    return frame


def test_compare_on_an_empty_store_still_draws_the_wards(recorded_page):
    rec = recorded_page
    rec.goto("/compare")
    rec.page.get_by_text("So sánh các phường, xã").first.wait_for()
    _visible_map(rec)
    rec.screenshot("compare_page_empty_store")
    assert rec.foreign_requests() == []
    assert _errors(rec) == []


def test_compare_draws_the_choropleth(sample_page):
    rec = sample_page
    rec.goto("/compare?metric=pct_cleared")
    rec.page.get_by_text("So sánh các phường, xã").first.wait_for()
    frame = _visible_map(rec)
    # the wards are filled with the metric's colours and a legend names the metric
    filled = frame.locator("path.leaflet-interactive[fill-opacity='0.75']")
    assert filled.count() >= N_WARDS
    legend = frame.locator(".geo-legend")
    legend.wait_for(state="visible")
    assert "% đã xử lý" in legend.inner_text()
    # the sample gives the wards different values: more than one class colour is drawn
    fills = {p.get_attribute("fill") for p in filled.all()}
    assert len(fills) >= 3
    # the other views are offered above the page, not drawn
    views = rec.page.locator(".st-key-c_view button")
    assert views.all_inner_texts() == ["Bản đồ theo chỉ số", "Bảng xếp hạng", "Ma trận phường × tuần", "Mật độ vụ việc"]
    rec.screenshot("compare_page_vi")
    assert rec.foreign_requests() == []
    assert _errors(rec) == []


_FOLIUM = "iframe[title*='streamlit_folium']"
_CHART = "[data-testid='stVegaLiteChart']"
_TABLE = "[data-testid='stDataFrame']"


def _choose_view(rec, label: str) -> None:
    rec.page.locator(".st-key-c_view button", has_text=label).first.click()
    rec.page.wait_for_function(
        "(label) => { const b = [...document.querySelectorAll('.st-key-c_view button')]"
        ".find((x) => x.innerText.includes(label));"
        " return b && b.getAttribute('aria-checked') === 'true'; }",
        arg=label,
    )


def _only(rec, shown: str, count: int = 1) -> None:
    """``count`` of the chosen view's element drawn and none of the other views' elements
    (Streamlit drops the old view's elements once the new run has finished)."""
    others = [sel for sel in (_FOLIUM, _CHART, _TABLE) if sel != shown]
    rec.page.wait_for_function(
        "([shown, count, others]) => document.querySelectorAll(shown).length === count"
        " && others.every((sel) => document.querySelectorAll(sel).length === 0)",
        arg=[shown, count, others],
    )


def test_compare_draws_one_view_at_a_time(sample_page):
    """Choosing a view draws it and removes the one before; the choice is in the URL."""
    rec = sample_page
    rec.goto("/compare")
    rec.page.get_by_text("So sánh các phường, xã").first.wait_for()
    _visible_map(rec)
    _only(rec, _FOLIUM)

    _choose_view(rec, "Ma trận phường × tuần")
    _only(rec, _CHART)
    chart = rec.page.locator(_CHART).first
    chart.locator("canvas, svg").first.wait_for(state="visible")
    assert chart.bounding_box()["height"] >= MIN_FRAME_HEIGHT
    assert "view=matrix" in rec.page.url

    _choose_view(rec, "Bảng xếp hạng")
    _only(rec, _TABLE, count=2)  # the league table and the sustained-order table
    rec.page.get_by_text("Tải CSV").first.wait_for()
    assert "view=league" in rec.page.url

    _choose_view(rec, "Mật độ vụ việc")
    _only(rec, _FOLIUM)
    _visible_map(rec)  # the ward outlines
    rec.page.frame_locator(_FOLIUM).first.locator("canvas.leaflet-heatmap-layer").wait_for(state="attached")
    assert "view=density" in rec.page.url
    rec.screenshot("compare_density_view")

    _choose_view(rec, "Bản đồ theo chỉ số")
    _only(rec, _FOLIUM)
    # the component's frame may be reused: wait for the filled wards, not any paths
    filled = rec.page.frame_locator(_FOLIUM).first.locator("path.leaflet-interactive[fill-opacity='0.75']")
    filled.nth(N_WARDS - 1).wait_for(state="attached")
    _visible_map(rec)
    assert "view=" not in rec.page.url
    assert rec.foreign_requests() == []
    assert _errors(rec) == []


def test_progress_and_ward_pages_render(sample_page):
    rec = sample_page
    rec.goto("/progress?lang=en")
    rec.page.get_by_text("Before / after").first.wait_for()
    _visible_map(rec)  # the before/after change map
    rec.screenshot("progress_page_en")

    rec.goto("/ward?ward=00070")
    rec.page.get_by_text("Phường Hoàn Kiếm").first.wait_for()
    rec.page.get_by_text("Tải báo cáo PDF").first.wait_for()
    _visible_map(rec, min_paths=1)  # the ward's outline
    rec.screenshot("ward_page_hoan_kiem")
    assert rec.foreign_requests() == []
    assert _errors(rec) == []


#: A month named in English, as Vega writes a time axis unless told otherwise.
_ENGLISH_MONTH = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b")


def _chart_texts(rec, at_least: int) -> list[str]:
    """The text of every chart on the page (axis labels, legends), once ``at_least`` drew."""
    charts = rec.page.locator("[data-testid='stVegaLiteChart'] svg")
    charts.nth(at_least - 1).wait_for()
    rec.page.wait_for_function(
        "n => [...document.querySelectorAll(\"[data-testid='stVegaLiteChart'] svg\")]"
        ".filter(s => s.textContent.trim()).length >= n", arg=at_least,
    )
    return [c.evaluate("s => [...s.querySelectorAll('text')].map(e => e.textContent).join('\\n')")
            for c in charts.all()]


def test_chart_dates_read_as_the_app_writes_dates(sample_page):
    """Time axes give days and months as numbers in day/month order (07/2025, 06/07), as
    every date on the page: Vega's default named the months in English ("July", "Aug 03")
    on the Vietnamese progress and ward pages."""
    rec = sample_page
    rec.goto("/progress")
    rec.page.get_by_text("Tổng số đã xử lý (cộng dồn)").first.wait_for()
    lines, total = _chart_texts(rec, 2)[:2]
    for text in (lines, total):
        assert not _ENGLISH_MONTH.search(text), text
        assert re.search(r"\b(0[1-9]|1[0-2])/20\d\d\b", text), text  # month ticks: mm/yyyy
    rec.goto("/ward?ward=00070")
    rec.page.get_by_text("Điểm tái phạm nhiều lần: diễn biến").first.wait_for()
    timeline = _chart_texts(rec, 2)[1]
    assert not _ENGLISH_MONTH.search(timeline), timeline
    assert re.search(r"\b[0-3]\d/(0[1-9]|1[0-2])\b", timeline), timeline  # week ticks: dd/mm
    assert _errors(rec) == []


#: (ward, count, top y) of each bar of a vega-lite bar chart, from the marks' own
#: descriptions ("Tái phạm: 57; ward: Phường Ngọc Hà; …") and their paths ("M0,2.2h…").
_BARS = """s => [...s.querySelectorAll('.mark-rect path')].map(e => {
  const label = e.getAttribute('aria-label') || '';
  return [(label.match(/ward: ([^;]+)/) || [])[1], Number((label.match(/: (\\d+);/) || [])[1]),
          Number((e.getAttribute('d').match(/^M[^,]+,([-\\d.]+)/) || [])[1])];
})"""
_SHOWN_LABELS = """s => [...s.querySelectorAll('text')]
  .filter(e => getComputedStyle(e).opacity !== '0').map(e => e.textContent)"""


def test_the_recurrence_chart_names_every_ward_most_first(sample_page):
    """Every bar of the city's recurrence chart carries its ward's full name and the bars
    run from the most recurrences down: the chart hid every other name (label overlap),
    cut long ones ("Phường Văn Miếu…") and sorted the wards by name."""
    rec = sample_page
    rec.goto("/progress")
    rec.page.get_by_text("lần tái phạm trong kỳ").first.wait_for()
    chart = rec.page.locator("[data-testid='stVegaLiteChart'] svg").nth(2)
    rec.page.wait_for_function(
        "() => document.querySelectorAll(\"[data-testid='stVegaLiteChart'] svg\")[2]"
        "?.querySelectorAll('.mark-rect path').length > 0"
    )
    bars = sorted(chart.evaluate(_BARS), key=lambda bar: bar[2])
    assert len(bars) >= 5, bars  # the sample has recurrences in many wards
    counts = [n for _, n, _ in bars]
    assert counts == sorted(counts, reverse=True), bars
    shown = set(chart.evaluate(_SHOWN_LABELS))
    assert {ward for ward, _, _ in bars} <= shown, sorted(shown)


#: A point of the ward's own polygon that is on top there (not under the legend or a
#: neighbour), in the map frame's coordinates; streamlit-folium keeps the map as window.map.
_POINT_IN_WARD = """(code) => {
  let ward = null;
  window.map.eachLayer((layer) => {
    if (layer.feature && layer.feature.properties.code === code && layer._path) ward = layer;
  });
  if (!ward) return null;
  const r = ward._path.getBoundingClientRect();
  for (let i = 1; i < 16; i++) for (let j = 1; j < 16; j++) {
    const x = r.left + (r.width * i) / 16, y = r.top + (r.height * j) / 16;
    if (document.elementFromPoint(x, y) === ward._path) return {x, y};
  }
  return null;
}"""


def _click_ward(rec, code: str) -> None:
    iframe = rec.page.locator("iframe[title*='streamlit_folium']").first
    iframe.scroll_into_view_if_needed()
    frame = _visible_map(rec)
    point = frame.evaluate(_POINT_IN_WARD, code)
    assert point is not None, f"ward {code} is not drawn where a person could click it"
    box = rec.map_iframe_box()
    rec.page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


def _on_ward_page_signed_in(rec, code: str, name: str) -> None:
    rec.page.wait_for_url(f"**/ward?ward={code}*")
    rec.page.get_by_role("heading", name=name).first.wait_for()
    rec.page.get_by_text(f"Đã đăng nhập: {rec.user}").wait_for()
    assert rec.page.locator(".st-key-auth_name").count() == 0  # no sign-in form


def test_a_ward_clicked_on_compare_opens_its_page_still_signed_in(sample_page, wards):
    rec = sample_page
    names = dict(zip(wards["code"], wards["name"], strict=True))
    rec.goto("/compare")
    rec.page.get_by_text("So sánh các phường, xã").first.wait_for()
    _click_ward(rec, "00070")
    _on_ward_page_signed_in(rec, "00070", names["00070"])
    rec.page.get_by_text("Tải báo cáo PDF").first.wait_for()
    _visible_map(rec, min_paths=1)  # the ward's own map
    # a viewer's menu has no Upload (the role lacks the right); the other pages are there
    assert rec.page.get_by_role("link", name="Tiến độ").count() == 1
    assert rec.page.get_by_role("link", name="Tải lên").count() == 0
    rec.screenshot("compare_click_opens_ward_page")

    # back to Compare through the menu, another ward: still the same session
    rec.page.get_by_role("link", name="So sánh phường").click()
    rec.page.wait_for_url("**/compare*")
    rec.page.get_by_text("So sánh các phường, xã").first.wait_for()
    _click_ward(rec, "00199")
    _on_ward_page_signed_in(rec, "00199", names["00199"])
    assert rec.foreign_requests() == []
    assert _errors(rec) == []
