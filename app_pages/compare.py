"""So sánh phường / Compare wards: choropleth, league table, ward × week matrix, density.

One view at a time, chosen above the page (the choropleth first): the browser draws only
the chosen one. All four at once cost Chromium about 3.8 s of CPU on a 1M store (two
Leaflet maps, the density image, the Vega matrix and two tables), twice what the server
needed; each view alone is a fraction of that, and the others are one click away. The
chosen view is kept in the URL (``view=``) like every other setting of the page.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import _leaders as L
from app_pages._auth import current_user
from app_pages._common import chart, display_wards, lang, numbers, store, t
from geo import services
from geo.errors import GeoError
from geo.i18n import status_label
from geo.metrics import (
    ALL_METRICS,
    MATRIX_VALUES,
    METRIC_CODES,
    MIN_VOLUME,
    SUSTAIN_CODES,
    league_table,
    matrix_long,
    week_matrix,
    with_sustain,
)
from geo.vocab import STATE_CODES

MAP_HEIGHT = 520
CELL_SIZES = (100, 200, 500, 1000)
#: Measures a choropleth and the league table can show: incident counts and, from issue 12,
#: whether clearance lasts.
CHOICES = METRIC_CODES + SUSTAIN_CODES
#: The page's views, in the order offered; the first is shown when the URL names none.
VIEWS = ("choropleth", "league", "matrix", "density")


def _labels(codes, prefix: str) -> dict[str, str]:
    """Labels fixed at render time (a format_func must not read session state later)."""
    return {c: t(prefix + c) for c in codes}


def _sidebar() -> dict:
    L.url_widget_state("c_metric", "metric", "open", L.choice(CHOICES))
    L.url_widget_state("c_from", "from", None, L.parse_date)
    L.url_widget_state("c_to", "to", None, L.parse_date)
    L.url_widget_state("c_min", "min", MIN_VOLUME, L.integer(1, 100_000))
    L.url_widget_state("c_matrix", "matrix", "open_end", L.choice(MATRIX_VALUES))
    L.url_widget_state("c_cell", "cell", 200, L.integer(CELL_SIZES[0], CELL_SIZES[-1]))
    L.url_widget_state("c_view", "view", VIEWS[0], L.choice(VIEWS))
    if st.session_state["c_cell"] not in CELL_SIZES:
        st.session_state["c_cell"] = 200
    sb = st.sidebar
    sb.header(t("filter.header"))
    sb.selectbox(t("compare.metric"), CHOICES, key="c_metric", format_func=_labels(CHOICES, "metric.").__getitem__)
    col_a, col_b = sb.columns(2)
    col_a.date_input(t("filter.date_from"), key="c_from", format="DD/MM/YYYY")
    col_b.date_input(t("filter.date_to"), key="c_to", format="DD/MM/YYYY")
    sb.multiselect(
        t("filter.statuses"), list(STATE_CODES), key="c_statuses",
        format_func={c: status_label(c, lang()) for c in STATE_CODES}.__getitem__,
        placeholder=t("common.choose"),
    )
    sb.number_input(t("compare.min_volume"), min_value=1, step=1, key="c_min")
    ss = st.session_state
    L.write_url(
        {
            "metric": ss["c_metric"] if ss["c_metric"] != "open" else None,
            "from": ss["c_from"],
            "to": ss["c_to"],
            "min": ss["c_min"] if ss["c_min"] != MIN_VOLUME else None,
            "matrix": ss["c_matrix"] if ss["c_matrix"] != "open_end" else None,
            "cell": ss["c_cell"] if ss["c_cell"] != 200 else None,
            "view": ss["c_view"] if ss["c_view"] != VIEWS[0] else None,
        }
    )
    return {
        "metric": ss["c_metric"],
        "date_from": ss["c_from"],
        "date_to": ss["c_to"],
        "statuses": tuple(ss.get("c_statuses") or ()),
        "min_volume": int(ss["c_min"]),
    }


def _choropleth(metrics, by: str) -> None:
    from geo.choropleth import choropleth_map

    st.subheader(t("compare.choropleth") + " — " + t(f"metric.{by}"))
    fmap = choropleth_map(display_wards(), metrics, by, lang=lang())
    st.caption(t("compare.click_ward"))
    state = st_folium(
        fmap, key=f"compare_choropleth_{by}", height=MAP_HEIGHT, use_container_width=True,
        returned_objects=L.CLICK_OBJECTS, render=False,  # same strings sent (tests/test_maps.py)
    )
    code = L.clicked_ward(state, metrics["code"].astype(str))
    if code:
        L.open_ward_page(code)  # same session: no new sign-in


def _density(f: dict) -> None:
    from geo.choropleth import density_map
    from geo.density import HEATMAP_MAX_POINTS

    st.subheader(t("compare.density"))
    lon, lat, x, y = L.points(f["date_from"], f["date_to"], f["statuses"])
    n = len(lon)
    cell = int(st.session_state["c_cell"])
    if n > HEATMAP_MAX_POINTS:
        st.caption(t("compare.density_grid", n=n, cell=cell))
    else:
        st.caption(t("compare.density_heatmap", n=n))
    fmap = density_map(display_wards(), lon, lat, lang=lang(), cell_m=cell, metres=(x, y))
    st_folium(fmap, key="compare_density", height=MAP_HEIGHT, use_container_width=True, returned_objects=[],
              render=False)  # fmt: skip
    col_cell, col_dl = st.columns([1, 2])
    col_cell.selectbox(t("compare.cell"), CELL_SIZES, key="c_cell")
    user = current_user()  # read now: the download runs the builder later
    if services.offered(user, "density_geotiff"):
        col_dl.download_button(
            t("compare.geotiff"),
            data=lambda: services.density_file(store(), user, lon, lat, cell, metres=(x, y)),
            file_name=f"density_{cell}m.tif",
            mime="image/tiff",
            key="dl_geotiff",
            on_click="ignore",
        )


def _open_ward(table: pd.DataFrame) -> None:
    """A ward of the table (in its order) and a link to its page that keeps the session."""
    names = dict(zip(table["code"].astype(str), table["name"].astype(str), strict=True))
    if not names:
        return
    col_pick, col_link = st.columns([2, 1], vertical_alignment="bottom")
    code = col_pick.selectbox(
        t("wardpage.choose"), list(names), key="c_open_ward", format_func=lambda c: f"{names[c]} ({c})",
    )
    if code in names:
        with col_link:
            L.ward_page_link(code, names[code], t("compare.open_ward_page"))


def _matrix(names: dict[str, str], f: dict) -> None:
    st.subheader(t("compare.matrix"))
    value = st.radio(
        t("compare.matrix_value"), MATRIX_VALUES, key="c_matrix", horizontal=True,
        format_func=_labels(MATRIX_VALUES, "compare.matrix_value.").__getitem__,
    )
    weeks = L.week_counts(L.reader())
    matrix = week_matrix(weeks, value, names=names, date_from=f["date_from"], date_to=f["date_to"])
    if matrix.empty:
        st.info(t("compare.empty"))
        return
    long = matrix_long(matrix)
    label = t(f"compare.matrix_value.{value}")
    scheme = "yelloworangered" if value == "open_end" else "greens"
    matrix_chart = (
        alt.Chart(long)
        .mark_rect()
        .encode(
            x=alt.X("week:O", title=t("compare.matrix_week"), sort=list(matrix.columns)),
            y=alt.Y("ward:N", title=t("metric.ward"), sort=list(matrix.index)),
            color=alt.Color("value:Q", title=label, scale=alt.Scale(scheme=scheme)),
            tooltip=[
                alt.Tooltip("ward:N", title=t("metric.ward")),
                alt.Tooltip("week:O", title=t("compare.matrix_week")),
                alt.Tooltip("value:Q", title=label, format=".1f"),
            ],
        )
        .properties(height=max(300, 11 * len(matrix.index)))
    )
    st.altair_chart(chart(matrix_chart), width="stretch")


def _league(metrics: pd.DataFrame, f: dict) -> None:
    st.subheader(t("compare.league") + " — " + t(f"metric.{f['metric']}"))
    st.caption(t("compare.league_rule", n=f["min_volume"]))
    if f["metric"] in SUSTAIN_CODES:
        st.caption(t("compare.sustain_rule", n=f["min_volume"]))
    table = league_table(metrics, f["metric"], min_volume=f["min_volume"])
    shares = L.verified_share(L.reader(), f["date_from"], f["date_to"])
    st.metric(t("photos.verified_share"), L.share_text(int(shares["verified"].sum()), int(shares["cleared"].sum())),
              help=t("photos.verified_help"))  # fmt: skip
    by_ward = dict(zip(shares["ward_code"], shares["share"] * 100, strict=True))
    table["pct_verified"] = table["code"].map(by_ward)
    labels = {
        "rank": t("metric.rank"), "code": t("metric.code"), "name": t("metric.ward"),
        "volume": t("metric.volume"), "open": t("metric.open"), "cleared": t("metric.cleared"),
        "eligible": t("metric.eligible"),
        **{code: t(f"metric.{code}") for code in CHOICES},
        **{code: t(f"metric.{code}") for code in ("spells", "rechecked_share", "densest_14d_share")},
        "pct_verified": t("photos.verified_share") + " (%)",
    }
    config: dict[str, Any] = {k: st.column_config.Column(v) for k, v in labels.items() if k in table.columns}
    # each metric with its own number of decimals, written as the page's language writes numbers
    decimals = {"rank": 0, "volume": 0, "open": 0, "cleared": 0, "spells": 0,
                "rechecked_share": 2, "densest_14d_share": 2, "pct_verified": 0}  # fmt: skip
    decimals |= {spec.code: spec.decimals for spec in ALL_METRICS}
    for code in decimals:
        if code in labels:
            config[code] = st.column_config.NumberColumn(labels[code])
    st.dataframe(numbers(table, decimals), hide_index=True, column_config=config, key="league_table")
    _open_ward(table)
    user = current_user()
    if not services.offered(user, "league_table"):
        return
    export = table.rename(columns=labels)
    col_csv, col_xlsx = st.columns(2)
    col_csv.download_button(
        t("compare.csv"), data=lambda: services.league_file(store(), user, export, "csv"),
        file_name="league.csv", mime="text/csv", key="dl_league_csv", on_click="ignore",
    )
    col_xlsx.download_button(
        t("compare.xlsx"), data=lambda: services.league_file(store(), user, export, "xlsx"),
        file_name="league.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="dl_league_xlsx", on_click="ignore",
    )


#: The sustained-order columns of the Compare table, in order (rechecked_share beside the
#: retention it qualifies; the campaign flag beside its two inputs).
SUSTAIN_COLUMNS = (
    "places", "spells", "retention_30", "retention_90", "rechecked_share", "recurrence_rate",
    "median_days_clear", "chronic_places", "densest_14d_share", "campaign_flag",
)  # fmt: skip


def _sustain(names: dict[str, str], f: dict) -> None:
    """Does clearance last, per ward: the issue-12 measures, with the minimum-volume rule
    (a ward with fewer clearances than the minimum shows its counts, not its rates)."""
    st.subheader(t("compare.sustain"))
    st.caption(t("compare.sustain_rule", n=f["min_volume"]))
    table = L.sustain(L.reader(), "ward", f["date_from"], f["date_to"])
    if table.empty:
        st.info(t("compare.sustain_empty"))
        return
    table = table[["ward_code", *SUSTAIN_COLUMNS]].copy()
    small = table["spells"] < f["min_volume"]
    rates = ["retention_30", "retention_90", "rechecked_share", "recurrence_rate", "median_days_clear",
             "densest_14d_share"]  # fmt: skip
    table[rates] = table[rates].astype(float)
    table.loc[small, rates] = float("nan")
    table["campaign_flag"] = table["campaign_flag"].astype(object).where(~small, None)
    table.insert(1, "name", table["ward_code"].map(names))
    config = {c: st.column_config.NumberColumn(t(f"sustain.{c}")) for c in rates}
    config |= {c: t(f"sustain.{c}") for c in ("ward_code", "name", "places", "spells", "chronic_places", "campaign_flag")}
    shown = numbers(table, dict.fromkeys(rates, 2) | dict.fromkeys(("places", "spells", "chronic_places"), 0))
    st.dataframe(shown, hide_index=True, column_config=config, key="sustain_table")


def _with_sustain(metrics: pd.DataFrame, f: dict) -> pd.DataFrame:
    """The ward metrics with the sustained-order measures of the window (issue 12), empty
    for wards under the minimum number of clearances."""
    sustain = L.sustain(L.reader(), "ward", f["date_from"], f["date_to"])
    return with_sustain(metrics, sustain, min_volume=f["min_volume"])


def _view() -> str:
    """The view chosen above the page (kept in the URL by the sidebar's ``write_url``)."""
    view = st.segmented_control(
        t("compare.view"), VIEWS, key="c_view", required=True,
        format_func=_labels(VIEWS, "compare.view.").__getitem__,
    )
    return str(view or VIEWS[0])


def _ward_views(layer, f: dict, view: str) -> None:
    """The choropleth or the league tables: both need every ward's metrics of the window."""
    metrics = _with_sustain(L.ward_metrics(L.reader(), f["date_from"], f["date_to"]), f)
    if int(metrics["volume"].sum()) == 0:
        st.info(t("compare.empty"))
    if view == "choropleth":
        _choropleth(metrics, f["metric"])
    else:
        _league(metrics, f)
        _sustain(dict(zip(layer["code"], layer["name"], strict=True)), f)


def main() -> None:
    st.title(t("compare.title"))
    try:
        layer = L.ward_layer()
        f = _sidebar()
        view = _view()
        if view == "matrix":
            _matrix(dict(zip(layer["code"], layer["name"], strict=True)), f)
        elif view == "density":
            _density(f)
        else:
            _ward_views(layer, f, view)
    except GeoError as exc:
        st.error(exc.message(lang()))


main()
