"""Each kind of file a field team sends, built in tmp_path and ingested into a real store."""

from __future__ import annotations

import json
import unicodedata

import pandas as pd
import pytest
from pyproj import Transformer

from geo.ingest import IngestOptions, ingest, preview
from geo.store import open_store, queries
from tests._files import HEADER, ROWS, csv_text, to_cp1258

TYPES = ["sidewalk", "awning", "signboard"]
STATUSES = ["reported", "in_progress", "cleared"]
REPORTED_UTC = [pd.Timestamp(f"2025-07-0{d} 17:00", tz="UTC") for d in (4, 5, 6)]


@pytest.fixture
def db(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    yield store
    store.close()




def check_stored(store, n=3, *, types=TYPES, reported=REPORTED_UTC, statuses=STATUSES):
    """The store holds exactly the expected incidents, in NFC, in Hoàn Kiếm, in UTC."""
    stored = queries.incidents(store).sort_values("source_row").reset_index(drop=True)
    assert len(stored) == n
    assert stored["ward_code"].tolist() == ["00070"] * n
    assert stored["type"].tolist() == types[:n]
    assert stored["status"].tolist() == statuses[:n]
    assert stored["reported_at"].tolist() == reported[:n]
    for column in ("type_text", "address", "note"):
        for value in stored[column].dropna():
            assert unicodedata.is_normalized("NFC", value), (column, value)
    assert stored["type_text"].tolist()[:n] == [r[3] for r in ROWS][:n]
    return stored


def run(store, path, **options):
    result = ingest(path, store, IngestOptions(**options), actor="test")
    summary = result.summary()
    assert summary["accepted"] + summary["duplicate"] + summary["rejected"] == summary["rows"]
    return summary


# ----------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("name", "encode", "encoding"),
    [
        ("utf8.csv", lambda t: t.encode("utf-8"), "utf-8"),
        ("bom.csv", lambda t: t.encode("utf-8-sig"), "utf-8-sig"),
        ("utf16.txt", lambda t: t.encode("utf-16"), "utf-16"),
        ("cp1258.csv", to_cp1258, "cp1258"),
    ],
)
def test_vietnamese_encodings(db, tmp_path, name, encode, encoding):
    text = csv_text(sep="\t" if name.endswith(".txt") else ",")
    path = tmp_path / name
    path.write_bytes(encode(text))
    summary = run(db, path)
    assert summary["encoding"] == encoding
    assert summary["accepted"] == 3
    stored = check_stored(db)
    assert stored["address"].tolist() == [r[6] for r in ROWS]  # NFC even from cp1258
    assert stored["street"].iloc[0] is not None  # on Hàng Mã's block: a street within 25 m


def test_windows_1252(db, tmp_path):
    rows = [("W-1", 21.0365, 105.8490, "Sidewalk encroachment", "open", "05/07/2025",
             "Café Liégeois", "", "crème brûlée stall")]  # fmt: skip
    path = tmp_path / "cp1252.csv"
    header = ["id", "lat", "lon", "type", "status", "date", "address", "ward", "note"]
    path.write_bytes(csv_text(rows, header).encode("cp1252"))
    summary = run(db, path)
    assert summary["encoding"] == "cp1252"
    stored = queries.incidents(db)
    assert stored["address"].tolist() == ["Café Liégeois"]
    assert stored["note"].tolist() == ["crème brûlée stall"]
    assert stored["type"].tolist() == ["sidewalk"]


# ----------------------------------------------------------------------------- CSV shapes


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiters(db, tmp_path, sep):
    path = tmp_path / "d.csv"
    path.write_text(csv_text(sep=sep), encoding="utf-8")
    summary = run(db, path)
    assert summary["delimiter"] == sep
    check_stored(db)


def test_quoted_newlines_blank_lines_trailing_columns(db, tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][8] = "dòng một\ndòng hai; có dấu phẩy, và | gạch"
    text = "\n" + csv_text(rows, header=[*HEADER, "", ""], fmt=str)
    text = text.replace("\r\n", ",,\r\n").replace(",,\r\n", "\r\n", 1)  # header keeps its two
    lines = text.split("\r\n")
    text = "\r\n".join([lines[0], lines[1], "", lines[2], ",,,,,,,,,,", lines[3], ""])
    path = tmp_path / "shape.csv"
    path.write_text(text, encoding="utf-8")
    summary = run(db, path)
    assert summary["rows"] == 3 and summary["accepted"] == 3
    stored = check_stored(db)
    assert stored["note"].iloc[0] == "dòng một\ndòng hai; có dấu phẩy, và | gạch"
    assert stored["source_row"].tolist() == [1, 3, 5]  # blank lines keep their numbers


