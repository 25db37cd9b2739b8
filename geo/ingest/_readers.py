"""Reading incident files as they come: CSV in five encodings, Excel, GeoJSON.

This module reads CSV text and dispatches the other formats (:mod:`._excel`,
:mod:`._geojson`); decoding is :mod:`._decode`, the common result :mod:`._table`.

Everything is read as text (no type guessing by pandas: "0123" must stay "0123" and
"21,0365" must not become a thousands number), normalised to NFC, and handed on as one
frame of strings with the data rows' numbers. Structural problems of single rows (too
many fields, a non-point geometry) are recorded per row, never dropped.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import numpy as np
import pandas as pd

from geo.errors import IngestError
from geo.ingest._decode import decode_bytes, decode_text, plain_utf8_head
from geo.ingest._excel import read_xlsx
from geo.ingest._geojson import read_geojson
from geo.ingest._limits import IngestLimits
from geo.ingest._table import RawTable, fold_extra, grid_to_table

DELIMITERS = (",", ";", "\t", "|")


# --------------------------------------------------------------------------- CSV


_QUOTED = re.compile(r'"[^"]*"')
_LEADING_BLANK = re.compile(r"\A(?:[ \t]*\r?\n)+")


#: CSV's line breaks. Not ``str.splitlines``, which also breaks at U+2028, U+2029, form
#: feeds and other separators that are ordinary characters inside a CSV cell: a cell
#: "x\u2028y" split its row in two, and the delimiter was then sniffed from the pieces.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
#: The prefix :func:`_head_lines` and :func:`header_fields` look at first, and the lines
#: the delimiter is sniffed from (:func:`sniff_delimiter`).
_PREFIX = 65_536
_SNIFF_LINES = 50


def _head_lines(text: str, count: int) -> list[str]:
    """The first ``count`` lines of CSV text, without splitting a whole 200 MB file (cut
    at a CR too: a file of CR line ends, Excel for Mac's "CSV (Macintosh)", has no LF,
    and 200 MB of it was split whole, 3.4 s and 690 MB, to sniff its delimiter)."""
    size = _PREFIX
    while size < len(text):
        cut = max(text.rfind("\n", 0, size), text.rfind("\r", 0, size))
        if cut > 0:
            lines = _LINE_BREAK.split(text[:cut])
            if len(lines) > count:
                return lines[:count]
        size *= 4
    lines = _LINE_BREAK.split(text)
    return (lines[:-1] if lines and lines[-1] == "" else lines)[:count]


def header_fields(text: str, delimiter: str) -> list[str]:
    """The first record of CSV text (its header), parsed from as short a prefix as holds
    it: a 200 MB text copied into a StringIO to read one line cost 0.5 s and 570 MB.

    Parameters
    ----------
    text : str
        CSV text.
    delimiter : str
        Its delimiter.

    Returns
    -------
    list of str
        The header's fields ([] for empty text).

    Raises
    ------
    csv.Error
        The header cannot be parsed.
    """
    size = _PREFIX
    while True:
        head = text[:size]
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
        whole = size >= len(text)
        try:
            record = next(reader, [])
        except csv.Error:
            if whole:
                raise
        else:
            # the record is complete if it ended at a line break inside the prefix (CR, LF
            # or CRLF, as the reader's lines end)
            if whole or len(_LINE_BREAK.findall(head)) >= reader.line_num:
                return record
        size *= 4


def _records(lines: list[str]) -> list[str]:
    """``lines`` joined into CSV records: a line that ends inside a quoted cell goes on in
    the next, as a cell written on two lines ("Vĩ độ" over "(WGS84)" in a spreadsheet's
    header) does; its quoted text is then removed whole."""
    records: list[str] = []
    part: list[str] = []
    inside = False
    for line in lines:
        part.append(line)
        inside = _ends_quoted(line, inside)
        if not inside:
            records.append("\n".join(part))
            part = []
    if part:
        records.append("\n".join(part))
    return records


def _ends_quoted(line: str, inside: bool) -> bool:
    """Whether ``line`` ends inside a quoted cell (``inside``: it starts inside one). A
    quote opens a cell only at the cell's start (the line's, or after a delimiter, spaces
    aside), as the CSV readers take it: in 'ống 12" (inch)' it is text, and a header
    holding one must not swallow the lines after it."""
    at_start = not inside
    i = 0
    while i < len(line):
        c = line[i]
        if inside:
            if c == '"':
                if line.startswith('"', i + 1):  # "" inside quotes: one quote of text
                    i += 1
                else:
                    inside = False
        elif c == '"' and at_start:
            inside = True
        elif c in DELIMITERS:
            at_start = True
        elif c != " ":
            at_start = False
        i += 1
    return inside


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the candidate that splits the header most, then data.

    Parameters
    ----------
    text : str
        The CSV text (only its first lines are looked at).

    Returns
    -------
    str
        One of :data:`DELIMITERS`; "," when nothing splits.
    """
    lines = [line for line in _records(_head_lines(text, _SNIFF_LINES)) if line.strip()]
    if not lines:
        return ","
    header = _QUOTED.sub("", lines[0])
    body = [_QUOTED.sub("", line) for line in lines[1:20]]
    best, best_key = ",", (0, 0.0)
    for delim in DELIMITERS:
        head = header.count(delim)
        if head == 0:
            continue
        agree = sum(1 for line in body if line.count(delim) >= head) / max(1, len(body))
        key = (head if agree >= 0.5 else 0, agree)
        if key > best_key:
            best, best_key = delim, key
    if best_key[0] == 0:
        # No delimiter splits the header consistently; fall back to the data lines.
        for delim in DELIMITERS:
            if header.count(delim) and best_key[1] == 0:
                best = delim
                break
    return best


