"""Tái kiểm tra / Re-inspection: the places due for a check in a ward, recorded with one tap.

Made for an officer on the pavement with a phone: the due list is a walking round (nearest
place next), each stop a card with two full-width buttons. The figures come from
``geo.services`` (``view`` to read, ``change_status`` in the ward to record, ``export``
to download); nothing here decides a rule.

A ward's round can hold hundreds of stops (256 in the sample's Hoàn Kiếm), and every tap
reruns the page: drawing every card and writing all four files on each rerun took seconds
per tap. So the cards come a page of :data:`PAGE_SIZE` stops at a time, in round order
(a search by street, address or place id reaches any stop at once), and each file is
built only when its button is pressed (``st.download_button`` with a callable), which also
audits one export per file taken rather than four per rerun.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from functools import partial
from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages._auth import current_user
from app_pages._common import lang, num, store, t
from app_pages._safe import md_plain
from geo import services
from geo.auth import User, can
from geo.errors import GeoError
from geo.i18n import type_label
from geo.map_assets import localize
from geo.maps import base_map
from geo.names import ascii_key
from geo.reinspect import FORMATS, LOCAL_TZ
from geo.safe_text import html_text
from geo.store import Store

MAP_HEIGHT = 300
#: Cards drawn per page: a street's worth of stops, few enough for a phone to redraw at once.
PAGE_SIZE = 25
MIME = {
    "csv": "text/csv", "geojson": "application/geo+json", "gpx": "application/gpx+xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}  # fmt: skip


def _today() -> dt.date:
    return pd.Timestamp.now(tz=LOCAL_TZ).date()


def _choices() -> tuple[list[str], dt.date]:
    """The ward (an officer's own first) and the date of the round."""
    user = current_user()
    wards = services.active_wards(store())
    names = dict(zip(wards["code"], wards["name"], strict=False)) if len(wards) else {}
    own = sorted(user.wards) if user is not None and user.wards else []
    codes = own or sorted(names)
    if not codes:
        return [], _today()
    code = st.selectbox(t("reinspect.ward"), codes, key="r_ward",
                        format_func=lambda c: f"{names.get(c, c)} ({c})")  # fmt: skip
    on = st.date_input(t("reinspect.on"), value=_today(), key="r_on", format="DD/MM/YYYY")
    return [code], on


def _map(found: pd.DataFrame, shown: pd.DataFrame) -> None:
    """The whole round (line and small stops), with this page's stops large and red:
    an officer plans the walk on the whole round and works through it a page at a time."""
    bounds = [[found["lat"].min() - 0.001, found["lon"].min() - 0.001],
              [found["lat"].max() + 0.001, found["lon"].max() + 0.001]]  # fmt: skip
    fmap = base_map(bounds, lang=lang())
    points = list(zip(found["lat"], found["lon"], strict=True))
    folium.PolyLine(points, weight=2, color="#555").add_to(fmap)
    on_page = set(shown["stop"].tolist())
    for row in found.itertuples():
        here = row.stop in on_page
        folium.CircleMarker(
            [row.lat, row.lon], radius=8 if here else 4, color="#c0392b" if here else "#7f8c8d",
            fill=True, fill_opacity=0.9 if here else 0.6,
            tooltip=f"{row.stop}. {html_text(row.address or row.street or '')}",
        ).add_to(fmap)  # fmt: skip
    localize(fmap)
    st_folium(fmap, key="reinspect_map", height=MAP_HEIGHT, use_container_width=True, returned_objects=[])


def _record(place_id: int, result: str, ward: str) -> None:
    user = current_user()
    assert user is not None
    try:
        services.record_check(store(), user, place_id, result)
    except GeoError as exc:
        st.session_state["r_message"] = ("error", exc.bilingual)
        return
    key = "reinspect.recorded_clear" if result == "clear" else "reinspect.recorded_violation"
    st.session_state["r_message"] = ("success", t(key, place=place_id))


def _cards(due: pd.DataFrame, ward: str) -> None:
    user = current_user()
    may_record = user is not None and can(user, "change_status", ward)
    for row in due.itertuples():
        with st.container(border=True):
            where = md_plain(str(row.address or row.street or t("reinspect.no_address")))
            st.markdown(f"**{row.stop}. {where}** · {type_label(str(row.type), lang())}")
            # cleared_date is a Hà Nội calendar day: written as every date the officer reads
            cleared = pd.Timestamp(row.cleared_date).strftime("%d/%m/%Y")
            st.caption(t("reinspect.card", place=row.place_id, cleared=cleared,
                         days=row.days_since_clearance, check=row.check_day))  # fmt: skip
            if may_record:
                ok, bad = st.columns(2)
                ok.button(t("reinspect.clear"), key=f"r_ok_{row.place_id}", type="primary",
                          use_container_width=True, on_click=_record,
                          args=(int(row.place_id), "clear", ward))  # fmt: skip
                bad.button(t("reinspect.violation"), key=f"r_bad_{row.place_id}",
                           use_container_width=True, on_click=_record,
                           args=(int(row.place_id), "violation", ward))  # fmt: skip


def due_file(store: Store, user: User, ward: str, on: dt.date, fmt: str) -> bytes:
    """The due list of ``ward`` on ``on`` as one file, as ``geo export`` writes it.

    Called only when its download button is pressed, outside the script run: so it takes
    the store and the user as they were when the button was drawn, not from the session.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path, _rows = services.export_due_list(
            store, user, on=on, fmt=fmt, out=Path(tmp) / f"due.{fmt}", ward=ward
        )
        return path.read_bytes()


def _downloads(ward: str, on: dt.date) -> None:
    user = current_user()
    if user is None or not can(user, "export"):
        return
    st.caption(t("reinspect.downloads"))
    opened = store()
    columns = st.columns(len(FORMATS))
    for column, fmt in zip(columns, FORMATS, strict=True):
        column.download_button(
            fmt.upper(), data=partial(due_file, opened, user, ward, on, fmt),
            file_name=f"tai_kiem_tra_{ward}_{on}.{fmt}", mime=MIME[fmt], key=f"r_dl_{fmt}",
            on_click="ignore", use_container_width=True,
        )  # fmt: skip


def _found(due: pd.DataFrame) -> pd.DataFrame:
    """The stops the officer's search names: a place id, or part of a street or address
    (tones and case ignored, so "hang ma" finds "Hàng Mã")."""
    query = st.text_input(t("reinspect.find"), key="r_find", placeholder=t("reinspect.find_hint"))
    query = query.strip().lstrip("#")
    if not query:
        return due
    if query.isdigit():
        return due[due["place_id"].astype(int) == int(query)]
    key = ascii_key(query)
    text = (due["street"].fillna("").astype(str) + " " + due["address"].fillna("").astype(str))
    return due[text.map(ascii_key).str.contains(key, regex=False)]


def _page(due: pd.DataFrame) -> pd.DataFrame:
    """One page of the round's stops, with a pager when there is more than one."""
    pages = max(1, -(-len(due) // PAGE_SIZE))
    if pages > 1:
        stops = due["stop"].tolist()

        def label(page: int) -> str:
            last = min(len(stops), (page + 1) * PAGE_SIZE) - 1
            return t("reinspect.page_of", first=stops[page * PAGE_SIZE], last=stops[last])

        if st.session_state.get("r_page", 0) >= pages:  # the list shrank under the pager
            st.session_state["r_page"] = pages - 1
        page = st.selectbox(t("reinspect.page"), range(pages), key="r_page", format_func=label)
    else:
        page = 0
    shown = due.iloc[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    st.caption(t("reinspect.showing", shown=len(shown), of=len(due)))
    return shown


def main() -> None:
    st.title(t("reinspect.title"))
    wards, on = _choices()
    if not wards:
        st.info(t("reinspect.no_wards"))
        return
    ward = wards[0]
    message = st.session_state.pop("r_message", None)
    if message is not None:
        getattr(st, message[0])(message[1])
    try:
        due = services.due_list(store(), current_user(), on=on, ward=ward)
    except GeoError as exc:
        st.error(exc.bilingual)
        return
    st.metric(t("reinspect.due"), num(len(due)))
    if due.empty:
        st.info(t("reinspect.none_due"))
        return
    found = _found(due)
    if found.empty:
        st.info(t("reinspect.no_match"))
    else:
        shown = _page(found)
        _cards(shown, ward)
        _map(found, shown)
    _downloads(ward, on)


main()
