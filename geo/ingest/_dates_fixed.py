"""The fast path of date reading: exact ``dd/mm/yyyy[ HH:MM[:SS]]`` text read as a byte matrix.

Most field files write every date the same fixed-width way, so a million of them can be read
with a few array operations instead of a parser per value. Anything that does not match a
layout exactly is left to the general readers in :mod:`geo.ingest._dates`, which give the
same result for the values read here (tests/ingest compare both paths).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.crs import LOCAL_TZ


def utc_ns(stamps: pd.Series) -> np.ndarray:
    """Aware timestamps → naive UTC datetime64[ns] (never an object array)."""
    # tz_convert(None) converts to UTC and drops the zone in one step (pandas' documented
    # meaning of None), so no separate "UTC" spelling is needed.
    return np.asarray(stamps.dt.tz_convert(None).to_numpy("datetime64[ns]"))


#: From this local date on Hà Nội time is UTC+7 without daylight saving (since 1975).
_FIXED_OFFSET_FROM = np.datetime64("1976-01-01T00:00", "ns")
_UTC_OFFSET = np.timedelta64(7, "h")
#: Byte layouts read without parsing: (length, positions of "/", " " and ":").
_LAYOUTS = {10: {2: b"/", 5: b"/"}, 16: {2: b"/", 5: b"/", 10: b" ", 13: b":"},
            19: {2: b"/", 5: b"/", 10: b" ", 13: b":", 16: b":"}}  # fmt: skip


def local_to_utc(local: np.ndarray) -> np.ndarray:
    """Hà Nội wall-clock datetime64[ns] → naive UTC (a fixed +7 since 1975; the zone
    database for anything older)."""
    out = local - _UTC_OFFSET
    old = local < _FIXED_OFFSET_FROM
    if old.any():
        stamps = pd.Series(local[old]).dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
        out[old] = utc_ns(stamps)
    return out


def fixed_width_dmy(
    text: pd.Series,
) -> tuple[NDArray[np.bool_], NDArray[np.datetime64], NDArray[np.int64], NDArray[np.int64]]:
    """(read?, local datetime64[ns], day, month) for exact "dd/mm/yyyy", "dd/mm/yyyy HH:MM"
    and "dd/mm/yyyy HH:MM:SS": the bytes of each length are viewed as one uint8 matrix,
    so a million dates cost a few array operations. Anything else is left to the
    general readers (the result is what they would give: invalid values are not read)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    got = np.zeros(n, dtype=bool)
    local = np.full(n, np.datetime64("NaT", "ns"))
    day_all = np.zeros(n, dtype=np.int64)
    month_all = np.zeros(n, dtype=np.int64)
    if n == 0:
        return got, local, day_all, month_all
    try:
        # pyarrow reads nulls the pandas way by default when given a pandas Series.
        arr = pa.array(text, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return got, local, day_all, month_all
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    lengths = pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False)
    for width, marks in _LAYOUTS.items():
        sel = np.flatnonzero(lengths == width)
        if not len(sel):
            continue
        ok, stamp, day, month = _read_layout(_byte_grid(arr, sel, width), marks)
        hit = sel[ok]
        got[hit] = True
        local[hit] = stamp[ok]
        day_all[hit] = day[ok]
        month_all[hit] = month[ok]
    return got, local, day_all, month_all


def _byte_grid(arr: Any, sel: NDArray[np.intp], width: int) -> NDArray[np.uint8]:
    """The UTF-8 bytes of the strings ``arr[sel]``, all ``width`` bytes long, as a matrix
    (a view of the Arrow buffer, no copy per value)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    sub = pc.take(arr, pa.array(sel))
    offsets = np.frombuffer(sub.buffers()[1], dtype=np.int32)[sub.offset : sub.offset + len(sub) + 1]
    start = int(offsets[0])
    raw = np.frombuffer(sub.buffers()[2], dtype=np.uint8)[start : start + len(sel) * width]
    return raw.reshape(len(sel), width)


def _read_layout(
    grid: NDArray[np.uint8], marks: dict[int, bytes]
) -> tuple[NDArray[np.bool_], NDArray[np.datetime64], NDArray[np.int64], NDArray[np.int64]]:
    """(valid?, local time, day, month) of each row of a byte matrix of one layout."""
    rows, width = grid.shape
    ok = np.ones(rows, dtype=bool)
    for pos, mark in marks.items():
        ok &= grid[:, pos] == mark[0]
    digit_cols = [c for c in range(width) if c not in marks]
    ok &= ((grid[:, digit_cols] - np.uint8(48)) <= 9).all(axis=1)  # below "0" wraps high

    def number(*cols: int) -> NDArray[np.int64]:
        value = np.zeros(rows, dtype=np.int64)
        for c in cols:
            value = value * 10 + (grid[:, c].astype(np.int64) - 48)
        return value

    zero = np.zeros(rows, dtype=np.int64)
    day, month, year = number(0, 1), number(3, 4), number(6, 7, 8, 9)
    hour = number(11, 12) if width >= 16 else zero
    minute = number(14, 15) if width >= 16 else zero
    second = number(17, 18) if width == 19 else zero
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1900) & (year <= 2200)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("int64")
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    date = first + np.where(ok, day - 1, 0).astype("timedelta64[D]")
    ok &= date.astype("datetime64[M]") == first.astype("datetime64[M]")  # day fits the month
    seconds = (hour * 3600 + minute * 60 + second).astype("timedelta64[s]")
    return ok, date.astype("datetime64[ns]") + seconds, day, month


def fixed_dmy(text: pd.Series) -> pd.Series:
    """"dd/mm/yyyy" exactly (the common case), read by slicing: no per-value parsing."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    shaped = text.str.match(r"^\d{2}/\d{2}/\d{4}$").to_numpy(dtype=bool)
    if not shaped.any():
        return out
    part = text[shaped]
    day = part.str.slice(0, 2).astype("int64").to_numpy()
    month = part.str.slice(3, 5).astype("int64").to_numpy()
    year = part.str.slice(6, 10).astype("int64").to_numpy()
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (year >= 1900) & (year <= 2200)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("int64")
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    stamp = first + np.where(ok, day - 1, 0).astype("int64").astype("timedelta64[D]")
    ok &= stamp.astype("datetime64[M]") == first.astype("datetime64[M]")  # day fits the month
    values = np.where(ok, stamp.astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
    out.iloc[np.flatnonzero(shaped)] = values
    return out