def _parse_csv_arrow(text: str, delimiter: str, raw: bytes | None = None) -> pd.DataFrame | None:
    """pyarrow's multi-threaded reader; None when the file needs the exact pandas path.

    Blank lines are kept as rows (so row numbers match the file): in a table of several
    columns pyarrow then refuses them, like ragged rows, and such files go to
    :func:`_parse_csv_fast` / :func:`_parse_csv_slow` instead. ``raw``, when given, is
    ``text`` encoded as UTF-8 already (parsed as it is).
    """
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is installed with pandas here
        return None
    try:
        header = header_fields(text, delimiter)
    except csv.Error:
        return None
    if not header:
        return None
    width = len(header)
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw if raw is not None else text.encode("utf-8")),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True),
            parse_options=pacsv.ParseOptions(
                ignore_empty_lines=False,
                delimiter=delimiter,
                newlines_in_values=(b'"' in raw) if raw is not None else ('"' in text),
                double_quote=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    if table.num_columns != width:
        return None
    as_str = pd.StringDtype("pyarrow", na_value=np.nan)
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): as_str}.get)
    frame.columns = pd.RangeIndex(width)
    return frame


def _parse_csv_fast(text: str, delimiter: str) -> pd.DataFrame:
    """pandas' C parser: keeps blank lines (so row numbers match the file)."""
    return pd.read_csv(
        io.StringIO(text),
        sep=delimiter,
        header=None,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        engine="c",
        quotechar='"',
        doublequote=True,
    )


def _parse_csv_slow(text: str, delimiter: str) -> pd.DataFrame:
    """The csv module for ragged files (rows longer than the header: their extra fields
    are folded into one, see :func:`fold_extra`)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    rows = [header, *(fold_extra(r, len(header)) for r in reader)]
    width = max((len(r) for r in rows), default=0)
    padded = [r + [""] * (width - len(r)) for r in rows]
    return pd.DataFrame(padded, columns=range(width), dtype=object)


def _strip_excel_sep_hint(text: str) -> tuple[str, str | None]:
    """Excel's "sep=;" first line names the delimiter; drop it."""
    newline = text.find("\n")
    first = text if newline < 0 else text[:newline]
    match = re.fullmatch(r"\s*sep=(.)\s*", first)
    if match:
        return ("" if newline < 0 else text[newline + 1 :]), match.group(1)
    return text, None


