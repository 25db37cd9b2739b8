"""Reading incident files as they come: CSV in five encodings, Excel, GeoJSON.

Everything is read as text (no type guessing by pandas: "0123" must stay "0123" and
"21,0365" must not become a thousands number), normalised to NFC, and handed on as one
frame of strings with the data rows' numbers. Structural problems of single rows (too
many fields, a non-point geometry) are recorded per row, never dropped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import IngestError
from geo.ingest._limits import IngestLimits
from geo.names import ascii_key

DELIMITERS = (",", ";", "\t", "|")

#: Column names given to a GeoJSON feature's point coordinates.
GEOM_X = "__geometry_x"
GEOM_Y = "__geometry_y"

# Toned Vietnamese vowels that no Western code page has: after a cp1258 decode they can only
# come from a base letter plus a combining tone mark composed by NFC. (ă, đ, ơ, ư are left
# out: their cp1258 bytes are ã, ð, õ, ý in cp1252, common in Western text.)
_VIET_ONLY = set(
    "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịĩọỏốồổỗộớờởỡợụủũứừửữựỳỵỷỹ"
    "ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊĨỌỎỐỒỔỖỘỚỜỞỠỢỤỦŨỨỪỬỮỰỲỴỶỸ"
)


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


# --------------------------------------------------------------------------- decoding


def _nul_pattern_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte is NUL in ASCII-heavy text."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / max(1, len(sample[0::2]))
    odd_nul = sample[1::2].count(0) / max(1, len(sample[1::2]))
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _vietnamese_score(text: str) -> int:
    """Vietnamese-only letters minus stray combining marks (the sign of a wrong guess)."""
    viet = sum(1 for ch in text if ch in _VIET_ONLY)
    stray = sum(1 for ch in text if unicodedata.combining(ch))
    return viet - 2 * stray


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a text file and return (NFC text, encoding name)."""
    text, encoding, _ = _decode(data)
    return text, encoding


def _decode(data: bytes) -> tuple[str, str, bool]:
    """:func:`decode_bytes` plus whether the text is exactly ``data`` read as UTF-8 (then
    the bytes can go to pyarrow as they are, without encoding the text again).

    Order: a BOM decides; then strict UTF-8 (which random legacy bytes almost never pass);
    then a choice between Windows-1258 and Windows-1252 by which one gives Vietnamese
    letters and no stray combining marks.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    elif data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        text, encoding = data.decode("utf-32", errors="replace"), "utf-32"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = data.decode("utf-16", errors="replace"), "utf-16"
    elif (guess := _nul_pattern_utf16(data)) is not None:
        text, encoding = data.decode(guess, errors="replace"), guess
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _decode_legacy(data)
    decoded = text
    text = unicodedata.normalize("NFC", text.replace("\x00", ""))
    # CPython returns the very same object when neither step changes anything
    return text, encoding, encoding == "utf-8" and text is decoded


def _decode_legacy(data: bytes) -> tuple[str, str]:
    candidates: list[tuple[int, int, str, str]] = []
    for encoding in ("cp1258", "cp1252"):
        try:
            text = data.decode(encoding)
            failures = 0
        except UnicodeDecodeError:
            text = data.decode(encoding, errors="replace")
            failures = text.count("\ufffd")
        if encoding == "cp1258":
            score = _vietnamese_score(unicodedata.normalize("NFC", text))
            # cp1258 must earn its place: a positive Vietnamese score.
            merit = score if score > 0 else -1
        else:
            merit = 0
        candidates.append((failures, -merit, encoding, text))
    failures, _, encoding, text = min(candidates, key=lambda c: (c[0], c[1]))
    if failures:
        try:  # last resort that never fails: the charset detector's best guess
            from charset_normalizer import from_bytes

            best = from_bytes(data).best()
            if best is not None and best.encoding:
                return str(best), str(best.encoding)
        except Exception:  # the detector is a helper, not a requirement
            pass
    return text, encoding


# --------------------------------------------------------------------------- CSV


_QUOTED = re.compile(r'"[^"]*"')
_LEADING_BLANK = re.compile(r"\A(?:[ \t]*\r?\n)+")


def _head_lines(text: str, count: int) -> list[str]:
    """``text.splitlines()[:count]`` without splitting a whole 200 MB file."""
    size = 65_536
    while size < len(text):
        cut = text.rfind("\n", 0, size)
        if cut > 0:
            lines = text[:cut].splitlines()
            if len(lines) > count:
                return lines[:count]
        size *= 4
    return text.splitlines()[:count]


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: the candidate that splits the header most, then data."""
    lines = [line for line in _head_lines(text, 50) if line.strip()]
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
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration):
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
    frame = table.to_pandas(types_mapper={pa.string(): as_str}.get)
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
    """The csv module for ragged files (rows longer than the header)."""
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
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


def read_csv_text(text: str, file_name: str, raw: bytes | None = None) -> RawTable:
    """Parse CSV text into a :class:`RawTable` (delimiter sniffed). ``raw``: the same text
    as UTF-8 bytes, when the caller has them."""
    given = text
    text = text.lstrip("\ufeff")
    text, hinted = _strip_excel_sep_hint(text)
    # Leading blank lines are not part of the table.
    text = _LEADING_BLANK.sub("", text)
    delimiter = hinted or sniff_delimiter(text)
    if not text or text.isspace():
        return RawTable(pd.DataFrame(), np.zeros(0, dtype=np.int64), "csv", delimiter=delimiter)
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
    return _grid_to_table(grid, "csv", delimiter=delimiter)


