"""Parsing pieces of the ingest: encodings, CSV shapes, headers, coordinates, dates."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest
from pyproj import CRS, Geod, Transformer

from geo.ingest import IngestOptions, preview
from geo.ingest._columns import recognise_columns
from geo.ingest._coords import (
    dms_pair,
    dms_value,
    parse_combined_column,
    parse_pair_columns,
    reproject,
)
from geo.ingest._dates import parse_dates
from geo.ingest._identity import fingerprints
from geo.ingest._readers import decode_bytes, read_table, sniff_delimiter
from tests._files import to_cp1258

VI = "Lấn chiếm vỉa hè, Phường Hoàn Kiếm, Hà Nội, đường Hàng Mã"




# ----------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda t: t.encode("utf-8"), "utf-8"),
        (lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"), "utf-8-sig"),
        (lambda t: t.encode("utf-16"), "utf-16"),
        (lambda t: t.encode("utf-16-le"), "utf-16-le"),
    ],
)
def test_unicode_encodings(encode, expected):
    text, encoding = decode_bytes(encode("mã,loại\n1," + VI + "\n"))
    assert encoding == expected
    assert VI in text


def test_windows_1258_combining_marks_become_nfc():
    raw = to_cp1258(VI)
    assert unicodedata.normalize("NFC", raw.decode("cp1258")) == VI
    assert raw.decode("cp1258") != VI  # the raw decode really is decomposed
    text, encoding = decode_bytes(raw)
    assert encoding == "cp1258"
    assert text == VI
    assert unicodedata.is_normalized("NFC", text)


def test_windows_1252_western_text():
    western = "Café Liégeois, São Paulo, crème brûlée, così però, Ñandú, Ýr, Þór"
    text, encoding = decode_bytes(western.encode("cp1252"))
    assert encoding == "cp1252"
    assert text == western


def test_undecodable_bytes_never_raise():
    text, _ = decode_bytes(bytes(range(256)) * 3)
    assert isinstance(text, str)


# ----------------------------------------------------------------------------- CSV shape


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(delimiter):
    body = delimiter.join(["vĩ độ", "kinh độ", "loại"]) + "\n"
    body += delimiter.join(["21.0365", "105.8490", '"a, b; c | d"']) + "\n"
    assert sniff_delimiter(body) == delimiter
    table = read_table(body.encode(), "x.csv")
    assert list(table.frame.columns) == ["vĩ độ", "kinh độ", "loại"]
    assert table.frame.iloc[0, 2] == "a, b; c | d"


def test_quoted_newlines_blank_lines_and_trailing_empty_columns():
    text = (
        "\n"
        "lat,lon,note,,\n"
        '21.0365,105.8490,"line one\nline two, with comma",,\n'
        "\n"
        ",,,,\n"
        "21.0366,105.8491,plain,,\n"
        "21.0367,105.8492,extra,,spill\n"
    )
    table = read_table(text.encode(), "x.csv")
    assert list(table.frame.columns) == ["lat", "lon", "note"]
    assert table.frame["note"].tolist() == ["line one\nline two, with comma", "plain", "extra"]
    # Data rows are numbered in the file (blank lines included), header excluded.
    assert table.row_numbers.tolist() == [1, 4, 5]
    assert table.row_problems.tolist() == ["", "", "too_many_fields"]


def test_excel_sep_hint():
    table = read_table(b"sep=;\nlat;lon\n21,0365;105,849\n", "x.csv")
    assert table.delimiter == ";"
    assert table.frame.iloc[0].tolist() == ["21,0365", "105,849"]


# ----------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("headers", "roles"),
    [
        (
            ["Vĩ độ", "Kinh độ", "Loại vi phạm", "Trạng thái", "Ngày phát hiện", "Địa chỉ",
             "Ghi chú", "Mã", "Phường"],
            ["lat", "lon", "type", "status", "reported_at", "address", "note", "id", "ward"],
        ),
        (
            ["VI_DO", "kinh_do", "LOAI", "trang thai", "ngay", "dia chi", "mo ta", "ID", "ward"],
            ["lat", "lon", "type", "status", "reported_at", "address", "note", "id", "ward"],
        ),
        (
            ["Latitude", "LNG", "Category", "Status", "Date", "Address", "Note", "id", "Ward"],
            ["lat", "lon", "type", "status", "reported_at", "address", "note", "id", "ward"],
        ),
        (["y", "x", "type"], ["lat", "lon", "type"]),
        (["Vĩ độ (WGS84)", "Kinh độ (WGS84)"], ["lat", "lon"]),
        # units and hints in brackets, as surveyors and ward clerks write them (issue 11 §6)
        (["Y (m)", "X (m)", "Ngày phát hiện (dd/mm/yyyy)"], ["lat", "lon", "reported_at"]),
        (["Vĩ độ (°)", "Kinh độ (độ)"], ["lat", "lon"]),
        (["Toạ độ Y (VN-2000)", "Toạ độ X (VN-2000)"], ["lat", "lon"]),
        (["lat (WGS84)", "lon (WGS84)", "Ngày [dd/mm/yyyy]"], ["lat", "lon", "reported_at"]),
        (["nhom/Vĩ độ (°)", "nhom/Kinh độ (°)", "Loại (mã) (bắt buộc)"], ["lat", "lon", "type"]),
    ],
)  # fmt: skip
def test_header_recognition(headers, roles):
    mapping = recognise_columns(headers)
    assert [mapping.roles.get(r) for r in roles] == headers


def test_a_header_of_brackets_only_is_not_emptied():
    mapping = recognise_columns(["(m)", "lat", "lon"])
    assert mapping.roles == {"lat": "lat", "lon": "lon"} and mapping.ignored == ["(m)"]


def test_kobo_headers():
    headers = [
        "start", "end", "group_a/loai_vi_pham", "vi_tri", "_vi_tri_latitude",
        "_vi_tri_longitude", "_vi_tri_altitude", "_vi_tri_precision", "_id", "_uuid",
        "_submission_time", "_status", "_notes",
    ]  # fmt: skip
    mapping = recognise_columns(headers)
    assert mapping.kobo
    assert mapping.roles["lat"] == "_vi_tri_latitude"
    assert mapping.roles["lon"] == "_vi_tri_longitude"
    assert mapping.roles["type"] == "group_a/loai_vi_pham"
    assert mapping.roles["id"] == "_uuid"
    assert mapping.roles["reported_at"] == "_submission_time"
    assert "status" not in mapping.roles  # Kobo's _status is the submission's, not ours
    assert "note" not in mapping.roles


def test_geopoint_column_found_by_content():
    sample = pd.DataFrame({"cho_nao": ["21.0365 105.8490 12.0 5.0", "21.0366 105.8491 0 0"]})
    mapping = recognise_columns(["cho_nao"], sample)
    assert mapping.roles["latlon"] == "cho_nao"


# ----------------------------------------------------------------------------- coordinates


def test_decimal_point_and_comma():
    parsed = parse_pair_columns(
        pd.Series(["21.0365", "21,0365", " 21.0365 ", "", "abc"]),
        pd.Series(["105.8490", "105,8490", "105.849", "105.8", "105.8"]),
    )
    assert parsed.first[:3].tolist() == [21.0365] * 3
    assert parsed.second[:3].tolist() == [105.849] * 3
    assert parsed.fmt[:3].tolist() == ["decimal", "decimal_comma", "decimal"]
    assert parsed.error.tolist() == ["", "", "", "missing_coordinates", "bad_coordinates"]


@pytest.mark.parametrize(
    "text",
    [
        "21°02'11.4\"N",
        "21° 02' 11.4\" N",
        "N21°02'11.4\"",
        "21 02 11.4 N",
        "21:02:11.4",
        "21°02.19'N",
        "21°02′11.4″B",
    ],
)
def test_dms_variants(text):
    value, axis = dms_value(text)
    assert value == pytest.approx(21.0365, abs=1e-6)
    assert axis in (None, "lat")


def test_dms_hemispheres_and_pairs():
    assert dms_value("105°50'56.4\"W")[0] == pytest.approx(-105.849, abs=1e-6)
    assert dms_value("21°02'11.4\"S")[0] == pytest.approx(-21.0365, abs=1e-6)
    lat, lon = dms_pair("21°02'11.4\"N 105°50'56.4\"E")
    assert (lat, lon) == (pytest.approx(21.0365, abs=1e-6), pytest.approx(105.849, abs=1e-6))
    lat, lon = dms_pair("105°50'56.4\"E, 21°02'11.4\"N")  # the letters decide the order
    assert (lat, lon) == (pytest.approx(21.0365, abs=1e-6), pytest.approx(105.849, abs=1e-6))
    assert dms_value("21°75'00\"N") is None  # minutes must be < 60
    assert dms_value("1,234.5") is None


@pytest.mark.parametrize("text", ["@SUM(A1:A9)", "=S1 9", "N 21 02 11.4 (GPS)", "21°02'11.4\"N; DROP"])
def test_dms_refuses_text_with_anything_but_numbers_marks_and_hemispheres(text):
    # a formula or a word is no coordinate: reading only its digits and its "S" or "N"
    # turned "@SUM(A1:A9)" into S 1°9' (-1.15), a point stored outside Hà Nội
    assert dms_value(text) is None


def test_a_formula_in_the_latitude_column_rejects_its_row(wards):
    data = ("lat,lon,date,type\n@SUM(A1:A9),105.8490,13/07/2025,Lấn chiếm vỉa hè\n"
            "21.0365,105.8490,13/07/2025,Lấn chiếm vỉa hè\n").encode()
    rows = preview(data, IngestOptions(file_name="formula.csv", wards=wards)).rows
    assert list(rows["outcome"]) == ["rejected", "accepted"]
    assert rows["reason"].iloc[0] in {"bad_coordinates", "missing_coordinates"}


@pytest.mark.parametrize("lat", ["inf", "-inf", "1e308"])
def test_an_endless_or_huge_latitude_is_out_of_range(lat, wards):
    # no latitude lies beyond ±90°: "inf" must not be stored as a point "outside Hà Nội"
    data = f"lat,lon,date,type\n{lat},105.8490,13/07/2025,Lấn chiếm vỉa hè\n".encode()
    rows = preview(data, IngestOptions(file_name="endless.csv", wards=wards)).rows
    assert (rows["outcome"].iloc[0], rows["reason"].iloc[0]) == ("rejected", "coordinates_out_of_range")


def test_combined_column_forms():
    parsed = parse_combined_column(
        pd.Series([
            "21.0365, 105.8490",
            "21.0365;105.8490",
            "21.0365 105.8490 15.2 4.9",
            "21,0365; 105,8490",
            "21°02'11.4\"N 105°50'56.4\"E",
            "",
            "somewhere",
        ])
    )  # fmt: skip
    assert np.allclose(parsed.first[:5], 21.0365, atol=1e-6)
    assert np.allclose(parsed.second[:5], 105.849, atol=1e-6)
    assert parsed.fmt.tolist()[:5] == ["combined", "combined", "combined", "combined_comma", "dms"]
    assert parsed.error.tolist()[5:] == ["missing_coordinates", "bad_coordinates"]


def _helmert_vn2000_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Independent check: the published 7-parameter VN-2000 → WGS 84 Helmert (rotations
    in the coordinate-frame convention), applied by hand in ECEF on the WGS 84 ellipsoid."""
    tx, ty, tz = -191.90441429, -39.30318279, -111.45032835
    rx, ry, rz = (np.radians(v / 3600) for v in (-0.00928836, 0.01975479, -0.00427372))
    ds = 0.252906278e-6
    to_ecef = Transformer.from_crs(
        CRS.from_proj4("+proj=longlat +ellps=WGS84 +no_defs"),
        CRS.from_proj4("+proj=geocent +ellps=WGS84 +units=m +no_defs"),
        always_xy=True,
    )
    x, y, z = to_ecef.transform(lon, lat, 0.0)
    x2 = tx + (1 + ds) * (x + rz * y - ry * z)
    y2 = ty + (1 + ds) * (-rz * x + y + rx * z)
    z2 = tz + (1 + ds) * (ry * x - rx * y + z)
    lon2, lat2, _ = to_ecef.transform(x2, y2, z2, direction="INVERSE")
    return lon2, lat2


