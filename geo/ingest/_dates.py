"""Dates as field teams write them, stored as UTC.

Accepted forms: dd/mm/yyyy (also with "-" or "." and an optional time, two-digit years
as 20yy), ISO 8601 with or without a zone, and Excel serial day numbers. A time without
a zone is Hà Nội local time (Asia/Ho_Chi_Minh, UTC+7).

A file may have one report date for all its rows (a ward's weekly sheet dated in its
title or name): given as :attr:`IngestOptions.file_date <geo.ingest.IngestOptions>`
(``--date``, the upload page's "Ngày phát hiện cho cả tệp"), it is the reported date,
Hà Nội midnight, of every row that has none of its own, and those rows carry the flag
``date_from_file``.

The ambiguity rule, decided once for the whole project: day/month is the Vietnamese
order and the only one read. Month/day is never guessed:

- a value readable only as month/day (05/13/2025) is rejected with ``date_month_day``;
- if a column holds any such value, it is evidently written month/day, so its values
  that both orders could read (05/06/2025) are rejected too, with ``date_ambiguous``,
  rather than silently read the Vietnamese way. Values with day == month stay.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.crs import LOCAL_TZ
from geo.errors import InvalidArgument
from geo.ingest import codes
from geo.ingest._background import Background
from geo.ingest._dates_fixed import fixed_dmy, fixed_width_dmy, local_to_utc, utc_ns
from geo.ingest._reasons import REASONS, Verdicts
from geo.ingest._text import cell_text

if TYPE_CHECKING:
    from geo.ingest._read import ReadFile

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Serial day numbers read as Excel dates: 1 Jan 1990 .. 31 Dec 2100.
EXCEL_RANGE = (32874.0, 73415.0)
EARLIEST = pd.Timestamp("2000-01-01", tz="UTC")

_DMY = re.compile(
    r"^\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})"
    r"(?:[ T,]+(\d{1,2})[:h](\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(?:([AaPp])\.?[Mm]\.?)?)?\s*$"
)
_ISO = re.compile(r"^\s*\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?\s*")
_ZONE = re.compile(
    r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$", re.IGNORECASE
)
_SERIAL = re.compile(r"^\s*\d{5}(?:[.,]\d+)?\s*$")


def parse_dates(
    values: pd.Series, *, now: pd.Timestamp | None = None, naive_tz: str | None = None
) -> tuple[pd.Series, NDArray[np.object_], NDArray[np.object_]]:
    """(UTC timestamps, per-row format, per-row reason code) for a column of date text.

    Parameters
    ----------
    values : pandas.Series
        The column as written.
    now : pandas.Timestamp, optional
        "Today" for the future-date check; None: the current time.
    naive_tz : str, optional
        The zone of ISO times written without one (Kobo's ``_submission_time`` is UTC);
        None: Hà Nội time.

    Returns
    -------
    tuple
        Timestamps (NaT where the reason is not ""; the index follows ``values``), the
        format each was read in and the reason code of each row that was not.
    """
    text = cell_text(values)  # a cell without a value: a missing date, not an unreadable one
    n = len(text)
    out = np.full(n, np.datetime64("NaT", "ns"))  # UTC, zone dropped until the end
    fmt = np.full(n, "", dtype=object)
    error = np.full(n, "", dtype=object)
    # text is pandas' "str" dtype: comparisons and .str tests give numpy booleans
    blank = (text == "").to_numpy()
    error[blank] = "missing_date"

    # The common case first: fixed-width dd/mm/yyyy[ HH:MM[:SS]], read from the bytes.
    quick, quick_local, quick_day, quick_month = fixed_width_dmy(text)
    quick &= ~blank
    if quick.any():
        out[quick] = local_to_utc(quick_local[quick])
        fmt[quick] = codes.DATE_DMY
    rest_mask = ~blank & ~quick
    iso = _read_iso(text, rest_mask, naive_tz, out, fmt)
    # Day/month values read so far, for the month/day evidence below.
    read = (np.flatnonzero(quick), quick_day[quick], quick_month[quick])
    _read_day_month(text, rest_mask & ~iso, read, out, fmt, error)
    _read_excel_serial(text, ~blank & (fmt == "") & (error == ""), out, fmt)
    unparsed = np.isnat(out) & (error == "")
    error[unparsed] = "bad_date"
    fmt[unparsed] = ""
    _check_plausible(out, fmt, error, now)
    return pd.Series(out, index=values.index).dt.tz_localize("UTC"), fmt, error


def _read_iso(
    text: pd.Series,
    todo: NDArray[np.bool_],
    naive_tz: str | None,
    out: NDArray[np.datetime64],
    fmt: NDArray[np.object_],
) -> NDArray[np.bool_]:
    """ISO 8601 among ``todo``: with a zone → that zone; without → ``naive_tz`` or Hà Nội
    time. Returns which rows are ISO (read or not)."""
    # Patterns go to pandas as strings: compiled ones force a slow per-value path.
    iso = np.zeros(len(text), dtype=bool)
    if todo.any():
        iso[todo] = text[todo].str.match(_ISO.pattern).to_numpy()
    if not iso.any():
        return iso
    zoned = iso & text.str.contains(_ZONE.pattern, flags=re.IGNORECASE).to_numpy()
    naive = iso & ~zoned
    if zoned.any():
        # RFC 3339 §5.6 lets "Z" be written "z"; pandas' ISO reader knows only "Z"
        parsed = pd.to_datetime(
            text[zoned].str.upper(), format="ISO8601", utc=True, errors="coerce"
        )
        out[zoned] = utc_ns(parsed)
        fmt[zoned] = codes.DATE_ISO_ZONED
    if naive.any():
        parsed = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        if getattr(parsed.dt, "tz", None) is None:
            parsed = parsed.dt.tz_localize(
                naive_tz or LOCAL_TZ, ambiguous="NaT", nonexistent="NaT"
            ).dt.tz_convert("UTC")
        out[naive] = utc_ns(parsed)
        fmt[naive] = codes.DATE_ISO
    return iso


def _read_day_month(
    text: pd.Series,
    todo: NDArray[np.bool_],
    read: tuple[NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]],
    out: NDArray[np.datetime64],
    fmt: NDArray[np.object_],
    error: NDArray[np.object_],
) -> None:
    """Day/month/year among ``todo``: strict C-speed formats first, the regex for whatever
    is left. ``read`` holds (rows, days, months) of values read day/month already; if the
    column is evidently month/day, those both orders could read become ambiguous."""
    evidence = False
    got_where, got_day, got_month = read
    if todo.any():
        where = np.flatnonzero(todo)
        sub = text[todo].reset_index(drop=True)
        fast = fixed_dmy(sub)
        for pattern in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M"):
            left = fast.isna()
            if not left.any():
                break
            fast[left] = pd.to_datetime(sub[left], format=pattern, errors="coerce")
        got = fast.notna().to_numpy()
        if got.any():
            local = fast[got].dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
            out[where[got]] = utc_ns(local)
            fmt[where[got]] = codes.DATE_DMY
            got_day = np.concatenate([got_day, fast[got].dt.day.to_numpy()])
            got_month = np.concatenate([got_month, fast[got].dt.month.to_numpy()])
            got_where = np.concatenate([got_where, where[got]])
        rest = where[~got]
        if len(rest):
            parts = text.iloc[rest].str.extract(_DMY)
            matched = parts[0].notna().to_numpy()
            if matched.any():
                evidence = _day_month(parts[matched], rest[matched], out, fmt, error)
    if evidence and len(got_where):
        # The column is written month/day somewhere: a fast-read day/month value that
        # both orders could read is ambiguous, not silently day/month.
        both = (got_day <= 12) & (got_month <= 12) & (got_day != got_month)
        error[got_where[both]] = "date_ambiguous"


def _read_excel_serial(
    text: pd.Series, todo: NDArray[np.bool_], out: NDArray[np.datetime64], fmt: NDArray[np.object_]
) -> None:
    """Excel serial day numbers among ``todo`` (only whole strings of 5 digits, optional
    fraction, within :data:`EXCEL_RANGE`)."""
    if not todo.any():
        return
    serial_text = text[todo]
    is_serial = serial_text.str.match(_SERIAL.pattern)
    if not is_serial.any():
        return
    days = pd.to_numeric(serial_text[is_serial].str.replace(",", "."), errors="coerce")
    in_range = (days >= EXCEL_RANGE[0]) & (days <= EXCEL_RANGE[1])
    stamps = (EXCEL_EPOCH + pd.to_timedelta(days.where(in_range), unit="D")).dt.round("s")
    stamps = stamps.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
    where = np.flatnonzero(todo)[is_serial.to_numpy()]
    out[where] = utc_ns(stamps)
    fmt[where] = codes.DATE_EXCEL_SERIAL


def _check_plausible(
    out: NDArray[np.datetime64],
    fmt: NDArray[np.object_],
    error: NDArray[np.object_],
    now: pd.Timestamp | None,
) -> None:
    """Nothing before 2000, nothing more than a day in the future; rejected rows lose
    their time and format."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    stamps_ok = ~np.isnat(out)
    early = stamps_ok & (out < EARLIEST.tz_convert(None).to_datetime64())
    late = stamps_ok & (out > (now + pd.Timedelta(days=1)).tz_convert(None).to_datetime64())
    error[early | late] = "date_out_of_range"
    fmt[early | late] = ""
    out[error != ""] = np.datetime64("NaT", "ns")
    fmt[error != ""] = ""


def _day_month(
    parts: pd.DataFrame, where: np.ndarray, out: np.ndarray, fmt: np.ndarray, error: np.ndarray
) -> bool:
    """Read day/month matches into ``out``; True when some value reads only as month/day."""
    first = parts[0].astype(int).to_numpy()
    second = parts[1].astype(int).to_numpy()
    year = parts[2].astype(int).to_numpy()
    year = np.where(year < 100, 2000 + year, year)
    hour = pd.to_numeric(parts[3], errors="coerce").fillna(0).astype(int).to_numpy()
    minute = pd.to_numeric(parts[4], errors="coerce").fillna(0).astype(int).to_numpy()
    sec = pd.to_numeric(parts[5], errors="coerce").fillna(0).astype(int).to_numpy()
    ampm = parts[6].fillna("").str.lower().to_numpy(dtype=object)
    hour = np.where((ampm == "p") & (hour < 12), hour + 12, hour)
    hour = np.where((ampm == "a") & (hour == 12), 0, hour)

    month_day_only = (second > 12) & (first >= 1) & (first <= 12) & (second <= 31)
    both_readings = (first >= 1) & (second >= 1) & (first <= 12) & (second <= 12)
    both_readings &= first != second
    error[where[month_day_only]] = "date_month_day"
    if month_day_only.any():
        error[where[both_readings]] = "date_ambiguous"
    # A clock reading only (pandas would roll 25:00 or 08:61 over into the next hour/day);
    # 24:00 is ISO 8601's end of the day, read as the next midnight.
    end_of_day = (hour == 24) & (minute == 0) & (sec == 0)
    clock = ((hour < 24) | end_of_day) & (minute < 60) & (sec < 60)
    good = (error[where] == "") & clock
    frame = pd.DataFrame(
        {
            "year": year[good],
            "month": second[good],
            "day": first[good],
            "hour": hour[good],
            "minute": minute[good],
            "second": sec[good],
        }
    )
    stamps = pd.to_datetime(frame, errors="coerce")
    stamps = stamps.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
    idx = where[good]
    out[idx] = utc_ns(stamps)
    fmt[idx] = codes.DATE_DMY
    return bool(month_day_only.any())


# --------------------------------------------------------------------------- the stage

#: What :func:`parse_dates` returns: (UTC timestamps, per-row format, per-row reason).
ParsedDates = tuple[pd.Series, NDArray[np.object_], NDArray[np.object_]]
#: Reasons of the reported date, in the order a row meets them.
_REPORTED_REASONS = (
    "missing_date", "bad_date", "date_month_day", "date_ambiguous", "date_out_of_range",
)  # fmt: skip


#: The format named for rows dated by the file's date.
FILE_DATE = codes.DATE_FILE


def file_date_instant(day: dt.date, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """The reported time of the rows a file's date stands for: Hà Nội midnight, in UTC.

    Parameters
    ----------
    day : datetime.date
        The file's report date.
    now : pandas.Timestamp, optional
        "Today" for the future-date check; None: the current time.

    Returns
    -------
    pandas.Timestamp
        The instant, in UTC.

    Raises
    ------
    InvalidArgument
        The date is before 2000 or in the future (as a row's date would be rejected).
    """
    stamp = pd.Timestamp(day).tz_localize(LOCAL_TZ).tz_convert("UTC")
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    if stamp < EARLIEST or stamp > now + pd.Timedelta(days=1):
        raise InvalidArgument(
            f"Ngày của cả tệp {day:%d/%m/%Y}: {REASONS['date_out_of_range'][0]}.",
            f"The file's date {day:%d/%m/%Y}: {REASONS['date_out_of_range'][1]}.",
        )
    return stamp


def parse_file_date(text: str, *, label: str, now: pd.Timestamp | None = None) -> dt.date:
    """A file's report date as typed (``--date 05/07/2025`` or ``2025-07-05``), read by the
    rules of a date column (day/month only, never month/day; 2000 to today).

    Parameters
    ----------
    text : str
        The date as typed.
    label : str
        What messages call it (``"--date"``).
    now : pandas.Timestamp, optional
        "Today" for the future-date check; None: the current time.

    Returns
    -------
    datetime.date
        The Hà Nội calendar day.

    Raises
    ------
    InvalidArgument
        The text is not such a date.
    """
    # No dtype needed: parse_dates reads any column through astype(str) first.
    stamps, _, error = parse_dates(pd.Series([text]), now=now)
    if error[0]:
        vi, en = REASONS[str(error[0])]
        raise InvalidArgument(f"{label} {text!r}: {vi}.", f"{label} {text!r}: {en}.")
    day: dt.date = stamps.iloc[0].tz_convert(LOCAL_TZ).date()
    return day


@dataclass(frozen=True)
class DateJobs:
    """The date columns being parsed in second threads (None: the file has no such column)."""

    reported_column: str | None
    reported: Background[ParsedDates] | None
    cleared_column: str | None
    cleared: Background[ParsedDates] | None
    #: The reported time of rows without a date of their own (None: no file date given).
    file_date: pd.Timestamp | None = None


@dataclass(frozen=True)
class Dates:
    """Each row's reported and cleared time (UTC; NaT where missing or rejected)."""

    reported: pd.Series
    #: How the reported date was written ("dd/mm/yyyy", "iso", "iso_zoned", "excel_serial",
    #: :data:`FILE_DATE`).
    fmt: NDArray[np.object_]
    cleared: pd.Series
    #: The rows whose reported date is the file's date.
    from_file: NDArray[np.bool_]


def start_dates(
    read: ReadFile, now: pd.Timestamp | None, file_date: dt.date | None = None
) -> DateJobs:
    """Start parsing the date columns in second threads (pyarrow and numpy work, mostly
    without the GIL) while the coordinates and wards are worked out.

    Parameters
    ----------
    read : ReadFile
        The file as read.
    now : pandas.Timestamp, optional
        "Today" for the future-date check; None: the current time.
    file_date : datetime.date, optional
        The report date of rows without one of their own.

    Returns
    -------
    DateJobs
        The running jobs; :func:`finish_dates` waits for them.

    Raises
    ------
    InvalidArgument
        ``file_date`` is before 2000 or in the future.
    """
    instant = file_date_instant(file_date, now) if file_date is not None else None
    frame, mapping = read.table.frame, read.mapping
    reported_col, cleared_col = mapping.get("reported_at"), mapping.get("cleared_at")
    reported = cleared = None
    if reported_col is not None:
        utc_naive = mapping.how.get("reported_at") == codes.HOW_KOBO  # Kobo stores UTC
        reported = Background(
            parse_dates, frame[reported_col], now=now, naive_tz="UTC" if utc_naive else None
        )
    if cleared_col is not None:
        cleared = Background(parse_dates, frame[cleared_col], now=now)
    return DateJobs(reported_col, reported, cleared_col, cleared, instant)


def finish_dates(jobs: DateJobs, verdicts: Verdicts, index: pd.Index) -> Dates:
    """Wait for the date columns and reject the rows whose dates cannot be used.

    Parameters
    ----------
    jobs : DateJobs
        What :func:`start_dates` started.
    verdicts : Verdicts
        Rows with a missing, unreadable, ambiguous or out-of-range reported date, or an
        unreadable cleared date, are rejected here (a file without a date column: all).
        A row without a date is not rejected when the file's date is given: it takes it.
    index : pandas.Index
        The index of the file's frame.

    Returns
    -------
    Dates
        The parsed times.
    """
    n = len(index)
    missing = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    if jobs.reported is not None:
        reported, fmt, error = jobs.reported.result()
    else:
        reported, fmt = missing, np.full(n, "", dtype=object)
        error = np.full(n, "missing_date", dtype=object)
    from_file = np.zeros(n, dtype=bool)
    if jobs.file_date is not None:
        from_file = error == "missing_date"
        reported = reported.mask(from_file, jobs.file_date)
        fmt, error = fmt.copy(), error.copy()
        fmt[from_file] = FILE_DATE
        error[from_file] = ""
    field_name = "" if jobs.reported is None else str(jobs.reported_column)
    for code in _REPORTED_REASONS:
        verdicts.reject(error == code, code, field_name)
    cleared = missing
    if jobs.cleared is not None:
        cleared, _, cleared_error = jobs.cleared.result()
        unreadable = (cleared_error != "") & (cleared_error != "missing_date")
        verdicts.reject(unreadable, "bad_cleared_date", str(jobs.cleared_column))
    return Dates(reported, fmt, cleared, from_file)
