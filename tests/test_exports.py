"""Exports read back with the tools that will open them: pyogrio, csv, openpyxl, json."""

from __future__ import annotations

import csv
import json

import openpyxl
import pandas as pd
import pyogrio
import pytest

from geo.errors import StorageError
from geo.exports import FORMATS, export, neutralise, neutralise_frame, write
from geo.store import IncidentFilter, batches
from geo.store import wards as stored_wards
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, ts, two_wards

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.fixture
def exported(store):
    stored_wards.ensure(store, two_wards())
    rows = [
        {"ward_code": WEST, "note": text, "type_text": "Lấn chiếm vỉa hè", "address": f"số {i}"}
        for i, text in enumerate(HOSTILE, start=1)
    ]
    rows.append({"ward_code": EAST, "status": "cleared", "cleared_at": ts("2025-03-04 10:00"),
                 "type": "awning", "note": "bình thường", "address": "x\x00y" + "z" * 40_000})
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="t")
    return store


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+84 912", "'+84 912"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"),
     ("\rx", "'\rx"), ("a=1", "a=1"), ("", ""), (-5, -5), (None, None), ("Hàng Bông", "Hàng Bông")],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_neutralise_frame_returns_a_new_frame():
    frame = pd.DataFrame({"a": ["=1", "ok"], "n": [-1, 2]})
    out = neutralise_frame(frame)
    assert out["a"].tolist() == ["'=1", "ok"] and out["n"].tolist() == [-1, 2]
    assert frame["a"].tolist() == ["=1", "ok"]


def test_gpkg_opens_with_pyogrio(exported, tmp_path):
    path = export(exported, "gpkg", tmp_path / "out.gpkg")
    assert pyogrio.list_layers(path).tolist() == [["incidents", "Point"]]
    back = pyogrio.read_dataframe(path)
    assert len(back) == 7 and back.crs.to_epsg() == 4326
    assert back["note"].tolist()[:6] == HOSTILE  # GIS formats keep the text as written
    assert back["ward_name"].tolist()[0] == "Phường Tây"
    assert back.geometry.x.iloc[0] == pytest.approx(105.805)


def test_geojson(exported, tmp_path):
    path = export(exported, "geojson", tmp_path / "out.geojson", IncidentFilter(wards=(EAST,)))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["features"]) == 1
    props = data["features"][0]["properties"]
    assert props["status"] == "cleared" and props["ward_code"] == EAST
    assert data["features"][0]["geometry"]["type"] == "Point"


def test_csv_neutralises_formulas(exported, tmp_path):
    path = export(exported, "csv", tmp_path / "out.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["note"] for r in rows[:6]] == ["'" + h for h in HOSTILE]
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert rows[0]["type_text"] == "Lấn chiếm vỉa hè"


def test_xlsx_holds_text_not_formulas(exported, tmp_path):
    path = export(exported, "xlsx", tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    note = header.index("note") + 1
    cells = [sheet.cell(row=r, column=note) for r in range(2, 9)]
    assert all(c.data_type == "s" for c in cells)
    # XML reads a stored CR back as LF; what matters is the leading apostrophe
    assert [c.value for c in cells[:6]] == ["'" + h.replace("\r", "\n") for h in HOSTILE]
    address = sheet.cell(row=8, column=header.index("address") + 1).value
    assert "\x00" not in address and len(address) <= 32_767
    assert address.startswith("x\ufffdy")  # the NUL is replaced (the store does it, or the export)


def test_open311_mapping(exported, tmp_path):
    path = export(exported, "open311", tmp_path / "out.json", IncidentFilter(statuses=("cleared",)))
    (request,) = json.loads(path.read_text(encoding="utf-8"))
    assert request["status"] == "closed"
    assert request["status_notes"].startswith("cleared")
    assert request["service_code"] == "awning" and "Awning" in request["service_name"]
    assert request["agency_responsible"] == "Phường Đông"
    assert request["requested_datetime"] == "2025-03-03T09:00:00+07:00"
    assert request["expected_datetime"] == "2025-03-10T09:00:00+07:00"  # awning: 7 days
    assert request["description"] == "Lấn chiếm vỉa hè — bình thường"
    assert (request["lat"], request["long"]) == (21.005, 105.815)
    assert set(request) >= {
        "service_request_id", "status", "status_notes", "service_code", "service_name",
        "description", "agency_responsible", "requested_datetime", "updated_datetime",
        "expected_datetime", "address", "lat", "long", "media_url",
    }
    open_one = json.loads(export(exported, "open311", tmp_path / "o.json", limit=1).read_text())[0]
    assert open_one["status"] == "open" and open_one["status_notes"].startswith("reported")


def test_export_returns_bytes_without_out_and_refuses_unknown_formats(exported):
    data = export(exported, "csv")
    assert isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf")
    with pytest.raises(StorageError):
        export(exported, "shp")
    assert set(FORMATS) == {"gpkg", "geojson", "csv", "xlsx", "open311"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_column_names_are_neutralised_too(exported, fmt, tmp_path):
    """A column name is a cell of the first row: one that reads as a formula is made inert
    like any other cell (the rule in geo.exports), read back with csv and openpyxl."""
    from geo.store import queries
    from tests._hostile import HOSTILE_HEADERS, inert

    frame = queries.incidents(exported)
    for i, name in enumerate(HOSTILE_HEADERS):
        frame[name] = f"giá trị {i}"
    path = write(frame, fmt, tmp_path / f"named.{fmt}")
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh))
    else:
        header = [c.value for c in openpyxl.load_workbook(path).active[1]]
    assert inert(header), header
    written = ["'" + h for h in HOSTILE_HEADERS]
    if fmt == "xlsx":  # XML reads a stored CR back as LF
        written = [h.replace("\r", "\n") for h in written]
    assert header[-len(HOSTILE_HEADERS):] == written
    assert header[:3] == ["id", "ward_code", "type"]  # ordinary names as they are
