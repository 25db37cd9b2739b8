"""Excel workbooks (.xlsx): one worksheet read as text, a title line above the table skipped."""

from __future__ import annotations

import io
import math
import unicodedata
from datetime import date, datetime, time
from typing import Any

import pandas as pd

from geo.errors import IngestError
from geo.ingest._table import RawTable, grid_to_table
from geo.names import ascii_key


def cell_text(value: Any) -> str:
    """A cell as the text a person sees in Excel.

    Parameters
    ----------
    value : object
        The value openpyxl read (None, str, bool, number, date, time).

    Returns
    -------
    str
        "" for an empty cell; whole floats without ".0"; dates in ISO form.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def sheet_names(data: bytes) -> list[str]:
    """Worksheet names of an .xlsx file, in workbook order.

    Parameters
    ----------
    data : bytes
        The workbook.

    Returns
    -------
    list of str
        The sheet names.
    """
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return list(book.sheetnames)
    finally:
        book.close()


def _choose_sheet(names: list[str], sheet: str | int | None, file_name: str) -> str:
    if sheet is None or sheet == "":
        return names[0]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit()):
        index = int(sheet)
        if 1 <= index <= len(names) and str(sheet) not in names:
            return names[index - 1]
    if sheet in names:
        return str(sheet)
    wanted = ascii_key(str(sheet))
    for name in names:
        if ascii_key(name) == wanted:
            return name
    listed = ", ".join(repr(n) for n in names)
    raise IngestError(
        f"{file_name}: không có trang tính {sheet!r}; các trang: {listed}.",
        f"{file_name}: no sheet named {sheet!r}; the sheets are: {listed}.",
    )


def read_xlsx(data: bytes, file_name: str, sheet: str | int | None = None) -> RawTable:
    """Read one worksheet of an .xlsx workbook.

    Parameters
    ----------
    data : bytes
        The workbook.
    file_name : str
        The name shown in messages.
    sheet : str or int, optional
        The sheet's name (diacritics optional) or 1-based position; None: the first.

    Returns
    -------
    RawTable
        The sheet's table, its header being the first row filled at least half as wide
        as the widest of the first twenty.

    Raises
    ------
    IngestError
        The workbook cannot be opened, has no sheets or no sheet ``sheet``.
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise IngestError(
            f"{file_name}: không mở được tệp Excel: {exc}",
            f"{file_name}: cannot open the Excel workbook: {exc}",
        ) from exc
    try:
        names = list(book.sheetnames)
        if not names:
            raise IngestError(f"{file_name}: tệp Excel không có trang tính.",
                              f"{file_name}: the workbook has no sheets.")
        chosen = _choose_sheet(names, sheet, file_name)
        rows = [
            [unicodedata.normalize("NFC", cell_text(v)) for v in row]
            for row in book[chosen].iter_rows(values_only=True)
        ]
    finally:
        book.close()
    # The header is the first row filled at least half as wide as the widest of the first
    # twenty: a title line ("Danh sách vi phạm tháng 7") above the table is skipped.
    filled = [sum(1 for c in row if c.strip()) for row in rows[:20]]
    widest = max(filled, default=0)
    start = next((i for i, k in enumerate(filled) if k and 2 * k >= widest), len(rows))
    rows = rows[start:]
    width = max((len(r) for r in rows), default=0)
    grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    table = grid_to_table(grid, "xlsx", sheet=chosen, sheets=names)
    return table