def test_vn2000_keeps_the_datum_shift():
    # A point in Hoàn Kiếm, written the surveyors' way: X (northing) first, Y (easting).
    x_northing, y_easting = 2327228.148, 588046.702
    parsed = parse_pair_columns(pd.Series([str(y_easting)]), pd.Series([str(x_northing)]))
    lon, lat, order = reproject(parsed, CRS.from_epsg(5897))
    assert order[0] == "yx"  # the larger value was recognised as the northing
    # Naive: the same TM-3 projection read as if it were WGS 84 (no datum shift).
    naive = Transformer.from_crs(
        CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 "
                       "+ellps=WGS84 +units=m +no_defs"),
        CRS.from_epsg(4326),
        always_xy=True,
    )  # fmt: skip
    naive_lon, naive_lat = naive.transform(y_easting, x_northing)
    shift = Geod(ellps="WGS84").inv(lon[0], lat[0], naive_lon, naive_lat)[2]
    assert 215 < shift < 235  # the ~224 m VN-2000 datum shift in Hà Nội is kept
    # Known value: hand-applied Helmert from the naive (VN-2000 datum) coordinates.
    expect_lon, expect_lat = _helmert_vn2000_to_wgs84(naive_lon, naive_lat)
    assert Geod(ellps="WGS84").inv(lon[0], lat[0], expect_lon, expect_lat)[2] < 0.05
    assert (lat[0], lon[0]) == (pytest.approx(21.0365, abs=2e-6), pytest.approx(105.849, abs=2e-6))


