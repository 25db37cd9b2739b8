"""The one-page ward report: data, PDF/PNG output, plain-text user strings, the CLI."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from geo.errors import NotFound
from geo.report import figure, render, ward_report_data, write_report
from tests._incidents import incident_frame, make_store
from tests._signin import ensure_account

HOSTILE = "$\\alpha$ <b>Ngõ</b> =1+1"


@pytest.fixture(scope="module")
def store(tmp_path_factory, wards):
    rows = [
        ("sidewalk", "reported", 21.0333, 105.8520, "00070", HOSTILE, "1", "2025-07-03T03:00Z"),
        ("sidewalk", "verified", 21.0334, 105.8521, "00070", HOSTILE, "2", "2025-07-04T03:00Z"),
    ]
    frames = [incident_frame(), incident_frame(rows, source="hostile")]
    return make_store(tmp_path_factory.mktemp("report") / "s.sqlite", wards, frames)


def test_report_data_holds_the_wards_figures(store, wards):
    data = ward_report_data(store, wards, "00070")
    assert data.name == "Phường Hoàn Kiếm"
    assert data.kpis["open"] == 3 and data.kpis["cleared"] == 1
    assert len(data.points) == 4
    assert data.streets["street"].iloc[0] == HOSTILE  # 2 open: ranked first
    assert set(data.streets["street"]) == {HOSTILE, "Hàng Mã"}
    with pytest.raises(NotFound):
        ward_report_data(store, wards, "99999")


def test_user_strings_are_plain_text(store, wards):
    fig = figure(ward_report_data(store, wards, "00070"), "vi")
    texts = [t for t in fig.texts if t.get_text() == HOSTILE]
    assert texts, "the street name is drawn as written"
    assert all(not t.get_parse_math() for t in texts)
    titles = [t for t in fig.texts if t.get_text() == "Phường Hoàn Kiếm"]
    assert titles and not titles[0].get_parse_math()


def test_pdf_and_png_render(store, wards, tmp_path):
    data = ward_report_data(store, wards, "00070")
    pdf = render(data, "pdf")
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    png = render(data, "png", "en")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    width, height = image.size
    assert height > width > 600  # A4 portrait
    empty = render(
        ward_report_data(store, wards, "00199"), "png"
    )  # one incident, no streets ranked
    assert empty != png
    out = write_report(data, tmp_path / "r.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        render(data, "docx")


def test_report_cli(store, tmp_path, capsys):
    from geo.cli import main

    out = tmp_path / "hk.pdf"
    assert (
        main(
            [
                "report",
                "--ward",
                "00070",
                "--out",
                str(out),
                "--database",
                store.url,
                "--user",
                ensure_account(store.url, "viewer"),
            ]
        )
        == 0
    )
    assert out.read_bytes().startswith(b"%PDF")
    assert "Phường Hoàn Kiếm (00070), 4 incidents" in capsys.readouterr().out
    by_name = tmp_path / "hk.png"
    assert (
        main(
            [
                "report",
                "--ward",
                "Hoàn Kiếm",
                "--out",
                str(by_name),
                "--database",
                store.url,
                "--lang",
                "en",
                "--user",
                ensure_account(store.url, "viewer"),
            ]
        )
        == 0
    )
    assert by_name.read_bytes()[:4] == b"\x89PNG"
    assert (
        main(
            [
                "report",
                "--ward",
                "00070",
                "--out",
                str(tmp_path / "x.docx"),
                "--database",
                store.url,
                "--user",
                ensure_account(store.url, "viewer"),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "report",
                "--ward",
                "Atlantis",
                "--out",
                str(out),
                "--database",
                store.url,
                "--user",
                ensure_account(store.url, "viewer"),
            ]
        )
        == 2
    )
    assert "Atlantis" in capsys.readouterr().err
