"""The date rule written out case by case, for mutation testing
(``python -m benchmarks.mutation --module dates``).

Expected values come from the rule in ``geo/ingest/_dates.py``'s docstring and from the
calendar, never from the module's own tables: day/month is the only order read; a value
only month/day can read is ``date_month_day``; once a column holds one, its values both
orders could read are ``date_ambiguous``; two-digit years are 20yy; a time without a zone
is Hà Nội time (UTC+7 since 1975); nothing before 2000-01-01 UTC or more than a day after
"now" is accepted; a bad value is a rejected row, never an exception. The fast readers of
``_dates_fixed.py`` are checked against their own contract (exact ``dd/mm/yyyy[ HH:MM[:SS]]``
is read, anything else is left to the general readers).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from geo.errors import InvalidArgument
from geo.ingest import IngestOptions, parse_file_date, preview
from geo.ingest._dates import file_date_instant, parse_dates
from geo.ingest._dates_fixed import fixed_dmy, fixed_width_dmy, local_to_utc, utc_ns
from tests._files import HEADER, ROWS, csv_text

NOW = pd.Timestamp("2026-01-01", tz="UTC")


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _ns(*texts: str) -> np.ndarray:
    return np.array([pd.Timestamp(t).to_datetime64() for t in texts], dtype="datetime64[ns]")


def _parse(*values: str, now: pd.Timestamp | None = NOW, naive_tz: str | None = None):
    out, fmt, error = parse_dates(pd.Series(list(values), dtype=object), now=now, naive_tz=naive_tz)
    return out.tolist(), fmt.tolist(), error.tolist()


# ------------------------------------------------------------------ day/month, general reader


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("5/7/2025", "2025-07-04 17:00"),  # Hà Nội midnight = 17:00 UTC the day before
        ("5/7/25", "2025-07-04 17:00"),  # two-digit year: 20yy
        ("31/12/99", "2099-12-30 17:00"),
        ("05.07.2025", "2025-07-04 17:00"),
        ("5-7-2025", "2025-07-04 17:00"),
        ("5 / 7 / 2025", "2025-07-04 17:00"),
        ("5/7/2025 8h30", "2025-07-05 01:30"),
        ("5/7/2025, 08:30", "2025-07-05 01:30"),
        ("05/07/2025T08:30", "2025-07-05 01:30"),
        ("5/7/2025 08:30:15", "2025-07-05 01:30:15"),
        ("5/7/2025 8:30:15 PM", "2025-07-05 13:30:15"),
        ("5/7/2025 08:30 PM", "2025-07-05 13:30"),
        ("5/7/2025 8:30 p.m.", "2025-07-05 13:30"),
        ("5/7/2025 08:30 am", "2025-07-05 01:30"),
        ("5/7/2025 12:15 AM", "2025-07-04 17:15"),  # 12 AM is midnight
        ("5/7/2025 12:15 PM", "2025-07-05 05:15"),  # 12 PM is noon
        ("5/7/2025 11:59 PM", "2025-07-05 16:59"),
    ],
)
def test_day_month_forms_and_times(text, utc):
    out, fmt, error = _parse(text, now=pd.Timestamp("2100-01-02", tz="UTC"))
    assert (error, fmt, out) == ([""], ["dd/mm/yyyy"], [_utc(utc)])


def test_hours_past_the_day_and_days_past_the_month_are_bad_dates():
    values = ("5/7/2025 24:30", "5/7/2025 25:00", "5/7/2025 8:60", "5/7/2025 8:30:60 PM",
              "31/4/2025", "29/2/2025", "5/32/2025", "5/7/2025 24:00:01")  # fmt: skip
    _, fmt, error = _parse(*values)
    assert error == ["bad_date"] * 8 and fmt == [""] * 8
    # 24:00 is ISO 8601's end of the day: the next midnight (6 July, 00:00 in Hà Nội)
    out, _, error = _parse("5/7/2025 24:00")
    assert error == [""] and out == [_utc("2025-07-05 17:00")]
    out, _, error = _parse("29/2/2024")  # a leap year
    assert error == [""] and out == [_utc("2024-02-28 17:00")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("5/12/2025", ""),  # both orders could read it, no evidence: 5 December
        ("5/13/2025", "date_month_day"),
        ("1/13/2025", "date_month_day"),
        ("12/13/2025", "date_month_day"),
        ("5/31/2025", "date_month_day"),
        ("13/13/2025", "bad_date"),  # neither order
    ],
)
def test_what_only_month_day_can_read(text, reason):
    _, _, error = _parse(text)
    assert error == [reason]


def test_evidence_makes_every_two_way_value_ambiguous_whichever_reader_read_it():
    values = [
        "5/13/2025",  # the evidence
        "1/2/2025", "2/1/2025", "11/12/2025", "12/11/2025",  # general reader
        "12/05/2025", "05/12/2025", "13/05/2025", "05/05/2025",  # fixed-width reader
        "5/6/2025 08:30", "6/5/2025 08:30:15",  # pandas' formats with a time
        "13/5/2025", "1/1/2025",  # one reading only
    ]  # fmt: skip
    out, fmt, error = _parse(*values)
    assert error == ["date_month_day"] + ["date_ambiguous"] * 6 + ["", ""] + [
        "date_ambiguous", "date_ambiguous", "", "",
    ]  # fmt: skip
    assert fmt[7:9] == ["dd/mm/yyyy", "dd/mm/yyyy"] and fmt[11:] == ["dd/mm/yyyy"] * 2
    assert out[7] == _utc("2025-05-12 17:00") and out[12] == _utc("2024-12-31 17:00")


def test_the_general_readers_name_their_format():
    _, fmt, error = _parse("5/7/2025 08:30", "5/7/2025 08:30:15", "5/7/2025", "05/07/2025")
    assert error == [""] * 4 and fmt == ["dd/mm/yyyy"] * 4


# ------------------------------------------------------------------------------- ISO, Excel


def test_iso_forms_and_zones():
    values = [
        "2025-07-05T08:30:00+07:00", "2025-07-05T08:30:00+0700", "2025-07-05T08:30+07",
        "2025-07-05T01:30:00Z", "2025-07-05 01:30:00.25Z", "2025-07-05T08:30", "2025-07-05",
    ]  # fmt: skip
    out, fmt, error = _parse(*values)
    assert error == [""] * 7
    assert fmt == ["iso_zoned"] * 5 + ["iso"] * 2
    assert out == [_utc("2025-07-05 01:30")] * 4 + [
        _utc("2025-07-05 01:30:00.25"), _utc("2025-07-05 01:30"), _utc("2025-07-04 17:00"),
    ]  # fmt: skip


def test_naive_iso_in_a_given_zone_and_unreadable_iso():
    out, fmt, error = _parse("2025-07-05T01:30:00", naive_tz="UTC")
    assert (out, fmt, error) == ([_utc("2025-07-05 01:30")], ["iso"], [""])
    _, fmt, error = _parse("2025-13-05T01:30:00", "2025-02-30T01:30:00+07:00")
    assert error == ["bad_date", "bad_date"] and fmt == ["", ""]


def test_excel_serial_days():
    # Excel's day 45658 is 1 January 2025; 32874 is 1 January 1990, 73415 is 31 Dec 2100.
    out, fmt, error = _parse("45658", "45658,5", "45658.25", "32874", "73415", "32873", "73416",
                             now=pd.Timestamp("2101-06-01", tz="UTC"))  # fmt: skip
    assert error == [""] * 3 + ["date_out_of_range", ""] + ["bad_date"] * 2
    assert fmt == ["excel_serial"] * 3 + ["", "excel_serial", "", ""]
    assert out[:3] == [_utc("2024-12-31 17:00"), _utc("2025-01-01 05:00"), _utc("2024-12-31 23:00")]
    assert out[4] == _utc("2100-12-30 17:00")


# ------------------------------------------------------------------------------ plausibility


def test_the_earliest_instant_is_2000_01_01_utc():
    _, _, error = _parse("01/01/2000 06:59", "01/01/2000 07:00", "2000-01-01T00:00:00Z")
    assert error == ["date_out_of_range", "", ""]


def test_at_most_one_day_after_now():
    now = pd.Timestamp("2025-07-05 00:00", tz="UTC")
    out, fmt, error = _parse("2025-07-06T00:00:00Z", "2025-07-06T00:00:01Z", "2025-07-06T12:00:00Z",
                             "2025-07-04T00:00:00Z", now=now)  # fmt: skip
    assert error == ["", "date_out_of_range", "date_out_of_range", ""]
    assert fmt == ["iso_zoned", "", "", "iso_zoned"]
    assert pd.isna(out[1]) and pd.isna(out[2])
    _, _, error = _parse("2025-07-04T00:00:00Z", now=pd.Timestamp("2025-01-01", tz="UTC"))
    assert error == ["date_out_of_range"]  # "now" is the one given, not the clock's


def test_without_now_the_clock_decides():
    soon = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _, _, error = _parse("2025-07-05T00:00:00Z", soon, now=None)
    assert error == ["", "date_out_of_range"]


@pytest.mark.parametrize(
    "text",
    [
        # Hà Nội (Asia/Ho_Chi_Minh) left UTC+8 for UTC+7 at midnight on 13 June 1975:
        # 23:30 on 12 June happened twice; at the start of 1960 it moved from +7 to +8:
        # 23:30 on 31 December 1959 never happened. Each reader must reject, not raise.
        "12/06/1975 23:30", "12/6/1975 23:30", "12/6/1975 11:30 PM", "1975-06-12T23:30:00",
        "31/12/1959 23:30", "31/12/1959 23:30:00", "31/12/1959 11:30 PM", "1959-12-31T23:30:00",
    ],
)  # fmt: skip
def test_times_a_zone_change_repeated_or_skipped_are_rejected_not_raised(text):
    out, fmt, error = _parse(text)
    assert error[0] in ("bad_date", "date_out_of_range") and fmt == [""] and pd.isna(out[0])


def test_blank_and_the_index_are_kept():
    values = pd.Series(["", "  ", "05/07/2025", "x"], index=[10, 11, 12, 13], dtype=object)
    out, fmt, error = parse_dates(values, now=NOW)
    assert out.index.tolist() == [10, 11, 12, 13] and str(out.dt.tz) == "UTC"
    assert error.tolist() == ["missing_date", "missing_date", "", "bad_date"]
    assert fmt.tolist() == ["", "", "dd/mm/yyyy", ""]
    assert out[12] == _utc("2025-07-04 17:00")


# --------------------------------------------------------------------------- the fast readers


def test_fixed_width_reads_the_three_exact_layouts():
    text = pd.Series([
        "05/07/2025", "31/12/2025 23:59", "01/01/2025 00:00:59", "29/02/2024", "10/11/2026 07:08:09",
        "", "5/7/2025", "05-07-2025", "29/02/2025", "00/01/2025", "01/00/2025", "01/13/2025",
        "0a/07/2025", "05/07/2025 24:00", "05/07/2025 23:60", "05/07/2025 23:59:60", "05/07/2025 2:30",
        "05/07/2025T23:30", "05/07/2025 23-30",
    ])  # fmt: skip
    got, local, day, month = fixed_width_dmy(text)
    assert got.tolist() == [True] * 5 + [False] * 14
    expected = [
        "2025-07-05",
        "2025-12-31 23:59",
        "2025-01-01 00:00:59",
        "2024-02-29",
        "2026-11-10 07:08:09",
    ]
    assert (local[:5] == _ns(*expected)).all()
    assert np.isnat(local[5:]).all()
    assert day[:5].tolist() == [5, 31, 1, 29, 10] and month[:5].tolist() == [7, 12, 1, 2, 11]
    assert day.dtype == np.int64 and month.dtype == np.int64


def test_fixed_width_layouts_mixed_in_any_order_and_missing_cells():
    text = pd.Series(["01/02/2025 03:04", None, "11/12/2013", "21/11/2019 18:17:16", "x" * 16],
                     dtype=object)  # fmt: skip
    got, local, day, month = fixed_width_dmy(text)
    assert got.tolist() == [True, False, True, True, False]
    assert (local[[0, 2, 3]] == _ns("2025-02-01T03:04", "2013-12-11", "2019-11-21T18:17:16")).all()
    assert day.tolist() == [1, 0, 11, 21, 0] and month.tolist() == [2, 0, 12, 11, 0]
    got, local, day, month = fixed_width_dmy(pd.Series([], dtype=object))
    assert (len(got), len(local), len(day), len(month)) == (0, 0, 0, 0)
    # a slice of a larger column (the Arrow array starts at an offset)
    got, local, _, _ = fixed_width_dmy(pd.Series(["x", "02/03/2025", "03/03/2025"])[1:])
    assert got.tolist() == [True, True]
    assert (local == _ns("2025-03-02", "2025-03-03")).all()


def test_fixed_dmy_reads_exact_dd_mm_yyyy_only():
    text = pd.Series(["05/07/2025", "31/12/2025", "01/01/2024", "29/02/2024", "10/11/2026",
                      "29/02/2025", "00/01/2025", "01/00/2025", "01/13/2025", "31/04/2025",
                      "5/7/2025", "05/07/2025 08:30"], index=range(100, 112))  # fmt: skip
    out = fixed_dmy(text)
    assert out.index.tolist() == list(range(100, 112)) and str(out.dtype) == "datetime64[ns]"
    assert out.iloc[:5].tolist() == [
        pd.Timestamp(t)
        for t in ("2025-07-05", "2025-12-31", "2024-01-01", "2024-02-29", "2026-11-10")
    ]
    assert out.iloc[5:].isna().all()
    nothing = fixed_dmy(pd.Series(["5/7/2025"]))
    assert nothing.isna().all() and str(nothing.dtype) == "datetime64[ns]"


def test_local_to_utc_uses_the_zone_history_before_1976():
    local = np.array(["2025-07-05T08:30", "1976-01-01T00:00", "1960-06-01T12:00", "1950-06-01T12:00",
                      "1975-06-12T23:30"], dtype="datetime64[ns]")  # fmt: skip
    out = local_to_utc(local)
    # UTC+8 in 1960 (from 1960 to June 1975) and in 1950 (1947-1955), UTC+7 in 1956
    assert (out[:4] == _ns("2025-07-05T01:30", "1975-12-31T17:00", "1960-06-01T04:00",
                           "1950-06-01T04:00")).all()  # fmt: skip
    assert (local_to_utc(_ns("1956-06-01T12:00")) == _ns("1956-06-01T05:00")).all()
    assert np.isnat(out[4])  # happened twice (UTC+8 and UTC+7): not guessed


def test_utc_ns_is_naive_utc_nanoseconds():
    stamps = pd.Series(pd.to_datetime(["2025-07-05 08:30"]).tz_localize("Asia/Ho_Chi_Minh"))
    out = utc_ns(stamps)
    assert out.dtype == np.dtype("datetime64[ns]")
    assert (out == _ns("2025-07-05T01:30")).all()
    seconds = pd.Series(pd.DatetimeIndex(["2025-07-05 08:30"]).as_unit("s").tz_localize("UTC"))
    assert utc_ns(seconds).dtype == np.dtype("datetime64[ns]")


# ----------------------------------------------------------------------------- a file's date


def test_file_date_instant_bounds_and_message():
    now = pd.Timestamp("2025-07-05 12:00", tz="UTC")
    assert file_date_instant(dt.date(2025, 7, 6), now) == _utc("2025-07-05 17:00")
    assert file_date_instant(dt.date(2000, 1, 2), now) == _utc("2000-01-01 17:00")
    with pytest.raises(InvalidArgument) as err:
        file_date_instant(dt.date(2025, 7, 8), now)
    assert err.value.message_vi.startswith("Ngày của cả tệp 08/07/2025: ")
    assert err.value.message_en.startswith("The file's date 08/07/2025: ")
    assert err.value.message_vi != err.value.message_en
    with pytest.raises(InvalidArgument):
        file_date_instant(dt.date(2000, 1, 1), now)  # 1999-12-31 17:00 UTC
    # the boundary is exactly a day after now
    assert file_date_instant(dt.date(2025, 7, 7), pd.Timestamp("2025-07-05 17:00", tz="UTC"))
    with pytest.raises(InvalidArgument):
        file_date_instant(dt.date(2025, 7, 7), pd.Timestamp("2025-07-05 16:59", tz="UTC"))
    assert file_date_instant(dt.date(2025, 7, 5)) == _utc("2025-07-04 17:00")  # clock's now


def test_parse_file_date_uses_the_given_now():
    now = pd.Timestamp("2030-01-01", tz="UTC")
    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=30)).strftime("%d/%m/%Y")
    assert parse_file_date(future, label="--date", now=now) > dt.date.today()
    with pytest.raises(InvalidArgument, match="--date"):
        parse_file_date(future, label="--date")


# ------------------------------------------------------------------- the stage, through preview


def _preview(tmp_path, rows, header, **options):
    path = tmp_path / "dates.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    return preview(path, IngestOptions(**options))


def test_cleared_dates_are_read_and_an_unreadable_one_rejects_its_row(tmp_path, wards):
    header = [*HEADER, "Ngày xử lý"]
    rows = [(*ROWS[0], "06/07/2025 10:00"), (*ROWS[1], ""), (*ROWS[2], "hôm sau")]
    p = _preview(tmp_path, rows, header, wards=wards, now=NOW)
    assert p.rows["reason"].tolist()[:2] == ["", ""]
    assert p.rows["reason"].tolist()[2] == "bad_cleared_date"
    assert p.rows["field"].tolist()[2] == "Ngày xử lý"
    assert p.rows["cleared_at"].iloc[0] == _utc("2025-07-06 03:00")
    assert pd.isna(p.rows["cleared_at"].iloc[1])
    # the cleared column's own "now": a cleared date in the future is unreadable
    later = [(*ROWS[0], "06/07/2025 10:00")]
    p = _preview(
        tmp_path, later, header, wards=wards, now=pd.Timestamp("2025-07-05 00:00", tz="UTC")
    )
    assert p.rows["reason"].tolist() == ["bad_cleared_date"]


def test_a_rejected_reported_date_names_its_column(tmp_path, wards):
    rows = [tuple("13/07/2025" if v == "05/07/2025" else v for v in ROWS[0]),
            tuple("05/13/2025" if v == "06/07/2025" else v for v in ROWS[1]),
            tuple("" if v == "07/07/2025" else v for v in ROWS[2])]  # fmt: skip
    p = _preview(tmp_path, rows, HEADER, wards=wards, now=NOW)
    assert p.rows["reason"].tolist() == ["", "date_month_day", "missing_date"]  # 13/07: one reading
    assert p.rows["field"].tolist() == ["", "Ngày phát hiện", "Ngày phát hiện"]
    # the file's date fills only the row without a date; its format says so
    p = _preview(tmp_path, rows, HEADER, wards=wards, now=NOW, file_date=dt.date(2025, 7, 1))
    assert p.rows["reason"].tolist() == ["", "date_month_day", ""]
    assert p.rows["reported_at"].iloc[2] == _utc("2025-06-30 17:00")
    assert p.summary()["date_formats"] == {"dd/mm/yyyy": 1, "file_date": 1}
    assert p.rows["flags"].tolist()[2] == "date_from_file"


def test_a_file_without_a_date_column_rejects_every_row_for_the_row(tmp_path, wards):
    header = [h for h in HEADER if h != "Ngày phát hiện"]
    rows = [tuple(v for h, v in zip(HEADER, r, strict=True) if h != "Ngày phát hiện") for r in ROWS]
    p = _preview(tmp_path, rows, header, wards=wards, now=NOW)
    assert p.rows["reason"].tolist() == ["missing_date"] * 3
    assert p.rows["field"].tolist() == [""] * 3
    assert p.rows["reported_at"].isna().all()


def test_kobo_submission_times_are_utc_and_other_naive_times_hanoi(tmp_path, wards):
    header = ["_uuid", "_vi_tri_latitude", "_vi_tri_longitude", "loai_vi_pham", "_submission_time",
              "ngay_xu_ly"]  # fmt: skip
    rows = [
        ("u-1", 21.0365, 105.8490, "Lấn chiếm vỉa hè", "2025-07-05T01:30:00", "2025-07-05T10:00:00")
    ]
    p = _preview(tmp_path, rows, header, wards=wards, now=NOW)
    assert p.rows["reason"].tolist() == [""], p.rows[["reason", "field"]]
    assert p.rows["reported_at"].iloc[0] == _utc("2025-07-05 01:30")  # UTC as Kobo stores it
    assert p.rows["cleared_at"].iloc[0] == _utc("2025-07-05 03:00")  # a plain column: Hà Nội
    # the same time under a plain header is Hà Nội time
    plain = ["Mã", "Vĩ độ", "Kinh độ", "Loại vi phạm", "Ngày phát hiện", "Ngày xử lý"]
    p = _preview(tmp_path, rows, plain, wards=wards, now=NOW)
    assert p.rows["reported_at"].iloc[0] == _utc("2025-07-04 18:30")


def test_fixed_width_reads_a_column_of_one_value_or_of_one_layout():
    got, local, _, _ = fixed_width_dmy(pd.Series(["05/07/2025"]))
    assert got.tolist() == [True] and (local == _ns("2025-07-05")).all()
    # no dd/mm/yyyy value at all: the longer layouts are still read
    got, local, _, _ = fixed_width_dmy(pd.Series(["05/07/2025 08:30", "06/07/2025 09:15:20"]))
    assert got.tolist() == [True, True]
    assert (local == _ns("2025-07-05T08:30", "2025-07-06T09:15:20")).all()


def test_fixed_width_reads_arrow_columns_and_columns_with_gaps():
    import pyarrow as pa

    chunked = pa.chunked_array([["05/07/2025"], ["06/07/2025 10:00"]])
    got, local, _, _ = fixed_width_dmy(pd.Series(pd.arrays.ArrowStringArray(chunked)))
    assert got.tolist() == [True, True] and (local == _ns("2025-07-05", "2025-07-06T10:00")).all()
    got, _, _, _ = fixed_width_dmy(pd.Series(["05/07/2025", np.nan, None], dtype=object))
    assert got.tolist() == [True, False, False]
    got, _, _, _ = fixed_width_dmy(pd.Series([None, None], dtype=object))
    assert got.tolist() == [False, False]


def test_only_digits_are_digits():
    # ":" is the byte after "9"; "/" the one before "0"
    got, _, _, _ = fixed_width_dmy(pd.Series(["05/07/202:", "05/07/202/", "0:/07/2025"]))
    assert got.tolist() == [False, False, False]
    _, _, error = _parse("05/07/202:", "05/07/2025 0:30")
    assert error == ["bad_date", ""]  # an unpadded hour is a time


def test_twelve_is_a_month_both_ways_in_a_month_day_column():
    _, _, error = _parse("5/13/2025", "12/1/2025", "1/12/2025", "12/12/2025")
    assert error == ["date_month_day", "date_ambiguous", "date_ambiguous", ""]


def test_a_four_digit_year_is_that_year():
    # 0100 is the year 100, not 2100: rejected even when 2100 would be in range
    _, fmt, error = _parse("5/7/0100", now=pd.Timestamp("2101-06-01", tz="UTC"))
    assert error[0] != "" and fmt == [""]


def test_file_date_without_now_refuses_the_future_in_vietnamese_and_english():
    later = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=30)).date()
    with pytest.raises(InvalidArgument) as err:
        file_date_instant(later)
    reason_en = err.value.message_en.split(": ", 1)[1]
    assert reason_en not in err.value.message_vi  # each language its own reason text


def test_reported_dates_use_the_given_now_and_a_missing_cleared_column_is_empty(tmp_path, wards):
    p = _preview(tmp_path, ROWS, HEADER, wards=wards, now=pd.Timestamp("2020-01-01", tz="UTC"))
    assert p.rows["reason"].tolist() == ["date_out_of_range"] * 3
    p = _preview(tmp_path, ROWS, HEADER, wards=wards, now=NOW)
    assert str(p.rows["cleared_at"].dtype) == "datetime64[ns, UTC]"
    assert p.rows["cleared_at"].isna().all()


def test_rows_of_a_file_without_a_date_column_have_no_date_format(tmp_path, wards):
    header = [h for h in HEADER if h != "Ngày phát hiện"]
    rows = [tuple(v for h, v in zip(HEADER, r, strict=True) if h != "Ngày phát hiện") for r in ROWS]
    p = _preview(tmp_path, rows, header, wards=wards, now=NOW)
    assert p.rows["date_format"].tolist() == [""] * 3
    assert p.summary()["date_formats"] == {}
