"""File-wide limits are checked before the work they bound (issue 11 §5).

Each case is bounded without timing: by the memory a subprocess's peak grows while the
file is refused, or by counting what the reader read before it stopped.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import openpyxl
import pytest
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from geo.errors import LimitExceeded
from geo.ingest import IngestLimits, IngestOptions, _readers, preview
from tests._files import HEADER, ROWS, csv_text

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: Refuses one file in a fresh interpreter and reports how far its peak memory grew
#: while doing so (ru_maxrss is the peak: anything read whole shows up in it).
_REFUSE = """
import json, resource, sys
from geo.errors import LimitExceeded
from geo.ingest import IngestOptions, preview

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    preview(sys.argv[1], IngestOptions())
    error = None
except LimitExceeded as exc:
    error = str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_mb": (after - before) / 1024, "error": error}))
"""


def _refuse_in_subprocess(path, **env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GEO_INGEST_")}
    done = subprocess.run(
        [sys.executable, "-c", _REFUSE, str(path)],
        cwd=REPO, env={**environ, **env}, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_file_over_the_size_limit_is_refused_without_being_read(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # 600 MB of holes: nothing on disk, all of it to read
        handle.write(csv_text().encode())
        handle.truncate(600 * 2**20)
    report = _refuse_in_subprocess(path)
    assert report["error"] is not None and "536,870,912 bytes" in report["error"]
    assert "huge.csv" in report["error"]
    assert report["grew_mb"] < 100, report  # the 600 MB were never in memory


def test_a_stream_over_the_size_limit_is_read_one_byte_past_it(wards):
    data = csv_text().encode()

    asked: list[int] = []

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            asked.append(-1 if size is None else size)
            return super().read(size)

    stream = Counting(data * 100)
    with pytest.raises(LimitExceeded, match="larger than the limit of 1,000 bytes"):
        preview(stream, IngestOptions(file_name="s.csv", wards=wards,
                                      limits=IngestLimits(max_bytes=1000)))  # fmt: skip
    assert asked == [1001] and stream.tell() == 1001


@pytest.mark.parametrize("given_as", ["path", "open file"])
def test_a_small_file_is_not_read_into_a_buffer_the_size_of_the_limit(tmp_path, wards, given_as):
    """``read(limit + 1)`` on a file allocates the whole limit up front (512 MB by default),
    whatever the file's size; a few rows must cost a few kilobytes."""
    import tracemalloc

    path = tmp_path / "small.csv"
    path.write_bytes(csv_text().encode())
    limits = IngestLimits(max_bytes=256 * 2**20)
    options = IngestOptions(file_name="small.csv", wards=wards, limits=limits)
    preview(path.read_bytes(), options)  # layers and caches loaded before measuring
    with path.open("rb") as handle:
        tracemalloc.start()
        try:
            preview(path if given_as == "path" else handle, options)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 64 * 2**20, peak


def test_a_header_over_the_column_limit_is_refused_before_parsing(tmp_path):
    # 100,000 columns in 1.3 MB: parsed first, this took 54 s and 1.7 GB before the
    # row limit could say anything.
    header = ",".join(f"c{i}" for i in range(100_000))
    row = ",".join("1" for _ in range(100_000))
    path = tmp_path / "wide.csv"
    path.write_text("\n".join([header, row, row, row]) + "\n", encoding="utf-8")
    report = _refuse_in_subprocess(path)
    assert report["error"] is not None
    assert "the header has 100,000 columns, over the limit of 500 columns" in report["error"]
    assert "GEO_INGEST_MAX_COLUMNS" in report["error"] and "wide.csv" in report["error"]
    assert report["grew_mb"] < 150, report


