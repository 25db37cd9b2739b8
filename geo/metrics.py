"""Per-ward metrics for the leaders' pages: choropleth values, league table, week matrix.

Pure functions over the store's aggregates (:func:`geo.store.queries.ward_stats`,
:func:`~geo.store.queries.week_counts`) and the ward layer, so the page, the CLI and the
tests compute the same numbers. Nothing here reads incidents one by one: a million
incidents arrive as 126 rows.

Definitions (period = the chosen date range; "end" = its last day, or now):

* ``open``: incidents still open at the end.
* ``open_per_km2``: ``open`` / ward area (km², computed in EPSG:32648 when the layer has
  no ``area_km2``).
* ``open_per_10k``: ``open`` per 10,000 residents; empty where the population is unknown.
* ``pct_cleared``: cleared / (open + cleared) at the end, in percent.
* ``median_days``: median days from report to clearing, of those cleared in the period.
* ``overdue``: open at the end and past their due date.
* ``new_week``: reported in the 7 days ending at the end.

League table rule: a ward is ranked only when its *volume* (open + cleared at the end)
reaches ``min_volume`` (default :data:`MIN_VOLUME`) and its metric is defined. The other
wards are listed after the ranked ones without a rank, so a ward with one report cleared
(100 %) cannot top the table.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo._frame_file import persisted
from geo.crs import METRIC_CRS
from geo.errors import MetricError
from geo.snapshot import IncidentSnapshot, over_snapshot
from geo.store import Store, queries


@dataclass(frozen=True)
class Metric:
    """One choropleth metric: its column, direction and display format."""

    code: str
    higher_is_worse: bool
    decimals: int
    unit: str = ""
    #: The count the minimum-volume rule reads: incidents, or clearances for the
    #: sustained-order metrics (a retention from two clearances says nothing).
    volume: str = "volume"


#: Choropleth metrics in the order the page offers them.
METRICS: tuple[Metric, ...] = (
    Metric("open", True, 0),
    Metric("open_per_km2", True, 2, "/km²"),
    Metric("open_per_10k", True, 2),
    Metric("pct_cleared", False, 1, "%"),
    Metric("median_days", True, 1),
    Metric("overdue", True, 0),
    Metric("new_week", True, 0),
)
METRIC_CODES: tuple[str, ...] = tuple(m.code for m in METRICS)
#: Sustained-order metrics (issue 12, :mod:`geo.sustain`), added by :func:`with_sustain`:
#: shares between 0 and 1, and the campaign flag as 1/0. Ranked on clearances (``spells``).
SUSTAIN_METRICS: tuple[Metric, ...] = (
    Metric("retention_30", False, 2, volume="spells"),
    Metric("retention_90", False, 2, volume="spells"),
    Metric("recurrence_rate", True, 2, volume="spells"),
    Metric("campaign_flag", True, 0, volume="spells"),
)
SUSTAIN_CODES: tuple[str, ...] = tuple(m.code for m in SUSTAIN_METRICS)
#: Every metric a choropleth or a league table can use.
ALL_METRICS: tuple[Metric, ...] = METRICS + SUSTAIN_METRICS
#: Columns :func:`with_sustain` adds: the metrics and what qualifies them.
SUSTAIN_COLUMNS: tuple[str, ...] = ("spells", *SUSTAIN_CODES, "rechecked_share", "densest_14d_share")
_BY_CODE = {m.code: m for m in ALL_METRICS}

#: Minimum open + cleared incidents for a ward to be ranked in the league table.
MIN_VOLUME = 10
#: Values a week matrix cell can hold.
MATRIX_VALUES: tuple[str, ...] = ("open_end", "pct_cleared")

_STATS_COLUMNS = ("ward_code", "open", "cleared", "new", "median_days_to_clear", "overdue")


def metric(code: str) -> Metric:
    """The definition of one metric, so an unknown name fails with the list of known ones.

    Parameters
    ----------
    code : str
        A metric code of :data:`METRICS` (e.g. ``"pct_cleared"``).

    Returns
    -------
    Metric
        Its definition (direction, decimals, unit).

    Raises
    ------
    geo.errors.MetricError
        ``code`` is not a known metric.
    """
    try:
        return _BY_CODE[code]
    except KeyError:
        raise MetricError(
            f"Chỉ số không hợp lệ {code!r}; chọn một trong {', '.join(_BY_CODE)}.",
            f"Unknown metric {code!r}; choose one of {', '.join(_BY_CODE)}.",
        ) from None


def week_window(date_to: dt.date | None = None, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The 7 days (inclusive) that end on ``date_to`` (or today): the "new this week" period.

    Parameters
    ----------
    date_to : datetime.date or None
        The last day of the window (a Hà Nội calendar day).
    today : datetime.date or None
        Used when ``date_to`` is None (default: the machine's date today).

    Returns
    -------
    tuple of datetime.date
        (first day, last day), both inclusive, six days apart.
    """
    end = date_to or today or dt.date.today()
    return end - dt.timedelta(days=6), end