def test_comma_decimals_with_semicolons(db, tmp_path):
    path = tmp_path / "comma.csv"
    path.write_text(csv_text(sep=";", fmt=lambda v: str(v).replace(".", ",")
                             if isinstance(v, float) else v), encoding="utf-8")  # fmt: skip
    summary = run(db, path)
    assert summary["coordinate_formats"] == {"decimal_comma": 3}
    check_stored(db)


def test_combined_column(db, tmp_path):
    header = ["id", "toạ độ", "loại", "trạng thái", "ngày"]
    rows = [(r[0], f"{r[1]}, {r[2]}", r[3], r[4], r[5]) for r in ROWS]
    path = tmp_path / "combined.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    summary = run(db, path)
    assert summary["columns"]["latlon"] == "toạ độ"
    assert summary["coordinate_formats"] == {"combined": 3}
    check_stored(db)


def _dms(value: float, pos: str, neg: str) -> str:
    hemi = pos if value >= 0 else neg
    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round((value - deg - minutes / 60) * 3600, 2)
    return f"{deg}°{minutes:02d}'{seconds:05.2f}\"{hemi}"


def test_dms_columns_and_pairs(db, tmp_path):
    header = ["ma", "vi do", "kinh do", "loai", "trang thai", "ngay"]
    rows = [(r[0], _dms(r[1], "N", "S"), _dms(r[2], "E", "W"), *r[3:6]) for r in ROWS[:2]]
    rows.append((ROWS[2][0], f"{ROWS[2][1]}", f"{ROWS[2][2]}", *ROWS[2][3:6]))
    path = tmp_path / "dms.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    summary = run(db, path)
    assert summary["coordinate_formats"] == {"dms": 2, "decimal": 1}
    stored = check_stored(db)
    assert stored["lat"].tolist() == pytest.approx([r[1] for r in ROWS], abs=1e-6)


@pytest.mark.parametrize(
    ("x", "y", "date"),
    [
        ("X", "Y", "Ngày phát hiện"),
        # surveyors' sheets nearly always carry units (issue 11 §6)
        ("X (m)", "Y (m)", "Ngày phát hiện (dd/mm/yyyy)"),
        ("Toạ độ X (VN-2000)", "Toạ độ Y (VN-2000)", "Ngày [dd/mm/yyyy]"),
    ],
)
def test_vn2000_with_crs(db, tmp_path, x, y, date):
    to_vn = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True)
    header = ["Mã", x, y, "Loại vi phạm", "Trạng thái", date]
    rows = []
    for r in ROWS:
        easting, northing = to_vn.transform(r[2], r[1])
        rows.append((r[0], f"{northing:.3f}", f"{easting:.3f}", *r[3:6]))  # X = northing
    path = tmp_path / "vn2000.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    summary = run(db, path, crs="EPSG:5897")
    assert summary["coordinate_formats"] == {"projected": 3}
    assert summary["flags"]["outside"] == 0
    stored = check_stored(db)
    assert stored["lat"].tolist() == pytest.approx([r[1] for r in ROWS], abs=1e-6)
    assert stored["lon"].tolist() == pytest.approx([r[2] for r in ROWS], abs=1e-6)


def test_projected_without_crs_is_rejected_not_guessed(db, tmp_path):
    header = ["Mã", "X", "Y", "Loại vi phạm", "Trạng thái", "Ngày phát hiện"]
    rows = [("P-1", "2327228.148", "588046.702", "Mái che", "", "05/07/2025")]
    path = tmp_path / "noproj.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    summary = run(db, path)
    assert summary["rejected"] == 1
    assert summary["reasons"] == {"coordinates_out_of_range": 1}


# ----------------------------------------------------------------------------- dates


def test_iso_and_excel_serial_dates(db, tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][5] = "2025-07-05"  # naive ISO date: Hà Nội midnight
    rows[1][5] = "2025-07-05T17:00:00Z"  # zoned
    rows[2][5] = "45845"  # Excel serial for 7 July 2025
    path = tmp_path / "dates.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    summary = run(db, path)
    assert summary["date_formats"] == {"iso": 1, "iso_zoned": 1, "excel_serial": 1}
    check_stored(db)