def read_csv_text(
    text: str, file_name: str, raw: bytes | None = None, *, limits: IngestLimits | None = None
) -> RawTable:
    """Parse CSV text into a :class:`RawTable` (delimiter sniffed, Excel's "sep=" line
    honoured), the header's width checked before the rest is parsed.

    Parameters
    ----------
    text : str
        The decoded file.
    file_name : str
        The name shown in messages.
    raw : bytes, optional
        The same text as UTF-8 bytes, when the caller has them (parsed as they are).
    limits : IngestLimits, optional
        The column limit checked on the header line; None: :meth:`IngestLimits.from_env`.

    Returns
    -------
    RawTable
        The table; rows longer than the header are marked ``too_many_fields``.

    Raises
    ------
    IngestError
        The text cannot be parsed; a :class:`~geo.errors.LimitExceeded` when the header
        has more columns than the limit.
    """
    given = text
    text = text.lstrip("\ufeff")
    text, hinted = _strip_excel_sep_hint(text)
    # Leading blank lines are not part of the table.
    text = _LEADING_BLANK.sub("", text)
    delimiter = hinted or sniff_delimiter(text)
    if not text or text.isspace():
        return RawTable(pd.DataFrame(), np.zeros(0, dtype=np.int64), "csv", delimiter=delimiter)
    _check_header_width(text, delimiter, file_name, limits or IngestLimits.from_env())
    grid = _parse_csv_arrow(text, delimiter, raw if text is given else None)
    if grid is None:
        try:
            grid = _parse_csv_fast(text, delimiter)
        except (pd.errors.ParserError, ValueError, OverflowError):
            try:
                grid = _parse_csv_slow(text, delimiter)
            except csv.Error as exc:
                raise IngestError(
                    f"{file_name}: không đọc được CSV: {exc}",
                    f"{file_name}: cannot parse CSV: {exc}",
                ) from exc
    return grid_to_table(grid, "csv", delimiter=delimiter)


def _read_decoded(data: bytes, file_name: str, limits: IngestLimits) -> RawTable:
    """A CSV file decoded whole (:func:`~geo.ingest._decode.decode_text`) and parsed."""
    text, encoding, exact = decode_text(data)
    table = read_csv_text(text, file_name, raw=data if exact else None, limits=limits)
    table.encoding = encoding
    return table


def _read_plain_utf8(data: bytes, file_name: str, limits: IngestLimits) -> RawTable | None:
    """:func:`read_csv_text` of a large UTF-8 file that needs no decoding, from its head:
    the same table without the file as one Python string; None for any other file (a BOM,
    another encoding, text to normalise, an Excel "sep=" line, leading blank lines, rows
    pyarrow refuses), which :func:`_read_decoded` reads as before.

    The head's first :data:`_PREFIX` characters must hold more than :data:`_SNIFF_LINES`
    line breaks and a header line without quotes (so the header is that line): then the
    delimiter sniffing and the header reading, which look at that prefix first and stop
    there, see exactly what they see in the whole text.
    """
    head = plain_utf8_head(data)
    if head is None or len(head) <= _PREFIX or len(_LINE_BREAK.findall(head, 0, _PREFIX)) <= _SNIFF_LINES:
        return None
    if '"' in _LINE_BREAK.split(head, maxsplit=1)[0]:
        return None
    if _strip_excel_sep_hint(head)[1] is not None or _LEADING_BLANK.match(head) or head.isspace():
        return None
    delimiter = sniff_delimiter(head)
    _check_header_width(head, delimiter, file_name, limits)
    grid = _parse_csv_arrow(head, delimiter, data)
    if grid is None:
        return None
    table = grid_to_table(grid, "csv", delimiter=delimiter)
    table.encoding = "utf-8"
    return table


def _check_header_width(text: str, delimiter: str, file_name: str, limits: IngestLimits) -> None:
    """Refuse a header line wider than the column limit before the file is parsed (the
    parsers' work grows with rows × columns; this reads the first record only)."""
    try:
        header = header_fields(text, delimiter)
    except csv.Error:
        return  # the parsers report it
    if len(header) > limits.max_columns:
        named = len(header)
        while named and not header[named - 1].strip():
            named -= 1
        limits.check_columns(len(header), file_name, empty_at_end=len(header) - named)