def test_projected_order_either_way():
    northing, easting = "2327228.148", "588046.702"
    a = reproject(parse_pair_columns(pd.Series([northing]), pd.Series([easting])),
                  CRS.from_epsg(5897))  # fmt: skip
    b = reproject(parse_pair_columns(pd.Series([easting]), pd.Series([northing])),
                  CRS.from_epsg(5897))  # fmt: skip
    assert a[0][0] == pytest.approx(b[0][0]) and a[1][0] == pytest.approx(b[1][0])


# ----------------------------------------------------------------------------- dates


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_dates_day_month_iso_and_excel():
    values = pd.Series([
        "05/07/2025",
        "5/7/2025 08:30",
        "31/12/2025 14:05:09",
        "05-07-2025",
        "2025-07-05",
        "2025-07-05T08:30:00",
        "2025-07-05T08:30:00+07:00",
        "2025-07-05T01:30:00Z",
        "45843",
        "45843.5",
    ])  # fmt: skip
    out, fmt, error = parse_dates(values, now=_utc("2026-01-01"))
    assert error.tolist() == [""] * len(values)
    expected = [
        "2025-07-04 17:00", "2025-07-05 01:30", "2025-12-31 07:05:09", "2025-07-04 17:00",
        "2025-07-04 17:00", "2025-07-05 01:30", "2025-07-05 01:30", "2025-07-05 01:30",
        "2025-07-04 17:00", "2025-07-05 05:00",
    ]  # fmt: skip
    assert out.tolist() == [_utc(e) for e in expected]
    assert fmt.tolist()[-2:] == ["excel_serial", "excel_serial"]
    assert str(out.dt.tz) == "UTC"


