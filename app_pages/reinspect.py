"""Tái kiểm tra / Re-inspection: the places due for a check in a ward, recorded with one tap.

Made for an officer on the pavement with a phone: the due list is a walking round (nearest
place next), each stop a card with two full-width buttons. The figures come from
``geo.services`` (``view`` to read, ``change_status`` in the ward to record, ``export``
to download); nothing here decides a rule.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages._auth import current_user
from app_pages._common import lang, store, t
from app_pages._safe import md_plain
from geo import services
from geo.assets import localize
from geo.auth import can
from geo.errors import GeoError
from geo.i18n import type_label
from geo.maps import base_map
from geo.reinspect import FORMATS, LOCAL_TZ

MAP_HEIGHT = 300
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


def _map(due: pd.DataFrame) -> None:
    bounds = [[due["lat"].min() - 0.001, due["lon"].min() - 0.001],
              [due["lat"].max() + 0.001, due["lon"].max() + 0.001]]  # fmt: skip
    fmap = base_map(bounds, lang=lang())
    points = list(zip(due["lat"], due["lon"], strict=True))
    folium.PolyLine(points, weight=2, color="#555").add_to(fmap)
    for row in due.itertuples():
        folium.CircleMarker(
            [row.lat, row.lon], radius=8, color="#c0392b", fill=True, fill_opacity=0.9,
            tooltip=f"{row.stop}. {md_plain(str(row.address or row.street or ''))}",
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


def _downloads(ward: str, on: dt.date) -> None:
    user = current_user()
    if user is None or not can(user, "export"):
        return
    st.caption(t("reinspect.downloads"))
    columns = st.columns(len(FORMATS))
    for column, fmt in zip(columns, FORMATS, strict=True):
        with tempfile.TemporaryDirectory() as tmp:
            path, _rows = services.export_due_list(
                store(), user, on=on, fmt=fmt, out=Path(tmp) / f"due.{fmt}", ward=ward
            )
            data = path.read_bytes()
        column.download_button(fmt.upper(), data, file_name=f"tai_kiem_tra_{ward}_{on}.{fmt}",
                               mime=MIME[fmt], key=f"r_dl_{fmt}", use_container_width=True)  # fmt: skip


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
    st.metric(t("reinspect.due"), len(due))
    if due.empty:
        st.info(t("reinspect.none_due"))
        return
    _cards(due, ward)
    _map(due)
    _downloads(ward, on)


main()
