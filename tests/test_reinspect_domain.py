"""Re-inspection: result words, the schedule, the due list, the walking round, the files."""

from __future__ import annotations

import json
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo.errors import InvalidArgument
from geo.places import unproject_xy
from geo.reinspect import (
    DUE_COLUMNS,
    GPX_NS,
    Schedule,
    due_list,
    parse_result,
    parse_results,
    parse_schedule,
    walking_order,
    write_due_list,
)

G = f"{{{GPX_NS}}}"
X0, Y0 = 585_000.0, 2_320_000.0
# cleared at 09:00 Hà Nội time on 1 June 2025
CLEARED = pd.Timestamp("2025-06-01T02:00:00", tz="UTC")


# --------------------------------------------------------------------------- result words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clear", "clear"), ("CLEAR ", "clear"), ("thông thoáng", "clear"),
        ("THÔNG THOÁNG", "clear"), ("thong thoang", "clear"), ("Không vi phạm", "clear"),
        ("khong  vi pham", "clear"), ("violation", "violation"), ("Violation", "violation"),
        ("tái vi phạm", "violation"), ("TÁI VI PHẠM", "violation"), ("tai lan chiem", "violation"),
        ("Tái lấn chiếm", "violation"),
        (unicodedata.normalize("NFD", "tái lấn chiếm"), "violation"),  # Windows-1258 style
        (unicodedata.normalize("NFD", "thông thoáng"), "clear"),
        ("vi phạm", "bad_result"),  # not one of the words: "không vi phạm" is the opposite
        ("clearly", "bad_result"), ("ok", "bad_result"), ("", "bad_result"), (None, "bad_result"),
        (3, "bad_result"),
    ],
)  # fmt: skip
def test_result_words(text, expected):
    assert parse_result(text) == expected


def test_result_words_in_a_column():
    column = pd.Series(["Thông thoáng", None, "tái vi phạm", "??", "Thông thoáng"])
    assert parse_results(column).tolist() == ["clear", "bad_result", "violation", "bad_result", "clear"]


# --------------------------------------------------------------------------- schedule


def test_schedule_defaults_and_per_type_overrides():
    assert parse_schedule(None) == parse_schedule("  ") == Schedule()
    assert Schedule().days_for("awning") == (7, 30, 90)
    schedule = parse_schedule("awning:7,30,90;sidewalk:3,14")
    assert schedule.days_for("sidewalk") == (3, 14)
    assert schedule.days_for("awning") == (7, 30, 90)
    assert schedule.days_for("parking") == (7, 30, 90)
    other = parse_schedule(" 60, 5 ,20 ; parking : 1 ")
    assert other.days_for("signboard") == (5, 20, 60) and other.days_for("parking") == (1,)


@pytest.mark.parametrize(
    "text", ["kiosk:7,30", "awning:", "awning:0,7", "awning:7,7", "awning:seven", "sidewalk:3;x"]
)
def test_schedule_refuses_bad_entries(text):
    with pytest.raises(InvalidArgument, match="Re-inspection schedule"):
        parse_schedule(text)


# --------------------------------------------------------------------------- due list


def places(*rows: dict) -> pd.DataFrame:
    base = {"type": "sidewalk", "ward_code": "00070", "street": "Hàng Mã", "address": None,
            "dx": 0.0, "dy": 0.0, "cleared_at": CLEARED, "last_checked_at": pd.NaT}  # fmt: skip
    frame = pd.DataFrame([{**base, "place_id": i + 1, **row} for i, row in enumerate(rows)])
    lon, lat = unproject_xy(X0 + frame["dx"].to_numpy(float), Y0 + frame["dy"].to_numpy(float))
    frame["lon"], frame["lat"] = lon, lat
    return frame.drop(columns=["dx", "dy"])


def due_on(frame: pd.DataFrame, day: str, **kw) -> pd.DataFrame:
    return due_list(frame, day, **kw)