def test_month_day_is_never_guessed():
    out, _, error = parse_dates(pd.Series(["13/05/2025", "05/06/2025", "06/06/2025"]))
    assert error.tolist() == ["", "", ""]  # no month/day evidence: day/month throughout
    assert out[1] == _utc("2025-06-04 17:00")
    out, _, error = parse_dates(pd.Series(["05/13/2025", "05/06/2025", "06/06/2025"]))
    assert error.tolist() == ["date_month_day", "date_ambiguous", ""]
    assert out.isna().tolist() == [True, True, False]


def test_unpadded_dates_are_ambiguous_in_a_month_day_column():
    # The same rule for values written without leading zeros (read by the general
    # reader, not the fixed-width one): 5/13 can only be 13 May, so the column is written
    # month/day and 5/6 may be 6 May as well as 5 June: never read silently.
    values = pd.Series(["5/13/2025", "5/6/2025", "6/6/2025", "13/5/2025"])
    out, fmt, error = parse_dates(values, now=_utc("2026-01-01"))
    assert error.tolist() == ["date_month_day", "date_ambiguous", "", ""]
    assert out.isna().tolist() == [True, True, False, False]
    assert out[2] == _utc("2025-06-05 17:00")  # day == month: one reading only
    assert fmt.tolist()[1] == ""
    # without the month/day value, 5/6/2025 is 5 June (day/month, the Vietnamese order)
    out, _, error = parse_dates(pd.Series(["5/6/2025", "13/5/2025"]), now=_utc("2026-01-01"))
    assert error.tolist() == ["", ""]
    assert out[0] == _utc("2025-06-04 17:00")


def test_bad_dates():
    values = pd.Series(["", "hôm qua", "32/01/2025", "31/02/2025", "1/1/1990", "01/01/2090"])
    _, _, error = parse_dates(values, now=_utc("2026-01-01"))
    assert error.tolist() == [
        "missing_date", "bad_date", "bad_date", "bad_date", "date_out_of_range",
        "date_out_of_range",
    ]  # fmt: skip


