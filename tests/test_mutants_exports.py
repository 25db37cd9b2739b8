"""Export mappings written out field by field, for mutation testing
(``python -m benchmarks.mutation --module exports``).

Expected values come from the formats: GeoReport v2 (Open311) asks for ``open``/``closed``,
local time with its offset (Hà Nội: +07:00), and null for what is unknown; XLSX cells hold
at most 32,767 characters and no XML 1.0 control characters; the project's labels are
the vocabulary's (``geo/vocab.py``: the terms the users see).
"""

from __future__ import annotations

import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest

from geo.errors import StorageError
from geo.exports import check_format, export, open311_requests, to_csv, to_xlsx, write
from geo.store import batches
from geo.store import wards as stored_wards
from tests._store_data import NO_UPDATES, WEST, batch, incidents, two_wards


def frame(**overrides) -> pd.DataFrame:
    row = {
        "id": 12,
        "ward_code": "00070",
        "type": "awning",
        "type_text": "Mái che",
        "status": "cleared",
        "note": "đã tháo",
        "address": "số 5 Hàng Bông",
        "lat": 21.0365,
        "lon": 105.849,
        "reported_at": pd.Timestamp("2025-03-03 02:00", tz="UTC"),
        "updated_at": pd.Timestamp("2025-03-04 17:30", tz="UTC"),
        "due_at": pd.Timestamp("2025-03-10 02:00", tz="UTC"),
    }
    row.update(overrides)
    return pd.DataFrame([row])


def test_open311_request_field_by_field():
    (request,) = open311_requests(frame(), {"00070": "Phường Hoàn Kiếm"})
    assert request == {
        "service_request_id": "12",
        "status": "closed",
        "status_notes": "cleared: Đã xử lý / Cleared",
        "service_code": "awning",
        "service_name": "Mái che, mái vảy / Awning / canopy",
        "description": "Mái che — đã tháo",
        "agency_responsible": "Phường Hoàn Kiếm",
        "service_notice": None,
        "requested_datetime": "2025-03-03T09:00:00+07:00",
        "updated_datetime": "2025-03-05T00:30:00+07:00",
        "expected_datetime": "2025-03-10T09:00:00+07:00",
        "address": "số 5 Hàng Bông",
        "address_id": None,
        "zipcode": None,
        "lat": 21.0365,
        "long": 105.849,
        "media_url": None,
    }


@pytest.mark.parametrize(
    ("status", "open_or_closed"),
    [("reported", "open"), ("verified", "open"), ("in_progress", "open"), ("cleared", "closed"),
     ("recurred", "closed")],
)  # fmt: skip
def test_open311_status_is_open_until_cleared(status, open_or_closed):
    (request,) = open311_requests(frame(status=status))
    assert request["status"] == open_or_closed


def test_open311_unknowns_are_null_and_unknown_codes_pass_through():
    (request,) = open311_requests(
        frame(
            status="odd", type="unheard-of", type_text="  ", note=None, ward_code=None,
            address=float("nan"), lat=float("nan"), lon=None, reported_at=pd.NaT,
            media_url="https://example.org/p.jpg",
        )
    )  # fmt: skip
    assert request["status"] == "open"
    assert request["status_notes"] == "odd"
    assert request["service_name"] == "unheard-of"
    assert request["description"] is None
    assert request["agency_responsible"] is None
    assert request["address"] is None
    assert request["lat"] is None and request["long"] is None
    assert request["requested_datetime"] is None
    assert request["media_url"] == "https://example.org/p.jpg"
    # a ward pandas reads as missing (NaN, as in a string column) is unknown too
    (request,) = open311_requests(
        frame(ward_code=float("nan"), media_url=float("nan")), {"00070": "Phường Hoàn Kiếm"}
    )
    assert request["agency_responsible"] is None
    assert request["media_url"] is None
    (request,) = open311_requests(frame(note=""))  # no names known: the ward's code
    assert request["description"] == "Mái che"
    assert request["agency_responsible"] == "00070"


