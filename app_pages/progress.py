"""Tiến độ / Progress: open vs cleared over time, cumulative cleared, recurrences, before/after."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages import _leaders as L
from app_pages._common import chart, display_wards, lang, num, signed, t
from geo.errors import GeoError

LEVELS = ("city", "ward", "street")
FREQS = ("D", "W")
DEFAULT_STREET = "Hàng Mã"
MAP_HEIGHT = 480
BAR_PX = 24  # height per ward in the recurrence chart: room for each name


def _sidebar(ward_names: dict[str, str], streets: list[str]) -> dict:
    L.url_widget_state("p_level", "level", "city", L.choice(LEVELS))
    L.url_widget_state("p_ward", "ward", None, L.choice(ward_names))
    L.url_widget_state("p_street", "street", None, L.choice(streets))
    L.url_widget_state("p_freq", "freq", "W", L.choice(FREQS))
    L.url_widget_state("p_from", "from", None, L.parse_date)
    L.url_widget_state("p_to", "to", None, L.parse_date)
    ss = st.session_state
    if ss["p_ward"] is None and ward_names:
        ss["p_ward"] = "00070" if "00070" in ward_names else next(iter(ward_names))
    if ss["p_street"] not in streets:
        ss["p_street"] = DEFAULT_STREET if DEFAULT_STREET in streets else (streets[0] if streets else None)
    sb = st.sidebar
    sb.header(t("filter.header"))
    sb.radio(t("progress.level"), LEVELS, key="p_level", format_func={v: t(f"progress.level.{v}") for v in LEVELS}.__getitem__)
    if ss["p_level"] == "ward":
        sb.selectbox(t("progress.ward"), list(ward_names), key="p_ward", format_func=ward_names.__getitem__)
    elif ss["p_level"] == "street":
        sb.selectbox(t("progress.street"), streets, key="p_street")
    sb.radio(t("progress.freq"), FREQS, key="p_freq", horizontal=True, format_func={v: t(f"progress.freq.{v}") for v in FREQS}.__getitem__)
    col_a, col_b = sb.columns(2)
    col_a.date_input(t("filter.date_from"), key="p_from", format="DD/MM/YYYY")
    col_b.date_input(t("filter.date_to"), key="p_to", format="DD/MM/YYYY")
    level = ss["p_level"]
    key = ss["p_ward"] if level == "ward" else ss["p_street"] if level == "street" else None
    L.write_url(
        {
            "level": level if level != "city" else None,
            "ward": ss["p_ward"] if level == "ward" else None,
            "street": ss["p_street"] if level == "street" else None,
            "freq": ss["p_freq"] if ss["p_freq"] != "W" else None,
            "from": ss["p_from"],
            "to": ss["p_to"],
        }
    )
    return {"level": level, "key": key, "freq": ss["p_freq"], "date_from": ss["p_from"], "date_to": ss["p_to"]}


def _series(f: dict) -> pd.DataFrame:
    if f["level"] != "city" and not f["key"]:
        return pd.DataFrame()
    return L.progress(L.reader(), f["level"], f["key"], f["freq"], f["date_from"], f["date_to"])


def _charts(series: pd.DataFrame) -> None:
    st.subheader(t("progress.open_vs_cleared"))
    frame = series.set_index("period")
    frame.index = pd.to_datetime(frame.index)
    names = {"open": t("progress.open"), "cleared": t("progress.cleared"), "new": t("progress.new"),
             "recurrences": t("sustain.recurrences_line")}  # fmt: skip
    lines = frame[[c for c in names if c in frame.columns]].rename(columns=names)
    st.altair_chart(chart(_over_time(lines, "line", 320)), width="stretch", key="progress_lines")
    st.subheader(t("progress.cumulative"))
    total = frame[["cleared_total"]].rename(columns={"cleared_total": t("progress.cumulative")})
    st.altair_chart(chart(_over_time(total, "area", 240)), width="stretch", key="progress_total")


def _over_time(frame: pd.DataFrame, mark: str, height: int) -> alt.Chart:
    """One line (or area) per column of ``frame`` over its period index, dated as the app
    dates (:data:`app_pages._leaders.DATE_AXIS`); one series needs no legend."""
    series = list(frame.columns)
    long = frame.rename_axis("period").reset_index().melt("period", var_name="color", value_name="value")
    legend = alt.Legend(orient="bottom", title=None) if len(series) > 1 else None
    base = alt.Chart(long)
    return (
        (base.mark_line() if mark == "line" else base.mark_area())
        .encode(
            x=alt.X("period:T", title=None, axis=alt.Axis(format=L.DATE_AXIS)),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("color:N", sort=series, legend=legend),
            tooltip=[
                alt.Tooltip("period:T", title=t("sustain.date"), format="%d/%m/%Y"),
                alt.Tooltip("color:N", title=" "),
                alt.Tooltip("value:Q", title=" ", format=",d"),
            ],
        )
        .properties(height=height)
    )


def _with_recurrences(series: pd.DataFrame, f: dict) -> pd.DataFrame:
    """``series`` with a ``recurrences`` column: the places reported again after a
    clearance in each period (issue 12), so a campaign shows as a spike of clearances
    followed by a rise in recurrences."""
    if series.empty:
        return series
    ward = f["key"] if f["level"] == "ward" else None
    street = f["key"] if f["level"] == "street" else None
    counts = L.recurrences(L.reader(), f["freq"], ward, street)
    by_period = dict(zip(pd.to_datetime(counts["period"]), counts["recurrences"], strict=True))
    periods = pd.to_datetime(series["period"])
    return series.assign(recurrences=[int(by_period.get(p, 0)) for p in periods])


def _recurrences(f: dict, ward_names: dict[str, str]) -> None:
    st.subheader(t("progress.recurrences"))
    stats = L.ward_stats(L.reader(), f["date_from"], f["date_to"])
    if f["level"] == "ward":
        total = int(stats.loc[stats["ward_code"] == f["key"], "recurred"].sum())
    elif f["level"] == "street":
        streets = L.street_stats(L.reader(), f["date_from"], f["date_to"], None)
        codes = streets.loc[streets["street"] == f["key"], "wards"].str.split(",").explode()
        total = int(stats.loc[stats["ward_code"].isin(list(codes)), "recurred"].sum())
    else:
        total = int(stats["recurred"].sum())
    st.write(t("progress.recurrences_total", n=total))
    top = stats[stats["recurred"] > 0].sort_values("recurred", ascending=False).head(15)
    if not top.empty and f["level"] == "city":
        st.altair_chart(chart(_recurrence_bars(top, ward_names)), width="stretch", key="progress_recurrences")


def _recurrence_bars(top: pd.DataFrame, ward_names: dict[str, str]) -> alt.Chart:
    """The wards with the most recurrences, most first, every bar named in full: a bar
    chart of fixed height hid every other ward's name and sorted them by name."""
    bars = pd.DataFrame(
        {"ward": [ward_names.get(c, c) for c in top["ward_code"]], "n": top["recurred"].to_numpy()}
    )
    return (
        alt.Chart(bars)
        .mark_bar()
        .encode(
            x=alt.X("n:Q", title=t("progress.recurrences"), axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("ward:N", sort="-x", title=None, axis=alt.Axis(labelLimit=0, labelOverlap=False)),
            tooltip=[
                alt.Tooltip("ward:N", title=t("progress.ward")),
                alt.Tooltip("n:Q", title=t("progress.recurrences")),
            ],
        )
        .properties(height=BAR_PX * len(bars))
    )


def _default_dates(series: pd.DataFrame) -> tuple[dt.date, dt.date]:
    busy = series[(series["new"] > 0) | (series["cleared"] > 0)] if not series.empty else series
    after = pd.Timestamp(busy["period"].max()).date() if not busy.empty else dt.date.today()
    return after - dt.timedelta(days=28), after


def _before_after(layer, f: dict, series: pd.DataFrame) -> None:
    from geo.choropleth import change_map

    st.subheader(t("progress.before_after"))
    default_a, default_b = _default_dates(series)
    L.url_widget_state("p_a", "a", default_a, L.parse_date)
    L.url_widget_state("p_b", "b", default_b, L.parse_date)
    col_a, col_b = st.columns(2)
    col_a.date_input(t("progress.date_a"), key="p_a", format="DD/MM/YYYY")
    col_b.date_input(t("progress.date_b"), key="p_b", format="DD/MM/YYYY")
    a, b = st.session_state["p_a"], st.session_state["p_b"]
    L.write_url({"a": a, "b": b})
    if not a or not b or a >= b:
        st.warning(t("progress.bad_dates"))
        return
    who = L.reader()
    # new in between = growth of open + cleared (no third read); cleared in between is
    # read directly: a status history can reopen, so growth of "cleared" is not it
    before = L.ward_stats(who, None, a)
    after = L.ward_stats(who, None, b)
    start = a + dt.timedelta(days=1)
    if f["level"] == "street":
        s_before = L.street_stats(who, None, a, None)
        s_after = L.street_stats(who, None, b, None)
        s_between = L.street_stats(who, start, b, None)

        def pick(frame: pd.DataFrame, col: str) -> int:
            return int(frame.loc[frame["street"] == f["key"], col].sum())

        o_a, c_a, o_b, c_b = (pick(s_before, "open"), pick(s_before, "cleared"), pick(s_after, "open"), pick(s_after, "cleared"))
        cleared = pick(s_between, "cleared_in_period")
    else:
        between = L.ward_stats(who, start, b)
        scope_a = before["ward_code"] == f["key"] if f["level"] == "ward" else slice(None)
        scope_b = after["ward_code"] == f["key"] if f["level"] == "ward" else slice(None)
        scope_c = between["ward_code"] == f["key"] if f["level"] == "ward" else slice(None)
        o_a, c_a = int(before.loc[scope_a, "open"].sum()), int(before.loc[scope_a, "cleared"].sum())
        o_b, c_b = int(after.loc[scope_b, "open"].sum()), int(after.loc[scope_b, "cleared"].sum())
        cleared = int(between.loc[scope_c, "cleared_in_period"].sum())
    counts = (o_a, o_b, (o_b + c_b) - (o_a + c_a), cleared)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("progress.open_before"), num(counts[0]))
    c2.metric(t("progress.open_after"), num(counts[1]), delta=signed(counts[1] - counts[0]), delta_color="inverse")
    c3.metric(t("progress.new_between"), num(counts[2]))
    c4.metric(t("progress.cleared_between"), num(counts[3]))
    by_code_a = before.set_index("ward_code")["open"]
    by_code_b = after.set_index("ward_code")["open"]
    codes = layer["code"].astype(str)
    change = pd.DataFrame(
        {
            "code": codes.to_numpy(),
            "name": layer["name"].astype(str).to_numpy(),
            "before": codes.map(by_code_a).fillna(0).astype(int).to_numpy(),
            "after": codes.map(by_code_b).fillna(0).astype(int).to_numpy(),
        }
    )
    change["delta"] = change["after"] - change["before"]
    fmap = change_map(display_wards(), change, lang=lang())
    st.caption(t("compare.click_ward"))
    state = st_folium(
        fmap, key="progress_change", height=MAP_HEIGHT, use_container_width=True,
        returned_objects=L.CLICK_OBJECTS,
    )
    code = L.clicked_ward(state, change["code"])
    if code:
        L.open_ward_page(code)  # same session: no new sign-in


def main() -> None:
    st.title(t("progress.title"))
    try:
        layer = L.ward_layer()
        ward_names = dict(zip(layer["code"].astype(str), layer["name"].astype(str), strict=True))
        streets = [str(s) for s in L.street_stats(L.reader(), None, None, None)["street"]]
        f = _sidebar(ward_names, streets)
        series = _with_recurrences(_series(f), f)
    except GeoError as exc:
        st.error(exc.message(lang()))
        return
    try:
        if series.empty:
            st.info(t("progress.empty"))
        else:
            _charts(series)
        _recurrences(f, ward_names)
        _before_after(layer, f, series)
    except GeoError as exc:
        st.error(exc.message(lang()))


main()
