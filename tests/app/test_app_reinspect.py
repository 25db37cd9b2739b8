"""The re-inspection page (Tái kiểm tra) through AppTest on a real SQLite store: the due
list of the officer's ward, one tap records a check, the rights decide who may tap."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.store import batches, open_store
from geo.store import places as stored_places
from tests._signin import sign_in_apptest
from tests._store_data import NO_UPDATES, batch, incidents
from tests.conftest import REPO

HOAN_KIEM = "00070"
PAGE = "app_pages/reinspect.py"


@pytest.fixture
def url(tmp_path):
    """A store with two places in Hoàn Kiếm cleared 10 days ago (7-day check due)."""
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    store = open_store(url)
    ten_days = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=10)
    rows = [
        {"ward_code": HOAN_KIEM, "lat": 21.0340, "lon": 105.8500, "address": "12 Hàng Mã",
         "status": "cleared", "reported_at": ten_days - pd.Timedelta(days=1), "cleared_at": ten_days},
        {"ward_code": HOAN_KIEM, "lat": 21.0350, "lon": 105.8510, "address": "40 Hàng Mã",
         "status": "cleared", "reported_at": ten_days - pd.Timedelta(days=1), "cleared_at": ten_days},
    ]  # fmt: skip
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    store.close()
    return url


def open_reinspect(url: str, monkeypatch, role: str, wards: tuple[str, ...] = ()) -> AppTest:
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    sign_in_apptest(at, url, role, wards)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def due_count(at: AppTest) -> int:
    return int({m.label: m.value for m in at.metric}["Điểm cần tái kiểm tra"])


def test_an_officer_sees_the_round_and_records_with_one_tap(url, monkeypatch):
    at = open_reinspect(url, monkeypatch, "officer", (HOAN_KIEM,))
    assert [t.value for t in at.title] == ["Tái kiểm tra"]
    assert due_count(at) == 2
    assert at.button(key="r_ok_1").label == "Còn thông thoáng"
    at.button(key="r_ok_1").click().run()
    assert not at.exception, at.exception
    assert any("điểm 1 còn thông thoáng" in s.value for s in at.success)
    assert due_count(at) == 1  # the day-10 check settles the 7-day one
    at.button(key="r_bad_2").click().run()
    assert due_count(at) == 0
    store = open_store(url)
    checks = stored_places.inspections_frame(store)
    timeline = stored_places.place_incidents_frame(store)
    store.close()
    assert checks[["place_id", "result"]].values.tolist() == [[1, "clear"], [2, "violation"]]
    assert timeline.query("place_id == 2")["status"].tolist() == ["recurred", "reported"]


def test_a_viewer_sees_the_list_but_no_buttons(url, monkeypatch):
    at = open_reinspect(url, monkeypatch, "viewer")
    at.selectbox(key="r_ward").set_value(HOAN_KIEM).run()
    assert due_count(at) == 2
    assert not [b for b in at.button if b.key and b.key.startswith("r_ok_")]


def test_a_card_gives_the_clearance_day_as_the_app_writes_dates(url, monkeypatch):
    """The card's clearance day is a Hà Nội calendar day written dd/mm/yyyy, as every
    other date the officer reads, not a timestamp at midnight (``2025-07-03 00:00:00``)."""
    at = open_reinspect(url, monkeypatch, "officer", (HOAN_KIEM,))
    cleared = (pd.Timestamp.now(tz="Asia/Ho_Chi_Minh") - pd.Timedelta(days=10)).strftime("%d/%m/%Y")
    cards = [c.value for c in at.caption if c.value.startswith("Điểm ")]
    assert len(cards) == 2, [c.value for c in at.caption]
    for card in cards:
        assert f"xử lý {cleared} ·" in card, card
        assert "00:00" not in card, card


#: Cards a page holds (app_pages/reinspect.py PAGE_SIZE); the round below is longer.
PAGE_SIZE = 25


def _long_round(url: str, n: int, also: list[dict] | None = None) -> None:
    """``n`` places in Hoàn Kiếm cleared 10 days ago, 50 m apart along two streets."""
    store = open_store(url)
    ten_days = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=10)
    rows = [
        {"ward_code": HOAN_KIEM, "lat": 21.0300 + 0.0005 * (i // 2), "lon": 105.8500 + 0.002 * (i % 2),
         "address": f"{i + 1} {'Hàng Mã' if i % 2 else 'Hàng Bạc'}", "status": "cleared",
         "reported_at": ten_days - pd.Timedelta(days=1), "cleared_at": ten_days}
        for i in range(n)
    ] + (also or [])  # fmt: skip
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    store.close()


def card_places(at: AppTest) -> list[int]:
    return [int(b.key.removeprefix("r_ok_")) for b in at.button if b.key and b.key.startswith("r_ok_")]


def test_a_long_round_comes_a_page_at_a_time_and_every_place_is_reachable(tmp_path, monkeypatch):
    """A round longer than a page draws at most a page of cards; the pager walks the rest,
    each place exactly once, and a search by place id or by street (tones ignored) finds
    a place on a later page at once."""
    url = f"sqlite:///{tmp_path / 'long.sqlite'}"
    n = 2 * PAGE_SIZE + 7
    _long_round(url, n)
    at = open_reinspect(url, monkeypatch, "officer", (HOAN_KIEM,))
    assert due_count(at) == n
    pages = len(at.selectbox(key="r_page").options)
    assert pages == 3  # 25 + 25 + 7
    seen: list[int] = []
    for page in range(pages):
        at.selectbox(key="r_page").set_value(page).run()
        assert not at.exception, at.exception
        places = card_places(at)
        assert 0 < len(places) <= PAGE_SIZE
        assert f"Đang hiện {len(places)} trong {n} điểm" in showing(at)
        seen += places
    assert sorted(seen) == list(range(1, n + 1))  # every place once, none twice
    # the map draws the whole round, this (last) page's stops large
    script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
    assert script.count("L.circleMarker(") == n
    assert len(re.findall(r'"radius": 8\b', script)) == len(places)
    assert len(re.findall(r'"radius": 4\b', script)) == n - len(places)

    last = seen[-1]  # on the last page
    at.text_input(key="r_find").set_value(str(last)).run()
    assert card_places(at) == [last]
    at.text_input(key="r_find").set_value("hang ma").run()  # tones and case ignored
    on_hang_ma = n // 2  # the odd-numbered addresses
    assert f"Đang hiện {PAGE_SIZE} trong {on_hang_ma} điểm" in showing(at)
    cards = [m.value for m in at.markdown if m.value.startswith("**")]
    assert len(cards) == PAGE_SIZE and all("Hàng Mã" in c for c in cards), cards
    at.text_input(key="r_find").set_value("Phố Không Có").run()
    assert not card_places(at)
    assert any("Không có điểm nào khớp" in i.value for i in at.info)
    at.sidebar.radio(key="lang").set_value("en").run()  # the same page in English
    assert any(i.value == "No place matches the search." for i in at.info)
    at.text_input(key="r_find").set_value("").run()
    assert any(c.value.startswith(f"Showing {PAGE_SIZE} of {n} places") for c in at.caption)
    assert at.selectbox(key="r_page").label == "Page of the round"
    assert at.text_input(key="r_find").label == "Find by street, address or place id"


def showing(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption if c.value.startswith("Đang hiện"))


class _Files:
    """Stands in for the server's media file manager, which AppTest does not run: keeps
    what each download button would hand the browser, a file or the callable that makes it."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def add(self, data, mimetype, coordinates, file_name=None, **_kw) -> str:
        self.data[file_name] = data
        return f"/media/{file_name}"

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **_kw) -> str:
        self.data[file_name] = data_callable
        return f"deferred-{file_name}"

    def remove_deferred(self, *args, **kwargs) -> None:
        pass