def test_day_month_default_and_month_day_rejected(db, tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][5] = "04/07/2025"
    rows[1][5] = "07/13/2025"  # only month/day can read it
    rows[2][5] = "06/07/2025"
    path = tmp_path / "mmdd.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    p = preview(path, store=db)
    outcome = p.rows.set_index("row")
    assert outcome.loc[2, "reason"] == "date_month_day"
    # The column evidently holds month/day values, so the others are ambiguous: rejected.
    assert outcome.loc[1, "reason"] == "date_ambiguous"
    assert "Ngày phát hiện" in outcome.loc[2, "message_en"]
    assert outcome.loc[2, "message_vi"].startswith("Dòng 2, cột “Ngày phát hiện”")


# ----------------------------------------------------------------------------- Excel, GeoJSON, Kobo


def test_xlsx_with_sheet_choice(db, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "Ghi chú"
    first.append(["Bảng này không phải dữ liệu"])
    sheet = book.create_sheet("Tháng 7")
    sheet.append(["Danh sách vi phạm tháng 7"])  # a title row above the header
    sheet.append(HEADER)
    for i, r in enumerate(ROWS):
        row = list(r)
        if i == 0:
            row[5] = datetime(2025, 7, 5)  # a real Excel date cell
        elif i == 1:
            row[5] = 45844  # a serial number in a general cell
        sheet.append(row)
    path = tmp_path / "bao_cao.xlsx"
    book.save(path)
    with pytest.raises(ValueError, match="Tháng 8"):
        preview(path, IngestOptions(sheet="Tháng 8"))
    summary = run(db, path, sheet="thang 7")  # the sheet name matched without diacritics
    assert summary["sheet"] == "Tháng 7"
    assert summary["accepted"] == 3
    stored = check_stored(db)
    assert stored["source_row"].tolist() == [1, 2, 3]


def test_geojson_points(db, tmp_path):
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r[2], r[1]]},
            "properties": dict(zip(HEADER, r, strict=True)) | {"Vĩ độ": None, "Kinh độ": None},
        }
        for r in ROWS
    ]
    features.append({"type": "Feature", "geometry": {"type": "LineString",
                     "coordinates": [[105.849, 21.03], [105.85, 21.04]]}, "properties": {}})  # fmt: skip
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")  # fmt: skip
    summary = run(db, path)
    assert summary["format"] == "geojson"
    assert summary["accepted"] == 3
    assert summary["reasons"] == {"geometry_not_point": 1}
    check_stored(db)


def test_geojson_legacy_crs_member(db, tmp_path):
    to_vn = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True)
    r = ROWS[0]
    x, y = to_vn.transform(r[2], r[1])
    doc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::5897"}},
        "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                      "properties": {"loai": r[3], "ngay": r[5], "trang_thai": r[4]}}],
    }  # fmt: skip
    path = tmp_path / "vn2000.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    run(db, path)
    stored = queries.incidents(db)
    assert stored["lat"].iloc[0] == pytest.approx(r[1], abs=1e-6)
    assert stored["ward_code"].iloc[0] == "00070"


def test_kobo_export(db, tmp_path):
    header = ["start", "end", "thong_tin/loai_vi_pham", "thong_tin/ghi_chu", "vi_tri",
              "_vi_tri_latitude", "_vi_tri_longitude", "_vi_tri_altitude",
              "_vi_tri_precision", "_id", "_uuid", "_submission_time", "_status"]  # fmt: skip
    rows = [
        ("2025-07-05T07:50:00.000+07:00", "2025-07-05T07:55:00.000+07:00", r[3], r[8],
         f"{r[1]} {r[2]} 12.5 4.0", r[1], r[2], 12.5, 4.0, 1000 + i,
         f"0b6a9c1e-0000-4000-8000-00000000000{i}", f"2025-07-0{4 + i}T17:00:00",
         "submitted_via_web")
        for i, r in enumerate(ROWS)
    ]  # fmt: skip
    path = tmp_path / "kobo_export.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    summary = run(db, path)
    assert summary["source"] == "kobo"
    assert summary["columns"]["id"] == "_uuid"
    assert summary["columns"]["reported_at"] == "_submission_time"
    stored = check_stored(db, statuses=["reported"] * 3)
    assert stored["source_id"].iloc[0] == "0b6a9c1e-0000-4000-8000-000000000000"


def test_kobo_geopoint_only(db, tmp_path):
    header = ["loai_vi_pham", "toa_do", "ngay_phat_hien"]
    rows = [(r[3], f"{r[1]} {r[2]} 0 0", r[5]) for r in ROWS]
    path = tmp_path / "geopoint.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    run(db, path)
    check_stored(db, statuses=["reported"] * 3)