def test_a_place_is_due_from_the_scheduled_day_on():
    one = places({})
    assert due_on(one, "2025-06-07").empty  # 6 days after clearance
    (row,) = due_on(one, "2025-06-08").to_dict("records")
    assert (row["check_day"], row["days_since_clearance"], row["days_overdue"]) == (7, 7, 0)
    assert str(pd.Timestamp(row["cleared_date"]).date()) == "2025-06-01"
    assert list(due_on(one, "2025-06-08").columns) == list(DUE_COLUMNS)


def test_a_check_settles_every_scheduled_day_it_reached():
    checked_day_8 = places({"last_checked_at": CLEARED + pd.Timedelta(days=8)})
    assert due_on(checked_day_8, "2025-06-20").empty  # next is day 30 (1 July)
    (row,) = due_on(checked_day_8, "2025-07-01").to_dict("records")
    assert row["check_day"] == 30
    missed = places({})  # no check at all: on day 35 one visit settles days 7 and 30
    (row,) = due_on(missed, "2025-07-06").to_dict("records")
    assert (row["check_day"], row["days_overdue"], row["days_since_clearance"]) == (30, 28, 35)
    on_the_day = places({"last_checked_at": CLEARED + pd.Timedelta(days=7, hours=5)})
    assert due_on(on_the_day, "2025-06-30").empty  # the day-7 check was made on day 7
    done = places({"last_checked_at": CLEARED + pd.Timedelta(days=91)})
    assert due_on(done, "2026-06-01").empty  # every check made


def test_schedule_per_type():
    frame = places({"type": "sidewalk"}, {"type": "awning"})
    schedule = parse_schedule("sidewalk:3,14")
    assert due_on(frame, "2025-06-04", schedule=schedule)["place_id"].tolist() == [1]
    assert due_on(frame, "2025-06-04").empty


def test_days_are_hanoi_calendar_days():
    # 20:00 UTC on 1 June is 03:00 on 2 June in Hà Nội
    late = places({"cleared_at": pd.Timestamp("2025-06-01T20:00:00", tz="UTC")})
    assert due_on(late, "2025-06-08").empty
    (row,) = due_on(late, "2025-06-09").to_dict("records")
    assert str(pd.Timestamp(row["cleared_date"]).date()) == "2025-06-02"


def test_uncleared_places_and_other_wards_are_left_out():
    frame = places({}, {"cleared_at": pd.NaT}, {"ward_code": "00073"})
    assert due_on(frame, "2025-06-10", ward="00070")["place_id"].tolist() == [1]
    both = due_on(frame, "2025-06-10")
    assert both[["ward_code", "stop", "place_id"]].values.tolist() == [["00070", 1, 1], ["00073", 1, 3]]


def test_walking_round_is_nearest_neighbour_from_the_most_overdue_place():
    d = pd.Timedelta(days=1)
    frame = places(
        {"dx": 0.0, "cleared_at": CLEARED},
        {"dx": 100.0, "cleared_at": CLEARED},
        {"dx": 50.0, "cleared_at": CLEARED},
        {"dx": 300.0, "cleared_at": CLEARED - 20 * d},  # the most overdue: the start
        {"dx": 120.0, "cleared_at": CLEARED},
        {"dx": 10.0, "dy": 10.0, "cleared_at": CLEARED - 30 * d},
    )
    frame.loc[5, ["lon", "lat"]] = np.nan  # no coordinates: last, whatever its due date
    got = due_on(frame, "2025-06-10")
    assert got["place_id"].tolist() == [4, 5, 2, 3, 1, 6]
    assert got["stop"].tolist() == [1, 2, 3, 4, 5, 6]


def test_walking_order_ties_go_to_the_earlier_row():
    x = np.array([0.0, 10.0, -10.0, 20.0])
    assert walking_order(x, np.zeros(4)).tolist() == [0, 1, 3, 2]
    assert walking_order(np.array([0.0, -5.0, 5.0]), np.zeros(3)).tolist() == [0, 1, 2]
    assert walking_order(np.zeros(0), np.zeros(0)).tolist() == []


