"""Instants and place ids as the sustained-order code reads them: int64 arrays, UTC.

Spells are computed on a million incidents with numpy, so every instant becomes int64
nanoseconds since the epoch (UTC; missing is :data:`_NEVER`, later than any instant)
and every place id an int64, checked once at the edge with a message naming the table,
row and column. Used by :mod:`geo._sustain_spells` and :mod:`geo.sustain`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geo.errors import InvalidArgument

DAY_NS = 86_400 * 10**9
_NEVER = np.iinfo(np.int64).max


def _instant(value: Any, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"{what}: không hiểu thời điểm {value!r}.", f"{what}: cannot read the instant {value!r}."
        ) from exc
    if ts is pd.NaT:
        raise InvalidArgument(f"{what}: thiếu thời điểm.", f"{what}: the instant is missing.")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _ns(column: pd.Series, what: str) -> np.ndarray:
    """Instants as int64 nanoseconds since the epoch (UTC); missing → ``_NEVER``.

    Columns that already hold instants are only re-labelled: ``pd.to_datetime`` on a
    million tz-aware values costs a third of a second for nothing.
    """
    dtype = column.dtype
    try:
        if isinstance(dtype, pd.DatetimeTZDtype):
            stamps = column.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(dtype):
            stamps = column.dt.tz_localize("UTC")
        else:
            stamps = pd.to_datetime(column, utc=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"Cột {what}: có giá trị không phải thời điểm ({exc}).",
            f"Column {what}: holds a value that is not an instant ({exc}).",
        ) from exc
    values = stamps.array.as_unit("ns").asi8.copy()
    values[stamps.isna().to_numpy()] = _NEVER
    return values


def _utc(ns: np.ndarray) -> pd.Series:
    return pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")


def _place_ids(column: pd.Series, what: str) -> np.ndarray:
    ids = pd.to_numeric(column, errors="coerce")
    bad = ids.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InvalidArgument(
            f"Bảng {what}, dòng {row}: place_id {column.iloc[row]!r} không phải số địa điểm.",
            f"The {what} table, row {row}: place_id {column.iloc[row]!r} is not a place number.",
        )
    return ids.to_numpy(dtype=np.int64)