def _unique_headers(raw: list[str]) -> list[str]:
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


def _grid_to_table(grid: pd.DataFrame, file_format: str, **info: Any) -> RawTable:
    """First row = header; drop wholly blank rows and trailing unnamed empty columns."""
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
    body.columns = pd.Index(_unique_headers(header), dtype=object)
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


# --------------------------------------------------------------------------- Excel


def _cell_text(value: Any) -> str:
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
    """Worksheet names of an .xlsx file, in workbook order."""
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
    """Read one worksheet of an .xlsx workbook (the first unless ``sheet`` names one)."""
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
            [unicodedata.normalize("NFC", _cell_text(v)) for v in row]
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
    table = _grid_to_table(grid, "xlsx", sheet=chosen, sheets=names)
    return table


# --------------------------------------------------------------------------- GeoJSON


def _property_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _cell_text(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _geojson_crs(doc: dict[str, Any]) -> Any:
    """The legacy ``crs`` member (GeoJSON 2008) if any; RFC 7946 files are EPSG:4326."""
    member = doc.get("crs")
    if not isinstance(member, dict):
        return None
    props = member.get("properties") or {}
    name = props.get("name") if isinstance(props, dict) else None
    return name or None


def read_geojson(text: str, file_name: str) -> RawTable:
    """Read GeoJSON point features: properties become columns, coordinates two more."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise IngestError(
            f"{file_name}: GeoJSON không hợp lệ: {exc}", f"{file_name}: invalid GeoJSON: {exc}"
        ) from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    elif isinstance(doc, dict) and isinstance(doc.get("features"), list):
        features = doc["features"]
    else:
        raise IngestError(
            f"{file_name}: không phải FeatureCollection GeoJSON.",
            f"{file_name}: not a GeoJSON FeatureCollection.",
        )
    records: list[dict[str, str]] = []
    xs = np.full(len(features), np.nan)
    ys = np.full(len(features), np.nan)
    problems = np.full(len(features), "", dtype=object)
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            records.append({})
            problems[i] = "geometry_not_point"
            continue
        props = feature.get("properties")
        records.append(
            {str(k): _property_text(v) for k, v in props.items()} if isinstance(props, dict)
            else {}
        )
        geom = feature.get("geometry")
        if geom is None:
            continue  # the properties may still carry coordinates
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        kind = geom.get("type") if isinstance(geom, dict) else None
        if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
            kind, coords = "Point", coords[0]
        if kind != "Point" or not isinstance(coords, list) or len(coords) < 2:
            problems[i] = "geometry_not_point"
            continue
        try:
            xs[i], ys[i] = float(coords[0]), float(coords[1])
        except (TypeError, ValueError):
            problems[i] = "geometry_not_point"
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame = frame.reindex(range(len(features)))
    frame = frame.astype(object).fillna("")
    frame.columns = pd.Index(_unique_headers([str(c) for c in frame.columns]), dtype=object)
    for column in frame.columns:
        frame[column] = frame[column].astype(str)
    if not np.isnan(xs).all():  # else the properties must carry the coordinates
        frame[GEOM_X] = [repr(float(v)) if v == v else "" for v in xs]
        frame[GEOM_Y] = [repr(float(v)) if v == v else "" for v in ys]
    return RawTable(
        frame,
        np.arange(1, len(features) + 1, dtype=np.int64),
        "geojson",
        encoding="utf-8",
        geometry_crs=_geojson_crs(doc) if isinstance(doc, dict) else None,
        row_problems=problems,
    )


# --------------------------------------------------------------------------- dispatch


def sniff_format(data: bytes, file_name: str) -> str:
    """"xlsx", "geojson" or "csv" from the name, confirmed by the first bytes."""
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
    """Read any supported incident file into a :class:`RawTable`, within the limits."""
    limits = limits or IngestLimits.from_env()
    limits.check_bytes(len(data), file_name)
    return parse_table(data, file_name, sheet=sheet, limits=limits)


def parse_table(
    data: bytes, file_name: str, *, sheet: str | int | None, limits: IngestLimits
) -> RawTable:
    """:func:`read_table` for bytes whose size the caller has checked already (the
    pipeline checks it before hashing them)."""
    kind = sniff_format(data, file_name)
    if kind == "xlsx":
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise IngestError(
                f"{file_name}: không phải tệp Excel .xlsx hợp lệ.",
                f"{file_name}: not a valid .xlsx workbook.",
            )
        table = read_xlsx(data, file_name, sheet)
    elif kind == "geojson":
        text, encoding = decode_bytes(data)
        table = read_geojson(text.lstrip("\ufeff"), file_name)
        table.encoding = encoding
    else:
        text, encoding, exact = _decode(data)
        table = read_csv_text(text, file_name, raw=data if exact else None)
        table.encoding = encoding
    limits.check_rows(len(table.frame), file_name)
    _check_cells(table, limits, file_name)
    return table


def _check_cells(table: RawTable, limits: IngestLimits, file_name: str) -> None:
    for column in table.frame.columns:
        values = table.frame[column]
        if _max_utf8_bytes(values) <= limits.max_cell_chars:
            continue  # no cell has more bytes, so none has more characters
        lengths = values.str.len().to_numpy()
        if len(lengths) and lengths.max() > limits.max_cell_chars:
            at = int(np.argmax(lengths))
            limits.check_cell(int(lengths[at]), file_name, int(table.row_numbers[at]), column)


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