def test_kobo_submission_time_is_utc():
    out, _, _ = parse_dates(pd.Series(["2025-07-05T01:30:00"]), naive_tz="UTC")
    assert out[0] == _utc("2025-07-05 01:30")


def test_fingerprint_rounds_to_about_a_metre():
    types = pd.Series(["sidewalk", "sidewalk", "sidewalk"])
    reported = pd.Series(pd.to_datetime(["2025-07-05 01:00", "2025-07-05 16:59",
                                         "2025-07-05 17:00"], utc=True))  # fmt: skip
    fp = fingerprints(types, np.array([21.036500, 21.036502, 21.0365]),
                      np.array([105.849, 105.849003, 105.849]), reported)  # fmt: skip
    assert fp[0] == fp[1] == "v1|sidewalk|2103650|10584900|2025-07-05"
    assert fp[2].endswith("2025-07-06")  # 17:00 UTC is midnight in Hà Nội


@pytest.mark.parametrize("blank", [None, float("nan"), pd.NA], ids=["None", "NaN", "NA"])
def test_a_coordinate_cell_without_a_value_is_missing_like_an_empty_one(blank):
    """A cell holding no value (a JSON null, a NaN from pandas) is read as an empty cell
    is, by the same rule: the row's coordinates are missing (``missing_coordinates``),
    not a crash or an unreadable value; the rows beside it read as before."""
    from geo.ingest._coords import parse_combined_column, parse_pair_columns

    pair = parse_pair_columns(
        pd.Series([blank, "", "21.0285"], dtype=object), pd.Series(["105.8542", "105.8542", "105.8542"], dtype=object)
    )
    assert pair.error.tolist() == ["missing_coordinates", "missing_coordinates", ""]
    assert pair.first[2] == pytest.approx(21.0285) and pair.second[2] == pytest.approx(105.8542)
    combined = parse_combined_column(pd.Series([blank, "", "21.0285, 105.8542"], dtype=object))
    assert combined.error.tolist() == ["missing_coordinates", "missing_coordinates", ""]
    assert combined.first[2] == pytest.approx(21.0285) and combined.second[2] == pytest.approx(105.8542)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0c", "\x1e", "\x85"], ids=["LS", "PS", "FF", "RS", "NEL"])
def test_a_unicode_line_separator_inside_a_cell_does_not_split_its_row(separator):
    """CSV breaks lines at CR and LF only; U+2028 and the other separators Python's
    ``splitlines`` breaks at are ordinary characters of a cell. A row holding one, with a
    "|" in another cell (a formula, say), keeps "," as its delimiter and its columns."""
    text = (
        "vĩ độ,ngày,kinh độ,loại,ghi chú,=cmd|' /C calc'!A0\r\n"
        f"21.0365,2025-07-13,105.8490,Lấn chiếm vỉa hè,x{separator}y,=cmd|' /C calc'!A0\r\n"
    )
    assert sniff_delimiter(text) == ","
    table = read_table(text.encode("utf-8"), "hostile.csv")
    assert list(table.frame.columns)[:3] == ["vĩ độ", "ngày", "kinh độ"]
    assert table.frame.iloc[0]["ghi chú"] == f"x{separator}y"



