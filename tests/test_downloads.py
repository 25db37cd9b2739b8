"""The files geo/services/downloads.py builds, read back with the tools that open them:
column names a spreadsheet would run as formulas (``=cmd``, ``+1``, ``@x``, ``-2``, a
leading tab or CR) are made inert in the league table's CSV and XLSX and in the rejected
rows of an upload (issue 16 §4)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from geo import services
from geo.ingest import IngestOptions, preview
from tests._files import HEADER, ROWS
from tests._hostile import HOSTILE_HEADERS, inert


@pytest.fixture
def actors(store):
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    viewer = services.add_user(store, boss, "viewer", "viewer-password-1", ["viewer"])
    field = services.add_user(store, boss, "field", "field-password-12", ["field"])
    return store, viewer, field


def _league() -> pd.DataFrame:
    """A league table as the page hands it over: its own labels, then hostile names."""
    table = pd.DataFrame({"Hạng": [1, 2], "Mã": ["00070", "00199"], "Phường": ["Hoàn Kiếm", "=HYPERLINK(\"x\")"]})
    for i, name in enumerate(HOSTILE_HEADERS):
        table[name] = [i, -i]
    return table


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_league_csv_neutralises_hostile_column_names(actors):
    store, viewer, _ = actors
    header, first, second = _csv_rows(services.league_file(store, viewer, _league(), "csv"))
    assert inert(header), header
    assert header == ["Hạng", "Mã", "Phường", *("'" + h for h in HOSTILE_HEADERS)]
    assert second[2] == "'=HYPERLINK(\"x\")"  # cells too
    assert first[3:] == [str(i) for i in range(len(HOSTILE_HEADERS))]  # numbers stay numbers


def test_league_xlsx_neutralises_hostile_column_names(actors):
    store, viewer, _ = actors
    sheet = openpyxl.load_workbook(io.BytesIO(services.league_file(store, viewer, _league(), "xlsx"))).active
    header = [c.value for c in sheet[1]]
    assert inert(header), header
    # XML reads a stored CR back as LF; what matters is the leading apostrophe
    assert header == ["Hạng", "Mã", "Phường", *("'" + h.replace("\r", "\n") for h in HOSTILE_HEADERS)]
    assert all(c.data_type == "s" for c in sheet[1])  # text, never a formula
    assert [c.value for c in sheet[3]][3:] == [-i for i in range(len(HOSTILE_HEADERS))]


def test_rejected_rows_download_neutralises_hostile_column_names(actors, wards):
    store, _, field = actors
    buf = io.StringIO()
    rows = [[*r, *("x" * len(HOSTILE_HEADERS))] for r in ROWS]
    rows[0][1] = "không rõ"  # one rejected row
    rows[0][8] = "\r=1+1 ghi chú"  # a CR inside a cell must not split the row
    csv.writer(buf).writerows([HEADER + HOSTILE_HEADERS, *rows])
    p = preview(buf.getvalue().encode(), IngestOptions(file_name="hostile.csv", wards=wards))
    header, row = _csv_rows(services.rejected_rows_file(store, field, p))
    assert inert(header), header
    # the reader trims the blanks around a name ("\t=1+1" is read as "=1+1")
    assert header[-len(HOSTILE_HEADERS):] == ["'" + h.strip() for h in HOSTILE_HEADERS]
    assert row[:2] == ["1", "bad_coordinates"]
    assert row[5 + HEADER.index("Ghi chú")] == "'\r=1+1 ghi chú"