def test_xlsx_cells_are_cut_to_excels_limit_and_lose_control_characters(tmp_path):
    long = "a" * 40_000
    path = to_xlsx(frame(note=long, address="x\x01y\x1fz\tw"), tmp_path / "o.xlsx", sheet="vụ việc")
    book = openpyxl.load_workbook(path)
    sheet = book["vụ việc"]
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert len(values["note"]) == 32_767 and values["note"].endswith("a…")
    # exactly Excel's limit fits: kept whole
    path = to_xlsx(frame(note="b" * 32_767), tmp_path / "exact.xlsx")
    header = [c.value for c in openpyxl.load_workbook(path)["incidents"][1]]
    note = openpyxl.load_workbook(path)["incidents"].cell(2, header.index("note") + 1).value
    assert note == "b" * 32_767
    assert values["address"] == "x\ufffdy\ufffdz\tw"  # tab is legal XML


def test_csv_puts_the_known_columns_first_and_writes_instants_as_iso(tmp_path):
    data = frame(extra="e")[["extra", "lon", "lat", "status", "id", "reported_at"]]
    text = to_csv(data, tmp_path / "o.csv").read_bytes().decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "id,status,reported_at,lat,lon,extra"
    assert lines[1] == "12,cleared,2025-03-03T02:00:00+00:00,21.0365,105.849,e"


def test_write_adds_the_ward_name_after_the_id(tmp_path):
    path = write(frame(), "csv", tmp_path / "o.csv", ward_names={"00070": "Phường Hoàn Kiếm"})
    header, row = path.read_bytes().decode("utf-8-sig").split("\r\n")[:2]
    assert header.split(",")[:3] == ["id", "ward_code", "ward_name"]
    assert row.split(",")[2] == "Phường Hoàn Kiếm"


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv", "xlsx", "open311"])
def test_the_five_formats_are_accepted(fmt):
    assert check_format(fmt) == fmt


def test_an_unknown_format_is_refused_in_both_languages():
    with pytest.raises(StorageError) as err:
        check_format("pdf")
    formats = "gpkg, geojson, csv, xlsx, open311"
    assert err.value.message_vi == f"Định dạng xuất không hỗ trợ 'pdf'; dùng một trong: {formats}."
    assert err.value.message_en == f"Unsupported export format 'pdf'; use one of: {formats}."


def points(**overrides) -> gpd.GeoDataFrame:
    data = frame(**overrides)
    return gpd.GeoDataFrame(data, geometry=gpd.points_from_xy(data["lon"], data["lat"]), crs=4326)


