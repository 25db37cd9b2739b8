"""Ward metrics, the league table's minimum-volume rule, the week matrix, table downloads."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from geo.metrics import (
    METRIC_CODES,
    MIN_VOLUME,
    MetricError,
    league_table,
    load_ward_metrics,
    matrix_long,
    table_csv,
    table_xlsx,
    ward_metrics,
    week_matrix,
    week_window,
)
from tests._incidents import incident_frame, make_store


def _stats(rows: dict[str, tuple[int, int, int, float, int]]) -> pd.DataFrame:
    """code -> (open, cleared, new, median_days, overdue) as ward_stats would return."""
    return pd.DataFrame(
        [
            {
                "ward_code": code, "ward_name": code, "open": o, "cleared": c, "new": n,
                "cleared_in_period": c, "median_days_to_clear": m, "overdue": od, "recurred": 0,
            }
            for code, (o, c, n, m, od) in rows.items()
        ]
    )


@pytest.fixture(scope="module")
def three(wards):
    """Three real wards; the third has its population removed."""
    layer = wards[wards["code"].isin(["00070", "00199", "00004"])].copy()
    layer.loc[layer["code"] == "00004", "population"] = np.nan
    return layer


def test_metrics_per_ward_follow_their_definitions(three):
    stats = _stats({"00070": (10, 30, 5, 2.5, 4), "00199": (0, 0, 0, np.nan, 0), "00004": (5, 5, 1, 1.0, 0)})
    week = _stats({"00070": (0, 0, 3, np.nan, 0)})
    before_stats, before_layer = stats.copy(), three.copy()
    out = ward_metrics(stats, three, week)

    assert list(out.index) == list(three.index)  # indexed like the ward layer
    hk = out[out["code"] == "00070"].iloc[0]
    area = float(three.loc[three["code"] == "00070", "area_km2"].iloc[0])
    pop = float(three.loc[three["code"] == "00070", "population"].iloc[0])
    assert hk["open"] == 10 and hk["volume"] == 40
    assert hk["open_per_km2"] == pytest.approx(10 / area)
    assert hk["open_per_10k"] == pytest.approx(10 / pop * 10_000)
    assert hk["pct_cleared"] == pytest.approx(75.0)
    assert hk["median_days"] == pytest.approx(2.5)
    assert hk["overdue"] == 4 and hk["new_week"] == 3
    lang_row = out[out["code"] == "00199"].iloc[0]
    assert lang_row["volume"] == 0 and np.isnan(lang_row["pct_cleared"])  # undefined, not 0 %
    ba_dinh = out[out["code"] == "00004"].iloc[0]
    assert np.isnan(ba_dinh["open_per_10k"])  # population unknown
    assert ba_dinh["new_week"] == 0
    # inputs untouched
    pd.testing.assert_frame_equal(stats, before_stats)
    pd.testing.assert_frame_equal(pd.DataFrame(three.drop(columns="geometry")), pd.DataFrame(before_layer.drop(columns="geometry")))


def test_area_falls_back_to_metric_geometry(three):
    layer = three.drop(columns="area_km2")
    out = ward_metrics(_stats({"00070": (10, 0, 0, np.nan, 0)}), layer)
    expected = three.loc[three["code"] == "00070", "area_km2"].iloc[0]
    got = out.loc[out["code"] == "00070", "area_km2"].iloc[0]
    assert got == pytest.approx(float(expected), rel=0.02)  # UTM 48N area, not degrees²


def test_one_cleared_report_cannot_top_the_league(three):
    # Lang: 1 report, cleared (100 %); Hoàn Kiếm: 40 reports, 75 %; Ba Đình: 10, 50 %
    stats = _stats({"00199": (0, 1, 1, 1.0, 0), "00070": (10, 30, 5, 2.0, 0), "00004": (5, 5, 2, 3.0, 0)})
    metrics = ward_metrics(stats, three)
    table = league_table(metrics, "pct_cleared")
    assert list(table["code"]) == ["00070", "00004", "00199"]
    assert list(table["rank"].astype("float").fillna(-1)) == [1, 2, -1]
    assert not table.loc[table["code"] == "00199", "eligible"].item()
    # without the rule the one-report ward would win: the rule is what keeps it out
    loose = league_table(metrics, "pct_cleared", min_volume=1)
    assert loose["code"].iloc[0] == "00199"
    assert MIN_VOLUME > 1


def test_league_direction_and_ties(three):
    stats = _stats({"00199": (20, 0, 1, 1.0, 9), "00070": (10, 30, 5, 2.0, 1), "00004": (10, 20, 2, 3.0, 1)})
    metrics = ward_metrics(stats, three)
    best = league_table(metrics, "open")
    assert list(best["code"]) == ["00070", "00004", "00199"]  # tie on open=10: larger volume first
    assert list(best["rank"]) == [1, 1, 3]
    worst = league_table(metrics, "overdue", worst_first=True)
    assert worst["code"].iloc[0] == "00199"
    with pytest.raises(MetricError):
        league_table(metrics, "colour")
    with pytest.raises(MetricError):
        league_table(metrics, "open", min_volume=0)


def test_week_window_ends_on_the_period_end():
    assert week_window(dt.date(2025, 12, 31)) == (dt.date(2025, 12, 25), dt.date(2025, 12, 31))
    assert week_window(None, today=dt.date(2026, 1, 7)) == (dt.date(2026, 1, 1), dt.date(2026, 1, 7))


def _weeks() -> pd.DataFrame:
    rows = []
    for code, news, cleared in (("00070", [4, 0, 2], [1, 2, 3]), ("00199", [1, 1, 0], [0, 0, 2])):
        open_end = np.cumsum(news) - np.cumsum(cleared)
        for i, week in enumerate(pd.date_range("2025-07-07", periods=3, freq="7D")):
            rows.append(
                {"ward_code": code, "week": week, "iso_week": f"2025-W{28 + i}", "new": news[i],
                 "cleared": cleared[i], "open_end": int(open_end[i])}
            )
    return pd.DataFrame(rows)


def test_week_matrix_open_and_percent_cleared():
    weeks = _weeks()
    open_m = week_matrix(weeks, "open_end", names={"00070": "Hoàn Kiếm"})
    assert list(open_m.index) == ["Hoàn Kiếm", "00199"]
    assert list(open_m.columns) == ["2025-W28", "2025-W29", "2025-W30"]
    assert list(open_m.loc["Hoàn Kiếm"]) == [3, 1, 0]
    pct = week_matrix(weeks, "pct_cleared")
    # cumulative: week 2 of 00070 = (1 + 2) / (4 + 0)
    assert pct.loc["00070", "2025-W29"] == pytest.approx(75.0)
    assert pct.loc["00199", "2025-W30"] == pytest.approx(100.0)
    # a date range picks columns but keeps the earlier weeks in the cumulative share
    late = week_matrix(weeks, "pct_cleared", date_from=dt.date(2025, 7, 21))
    assert list(late.columns) == ["2025-W30"]
    assert late.loc["00070", "2025-W30"] == pytest.approx(100.0)
    long = matrix_long(open_m)
    assert len(long) == 6 and set(long.columns) == {"ward", "week", "value"}
    assert week_matrix(weeks.iloc[0:0], "open_end").empty
    with pytest.raises(MetricError):
        week_matrix(weeks, "median")


def test_table_downloads_neutralise_formulas(three):
    stats = _stats({"00070": (10, 30, 5, 2.0, 0)})
    metrics = ward_metrics(stats, three)
    metrics.loc[metrics["code"] == "00070", "name"] = "=HYPERLINK(\"http://x\")"
    table = league_table(metrics, "open", min_volume=1)
    csv = table_csv(table).decode("utf-8-sig")
    assert "'=HYPERLINK" in csv
    assert "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(table_xlsx(table)))
    values = [c.value for row in book.active.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in values
    assert table.loc[table["code"] == "00070", "name"].item().startswith("=")  # input untouched


def test_metrics_from_a_real_store(tmp_path, wards):
    store = make_store(tmp_path / "s.sqlite", wards)
    out = load_ward_metrics(store, wards, today=dt.date(2025, 7, 12))
    assert set(METRIC_CODES) <= set(out.columns)
    hk = out[out["code"] == "00070"].iloc[0]
    # KNOWN: two Hàng Mã incidents in 00070, one cleared
    assert (hk["open"], hk["cleared"], hk["volume"]) == (1, 1, 2)
    assert hk["pct_cleared"] == pytest.approx(50.0)
    assert hk["new_week"] == 1  # reported 2025-07-10, inside 07-06..07-12
    assert int(out["volume"].sum()) == 3
    # a period ending before any report: nothing open, nothing new
    early = load_ward_metrics(store, wards, date_to=dt.date(2025, 6, 30))
    assert int(early["volume"].sum()) == 0
    more = make_store(tmp_path / "t.sqlite", wards, [incident_frame(), incident_frame(source="other")])
    doubled = load_ward_metrics(more, wards)
    assert int(doubled["volume"].sum()) == 6
