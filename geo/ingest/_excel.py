"""Excel workbooks (.xlsx): one worksheet streamed as text, a title line above the table
skipped, stopped at the row limit."""

from __future__ import annotations

import io
import itertools
import math
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.errors import IngestError
from geo.ingest._limits import IngestLimits
from geo.ingest._table import RawTable, fold_extra, grid_to_table
from geo.names import ascii_key


def excel_text(value: Any) -> str:
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


def read_xlsx(
    data: bytes,
    file_name: str,
    sheet: str | int | None = None,
    limits: IngestLimits | None = None,
) -> RawTable:
    """Read one worksheet of an .xlsx workbook, row by row, within the limits.

    The sheet is streamed (openpyxl read-only): blank rows are counted but not kept, and
    reading stops at the first data row over the row limit, so a 1 MB workbook that
    expands to millions of rows is refused after reading just past the limit rather than
    after building all of them.

    Parameters
    ----------
    data : bytes
        The workbook.
    file_name : str
        The name shown in messages.
    sheet : str or int, optional
        The sheet's name (diacritics optional) or 1-based position; None: the first.
    limits : IngestLimits, optional
        The row and column limits; None: :meth:`IngestLimits.from_env`.

    Returns
    -------
    RawTable
        The sheet's table, its header being the first row filled at least half as wide
        as the widest of the first twenty.

    Raises
    ------
    IngestError
        The workbook cannot be opened, has no sheets or no sheet ``sheet``; a
        :class:`~geo.errors.LimitExceeded` when the sheet is over the row or column limit.
    """
    from openpyxl import load_workbook

    limits = limits or IngestLimits.from_env()
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
        rows, numbers = _stream_rows(book[chosen].iter_rows(values_only=True), file_name, limits)
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    return grid_to_table(grid, "xlsx", row_numbers=numbers, sheet=chosen, sheets=names)


def _texts(row: Iterable[Any]) -> list[str]:
    """A sheet row as text, without the empty cells openpyxl pads it with at the end."""
    cells = [unicodedata.normalize("NFC", excel_text(v)) for v in row]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _stream_rows(
    sheet_rows: Iterator[tuple[Any, ...]], file_name: str, limits: IngestLimits
) -> tuple[list[list[str]], NDArray[np.int64]]:
    """(the header and the non-blank data rows, each data row's number) of a sheet.

    The header is the first row filled at least half as wide as the widest of the first
    twenty: a title line ("Danh sách vi phạm tháng 7") above the table is skipped.
    """
    head = [_texts(row) for row in itertools.islice(sheet_rows, 20)]
    filled = [sum(1 for c in row if c.strip()) for row in head]
    widest = max(filled, default=0)
    start = next((i for i, k in enumerate(filled) if k and 2 * k >= widest), len(head))
    if start == len(head):
        return [], np.zeros(0, dtype=np.int64)
    header = head[start]
    limits.check_columns(len(header), file_name)
    rows, numbers = [header], []
    for number, row in enumerate(itertools.chain(head[start + 1 :], map(_texts, sheet_rows)), 1):
        if not any(c.strip() for c in row):
            continue
        rows.append(fold_extra(row, len(header)))
        numbers.append(number)
        if len(numbers) > limits.max_rows:
            limits.check_rows(len(numbers), file_name, stopped=True)
    return rows, np.asarray(numbers, dtype=np.int64)