@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
def test_a_long_file_of_any_line_end_has_its_header_and_delimiter_read_from_its_head(end):
    """Excel for Mac's "CSV (Macintosh)" ends lines with CR alone. Its header, its first
    lines and its delimiter are those of a file with LF or CRLF line ends, past the first
    64 KiB too, where the head the sniffer reads is cut at a line end."""
    from geo.ingest._readers import _head_lines, header_fields

    header = "vĩ độ;kinh độ;ngày;loại"
    rows = [f"21.{i:06d};105.{i:06d};05/07/2025;Lấn chiếm vỉa hè, lòng đường" for i in range(3000)]
    text = end.join([header, *rows]) + end
    assert len(text) > 65_536  # longer than the first head taken
    assert sniff_delimiter(text) == ";"
    assert header_fields(text, ";") == ["vĩ độ", "kinh độ", "ngày", "loại"]
    assert _head_lines(text, 60) == [header, *rows[:59]]
    table = read_table(text.encode("utf-8"), "mac.csv")
    assert len(table.frame) == 3000 and table.frame.iloc[-1, 0] == "21.002999"


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"], ids=["CR", "LF", "CRLF"])
def test_a_header_cell_holding_a_line_end_does_not_hide_the_delimiter(end):
    """A spreadsheet's header cell written on two lines (Alt+Enter: "Vĩ độ" over "(WGS84)")
    is one quoted CSV cell holding a line end. The sniffer took each physical line for a
    record, so the header it looked at was '"Vĩ độ', which no delimiter splits, and a ";"
    file whose addresses hold commas was read with ",". It reads records: the quoted cell
    stays whole and the delimiter is ";", the columns those of the header."""
    header = f'"Vĩ độ{end}(WGS84)";"Kinh độ{end}(WGS84)";ngày;loại;địa chỉ'
    rows = [f"21.0{i:05d};105.8{i:05d};05/07/2025;Lấn chiếm vỉa hè;Số {i}, phố Hàng Bông" for i in range(30)]
    text = end.join([header, *rows]) + end
    assert sniff_delimiter(text) == ";"
    table = read_table(text.encode("utf-8"), "two-line-header.csv")
    assert list(table.frame.columns) == [f"Vĩ độ{end}(WGS84)", f"Kinh độ{end}(WGS84)", "ngày", "loại", "địa chỉ"]
    assert table.frame.iloc[29].tolist() == ["21.000029", "105.800029", "05/07/2025", "Lấn chiếm vỉa hè", "Số 29, phố Hàng Bông"]


@pytest.mark.parametrize("header", ['vĩ độ;kinh độ;địa chỉ;ống 12" (inch)', 'vĩ độ;kinh độ;địa chỉ;cỡ (")', '"vĩ độ";kinh độ;"địa ""chỉ""";cỡ'])
def test_a_quote_inside_a_header_cell_opens_no_cell(header):
    """A quote opens a quoted cell only at the cell's start; inside a cell (12" for inches)
    it is text, so it joins no lines to the header, and "" inside a quoted cell is one
    quote: the delimiter is still read from the header alone."""
    rows = [f"21.0{i:05d};105.8{i:05d};Số {i}, phố Hàng Bông;12" for i in range(30)]
    assert sniff_delimiter("\n".join([header, *rows]) + "\n") == ";"


# ----------------------------------------------------------------------------- large UTF-8 files

#: The characters :func:`geo.ingest._decode.plain_nfc` accepts as NFC in any order.
PLAIN = [*range(0x300), *range(0x1E00, 0x1F00)]