def _check_stats(stats: pd.DataFrame, source: str) -> None:
    missing = [c for c in _STATS_COLUMNS if c not in stats.columns]
    if missing:
        raise MetricError(
            f"{source}: thiếu cột {', '.join(missing)} (cần kết quả của ward_stats).",
            f"{source}: missing columns {', '.join(missing)} (expects ward_stats output).",
        )


def _area_km2(wards: gpd.GeoDataFrame) -> pd.Series:
    area = pd.Series(np.nan, index=wards.index, dtype=float)
    if "area_km2" in wards.columns:
        area = pd.to_numeric(wards["area_km2"], errors="coerce").astype(float)
    missing = area.isna() | (area <= 0)
    if missing.any():
        area = area.copy()
        area[missing] = wards.loc[missing].to_crs(METRIC_CRS).area / 1e6
    return area


def ward_metrics(
    stats: pd.DataFrame, wards: gpd.GeoDataFrame, week_stats: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every metric for every ward of ``wards`` (indexed like ``wards``).

    ``stats`` is ``ward_stats`` for the period; ``week_stats`` is ``ward_stats`` for
    :func:`week_window` (its ``new`` becomes ``new_week``; zeros when not given).
    Wards without incidents get zeros, and empty values where a ratio is undefined.

    Parameters
    ----------
    stats : pandas.DataFrame
        :func:`geo.store.queries.ward_stats` for the period.
    wards : geopandas.GeoDataFrame
        The ward layer (any CRS) with ``code``, optionally ``name`` and ``population``.
    week_stats : pandas.DataFrame or None
        ``ward_stats`` for the :func:`week_window`.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``name``, ``area_km2``, ``population``, the counts ``open``, ``cleared``,
        ``new``, ``overdue``, ``volume``, and ``open_per_km2``, ``open_per_10k``,
        ``pct_cleared``, ``median_days``, ``new_week``.

    Raises
    ------
    geo.errors.MetricError
        A stats frame lacks ``ward_stats`` columns, or the ward layer has no ``code``.
    """
    _check_stats(stats, "ward_stats")
    if "code" not in wards.columns:
        raise MetricError("Lớp phường thiếu cột code.", "The ward layer has no 'code' column.")
    by_code = stats.set_index("ward_code")
    codes = wards["code"].astype(str)
    out = pd.DataFrame(index=wards.index)
    out["code"] = codes
    out["name"] = wards["name"].astype(str) if "name" in wards.columns else codes
    out["area_km2"] = _area_km2(wards)
    population = (
        pd.to_numeric(wards["population"], errors="coerce").astype(float)
        if "population" in wards.columns
        else pd.Series(np.nan, index=wards.index)
    )
    out["population"] = population.where(population > 0)
    for name in ("open", "cleared", "new", "overdue"):
        out[name] = codes.map(by_code[name]).fillna(0).astype("int64")
    out["volume"] = out["open"] + out["cleared"]
    out["open_per_km2"] = out["open"] / out["area_km2"]
    out["open_per_10k"] = out["open"] / out["population"] * 10_000
    out["pct_cleared"] = (100.0 * out["cleared"] / out["volume"].where(out["volume"] > 0)).astype(float)
    out["median_days"] = codes.map(by_code["median_days_to_clear"]).astype(float)
    if week_stats is not None:
        _check_stats(week_stats, "week ward_stats")
        week = week_stats.set_index("ward_code")["new"]
        out["new_week"] = codes.map(week).fillna(0).astype("int64")
    else:
        out["new_week"] = 0
    return out


def league_table(
    metrics: pd.DataFrame,
    by: str = "pct_cleared",
    *,
    min_volume: int = MIN_VOLUME,
    worst_first: bool = False,
) -> pd.DataFrame:
    """Wards ranked by ``by``, best first (or worst first), under the minimum-volume
    rule (module docstring).

    Returns a new frame: ``rank`` (empty for unranked wards), the ward's figures, and
    ``eligible``. Ties share the better rank; they are listed by volume, then code.

    Parameters
    ----------
    metrics : pandas.DataFrame
        :func:`ward_metrics`.
    by : str
        The metric code to rank by.
    min_volume : int
        Wards with fewer incidents (open + cleared) are listed but not ranked; at least 1.
    worst_first : bool
        Rank the worst ward first.

    Returns
    -------
    pandas.DataFrame
        The ranked table (``rank`` as nullable Int64), with a fresh RangeIndex.

    Raises
    ------
    geo.errors.MetricError
        ``by`` is unknown or ``min_volume`` is below 1.
    """
    spec = metric(by)
    if min_volume < 1:
        raise MetricError(
            f"Ngưỡng số vụ tối thiểu phải ≥ 1 (được {min_volume}).",
            f"The minimum volume must be at least 1 (got {min_volume}).",
        )
    table = metrics.copy()
    value = table[by].astype(float)
    table["eligible"] = (table[spec.volume] >= min_volume) & value.notna()
    score = value if spec.higher_is_worse != worst_first else -value
    table["_score"] = score.where(table["eligible"])
    table = table.sort_values(
        ["eligible", "_score", "volume", "code"],
        ascending=[False, True, False, True],
        na_position="last",
        kind="mergesort",
    )
    rank = table["_score"].rank(method="min", na_option="keep")
    table.insert(0, "rank", rank.astype("Int64"))
    columns = [
        "rank", "code", "name", by, spec.volume, "volume", "open", "cleared", "pct_cleared", "median_days",
        "overdue", "new_week", "open_per_km2", "open_per_10k", "retention_30", "rechecked_share",
        "campaign_flag", "densest_14d_share", "eligible",
    ]
    columns = list(dict.fromkeys(c for c in columns if c in table.columns))
    return table[columns].reset_index(drop=True)


def with_sustain(metrics: pd.DataFrame, sustain: pd.DataFrame, *, min_volume: int = MIN_VOLUME) -> pd.DataFrame:
    """``metrics`` with the sustained-order measures per ward (:data:`SUSTAIN_COLUMNS`).

    The minimum-volume rule applies to them on clearances: a ward with fewer than
    ``min_volume`` clearances in the window keeps its count (``spells``) but its shares
    and flag are empty, on the map as in the table, so two clearances of which one came
    back cannot paint a ward as the city's worst.

    Parameters
    ----------
    metrics : pandas.DataFrame
        :func:`ward_metrics`.
    sustain : pandas.DataFrame
        :func:`geo.sustain.measures_from_spells` by ward (``ward_code`` and the measures).
    min_volume : int
        The fewest clearances for a ward's shares to be shown.

    Returns
    -------
    pandas.DataFrame
        A new frame, indexed like ``metrics``; ``campaign_flag`` as 1.0 / 0.0 / NaN.
    """
    by_code = sustain.set_index(sustain["ward_code"].astype(str))
    codes = metrics["code"].astype(str)
    out = metrics.copy()
    spells = codes.map(by_code["spells"]) if "spells" in by_code else pd.Series(np.nan, index=codes.index)
    out["spells"] = spells.fillna(0).astype("int64")
    small = out["spells"] < min_volume
    for column in SUSTAIN_COLUMNS[1:]:
        values = codes.map(by_code[column]) if column in by_code else pd.Series(None, index=codes.index)
        values = pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce").astype(float)
        out[column] = values.where(~small)
    return out


def week_matrix(
    weeks: pd.DataFrame,
    value: str = "open_end",
    *,
    names: dict[str, str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> pd.DataFrame:
    """Wards × ISO weeks: open at each week's end, or percent cleared up to it.

    ``weeks`` is ``week_counts`` over the whole history (percent cleared needs every
    earlier week); ``date_from``/``date_to`` then pick the columns. Rows are ward names
    (``names``: code → name) sorted by code; columns are ``YYYY-Www`` labels.

    Parameters
    ----------
    weeks : pandas.DataFrame
        :func:`geo.store.queries.week_counts` (``ward_code``, ``week``, ``iso_week``,
        ``new``, ``cleared``, ``open_end``).
    value : str
        One of :data:`MATRIX_VALUES`: ``"open_end"`` or ``"pct_cleared"``.
    names : dict of str to str or None
        Ward code -> name for the row labels.
    date_from : datetime.date or None
        Keep the weeks that end on or after this day.
    date_to : datetime.date or None
        Keep the weeks that start on or before this day.

    Returns
    -------
    pandas.DataFrame
        The matrix (index ``ward``, columns ``week``); empty when no week is kept.

    Raises
    ------
    geo.errors.MetricError
        ``value`` is not one of :data:`MATRIX_VALUES`.
    """
    if value not in MATRIX_VALUES:
        raise MetricError(
            f"Giá trị ma trận không hợp lệ {value!r} ({', '.join(MATRIX_VALUES)}).",
            f"Unknown matrix value {value!r} ({', '.join(MATRIX_VALUES)}).",
        )
    if weeks.empty:
        return pd.DataFrame()
    frame = weeks.sort_values(["ward_code", "week"]).copy()
    if value == "pct_cleared":
        grouped = frame.groupby("ward_code")
        cum_new = grouped["new"].cumsum()
        cum_cleared = grouped["cleared"].cumsum()
        frame["value"] = 100.0 * cum_cleared / cum_new.where(cum_new > 0)
    else:
        frame["value"] = frame["open_end"].astype(float)
    week = pd.to_datetime(frame["week"])
    keep = pd.Series(True, index=frame.index)
    if date_from is not None:
        keep &= week + pd.Timedelta(days=6) >= pd.Timestamp(date_from)
    if date_to is not None:
        keep &= week <= pd.Timestamp(date_to)
    frame = frame[keep]
    if frame.empty:
        return pd.DataFrame()
    matrix = frame.pivot_table(
        index="ward_code", columns="iso_week", values="value", aggfunc="first", dropna=False
    )
    matrix = matrix.reindex(sorted(matrix.columns), axis=1)
    if names:
        matrix.index = [names.get(code, code) for code in matrix.index]
    matrix.index.name = "ward"
    matrix.columns.name = "week"
    return matrix


def matrix_long(matrix: pd.DataFrame) -> pd.DataFrame:
    """A week matrix as rows (ward, week, value) for a chart library.

    Parameters
    ----------
    matrix : pandas.DataFrame
        :func:`week_matrix`.

    Returns
    -------
    pandas.DataFrame
        Columns ``ward``, ``week`` (str) and ``value``, one row per cell.
    """
    if matrix.empty:
        return pd.DataFrame({"ward": [], "week": [], "value": []})
    wide = matrix.copy()
    wide.index.name = "ward"
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index().melt(id_vars="ward", var_name="week", value_name="value")


def format_value(value: Any, code: str, lang: str | None = "vi") -> str:
    """A metric value for a label or tooltip, as ``lang`` writes numbers (1.234,5 in
    Vietnamese, 1,234.5 in English: :func:`geo.i18n.number`); "–" where undefined.

    Parameters
    ----------
    value : Any
        The number (None, NaN or ``pd.NA`` when undefined).
    code : str
        The metric code, which sets decimals and unit (unknown codes: no decimals, no unit).
    lang : str or None
        ``"vi"`` or ``"en"`` (anything else: Vietnamese).

    Returns
    -------
    str
        The formatted value with thousands separators and unit.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "–"
    spec = _BY_CODE.get(code, Metric(code, True, 0))
    from geo.i18n import number

    return f"{number(float(value), lang, spec.decimals)}{spec.unit}"


# --- downloads: spreadsheet formulas neutralised through geo.exports -------------------


def _neutralised(table: pd.DataFrame) -> pd.DataFrame:
    from geo.exports import neutralise_frame

    return neutralise_frame(table)


def table_csv(table: pd.DataFrame) -> bytes:
    """:func:`geo.exports.csv_bytes`: UTF-8 with BOM, formula-like text neutralised, CRLF rows.

    Parameters
    ----------
    table : pandas.DataFrame
        A league table or matrix to download.

    Returns
    -------
    bytes
        The CSV file's bytes.
    """
    from geo.exports import csv_bytes

    return csv_bytes(table)


def table_xlsx(table: pd.DataFrame, sheet: str = "league") -> bytes:
    """A table as an Excel file for download; formula-like text neutralised, blanks left empty.

    Parameters
    ----------
    table : pandas.DataFrame
        A league table or matrix to download.
    sheet : str
        The sheet name.

    Returns
    -------
    bytes
        The ``.xlsx`` file's bytes.
    """
    buffer = io.BytesIO()
    frame = _neutralised(table)
    for column in frame.columns:
        if frame[column].dtype == "Int64" or frame[column].dtype == "boolean":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=sheet, index=False)
    return buffer.getvalue()


