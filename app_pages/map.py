"""Bản đồ / Map: the 126 wards with names and the filtered incidents, for officers."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import _leaders as L
from app_pages._auth import current_user
from app_pages._common import display_wards, lang, num, sidebar_filters, store, t, wards
from app_pages._photos import photo_panel
from app_pages._status import status_form
from geo import services
from geo.errors import GeoError
from geo.evidence import with_photo_counts
from geo.i18n import status_label, type_label
from geo.maps import MAX_MARKERS, ward_map
from geo.services import photos as photo_services
from geo.store import LOCAL_TZ
from geo.vocab import STATE_CODES, TYPE_CODES

_WARD_CODE = re.compile(r"(?<!\d)(\d{5})(?!\d)")  # tooltip text loses its <br>s
_INCIDENT_ID = re.compile(r"#(\d+)")


def _ward_panel(layer: pd.DataFrame, code: str) -> None:
    row = layer[layer["code"] == code]
    if row.empty:
        return
    ward = row.iloc[0]
    st.subheader(str(ward["name"]))
    st.write(f"{t('ward.code')}: {code}")
    st.write(f"{t('ward.kind')}: {t('ward.kind.' + str(ward['kind']))}")
    st.write(f"{t('ward.area')}: {float(ward['area_km2']):.2f} km²")
    population = ward.get("population")
    st.write(
        f"{t('ward.population')}: "
        + (t("ward.unknown") if pd.isna(population) else num(int(population)))
    )
    # st.page_link keeps the signed-in session (a plain link would open a new one)
    st.page_link(
        "app_pages/ward.py", label=t("compare.open_ward_page"), icon=":material/location_city:",
        query_params={"ward": code},
    )


def _local_time(value: object) -> str:
    """A stored UTC instant as Hà Nội wall-clock time, or "" when absent."""
    if value is None or value is pd.NaT:
        return ""
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(stamp):
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def _incident_panel(incident_id: int) -> None:
    try:
        detail = services.incident_detail(store(), current_user(), incident_id)
    except GeoError as exc:
        st.error(exc.message(lang()))
        return
    row = detail.incident
    st.subheader(f"#{incident_id}")
    st.write(f"**{t('incident.type')}:** {type_label(str(row['type']), lang())}")
    st.write(f"**{t('incident.status')}:** {status_label(str(row['status']), lang())}")
    for field in ("reported_at", "due_at", "cleared_at"):
        text = _local_time(row.get(field))
        if text:
            st.write(f"**{t('incident.' + field)}:** {text}")
    for field in ("address", "street", "note"):
        value = row.get(field)
        if value is not None and str(value).strip():
            # st.text never interprets markdown/HTML: these strings come from field teams
            st.caption(t(f"incident.{field}"))
            st.text(str(value))
    history = detail.history
    if len(history):
        st.caption(t("incident.history"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("incident.history_at"): [_local_time(v) for v in history["at"]],
                    t("incident.status"): [
                        status_label(str(v), lang()) for v in history["to_status"]
                    ],
                }
            ),
            hide_index=True,
        )
    photo_panel(store(), incident_id, row.get("ward_code"))
    status_form(store(), incident_id, str(row["status"]), row.get("ward_code"))


def _with_photo_counts(shown: pd.DataFrame) -> pd.DataFrame:
    """``n_photos`` and ``photo_flags`` of the drawn incidents, for the markers' tooltips.

    Only markers have tooltips: a density view's points carry no incident ids, and are
    passed through as they are.
    """
    if shown.empty or "id" not in shown.columns:
        return shown
    summary = photo_services.photo_summary(store(), current_user(), shown["id"].tolist())
    return with_photo_counts(shown, summary)


def _place_layer(fmap, wards: tuple[str, ...]) -> None:
    """The place layer (issue 12), off by default: each place of the chosen wards (or of
    the city) coloured by its state, its recurrences in the tooltip, its timeline in the
    popup (read for the drawn places only)."""
    from geo.place_layer import MAX_PLACES, add_place_layer, drawn_places

    if not st.sidebar.toggle(t("sustain.place_layer"), key="m_places", value=False,
                             help=t("sustain.place_layer_help")):  # fmt: skip
        return
    states = L.place_states(L.reader(), wards[0] if len(wards) == 1 else None)  # one ward: read only its places
    if wards:
        states = states[states["ward_code"].isin(list(wards))]
    if len(states) > MAX_PLACES:
        st.caption(t("sustain.places_capped", n=len(states), cap=MAX_PLACES))
    one_ward = wards[0] if len(wards) == 1 else None
    drawn = tuple(int(p) for p in drawn_places(states, MAX_PLACES)["place_id"])
    events = L.place_timelines(L.reader(), one_ward, drawn) if drawn else None
    add_place_layer(fmap, states, events, lang=lang())


def main() -> None:
    st.title(t("map.title"))
    try:
        layer = wards()
    except GeoError as exc:
        st.error(exc.message(lang()))
        return

    ward_names = dict(zip(layer["code"], layer["name"], strict=True))
    try:
        snapshot = L.snapshot()
    except GeoError as exc:
        st.error(exc.message(lang()))
        return
    flt = sidebar_filters(
        ward_names,
        {code: type_label(code, lang()) for code in TYPE_CODES},
        {code: status_label(code, lang()) for code in STATE_CODES},
        snapshot.labels["street"],
    )
    try:
        view = services.map_view(store(), current_user(), flt, marker_limit=MAX_MARKERS, snapshot=snapshot)
    except GeoError as exc:
        st.error(exc.message(lang()))
        return
    total = len(snapshot)
    shown = _with_photo_counts(view.incidents)
    n_shown = view.matched
    st.caption(t("map.caption", wards=len(layer), shown=n_shown, total=total))
    if n_shown > MAX_MARKERS:
        st.info(t("map.density_note", n=n_shown, cap=MAX_MARKERS))

    try:
        fmap = ward_map(display_wards(), shown, lang=lang(), selected=flt.wards or ())
    except GeoError as exc:
        st.error(exc.message(lang()))
        return

    try:
        _place_layer(fmap, tuple(flt.wards or ()))
    except GeoError as exc:
        st.error(exc.message(lang()))

    col_map, col_detail = st.columns([3, 1])
    with col_map:
        state = st_folium(
            fmap,
            key="officer_map",
            height=600,
            use_container_width=True,
            returned_objects=["last_object_clicked_tooltip"],
            # st_folium renders the map itself as well; the whole-page render it skips
            # (0.15 s of CPU at a million) gives the same strings (tests/test_maps.py)
            render=False,
        )
    with col_detail:
        # st_folium keys its widget by the map's content: after a status change recolours a
        # marker, the last click survives only in session_state["officer_map"] (on_change)
        last = st.session_state.get("officer_map") or {}
        tip = (state or {}).get("last_object_clicked_tooltip") or last.get(
            "last_object_clicked_tooltip"
        ) or ""
        incident = _INCIDENT_ID.search(tip)
        ward = _WARD_CODE.search(tip)
        if incident:
            _incident_panel(int(incident.group(1)))
        elif ward:
            _ward_panel(layer, ward.group(1))
        else:
            st.caption(t("map.click_hint"))
        st.caption(t("map.share"))


main()
