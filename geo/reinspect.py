"""Re-inspection: which cleared places to check again today, in a walkable order.

A clearance is only worth something if it lasts, and the only way to know is to go back.
A cleared place is checked again after 7, 30 and 90 days by default. Some violations come
back faster than others, so the schedule can differ per violation type::

    GEO_REINSPECT_DAYS="awning:7,30,90;sidewalk:3,14"

— entries separated by ``;``, each ``type:days`` with the days separated by ``,``; an
entry without a type (``"5,20,60"``) replaces the default for every other type. Types are
the codes of :mod:`geo.vocab`. :func:`parse_schedule` reads the text; the caller passes
it, and :func:`geo.settings.reinspect_schedule` reads it from the environment.

Which check is due: a check made *d* days after the clearance satisfies every scheduled
check at day ≤ *d*. A place is due on a date once the first check it still owes has
reached its day; the row shows the latest scheduled day already reached (the one a visit
today settles), so a place whose 7-day check was missed and is now 35 days old shows
"30" once, not two separate visits. Days are counted on Hà Nội calendar dates.

The files an officer takes along (CSV, XLSX, GeoJSON, GPX) are written by
:mod:`geo._reinspect_files`; their names are re-exported here, the one door for callers.

Walking round: the officer starts at the ward's most overdue place and always walks to
the nearest place not yet visited (straight-line metres in EPSG:32648), which is short to
compute, easy to follow and close enough to the best round for a few dozen stops.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from geo._reinspect_files import (
    DUE_COLUMNS,
    FORMATS,
    GPX_NS,
    to_csv,
    to_geojson,
    to_gpx,
    to_xlsx,
    write_due_list,
)
from geo._tables import require_columns
from geo.errors import InvalidArgument
from geo.names import ascii_key
from geo.places import project_lonlat
from geo.store import Store
from geo.store import places as stored_places
from geo.vocab import TYPE_CODES

DEFAULT_CHECK_DAYS: tuple[int, ...] = (7, 30, 90)
LOCAL_TZ = "Asia/Ho_Chi_Minh"

#: Columns of the places passed to :func:`due_list`.
PLACE_COLUMNS: tuple[str, ...] = (
    "place_id", "type", "ward_code", "street", "address", "lon", "lat", "cleared_at",
    "last_checked_at",
)  # fmt: skip

Result = Literal["clear", "violation", "bad_result"]
#: Result words (as :func:`geo.names.ascii_key` keys) → result.
_RESULT_WORDS: dict[str, Result] = {
    "clear": "clear",
    "thong_thoang": "clear",
    "con_thong_thoang": "clear",
    "khong_vi_pham": "clear",
    "violation": "violation",
    "tai_vi_pham": "violation",
    "tai_lan_chiem": "violation",
}


# --------------------------------------------------------------------------- results


def parse_result(text: Any) -> Result:
    """``clear`` / ``violation`` from what an officer writes, regardless of accents,
    case and spacing; anything else (including "vi phạm" alone) is ``bad_result``.

    Parameters
    ----------
    text
        What the officer wrote.

    Returns
    -------
    str
        ``clear``, ``violation`` or ``bad_result``.
    """
    if not isinstance(text, str):
        return "bad_result"
    return _RESULT_WORDS.get(ascii_key(text), "bad_result")


def parse_results(texts: pd.Series) -> pd.Series:
    """:func:`parse_result` over a column (each distinct text parsed once).

    Parameters
    ----------
    texts
        A column of result words.

    Returns
    -------
    pandas.Series
        ``clear``, ``violation`` or ``bad_result`` per row.
    """
    return texts.map({v: parse_result(v) for v in texts.dropna().unique()}).fillna("bad_result")


# --------------------------------------------------------------------------- schedule


@dataclass(frozen=True)
class Schedule:
    """Days after a clearance at which a place is checked again, per violation type."""

    default: tuple[int, ...] = DEFAULT_CHECK_DAYS
    by_type: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def days_for(self, type_code: str) -> tuple[int, ...]:
        return tuple(self.by_type.get(type_code, self.default))


def _days(text: str, entry: str) -> tuple[int, ...]:
    try:
        days = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        days = []
    if not days or min(days) <= 0 or len(set(days)) != len(days):
        raise InvalidArgument(
            f"Lịch tái kiểm tra: mục {entry!r} không hợp lệ: cần các số ngày nguyên dương, "
            "khác nhau, cách nhau bởi dấu phẩy (ví dụ awning:7,30,90).",
            f"Re-inspection schedule: invalid entry {entry!r}: expected distinct positive whole "
            "days separated by commas (for example awning:7,30,90).",
        )
    return tuple(sorted(days))


def parse_schedule(text: str | None) -> Schedule:
    """The schedule from ``GEO_REINSPECT_DAYS``-style text (None or blank: 7, 30, 90).

    Parameters
    ----------
    text
        The schedule text, or None.

    Returns
    -------
    Schedule
        The default days and the per-type days.
    """
    default = DEFAULT_CHECK_DAYS
    by_type: dict[str, tuple[int, ...]] = {}
    for entry in filter(None, (p.strip() for p in (text or "").split(";"))):
        code, colon, days = entry.rpartition(":")
        code = code.strip()
        if not colon:
            default = _days(days, entry)
            continue
        if code not in TYPE_CODES:
            raise InvalidArgument(
                f"Lịch tái kiểm tra: loại vi phạm {code!r} không có; dùng một trong: "
                f"{', '.join(TYPE_CODES)}.",
                f"Re-inspection schedule: unknown violation type {code!r}; use one of: "
                f"{', '.join(TYPE_CODES)}.",
            )
        by_type[code] = _days(days, entry)
    return Schedule(default=default, by_type=by_type)


# --------------------------------------------------------------------------- due list


def _local_dates(values: pd.Series) -> np.ndarray:
    """Hà Nội calendar dates (datetime64[D]; NaT stays NaT) of instants (naive = UTC)."""
    stamps = pd.to_datetime(values, utc=True).dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[D]")


def _as_of_date(value: Any) -> np.datetime64:
    try:
        if isinstance(value, pd.Timestamp | dt.datetime) and pd.Timestamp(value).tzinfo is not None:
            value = pd.Timestamp(value).tz_convert(LOCAL_TZ).date()
        day = pd.Timestamp(value).date()
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"Ngày {value!r} không đọc được (dùng YYYY-MM-DD).",
            f"Cannot read the date {value!r} (use YYYY-MM-DD).",
        ) from exc
    return np.datetime64(day, "D")


def _next_checks(
    types: np.ndarray, age: np.ndarray, checked: np.ndarray, schedule: Schedule
) -> tuple[np.ndarray, np.ndarray]:
    """Per place: the first scheduled day still owed and the latest scheduled day reached
    among those owed (-1 for none). ``checked`` is the day of the latest check (-1: none)."""
    first_owed = np.full(len(types), -1, dtype=np.int64)
    reached = np.full(len(types), -1, dtype=np.int64)
    for code in pd.unique(types):
        rows = np.flatnonzero(types == code)
        days = np.asarray(schedule.days_for(str(code)), dtype=np.int64)
        owed = days[None, :] > checked[rows, None]
        first = np.where(owed.any(axis=1), days[np.argmax(owed, axis=1)], -1)
        passed = owed & (days[None, :] <= age[rows, None])
        first_owed[rows] = first
        reached[rows] = np.where(passed.any(axis=1), np.max(np.where(passed, days, -1), axis=1), -1)
    return first_owed, reached


def due_list(
    places: pd.DataFrame,
    as_of: Any,
    *,
    ward: str | None = None,
    schedule: Schedule | None = None,
) -> pd.DataFrame:
    """The places due for a check on ``as_of`` (a date) or overdue, as walking rounds.

    ``places`` has :data:`PLACE_COLUMNS` — one row per cleared place (its latest clearance
    and the latest check since then, NaT when none; rows without ``cleared_at`` are
    skipped). With ``ward``, only that ward. Returns :data:`DUE_COLUMNS`, each ward's
    round in walking order (``stop`` 1, 2, …), wards in code order.

    Parameters
    ----------
    places
        :data:`PLACE_COLUMNS`, one row per cleared place.
    as_of
        The date of the round.
    ward
        Only this ward (default: all).
    schedule
        The check days (default: 7, 30, 90).

    Returns
    -------
    pandas.DataFrame
        :data:`DUE_COLUMNS`, each ward's round in walking order.
    """
    require_columns(places, PLACE_COLUMNS, "places")
    schedule = schedule or Schedule()
    frame = places[places["cleared_at"].notna()]
    if ward is not None:
        frame = frame[frame["ward_code"] == ward]
    today = _as_of_date(as_of)
    cleared = _local_dates(frame["cleared_at"])
    checked_on = _local_dates(frame["last_checked_at"])
    age = (today - cleared).astype(np.int64)
    checked = np.where(pd.isna(checked_on), -1, (checked_on - cleared).astype("timedelta64[D]").astype(np.int64))
    first_owed, reached = _next_checks(frame["type"].to_numpy(dtype=object), age, checked, schedule)
    due = (first_owed >= 0) & (first_owed <= age)
    out = pd.DataFrame(
        {
            "ward_code": frame["ward_code"].to_numpy(dtype=object),
            "place_id": frame["place_id"].to_numpy(dtype=np.int64),
            "address": _text_or_none(frame["address"]),
            "street": _text_or_none(frame["street"]),
            "type": frame["type"].to_numpy(dtype=object),
            "cleared_date": cleared,
            "days_since_clearance": age,
            "check_day": reached,
            "due_date": cleared + first_owed.astype("timedelta64[D]"),
            "days_overdue": age - first_owed,
            "lat": frame["lat"].to_numpy(dtype=float),
            "lon": frame["lon"].to_numpy(dtype=float),
        }
    )[due]
    rounds = [_round(group) for _, group in out.groupby("ward_code", sort=True, dropna=False)]
    if not rounds:
        return pd.DataFrame(columns=list(DUE_COLUMNS))
    return pd.concat(rounds, ignore_index=True)[list(DUE_COLUMNS)]


def _text_or_none(column: pd.Series) -> np.ndarray:
    values = column.to_numpy(dtype=object).copy()
    blank = pd.isna(values) | np.array([isinstance(v, str) and not v.strip() for v in values], dtype=bool)
    values[blank] = None
    return values




def _round(due: pd.DataFrame) -> pd.DataFrame:
    """One ward's due places in walking order; places without coordinates go last."""
    due = due.sort_values(["due_date", "place_id"], kind="stable").reset_index(drop=True)
    located = np.isfinite(due["lon"].to_numpy()) & np.isfinite(due["lat"].to_numpy())
    rows = np.flatnonzero(located)
    x, y = project_lonlat(due["lon"].to_numpy()[rows], due["lat"].to_numpy()[rows])
    order = rows[walking_order(x, y)]
    order = np.concatenate([order, np.flatnonzero(~located)])
    out = due.iloc[order].reset_index(drop=True)
    out.insert(1, "stop", np.arange(1, len(out) + 1))
    return out


