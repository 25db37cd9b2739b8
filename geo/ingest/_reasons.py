"""Why a row is rejected: reason codes, the first one each row meets, bilingual messages.

Every rejection names a reason code (:data:`REASONS`) and the field it is about. The
stages of :mod:`geo.ingest.pipeline` reject rows in a fixed order and a row keeps the
first reason it meets, so the reason shown is the earliest problem of the row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.ingest._table import RawTable
from geo.ingest._text import coded_column, coded_values

#: Reason codes → (Vietnamese, English) explanations.
REASONS: dict[str, tuple[str, str]] = {
    "too_many_fields": (
        "dòng có nhiều ô hơn tiêu đề",
        "the row has more fields than the header",
    ),
    "cell_too_long": (
        "một ô dài hơn giới hạn ký tự (GEO_INGEST_MAX_CELL_CHARS)",
        "a cell is longer than the character limit (GEO_INGEST_MAX_CELL_CHARS)",
    ),
    "geometry_not_point": (
        "đối tượng không phải là điểm (Point)",
        "the feature's geometry is not a Point",
    ),
    "missing_coordinates": ("thiếu toạ độ", "the coordinates are missing"),
    "bad_coordinates": ("không đọc được toạ độ", "the coordinates cannot be read"),
    "coordinates_out_of_range": (
        "toạ độ ngoài phạm vi hợp lệ (vĩ độ ±90, kinh độ ±180; toạ độ phẳng cần --crs)",
        "the coordinates are out of range (latitude ±90, longitude ±180; "
        "projected coordinates need --crs)",
    ),
    "outside_jurisdiction": (
        "điểm nằm ngoài Hà Nội (chế độ nghiêm ngặt --strict)",
        "the point is outside Hà Nội (strict mode)",
    ),
    "missing_date": ("thiếu ngày phát hiện", "the reported date is missing"),
    "bad_date": (
        "không đọc được ngày (dùng dd/mm/yyyy hoặc yyyy-mm-dd)",
        "the date cannot be read (use dd/mm/yyyy or yyyy-mm-dd)",
    ),
    "date_month_day": (
        "ngày chỉ đọc được theo kiểu tháng/ngày; hãy ghi ngày/tháng/năm hoặc yyyy-mm-dd",
        "the date reads only as month/day; write day/month/year or yyyy-mm-dd",
    ),
    "date_ambiguous": (
        "cột ngày có giá trị kiểu tháng/ngày nên ngày này không rõ là ngày/tháng hay "
        "tháng/ngày; hãy ghi yyyy-mm-dd",
        "the date column holds month/day values, so this date is ambiguous "
        "(day/month or month/day); write yyyy-mm-dd",
    ),
    "date_out_of_range": (
        "ngày trước năm 2000 hoặc ở tương lai",
        "the date is before 2000 or in the future",
    ),
    "bad_cleared_date": (
        "không đọc được ngày xử lý xong",
        "the cleared date cannot be read",
    ),
    "unknown_status": (
        "trạng thái không nhận ra (chưa xử lý, đã xác minh, đang xử lý, đã xử lý, tái phạm)",
        "unknown status (open, verified, in progress, cleared, recurred)",
    ),
}


#: Longest part of a rejected value a message quotes (the rest is cut off with "…").
SHOWN_CHARS = 80


class Verdicts:
    """Each row's first rejection reason and the field it names ("" while the row stands).

    Parameters
    ----------
    n : int
        The number of data rows.
    """

    def __init__(self, n: int) -> None:
        # Codes into the texts seen so far (0: ""): the rows' reasons are few distinct
        # texts, so the preview's columns are built from the codes (coded_column), not
        # from a million Python objects factorized again.
        self._reason: NDArray[np.int32] = np.zeros(n, dtype=np.int32)
        self._field: NDArray[np.int32] = np.zeros(n, dtype=np.int32)
        self._labels: list[str] = [""]
        self._standing: NDArray[np.bool_] = np.ones(n, dtype=bool)  # reason == ""

    @property
    def reason(self) -> NDArray[np.object_]:
        """Each row's reason code, "" while it stands."""
        return coded_values(self._reason, self._labels)

    @property
    def field(self) -> NDArray[np.object_]:
        """The field each row's reason is about ("" for the row as a whole, or standing)."""
        return coded_values(self._field, self._labels)

    def columns(self) -> tuple[NDArray[Any] | pd.Series, NDArray[Any] | pd.Series]:
        """The preview's ``reason`` and ``field`` columns, as :func:`str_column` makes
        them of :attr:`reason` and :attr:`field`.

        Returns
        -------
        tuple
            (reason, field) text columns.
        """
        return coded_column(self._reason, self._labels), coded_column(self._field, self._labels)

    def _code(self, text: str) -> int:
        try:
            return self._labels.index(text)
        except ValueError:
            self._labels.append(text)
            return len(self._labels) - 1

    @classmethod
    def of_table(cls, table: RawTable) -> Verdicts:
        """Verdicts starting with the rows the reader found broken (too many fields, a
        cell over the length limit, a geometry that is not a point).

        Parameters
        ----------
        table : RawTable
            The file as read.

        Returns
        -------
        Verdicts
            Those rows rejected, the rest standing.
        """
        n = len(table.frame)
        verdicts = cls(n)
        problems = table.row_problems
        if problems is None:
            problems = np.full(n, "", object)
        verdicts.reject(problems == "too_many_fields", "too_many_fields", "")
        too_long = problems == "cell_too_long"
        if too_long.any():
            fields = table.problem_fields
            if fields is None:
                fields = np.full(n, "", object)
            for column in dict.fromkeys(fields[too_long]):
                verdicts.reject(too_long & (fields == column), "cell_too_long", str(column))
        verdicts.reject(problems == "geometry_not_point", "geometry_not_point", "geometry")
        return verdicts

    def reject(self, mask: NDArray[np.bool_], code: str, field_name: str) -> None:
        """Reject the rows of ``mask`` not rejected yet, for ``code`` about ``field_name``.

        Parameters
        ----------
        mask : numpy.ndarray of bool
            The rows that have this problem.
        code : str
            A key of :data:`REASONS`.
        field_name : str
            The column(s) the message names ("" for the row as a whole).
        """
        sel = mask & self._standing
        self._reason[sel] = self._code(code)
        self._field[sel] = self._code(field_name)
        self._standing[sel] = False

    def standing(self) -> NDArray[np.bool_]:
        """The rows not rejected so far.

        Returns
        -------
        numpy.ndarray of bool
            A copy (later rejections do not change it).
        """
        return self._standing.copy()