def test_the_format_asked_for_decides_not_the_file_name(tmp_path):
    """``write``'s ``fmt`` picks the format; the name is only where the file goes (a user
    may save a GeoJSON download as ``.txt``)."""
    gpkg = write(points(), "gpkg", tmp_path / "for-qgis.txt")
    assert gpkg.read_bytes()[:16] == b"SQLite format 3\x00"  # a GeoPackage is a SQLite file
    back = pyogrio.read_dataframe(gpkg)
    assert back["note"].tolist() == ["đã tháo"]
    path = write(points(), "geojson", tmp_path / "for-the-web.txt")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    (feature,) = data["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [105.849, 21.0365]}
    assert feature["properties"]["note"] == "đã tháo"


def test_open311_file_is_utf8_text_with_the_names_as_written(tmp_path):
    """to_open311 writes UTF-8 (its docstring): Vietnamese names stay readable in the
    file, not as ``\\uXXXX`` escapes, and the file reads back as the requests."""
    names = {"00070": "Phường Hoàn Kiếm"}
    path = write(frame(), "open311", tmp_path / "o.json", ward_names=names)
    raw = path.read_bytes()
    assert "Phường Hoàn Kiếm".encode() in raw
    assert b"\\u" not in raw
    assert json.loads(raw.decode("utf-8")) == open311_requests(frame(), names)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_gis_formats_write_instants_as_iso_text_and_missing_values_as_null(fmt, tmp_path):
    """GIS exports: instants become ISO 8601 text (to_gpkg/to_geojson docstrings), the
    store's nullable integers and flags plain numbers and booleans, missing ones null."""
    data = points()
    data["photos"] = pd.array([3], dtype="Int64")
    data["verified"] = pd.array([True], dtype="boolean")
    more = points(id=13)
    more["photos"] = pd.array([None], dtype="Int64")
    more["verified"] = pd.array([None], dtype="boolean")
    both = pd.concat([data, more], ignore_index=True)
    both["due_at"] = pd.Series([pd.NaT, pd.Timestamp("2025-03-10 02:00", tz="UTC")])
    assert isinstance(both["due_at"].dtype, pd.DatetimeTZDtype)  # as read from the store
    path = write(both, fmt, tmp_path / f"o.{fmt}")
    if fmt == "geojson":
        rows = [f["properties"] for f in json.loads(path.read_text(encoding="utf-8"))["features"]]
    else:
        rows = pyogrio.read_dataframe(path).drop(columns="geometry").to_dict("records")
    first, second = rows
    assert first["reported_at"] == "2025-03-03T02:00:00+00:00"
    assert first["updated_at"] == "2025-03-04T17:30:00+00:00"
    assert pd.isna(first["due_at"])  # null (GeoJSON) / missing (GeoPackage)
    assert second["due_at"] == "2025-03-10T02:00:00+00:00"
    assert (int(first["photos"]), str(first["verified"]) in ("True", "1")) == (3, True)
    assert pd.isna(second["photos"]) and pd.isna(second["verified"])
    assert first["note"] == "đã tháo" and first["id"] == 12


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv"])
def test_photo_columns_go_to_the_gis_formats_only(store, fmt, tmp_path, monkeypatch):
    """with_photos: GeoPackage and GeoJSON get ``n_photos`` and ``photo_flags`` (0 and ""
    without photos); CSV gets neither, and no ``media_url`` even when GEO_PUBLIC_MEDIA_URL
    says where thumbnails are public (that is for Open311 only)."""
    monkeypatch.setenv("GEO_PUBLIC_MEDIA_URL", "https://example.org/media")
    stored_wards.ensure(store, two_wards())
    batches.commit_batch(store, batch(), incidents([{"ward_code": WEST}]), NO_UPDATES, actor="t")
    path = export(store, fmt, tmp_path / f"o.{fmt}")
    if fmt == "csv":
        header = path.read_bytes().decode("utf-8-sig").split("\r\n")[0].split(",")
        assert {"n_photos", "photo_flags", "media_url"}.isdisjoint(header)
        return
    (row,) = pyogrio.read_dataframe(path).to_dict("records")
    assert int(row["n_photos"]) == 0
    assert row["photo_flags"] in ("", None)


def _two_stored(store):
    stored_wards.ensure(store, two_wards())
    rows = [{"ward_code": WEST, "note": "một"}, {"ward_code": WEST, "note": "hai"}]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="t")
    return store


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_export_as_bytes_carries_the_ward_names_and_the_limit(store):
    """export(): the stored ward's name beside its code also when the file is returned as
    bytes, and ``limit`` keeps the lowest ids only."""
    _two_stored(store)
    rows = _csv_rows(export(store, "csv"))
    assert [r["ward_name"] for r in rows] == ["Phường Tây", "Phường Tây"]
    (first,) = _csv_rows(export(store, "csv", limit=1))
    assert (first["note"], first["ward_name"]) == ("một", "Phường Tây")
    (request, _) = json.loads(export(store, "open311"))
    assert request["agency_responsible"] == "Phường Tây"


def test_tabular_exports_drop_the_geometry_and_leave_missing_instants_empty(tmp_path):
    data = points(cleared_at=pd.NaT)
    data["cleared_at"] = pd.Series([pd.NaT], dtype="datetime64[ns, UTC]")
    (row,) = _csv_rows(to_csv(data, tmp_path / "o.csv").read_bytes())
    assert "geometry" not in row
    assert row["cleared_at"] == ""  # not "NaT"
    assert row["reported_at"] == "2025-03-03T02:00:00+00:00"
    book = openpyxl.load_workbook(to_xlsx(data, tmp_path / "o.xlsx"))["incidents"]
    header = [c.value for c in book[1]]
    assert "geometry" not in header
    assert book.cell(2, header.index("cleared_at") + 1).value is None


def test_write_keeps_a_ward_name_the_frame_already_has(tmp_path):
    data = frame(ward_name="Tên đã có")
    path = write(data, "csv", tmp_path / "o.csv", ward_names={"00070": "Phường Hoàn Kiếm"})
    (row,) = _csv_rows(path.read_bytes())
    assert row["ward_name"] == "Tên đã có"


def test_text_columns_with_missing_cells_are_neutralised_too():
    """A note column with an empty cell is still text (object dtype, not all strings)."""
    from geo.exports import neutralise_frame

    notes = pd.Series(["=1+1", None, "@x"], dtype=object)  # as the store reads a text column
    out = neutralise_frame(pd.DataFrame({"note": notes, "n": [1, 2, 3]}))
    assert out["note"][0] == "'=1+1" and pd.isna(out["note"][1]) and out["note"][2] == "'@x"
    assert out["n"].tolist() == [1, 2, 3]