def walking_order(x: np.ndarray, y: np.ndarray, start: int = 0) -> np.ndarray:
    """Nearest-neighbour order of points (metres) from ``start``: always the nearest place
    not yet visited, equal distances going to the earlier row.

    Parameters
    ----------
    x, y
        Positions in metres.
    start
        The stop to start from.

    Returns
    -------
    numpy.ndarray
        The stops' positions in visiting order.
    """
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    left = np.ones(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    here = start
    for step in range(n):
        order[step] = here
        left[here] = False
        if step == n - 1:
            break
        d2 = np.where(left, (x - x[here]) ** 2 + (y - y[here]) ** 2, np.inf)
        here = int(np.argmin(d2))  # first minimum: the earlier row on ties
    return order


def stored_due_list(
    store: Store, as_of: Any, *, ward: str | None = None, schedule: Schedule | None = None
) -> pd.DataFrame:
    """:func:`due_list` of the store's cleared places (plus ``incident_id``, the incident a
    ``violation`` result recurs from, after :data:`DUE_COLUMNS`).

    Parameters
    ----------
    store
        The store.
    as_of
        The date of the round.
    ward
        Only this ward (default: all).
    schedule
        The check days (default: 7, 30, 90).

    Returns
    -------
    pandas.DataFrame
        :data:`DUE_COLUMNS` and ``incident_id``.
    """
    places = stored_places.cleared_places(store, ward=ward)
    due = due_list(places, as_of, ward=ward, schedule=schedule)
    incident = places.set_index("place_id")["incident_id"]
    due["incident_id"] = due["place_id"].map(incident).astype("Int64")
    return due


__all__ = [
    "DEFAULT_CHECK_DAYS", "DUE_COLUMNS", "FORMATS", "GPX_NS", "LOCAL_TZ", "PLACE_COLUMNS",
    "Result", "Schedule", "due_list", "parse_result", "parse_results", "parse_schedule",
    "stored_due_list", "to_csv", "to_geojson", "to_gpx", "to_xlsx", "walking_order",
    "write_due_list",
]