def row_message(number: object, column: str, value: str, text_vi: str, text_en: str) -> tuple[str, str]:
    """A rejected row's message in both languages, naming its row, its column (when the
    reason is about one) and the value read there, cut to :data:`SHOWN_CHARS`.

    Parameters
    ----------
    number : object
        The row's data-row number in the file (1 = the first row under the header).
    column : str
        The file's column(s) the reason is about, "" for the row as a whole.
    value : str
        What the row holds there (quoted only with a column).
    text_vi, text_en : str
        Why, in each language.

    Returns
    -------
    tuple of str
        ``("Dòng 3, cột “ngày”: … ('x').", "Row 3, column 'ngày': … ('x').")``.
    """
    where_vi = f"Dòng {number}" + (f", cột “{column}”" if column else "")
    where_en = f"Row {number}" + (f", column '{column}'" if column else "")
    if len(value) > SHOWN_CHARS:  # a message quotes a value; it never repeats 10 MB
        value = value[:SHOWN_CHARS] + "…"
    shown = f" ({value!r})" if column else ""
    return f"{where_vi}: {text_vi}{shown}.", f"{where_en}: {text_en}{shown}."


def write_messages(rows: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Bilingual messages for the rejected rows only (a loop over the few that need one).

    Parameters
    ----------
    rows : pandas.DataFrame
        The preview's rows; ``message_vi`` and ``message_en`` are filled in place.
    frame : pandas.DataFrame
        The file as read: each message quotes the rejected value.
    """
    idx = np.flatnonzero((rows["reason"] != "").to_numpy())
    vi = rows["message_vi"].to_numpy(dtype=object, copy=True)
    en = rows["message_en"].to_numpy(dtype=object, copy=True)
    reasons = rows["reason"].to_numpy(dtype=object)
    fields = rows["field"].to_numpy(dtype=object)
    numbers = rows["row"].to_numpy()
    for i in idx:
        column = fields[i]
        value = ""
        if column:
            cells = [str(frame.iloc[i][c]) for c in str(column).split(", ") if c in frame.columns]
            value = " | ".join(cells)
        vi[i], en[i] = row_message(numbers[i], str(column or ""), value, *REASONS[reasons[i]])
    rows["message_vi"] = vi
    rows["message_en"] = en