def load_ward_metrics(
    store: Store,
    wards: gpd.GeoDataFrame,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    *,
    today: dt.date | None = None,
    snapshot: Callable[[], IncidentSnapshot] | None = None,
) -> pd.DataFrame:
    """:func:`ward_metrics` from the store: two ``ward_stats`` reads (period, last 7 days).

    Parameters
    ----------
    store
        The store the figures are read from.
    wards
        The ward layer in use (areas and populations for the per-km² and per-10k figures).
    date_from, date_to
        The period (Hà Nội days, inclusive; None: open).
    today
        The day "new this week" ends on when the period is open (default: today).
    snapshot
        Gives the map's incident snapshot: when a figure is not kept on disk, it is summed
        over the snapshot's arrays instead of scanned in SQL. Called only then, because a
        freshly started process would otherwise read the snapshot's file for nothing.

    Returns
    -------
    pandas.DataFrame
        One row per ward of ``wards``, as :func:`ward_metrics`.
    """
    stats = kept_ward_stats(store, date_from, date_to, snapshot=snapshot)
    week_from, week_to = week_window(date_to, today)
    week = kept_ward_stats(store, week_from, week_to, snapshot=snapshot)
    return ward_metrics(stats, wards, week)


#: ``ward_stats`` kept on disk when the clock cannot change it (:mod:`geo._frame_file`),
#: one file per question whether it was summed in SQL or over the snapshot.
kept_ward_stats = persisted(over_snapshot(queries.ward_stats), as_of_now=True, unkeyed=("snapshot",))