def _exports(url: str) -> int:
    from geo.store import queries

    store = open_store(url)
    log = queries.audit_log(store)
    store.close()
    return int(((log["action"] == "export") & (log["object_type"] == "reinspect")).sum())


def test_the_files_are_built_when_taken_and_hold_the_due_list(tmp_path, monkeypatch):
    """Drawing the page writes no file (no export audited on any rerun); each button's file,
    when taken, is byte for byte what ``services.export_due_list`` writes for the ward and day
    (the xlsx compared by its sheet: the workbook's zip carries a write time)."""
    import types

    from streamlit.elements.widgets import button

    from geo import services
    from geo.auth import User

    url = f"sqlite:///{tmp_path / 'files.sqlite'}"
    ten_days = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=10)
    elsewhere = {"ward_code": "00199", "lat": 21.0230, "lon": 105.8050, "address": "5 Láng",
                 "status": "cleared", "reported_at": ten_days - pd.Timedelta(days=1), "cleared_at": ten_days}  # fmt: skip
    _long_round(url, PAGE_SIZE + 3, also=[elsewhere])  # a due place in another ward: in no file
    files = _Files()
    monkeypatch.setattr(button, "runtime", types.SimpleNamespace(
        exists=lambda: True, get_instance=lambda: types.SimpleNamespace(media_file_mgr=files)))  # fmt: skip
    at = open_reinspect(url, monkeypatch, "officer", (HOAN_KIEM,))
    at.run()
    at.run()
    on = at.date_input(key="r_on").value
    assert _exports(url) == 0  # three runs, no file built
    assert sorted(files.data) == sorted(f"tai_kiem_tra_{HOAN_KIEM}_{on}.{f}" for f in ("csv", "xlsx", "geojson", "gpx"))

    store = open_store(url)
    officer = User(at.session_state["auth_user"], frozenset({"officer"}), frozenset({HOAN_KIEM}))
    for name, data in files.data.items():
        fmt = name.rsplit(".", 1)[1]
        got = data() if callable(data) else data
        want = services.export_due_list(store, officer, on=on, fmt=fmt, out=tmp_path / f"want.{fmt}",
                                        ward=HOAN_KIEM)[0]  # fmt: skip
        if fmt == "xlsx":
            (tmp_path / "got.xlsx").write_bytes(got)
            pd.testing.assert_frame_equal(pd.read_excel(tmp_path / "got.xlsx"), pd.read_excel(want))
        else:
            assert got == want.read_bytes(), name
    store.close()
    assert _exports(url) == 2 * 4  # one export audited per file taken (and per file compared)