def test_the_plain_characters_are_nfc_in_any_order():
    """Each is its own NFC and no combining mark (so nothing reorders), and none is the
    second half of any canonical composition in the Unicode database (so none composes
    with the character before it): a text of them only is NFC whatever their order."""
    plain = {chr(c) for c in PLAIN}
    for ch in plain:
        assert unicodedata.combining(ch) == 0 and unicodedata.normalize("NFC", ch) == ch, hex(ord(ch))
    for cp in range(0x110000):
        parts = unicodedata.decomposition(chr(cp)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            assert chr(int(parts[1], 16)) not in plain, (hex(cp), parts)


def test_plain_nfc_says_yes_exactly_for_the_plain_characters():
    from geo.ingest._decode import plain_nfc

    plain = set(PLAIN)
    probes = [*range(0x2100), *range(0x2100, 0x110000, 97), 0x1EFF, 0x1F00, 0x1DFF, 0x10FFFF]
    for cp in probes:
        if 0xD800 <= cp < 0xE000:
            continue  # surrogates: no UTF-8
        text = f"a{chr(cp)}b"
        assert plain_nfc(text.encode("utf-8")) == (cp in plain), hex(cp)
    assert plain_nfc(VI.encode("utf-8"))
    assert not plain_nfc(unicodedata.normalize("NFD", VI).encode("utf-8"))


def _large(rows: int = 16_000, *, header: str = "vĩ độ;kinh độ;loại;địa chỉ", cell: str = "Số {i}, phố Hàng Bông") -> str:
    """A CSV text of more than 1 MiB (past the head that is decoded as text)."""
    lines = [header] + [f"21.0{i:05d};105.8{i:05d};Lấn chiếm vỉa hè;{cell.format(i=i)}" for i in range(rows)]
    text = "\n".join(lines) + "\n"
    assert len(text.encode("utf-8")) > (1 << 20)
    return text


def test_a_large_plain_utf8_file_is_read_from_its_bytes(monkeypatch):
    """A large UTF-8 file that is NFC already is parsed from its bytes: the whole file is
    never decoded to one string (a million rows: 400 MB and about 0.5 s of CPU), and the table
    is the one the decoded text gives."""
    from geo.ingest import _readers

    text = _large()
    expected = read_table(text.encode("utf-8"), "big.csv")

    def whole_decode(data):
        raise AssertionError("decoded whole")

    monkeypatch.setattr(_readers, "decode_text", whole_decode)
    table = read_table(text.encode("utf-8"), "big.csv")
    assert (table.encoding, table.delimiter) == ("utf-8", ";")
    assert list(table.frame.columns) == ["vĩ độ", "kinh độ", "loại", "địa chỉ"]
    assert len(table.frame) == 16_000 and table.row_numbers.tolist() == list(range(1, 16_001))
    assert table.frame.iloc[15_999].tolist() == ["21.015999", "105.815999", "Lấn chiếm vỉa hè", "Số 15999, phố Hàng Bông"]
    pd.testing.assert_frame_equal(table.frame, expected.frame)


@pytest.mark.parametrize(
    ("name", "make", "check"),
    [
        # marks written apart (e + U+0323) deep in the file: the cells come out NFC
        ("decomposed", lambda t: t.replace("Số 11000,", unicodedata.normalize("NFD", "Số 11000, Hẹ,")),
         lambda tb: tb.frame.iloc[11_000, 3] == "Số 11000, Hẹ, phố Hàng Bông"),
        # NUL bytes are removed, as in any other file
        ("nul", lambda t: t.replace("Số 11000,", "Số 1\x001000,"),
         lambda tb: tb.frame.iloc[11_000, 3] == "Số 11000, phố Hàng Bông"),
        # Excel's "sep=" line names the delimiter and is no row (here it would also be
        # a header of two cells as wide as the rows)
        ("sep hint", lambda t: "sep=,\nvĩ độ,kinh độ\n" + "".join(f"21.0{i:05d},105.8{i:05d}\n" for i in range(60_000)),
         lambda tb: tb.delimiter == "," and list(tb.frame.columns) == ["vĩ độ", "kinh độ"] and len(tb.frame) == 60_000),
        # a blank line keeps the row numbers of the file
        ("blank line", lambda t: t.replace("\n21.011000", "\n\n21.011000"),
         lambda tb: tb.row_numbers[11_000] == 11_002 and len(tb.frame) == 16_000),
        # leading blank lines are not part of the table
        ("leading blanks", lambda t: "\n \n" + t, lambda tb: tb.frame.columns[0] == "vĩ độ"),
        # a quoted header cell written on two lines
        ("quoted header", lambda t: t.replace("vĩ độ;", '"vĩ độ\n(WGS84)";', 1),
         lambda tb: tb.frame.columns[0] == "vĩ độ\n(WGS84)" and len(tb.frame) == 16_000),
    ],
)
def test_a_large_file_that_needs_its_text_is_read_as_text(name, make, check):
    """What the bytes alone cannot give (normalising, NUL removal, a "sep=" line, blank
    lines, a header line with quotes) a large file still gets: it is decoded whole."""
    table = read_table(make(_large()).encode("utf-8"), "big.csv")
    assert check(table), name
    assert table.encoding == "utf-8"


def test_a_large_windows_1258_file_is_not_taken_for_utf8():
    raw = to_cp1258(_large(header="vi do;kinh do;loai;dia chi"))
    table = read_table(raw, "big.csv")
    assert table.encoding == "cp1258"
    assert table.frame.iloc[5].tolist() == ["21.000005", "105.800005", "Lấn chiếm vỉa hè", "Số 5, phố Hàng Bông"]


def test_a_large_windows_1252_file_of_bytes_below_0xcc_is_not_taken_for_utf8():
    """"É", "È", "Ç" are single bytes below 0xCC in Windows-1252, invalid as UTF-8 but
    no sign of a character from U+0300 up: the UTF-8 check, not the NFC scan, refuses it."""
    text = _large(30_000, header="lat;lon;type;address", cell="ÉCOLE {i}, rue ÇA ÈTE")
    raw = text.replace("Lấn chiếm vỉa hè", "Ecole").encode("cp1252")
    assert len(raw) > (1 << 20)
    table = read_table(raw, "big.csv")
    assert table.encoding == "cp1252"
    assert table.frame.iloc[5].tolist() == ["21.000005", "105.800005", "Ecole", "ÉCOLE 5, rue ÇA ÈTE"]