def test_the_column_limit_reads_the_header_line_only(tmp_path, wards, monkeypatch):
    parsed = []
    for name in ("_parse_csv_arrow", "_parse_csv_fast", "_parse_csv_slow"):
        original = getattr(_readers, name)

        def counted(*args, _original=original, **kwargs):
            parsed.append(args)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_readers, name, counted)
    path = tmp_path / "wide.csv"
    path.write_text(csv_text(header=[*HEADER, *(f"x{i}" for i in range(600))]), encoding="utf-8")
    with pytest.raises(LimitExceeded, match="the header has 609 columns") as err:
        preview(path, IngestOptions(wards=wards))
    assert "dòng tiêu đề có 609 cột" in err.value.message_vi
    assert parsed == []  # refused before any parser ran
    monkeypatch.setenv("GEO_INGEST_MAX_COLUMNS", "1000")
    assert preview(path, IngestOptions(wards=wards)).summary()["accepted"] == 3
    assert parsed  # within the limit, the file is parsed as before


def test_an_exported_sheet_with_empty_columns_is_told_what_to_do(tmp_path, wards):
    path = tmp_path / "excel.csv"
    path.write_text(csv_text().replace("\r\n", "," * 700 + "\r\n"), encoding="utf-8")
    with pytest.raises(LimitExceeded) as err:
        preview(path, IngestOptions(wards=wards))
    assert "the header has 709 columns" in err.value.message_en
    assert "The last 700 have no header: delete the empty columns" in err.value.message_en
    assert "700 cột cuối không có tiêu đề" in err.value.message_vi


def test_a_data_row_of_many_fields_stays_one_rejected_row(tmp_path, wards, monkeypatch):
    widths = []
    grid_to_table = _readers.grid_to_table

    def counted(grid, *args, **kwargs):
        widths.append(grid.shape[1])
        return grid_to_table(grid, *args, **kwargs)

    monkeypatch.setattr(_readers, "grid_to_table", counted)
    lines = csv_text().split("\r\n")
    lines[2] += "," + ",".join("z" for _ in range(50_000))  # row 2: 50,000 extra fields
    path = tmp_path / "ragged.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    p = preview(path, IngestOptions(wards=wards))
    assert widths == [len(HEADER) + 1]  # the extra fields folded into one, not 50,000 columns
    assert p.original.shape[1] == len(HEADER)
    assert p.rows.set_index("row")["reason"].to_dict() == {1: "", 2: "too_many_fields", 3: ""}


def _xlsx(rows: int, *, title: bool = True) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Tháng 7")
    if title:
        sheet.append(["Danh sách vi phạm tháng 7"])
    sheet.append(HEADER)
    for i in range(rows):
        row = ROWS[i % 3]
        sheet.append([f"{row[0]}-{i}", *row[1:]])
        if i % 10 == 0:
            sheet.append([])  # blank rows are counted in the row numbers, not as data
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def rows_parsed(monkeypatch):
    """How many sheet rows openpyxl parsed (every row the reader asked for)."""
    parsed = []
    original = ReadOnlyWorksheet._get_row

    def counted(self, *args, **kwargs):
        parsed.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ReadOnlyWorksheet, "_get_row", counted)
    return parsed


def test_an_excel_sheet_over_the_row_limit_stops_at_the_limit(wards, rows_parsed):
    data = _xlsx(5_000)
    limit = 200
    with pytest.raises(LimitExceeded, match="more than 200 rows") as err:
        preview(data, IngestOptions(file_name="thang7.xlsx", wards=wards,
                                    limits=IngestLimits(max_rows=limit)))  # fmt: skip
    assert "thang7.xlsx" in str(err.value) and "hơn 200 dòng" in err.value.message_vi
    # title + header + the data rows up to the first over the limit, and the blank rows
    # among them: nowhere near the 5,500 rows of the sheet
    blank = limit // 10 + 1
    assert len(rows_parsed) <= 2 + (limit + 1) + blank


def test_an_excel_sheet_within_the_limit_keeps_its_row_numbers(wards, rows_parsed):
    p = preview(_xlsx(25), IngestOptions(file_name="t.xlsx", wards=wards,
                                         limits=IngestLimits(max_rows=25)))  # fmt: skip
    assert len(p.rows) == 25
    # a blank row follows data rows 1, 12 and 23: the rows after them are numbered on
    assert p.rows["row"].tolist()[:3] == [1, 3, 4]
    assert p.rows["row"].tolist()[-1] == 28
    assert p.sheet == "Tháng 7" and list(p.original.columns) == HEADER
    assert len(rows_parsed) <= 2 + 25 + 3
