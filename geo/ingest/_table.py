"""A file read as strings: one column per header, one row per non-blank data row.

Every reader (CSV, Excel, GeoJSON) ends in :class:`RawTable`, so the stages after
reading never see a file format. Structural problems of single rows (too many fields, a
non-point geometry) are recorded per row, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class RawTable:
    """A file read as strings: one column per header, one row per non-blank data row."""

    frame: pd.DataFrame
    row_numbers: np.ndarray
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    geometry_crs: Any = None
    #: Per-row structural problem (reason code) or "" — same length as ``frame``.
    row_problems: np.ndarray | None = None
    #: The column each row's problem is about ("" for the row as a whole), when known.
    problem_fields: np.ndarray | None = None


def unique_headers(raw: list[str]) -> list[str]:
    """Headers that can name columns: blanks named by position, repeats numbered.

    Parameters
    ----------
    raw : list of str
        The header cells as written.

    Returns
    -------
    list of str
        As many unique names ("column_3", "Ghi chú (2)").
    """
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(raw):
        name = name.strip() or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        out.append(name)
    return out


def fold_extra(row: list[str], width: int) -> list[str]:
    """A row cut to ``width`` cells plus one that is not blank if any cell cut was not.

    A row longer than its header is marked ``too_many_fields`` and its extra cells are
    dropped (:func:`grid_to_table`); folding them first keeps a row of 100,000 fields
    from widening the whole table to 100,000 columns.

    Parameters
    ----------
    row : list of str
        The row's cells.
    width : int
        The header's width.

    Returns
    -------
    list of str
        At most ``width + 1`` cells.
    """
    if len(row) <= width:
        return row
    extra = next((c for c in row[width:] if c.strip()), "")
    return [*row[:width], extra]


def grid_to_table(
    grid: pd.DataFrame,
    file_format: str,
    *,
    row_numbers: np.ndarray | None = None,
    **info: Any,
) -> RawTable:
    """First row = header; drop wholly blank rows and trailing unnamed empty columns.

    Parameters
    ----------
    grid : pandas.DataFrame
        Every row of the file, header included, as text.
    file_format : str
        "csv", "xlsx" or "geojson".
    row_numbers : numpy.ndarray, optional
        The data row number of each row below the header, when a reader left blank rows
        out already; None: 1, 2, 3, … in grid order.
    **info
        Further :class:`RawTable` fields (delimiter, sheet, …).

    Returns
    -------
    RawTable
        The table; data rows numbered from 1 as in the file.
    """
    if grid.shape[0] == 0 or grid.shape[1] == 0:
        return RawTable(pd.DataFrame(), np.zeros(0, dtype=np.int64), file_format, **info)
    header = ["" if pd.isna(v) else str(v) for v in grid.iloc[0].tolist()]
    body = grid.iloc[1:].reset_index(drop=True)
    body.columns = pd.RangeIndex(body.shape[1])
    for column in body.columns:
        if not isinstance(body[column].dtype, pd.StringDtype):
            body[column] = body[column].astype(object).fillna("").astype(str)
        elif body[column].hasnans:
            body[column] = body[column].fillna("")
    # Trailing header cells that are empty: keep the column only if some row uses it.
    named = len(header)
    while named > 0 and not header[named - 1].strip():
        named -= 1
    problems = np.full(len(body), "", dtype=object)
    if named < len(header):
        used = np.zeros(len(body), dtype=bool)
        for column in body.columns[named:]:
            used |= (body[column].str.strip() != "").to_numpy(dtype=bool)
        problems[used] = "too_many_fields"
        body = body.iloc[:, :named]
        header = header[:named]
    body.columns = pd.Index(unique_headers(header), dtype=object)
    if row_numbers is None:
        row_numbers = np.arange(1, len(body) + 1, dtype=np.int64)
    blank = np.ones(len(body), dtype=bool)
    for column in body.columns:  # each column looks only at the rows still blank
        where = np.flatnonzero(blank)
        if not len(where):
            break
        values = body[column] if len(where) == len(body) else body[column].iloc[where]
        blank[where] = (values.str.strip() == "").to_numpy(dtype=bool)
    keep = ~(blank & (problems == ""))
    if not keep.all():
        body = body.loc[keep].reset_index(drop=True)
    return RawTable(
        body,
        row_numbers[keep],
        file_format,
        row_problems=problems[keep],
        **info,
    )
