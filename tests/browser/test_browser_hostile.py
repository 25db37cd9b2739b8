"""Headless Chromium opens a map whose tooltips hold the hostile corpus: nothing may run.

The standalone map (``python -m geo map`` output, assets inlined, from the same
:func:`geo.maps.ward_map` the app draws) is built from a store the corpus was ingested
into. The test zooms to single markers, hovers and clicks them, and then checks: no
dialog opened (``page.on("dialog")``), no console message from the payloads, no page
error, no request for the ``<img src=x>`` the payloads carry, and every tooltip holds only
the map's own ``<b>``/``<br>`` with the corpus as text.
"""

from __future__ import annotations

import pytest

from geo import services
from geo.ingest import IngestLimits, IngestOptions
from geo.maps import map_html, ward_map
from geo.store import open_store
from tests._browser import ARTIFACTS
from tests._hostile import CORPUS, TIP_TAGS, csv_bytes

pytestmark = pytest.mark.browser

#: Corpus entries whose markers are hovered and clicked (the ones that try to run code).
PROBES = (
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=console.error('XSS-RAN')>",
    '"><svg onload=alert(1)>',
    '<script>alert("xss")</script>',
    "</script><script>alert(1)</script>",
    '<a href="javascript:alert(1)">bấm vào đây</a>',
    "' onmouseover='alert(1)",
)


@pytest.fixture(scope="module")
def hostile_map(tmp_path_factory, wards):
    tmp = tmp_path_factory.mktemp("hostile_map")
    store = open_store(f"sqlite:///{tmp / 'store.sqlite'}")
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    field = services.add_user(store, boss, "field_team", "field-team-password", ["field"])
    # probes on a 3 × 3 grid over Hoàn Kiếm (single markers in the initial view), the rest of
    # the corpus clustered in Láng; moving the view is avoided (each move redraws 126 wards)
    west, south, east, north = wards[wards["code"] == "00070"].total_bounds
    grid = iter(
        [
            (south + (north - south) * fy, west + (east - west) * fx)
            for fy in (0.25, 0.5, 0.75)
            for fx in (0.25, 0.5, 0.75)
        ]
    )
    positions = [
        next(grid) if value in PROBES else (21.0128 + i * 1e-4, 105.8106) for i, value in enumerate(CORPUS)
    ]
    services.ingest_file(
        store, field, csv_bytes(CORPUS, positions=positions),
        IngestOptions(
            file_name="hostile.csv",
            wards=wards,
            limits=IngestLimits(max_cell_chars=200_000),
        ),
    )
    incidents = services.incidents(store, boss, limit=None)
    store.close()
    assert len(incidents) == len(CORPUS)
    fmap = ward_map(wards, incidents, assets="inline", selected=["00070"])
    path = tmp / "hostile_map.html"
    path.write_text(map_html(fmap, "hostile"), encoding="utf-8")
    return path, fmap.get_name(), incidents


def test_hostile_tooltips_run_nothing(browser, hostile_map):
    path, map_name, incidents = hostile_map
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    page = context.new_page()
    dialogs: list[str] = []
    console: list[str] = []
    errors: list[str] = []
    requests: list[str] = []

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: requests.append(req.url))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.locator("path.leaflet-interactive").nth(125).wait_for(state="attached")
        box = page.locator(".leaflet-container").first.bounding_box()
        assert box and box["height"] >= 300

        seen: list[str] = []
        shown_wrong: list[tuple[str, object]] = []
        for probe in PROBES:
            row = incidents[incidents["address"] == probe].iloc[0]
            x, y = page.evaluate(
                f"(() => {{ const p = {map_name}.latLngToContainerPoint("
                f"[{float(row['lat'])}, {float(row['lon'])}]); return [p.x, p.y]; }})()"
            )
            assert 0 < x < box["width"] and 0 < y < box["height"], probe
            point = (box["x"] + x, box["y"] + y)
            page.mouse.move(1, 1)
            page.mouse.move(*point)
            tip = page.locator(".leaflet-tooltip").last
            tip.wait_for(state="visible")
            text = tip.text_content() or ""
            if probe not in text:  # it must be shown, as text
                shown_wrong.append((probe, text[:200]))
            tags = page.evaluate(
                "el => Array.from(el.querySelectorAll('*')).map(e => e.tagName.toLowerCase())",
                tip.element_handle(),
            )
            if not set(tags) <= TIP_TAGS:
                shown_wrong.append((probe, tags))
            page.mouse.click(*point)
            seen.append(probe)
        page.wait_for_timeout(500)  # time for any injected handler to have fired
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hostile_map.png"))
    finally:
        context.close()

    assert dialogs == []
    assert not [c for c in console if "XSS-RAN" in c]
    assert errors == []
    assert seen == list(PROBES)
    assert shown_wrong == []
    # an <img src=x> that became an element would have asked for ".../x"
    assert not [u for u in requests if u.rstrip("/").endswith("/x")]
    assert not [u for u in requests if u.startswith("javascript:")]