# --------------------------------------------------------------------------- dispatch


def sniff_format(data: bytes, file_name: str) -> str:
    """The format of a file from its name, confirmed by its first bytes.

    Parameters
    ----------
    data : bytes
        The file.
    file_name : str
        Its name.

    Returns
    -------
    str
        "xlsx", "geojson" or "csv".
    """
    lower = file_name.lower()
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if lower.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if lower.endswith((".geojson", ".json")):
        return "geojson"
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{") and b'"type"' in data[:2000]:
        return "geojson"
    return "csv"


def read_table(
    data: bytes,
    file_name: str,
    *,
    sheet: str | int | None = None,
    limits: IngestLimits | None = None,
) -> RawTable:
    """Read any supported incident file into a :class:`RawTable`, within the limits.

    Parameters
    ----------
    data : bytes
        The file.
    file_name : str
        The name shown in messages (and the first hint of the format).
    sheet : str or int, optional
        The Excel sheet; None: the first.
    limits : IngestLimits, optional
        None: :meth:`IngestLimits.from_env`.

    Returns
    -------
    RawTable
        The file as a table of text.

    Raises
    ------
    IngestError
        The file cannot be parsed, or is over a limit (:class:`~geo.errors.LimitExceeded`).
    """
    limits = limits or IngestLimits.from_env()
    limits.check_bytes(len(data), file_name)
    return parse_table(data, file_name, sheet=sheet, limits=limits)


def parse_table(
    data: bytes, file_name: str, *, sheet: str | int | None, limits: IngestLimits
) -> RawTable:
    """:func:`read_table` for bytes whose size the caller has checked already (the
    pipeline checks it before hashing them).

    Parameters
    ----------
    data, file_name, sheet :
        As for :func:`read_table`.
    limits : IngestLimits
        The row and cell limits checked here.

    Returns
    -------
    RawTable
        The file as a table of text.
    """
    kind = sniff_format(data, file_name)
    if kind == "xlsx":
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise IngestError(
                f"{file_name}: không phải tệp Excel .xlsx hợp lệ.",
                f"{file_name}: not a valid .xlsx workbook.",
            )
        table = read_xlsx(data, file_name, sheet, limits)
    elif kind == "geojson":
        text, encoding = decode_bytes(data)
        table = read_geojson(text.lstrip("\ufeff"), file_name)
        table.encoding = encoding
    else:
        table = _read_plain_utf8(data, file_name, limits) or _read_decoded(data, file_name, limits)
    limits.check_columns(table.frame.shape[1], file_name)  # GeoJSON: its properties
    limits.check_rows(len(table.frame), file_name)
    _mark_long_cells(table, limits)
    return table


def _mark_long_cells(table: RawTable, limits: IngestLimits) -> None:
    """Mark the rows holding a cell over the length limit ``cell_too_long`` (naming the
    column): one such cell rejects its row, not the file. A column whose longest cell
    in UTF-8 bytes is within the limit is passed over without counting characters."""
    n = len(table.frame)
    problems = table.row_problems if table.row_problems is not None else np.full(n, "", object)
    fields = table.problem_fields if table.problem_fields is not None else np.full(n, "", object)
    for column in table.frame.columns:
        values = table.frame[column]
        if _max_utf8_bytes(values) <= limits.max_cell_chars:
            continue  # no cell has more bytes, so none has more characters
        lengths = values.str.len().fillna(0).to_numpy(dtype=np.int64)
        new = (lengths > limits.max_cell_chars) & (problems == "")
        problems[new] = "cell_too_long"
        fields[new] = column
    table.row_problems = problems
    table.problem_fields = fields


def _max_utf8_bytes(values: pd.Series) -> float:
    """Longest cell in UTF-8 bytes (an upper bound of its characters); inf if unknown."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
        top = pc.max(pc.binary_length(arr)).as_py()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return float("inf")
    return 0.0 if top is None else float(top)