def test_missing_columns_are_named():
    with pytest.raises(InvalidArgument, match="last_checked_at"):
        due_list(places({}).drop(columns="last_checked_at"), "2025-06-10")
    with pytest.raises(InvalidArgument, match="YYYY-MM-DD"):
        due_list(places({}), "tomorrow-ish")


# --------------------------------------------------------------------------- files

HOSTILE = '=HYPERLINK("http://x","bấm")'


@pytest.fixture
def due() -> pd.DataFrame:
    frame = places(
        {"address": HOSTILE, "street": "Hàng Bạc\x07 <&>"},
        {"address": "12 Hàng Mã", "dx": 40.0},
        {"address": None, "street": None, "dx": 80.0},
    )
    frame.loc[2, ["lon", "lat"]] = np.nan
    return due_on(frame, "2025-06-10")


def test_csv_is_excel_friendly_and_neutralised(due, tmp_path: Path):
    path = write_due_list(due, "csv", tmp_path / "due.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns) == list(DUE_COLUMNS)
    assert back.loc[0, "address"] == "'" + HOSTILE
    assert back.loc[1, "address"] == "12 Hàng Mã"
    assert back.loc[0, "cleared_date"] == "2025-06-01"


def test_xlsx_holds_text_not_formulas(due, tmp_path: Path):
    path = write_due_list(due, "xlsx", tmp_path / "due.xlsx")
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    assert header == list(DUE_COLUMNS)
    address = sheet.cell(row=2, column=header.index("address") + 1)
    assert address.data_type == "s" and address.value == "'" + HOSTILE
    street = sheet.cell(row=2, column=header.index("street") + 1).value
    assert "\x07" not in street and street.startswith("Hàng Bạc")


def test_geojson_is_a_feature_collection_of_lon_lat_points(due, tmp_path: Path):
    path = write_due_list(due, "geojson", tmp_path / "due.geojson")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 3
    first = data["features"][0]
    assert first["geometry"]["type"] == "Point"
    lon, lat = first["geometry"]["coordinates"]
    assert 105 < lon < 106.5 and 20.5 < lat < 21.5  # RFC 7946 order: lon, lat
    assert list(first["properties"]) == list(DUE_COLUMNS)
    assert first["properties"]["address"] == HOSTILE  # GIS files keep the text as written
    assert data["features"][2]["geometry"] is None  # no coordinates


def test_gpx_is_well_formed_gpx_1_1(due, tmp_path: Path):
    path = write_due_list(due, "gpx", tmp_path / "due.gpx")
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = ET.parse(path).getroot()
    assert root.tag == f"{G}gpx" and root.get("version") == "1.1" and root.get("creator")
    assert [child.tag for child in root] == [f"{G}metadata", f"{G}wpt", f"{G}wpt", f"{G}rte"]
    waypoints = root.findall(f"{G}wpt")
    for wpt, row in zip(waypoints, due.to_dict("records"), strict=False):
        assert float(wpt.get("lat")) == pytest.approx(row["lat"], abs=1e-7)
        assert float(wpt.get("lon")) == pytest.approx(row["lon"], abs=1e-7)
        assert [c.tag for c in wpt] == [f"{G}name", f"{G}desc", f"{G}type"]  # schema order
    name = waypoints[0].findtext(f"{G}name")
    assert name.startswith("1. #1 sidewalk")
    assert HOSTILE in waypoints[0].findtext(f"{G}desc")
    route = [p.findtext(f"{G}name") for p in root.find(f"{G}rte").findall(f"{G}rtept")]
    assert route == [w.findtext(f"{G}name") for w in waypoints]  # the round, in order
    assert "\x07" not in path.read_text(encoding="utf-8")  # XML 1.0 cannot hold it


def test_unknown_format_is_refused(due, tmp_path: Path):
    with pytest.raises(InvalidArgument, match="kml"):
        write_due_list(due, "kml", tmp_path / "due.kml")
