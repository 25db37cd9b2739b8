"""Trang phường / Ward page (``?ward=CODE``): KPIs, map, streets, one-page report."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import _leaders as L
from app_pages._auth import current_user
from app_pages._common import chart, lang, numbers, store, t
from geo import services
from geo.crs import LOCAL_TZ
from geo.errors import GeoError
from geo.metrics import format_value
from geo.sustain_views import EVENT_KINDS, TIMELINE_RECURRENCES

KPIS = ("open", "cleared", "pct_cleared", "median_days", "overdue", "new_week", "open_per_km2", "open_per_10k")
MAP_HEIGHT = 480


def _sidebar(ward_names: dict[str, str]) -> dict:
    L.url_widget_state("w_ward", "ward", None, L.choice(ward_names))
    L.url_widget_state("w_from", "from", None, L.parse_date)
    L.url_widget_state("w_to", "to", None, L.parse_date)
    sb = st.sidebar
    sb.header(t("filter.header"))
    sb.selectbox(
        t("wardpage.choose"), list(ward_names), key="w_ward", index=None,
        format_func=lambda c: f"{ward_names[c]} ({c})", placeholder=t("common.choose"),
    )
    col_a, col_b = sb.columns(2)
    col_a.date_input(t("filter.date_from"), key="w_from", format="DD/MM/YYYY")
    col_b.date_input(t("filter.date_to"), key="w_to", format="DD/MM/YYYY")
    ss = st.session_state
    L.write_url({"ward": ss["w_ward"], "from": ss["w_from"], "to": ss["w_to"]})
    return {"ward": ss["w_ward"], "date_from": ss["w_from"], "date_to": ss["w_to"]}


def _kpis(row, f: dict) -> None:
    st.subheader(t("wardpage.kpis"))
    cols = st.columns(4)
    for i, code in enumerate(KPIS):
        cols[i % 4].metric(t(f"metric.{code}"), format_value(row[code], code, lang()))
    shares = L.verified_share(L.reader(), f["date_from"], f["date_to"])
    mine = shares[shares["ward_code"] == row["code"]]
    verified, cleared = (int(mine["verified"].sum()), int(mine["cleared"].sum()))
    cols[0].metric(t("photos.verified_share"), L.share_text(verified, cleared), help=t("photos.verified_help"))


def _map(layer, code: str, f: dict) -> None:
    from geo.choropleth import ward_incident_map
    from geo.maps import MAX_MARKERS

    st.subheader(t("wardpage.map"))
    incidents = L.ward_incidents(L.reader(), code, f["date_from"], f["date_to"])
    if len(incidents) > MAX_MARKERS:
        st.caption(t("wardpage.capped", n=len(incidents)))
    fmap = ward_incident_map(layer[layer["code"] == code], incidents, lang=lang())
    st_folium(fmap, key=f"ward_map_{code}", height=MAP_HEIGHT, use_container_width=True, returned_objects=[])


def _streets(code: str, f: dict) -> None:
    st.subheader(t("wardpage.streets"))
    streets = L.street_stats(L.reader(), f["date_from"], f["date_to"], code)
    if streets.empty:
        st.caption(t("common.none"))
        return
    shown = streets.sort_values(["open", "overdue", "street"], ascending=[False, False, True])
    shown = shown[["street", "open", "overdue", "cleared", "new", "median_days_to_clear"]]
    st.dataframe(
        numbers(shown, {"open": 0, "overdue": 0, "cleared": 0, "new": 0, "median_days_to_clear": 1}),
        hide_index=True,
        key="ward_streets",
        column_config={
            "street": st.column_config.TextColumn(t("incident.street")),
            "open": st.column_config.NumberColumn(t("metric.open")),
            "overdue": st.column_config.NumberColumn(t("metric.overdue")),
            "cleared": st.column_config.NumberColumn(t("metric.cleared")),
            "new": st.column_config.NumberColumn(t("progress.new")),
            "median_days_to_clear": st.column_config.NumberColumn(t("metric.median_days")),
        },
    )


def _survival(code: str, f: dict) -> None:
    """Kaplan–Meier: the share of the ward's cleared places still clear after N days,
    drawn over the city's curve for the same window of clearances."""
    st.subheader(t("sustain.survival"))
    st.caption(t("sustain.survival_help"))
    curves = L.survival(L.reader(), code, f["date_from"], f["date_to"])
    spells = curves.groupby("scope")["spells"].first()
    if not int(spells.get("ward", 0)):
        st.info(t("sustain.no_spells"))
        return
    st.caption(t("sustain.survival_spells", ward=int(spells.get("ward", 0)), city=int(spells.get("city", 0))))
    scopes = {s: t(f"sustain.scope.{s}") for s in ("ward", "city")}
    shown = curves.assign(scope=curves["scope"].map(scopes))
    survival = (
        alt.Chart(shown)
        .mark_line(interpolate="step-after", point=True)
        .encode(
            x=alt.X("day:Q", title=t("sustain.survival_days")),
            y=alt.Y("survival:Q", title=t("sustain.survival_share"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("scope:N", title=t("sustain.scope"), sort=list(scopes.values())),
            tooltip=[
                alt.Tooltip("scope:N", title=t("sustain.scope")),
                alt.Tooltip("day:Q", title=t("sustain.survival_days"), format=".0f"),
                alt.Tooltip("survival:Q", title=t("sustain.survival_share"), format=".2f"),
            ],
        )
        .properties(height=300)
    )
    st.altair_chart(chart(survival), width="stretch", key="ward_survival")


def _place_order(timelines: pd.DataFrame) -> list[str]:
    """The chronic places as the timeline lists them: most recurrences first, then by id as a
    number; a nominal axis sorted the ids as text ("1301, 1919, 20, …")."""
    places = timelines[["place_id", "recurrences"]].drop_duplicates("place_id")
    places = places.sort_values(["recurrences", "place_id"], ascending=[False, True], kind="stable")
    return [str(p) for p in places["place_id"]]


def _timeline_chart(timelines: pd.DataFrame, events: pd.DataFrame) -> alt.Chart:
    """Every event of each chronic place on one row per place, in :func:`_place_order`."""
    kinds = {k: t(f"sustain.event.{k}") for k in EVENT_KINDS}
    shown = events.drop(columns="note", errors="ignore").assign(kind=events["kind"].map(kinds), place=events["place_id"].astype(str),
                          at=events["at"].dt.tz_convert(LOCAL_TZ).dt.tz_localize(None))  # fmt: skip
    return (
        alt.Chart(shown)
        .mark_point(filled=True, size=70)
        .encode(
            x=alt.X("at:T", title=t("sustain.date"), axis=alt.Axis(format=L.DATE_AXIS)),
            y=alt.Y("place:N", title=t("sustain.place"), sort=_place_order(timelines)),
            color=alt.Color("kind:N", title=t("sustain.event"), sort=list(kinds.values())),
            shape=alt.Shape("kind:N", sort=list(kinds.values()), legend=None),
            tooltip=[
                alt.Tooltip("place:N", title=t("sustain.place")),
                alt.Tooltip("kind:N", title=t("sustain.event")),
                alt.Tooltip("at:T", title=t("sustain.date"), format="%d/%m/%Y"),
            ],
        )
        .properties(height=max(160, 28 * timelines["place_id"].nunique()))
    )


def _chronic(code: str) -> None:
    """Places with two or more recurrences, each incident's report, clearance and return,
    and a timeline of every event (checks included)."""
    st.subheader(t("sustain.chronic"))
    st.caption(t("sustain.chronic_help", n=TIMELINE_RECURRENCES))
    timelines, events = L.chronic(L.reader(), code)
    if timelines.empty:
        st.info(t("sustain.no_chronic", n=TIMELINE_RECURRENCES))
        return
    st.altair_chart(chart(_timeline_chart(timelines, events)), width="stretch", key="ward_timeline")
    table = timelines.copy()
    for column in ("reported_at", "cleared_at", "recurred_at"):
        table[column] = table[column].dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    dates = {c: st.column_config.DatetimeColumn(t(f"sustain.{c}"), format="DD/MM/YYYY")
             for c in ("reported_at", "cleared_at", "recurred_at")}  # fmt: skip
    st.dataframe(
        table, hide_index=True, key="ward_chronic",
        column_config={
            "place_id": st.column_config.NumberColumn(t("sustain.place")),
            "recurrences": st.column_config.NumberColumn(t("sustain.recurrences")),
            "id": st.column_config.NumberColumn("#"),
            "episode": st.column_config.NumberColumn(t("sustain.episode")),
            "street": st.column_config.TextColumn(t("incident.street")),
            "address": st.column_config.TextColumn(t("incident.address")),
            **dates,
        },
    )


def _report(layer, code: str, f: dict) -> None:
    user = current_user()  # read now: the download runs the builder later
    if not services.offered(user, "ward_report"):
        return  # no export right: no report to take away (as `geo report --user`)
    st.subheader(t("wardpage.report"))
    language = lang()

    def build(fmt: str) -> bytes:
        return services.ward_report_file(
            store(), user, layer, code, f["date_from"], f["date_to"], fmt, language
        )

    col_pdf, col_png = st.columns(2)
    col_pdf.download_button(
        t("wardpage.pdf"), data=lambda: build("pdf"), file_name=f"ward_{code}.pdf",
        mime="application/pdf", key="dl_report_pdf", on_click="ignore",
    )
    col_png.download_button(
        t("wardpage.png"), data=lambda: build("png"), file_name=f"ward_{code}.png",
        mime="image/png", key="dl_report_png", on_click="ignore",
    )


def main() -> None:
    try:
        layer = L.ward_layer()
        ward_names = dict(zip(layer["code"].astype(str), layer["name"].astype(str), strict=True))
        f = _sidebar(ward_names)
    except GeoError as exc:
        st.title(t("wardpage.title"))
        st.error(exc.message(lang()))
        return
    code = f["ward"]
    if not code:
        st.title(t("wardpage.title"))
        st.info(t("wardpage.choose"))
        return
    st.title(ward_names[code])
    st.caption(f"{t('ward.code')}: {code}")
    try:
        metrics = L.ward_metrics(L.reader(), f["date_from"], f["date_to"])
        row = metrics[metrics["code"] == code].iloc[0]
        _kpis(row, f)
        _map(layer, code, f)
        _streets(code, f)
        _survival(code, f)
        _chronic(code)
        _report(layer, code, f)
    except GeoError as exc:
        st.error(exc.message(lang()))


main()
