"""The addresses people type or bookmark open their page in headless Debian Chromium:
``/map`` opens the map (served at ``/``) instead of Streamlit's English "Page not found",
keeping its query (``?lang=en``), and every menu page answers at its own name."""

from __future__ import annotations

import pytest

from geo.i18n import t

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


def _no_page_not_found(rec) -> None:
    body = rec.page.locator("body").inner_text()
    assert "Page not found" not in body and "not found" not in body.lower(), body[:500]


@pytest.mark.parametrize(
    ("path", "lang", "search"),
    [
        ("/map", "vi", ""),
        ("/map?lang=en", "en", "?lang=en"),
        ("/", "vi", ""),
        ("/map?ward=00070&ward=00004", "vi", "?ward=00070&ward=00004"),  # a shared link of two wards
    ],
)
def test_the_map_opens_at_slash_map_as_well_as_at_the_root(recorded_page, path, lang, search):
    rec = recorded_page
    rec.goto(path)
    rec.page.get_by_text(t("map.title", lang)).first.wait_for(timeout=TIMEOUT_MS)
    rec.page.wait_for_function("() => location.pathname === '/'", timeout=TIMEOUT_MS)
    _no_page_not_found(rec)
    # the address is the map's own, query kept; the menu marks the map as the page shown
    assert rec.page.evaluate("location.search") == search
    current = rec.page.locator("[data-testid='stSidebarNav'] a[aria-current='page']")
    assert current.inner_text().splitlines()[-1] == t("nav.map", lang)  # after its icon's name


@pytest.mark.parametrize(("path", "title"), [("/compare", "compare.title"), ("/admin", "admin.title")])
def test_a_menu_page_opens_at_its_name(recorded_page, path, title):
    rec = recorded_page
    rec.goto(path)
    rec.page.get_by_text(t(title, "vi")).first.wait_for(timeout=TIMEOUT_MS)
    _no_page_not_found(rec)
    assert rec.page.evaluate("location.pathname") == path
