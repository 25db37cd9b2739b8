"""Reading photos: the four formats, and every hostile file refused with a named reason."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from geo.errors import IngestError, LimitExceeded
from geo.photos import load_photo, sniff_format
from geo.photos.process import PhotoSource, read_source
from geo.photos.read import check_polyglot, open_image
from tests._photos import INCIDENT, jpeg_with_segment, make_photo, zip_bytes

FORMATS = ["jpeg", "png", "webp", "heif"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_read_with_its_exif(fmt):
    lat, lon = INCIDENT
    data = make_photo(fmt, lat=lat, lon=lon, taken="2025:09:01 10:11:12", offset="+07:00")
    photo = load_photo(data, f"IMG_0001.{fmt}")
    info = photo.info
    assert info.format == fmt
    assert (info.width, info.height) == (64, 48)
    assert info.meta.lat == pytest.approx(lat, abs=1e-7)
    assert info.meta.lon == pytest.approx(lon, abs=1e-7)
    assert info.meta.taken_at == datetime(2025, 9, 1, 10, 11, 12, tzinfo=timezone(timedelta(hours=7)))
    assert len(info.sha256) == 64 and len(info.phash) == 16
    assert Image.open(io.BytesIO(photo.thumbnail)).format == "JPEG"


def test_format_comes_from_the_bytes_not_the_name():
    png = make_photo("png")
    assert load_photo(png, "looks_like.jpg").info.format == "png"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"GIF89a" + b"\0" * 100, "GIF"),
        (b"BM" + b"\0" * 100, "BMP"),
        (b"II*\x00" + b"\0" * 100, "TIFF"),
        (b"%PDF-1.7\n" + b"\0" * 100, "PDF"),
        (b"PK\x03\x04" + b"\0" * 100, "ZIP"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b"\0\0\0\x18ftypavif\0\0\0\0avifmif1", "AVIF"),
        (b"\0\0\0\x18ftypisom\0\0\0\0isomiso2", "video"),
        (bytes(range(256)) * 4, "unknown"),
    ],
)
def test_other_formats_are_refused_naming_the_file_and_the_kind(data, kind):
    with pytest.raises(IngestError) as caught:
        load_photo(data, "evidence_7.jpg")
    message = str(caught.value)
    assert "evidence_7.jpg" in message and kind in message
    assert "JPEG, PNG, WebP" in message  # says what would be accepted
    assert caught.value.message_vi != caught.value.message_en


def test_sniff_accepts_iphone_heic_brands():
    heic = make_photo("heif")
    assert heic[8:12] in (b"heic", b"mif1")
    assert sniff_format(heic, "x.heic") == "heif"


# ------------------------------------------------------------------------- size


def test_size_is_checked_before_anything_is_decoded():
    # Not even an image: the size refusal must come first, not a format error.
    with pytest.raises(LimitExceeded, match="GEO_PHOTO_MAX_BYTES") as caught:
        load_photo(b"\0" * 2001, "big.jpg", max_bytes=2000)
    assert "big.jpg" in str(caught.value) and "2,001" in str(caught.value)


def test_declared_size_refuses_without_opening_the_stream():
    def never_open() -> io.BytesIO:
        raise AssertionError("the stream was opened")

    with pytest.raises(LimitExceeded):
        read_source(PhotoSource("huge.jpg", 30 * 1024 * 1024, never_open))


def test_a_stream_longer_than_it_declared_is_cut_at_the_limit():
    source = PhotoSource("liar.jpg", 10, lambda: io.BytesIO(b"\xff" * 5000))
    with pytest.raises(LimitExceeded, match=r"liar\.jpg"):
        read_source(source, max_bytes=1000)


def test_env_limit_applies(monkeypatch):
    data = make_photo("jpeg")
    monkeypatch.setenv("GEO_PHOTO_MAX_BYTES", str(len(data) - 1))
    with pytest.raises(LimitExceeded):
        load_photo(data, "a.jpg")
    monkeypatch.setenv("GEO_PHOTO_MAX_BYTES", str(len(data)))
    assert load_photo(data, "a.jpg").info.size_bytes == len(data)


def test_empty_file_is_refused():
    with pytest.raises(IngestError, match="empty"):
        load_photo(b"", "empty.jpg")


# ------------------------------------------------------------- decompression bombs


def _png_bomb(width: int, height: int) -> bytes:
    """A real 1-bit PNG of zeros: a few kB that would decode to width × height pixels."""
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_png_decompression_bomb_is_refused_before_decoding():
    bomb = _png_bomb(12_000, 12_000)  # 144 MP: over our cap and Pillow's warning limit
    assert len(bomb) < 100_000
    with pytest.raises(LimitExceeded, match="12,000×12,000") as caught:
        load_photo(bomb, "bomb.png")
    assert "bomb.png" in str(caught.value)


def test_pillow_own_bomb_error_is_turned_into_a_clear_refusal():
    bomb = _png_bomb(20_000, 20_000)  # 400 MP: Pillow itself raises DecompressionBombError
    with pytest.raises(LimitExceeded, match="decompression bomb"):
        load_photo(bomb, "bomb.png", max_pixels=10**12)


def test_jpeg_header_claiming_huge_size_is_refused():
    data = bytearray(make_photo("jpeg", size=(64, 48)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    with pytest.raises(LimitExceeded, match="3,600,000,000 pixels"):
        load_photo(bytes(data), "huge.jpg")


def test_pixel_cap_is_configurable(monkeypatch):
    data = make_photo("jpeg", size=(64, 48))
    with pytest.raises(LimitExceeded, match="64×48 pixels, over the limit of 3,000"):
        load_photo(data, "a.jpg", max_pixels=3000)
    monkeypatch.setenv("GEO_PHOTO_MAX_PIXELS", "3000")
    with pytest.raises(LimitExceeded):
        load_photo(data, "a.jpg")
    assert load_photo(data, "a.jpg", max_pixels=3072).info.width == 64


# ------------------------------------------------------------------ truncated files


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_files_are_refused(fmt):
    data = make_photo(fmt, size=(256, 192), lat=21.0, lon=105.8)
    cut = data[: int(len(data) * 0.6)]
    with pytest.raises(IngestError, match="truncated") as caught:
        load_photo(cut, f"cut.{fmt}")
    assert f"cut.{fmt}" in str(caught.value)


# -------------------------------------------------------------------- polyglots


def test_jpeg_with_a_zip_appended_is_refused():
    data = make_photo("jpeg") + zip_bytes({"payload.html": b"<b>hi</b>"})
    with pytest.raises(IngestError, match="ZIP") as caught:
        load_photo(data, "poly.jpg")
    assert "polyglot" in str(caught.value)


@pytest.mark.parametrize(
    "markup",
    [
        b"<html><body><script>alert(1)</script></body></html>",
        b"<!DOCTYPE html>",
        b"<iframe src=x>",
        b"<img src=x onerror=alert(1)>",
        b"<a href='javascript:alert(1)'>x</a>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    ],
)
def test_jpeg_with_html_in_a_comment_is_refused(markup):
    data = jpeg_with_segment(make_photo("jpeg"), 0xFE, markup)
    Image.open(io.BytesIO(data)).load()  # still a valid JPEG
    with pytest.raises(IngestError, match="HTML"):
        load_photo(data, "poly.jpg")


def test_html_hidden_in_exif_text_is_refused():
    data = make_photo("png", description=b"<script>alert(document.cookie)</script>")
    with pytest.raises(IngestError, match="HTML"):
        load_photo(data, "poly.png")


def test_pdf_header_inside_a_jpeg_is_refused():
    data = jpeg_with_segment(make_photo("jpeg"), 0xFE, b"%PDF-1.4\n1 0 obj<<>>endobj")
    with pytest.raises(IngestError, match="PDF"):
        load_photo(data, "poly.jpg")


def test_phone_xmp_is_not_mistaken_for_html():
    xmp = (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Anh</dc:title>'
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    data = make_photo("jpeg", xmp=xmp, lat=21.0, lon=105.8)
    assert b"xmpmeta" in data
    check_polyglot(data, "phone.jpg")
    assert load_photo(data, "phone.jpg").info.meta.has_gps


def test_open_image_does_not_decode_pixels():
    image, fmt = open_image(make_photo("jpeg", size=(300, 200)), "a.jpg")
    assert fmt == "jpeg" and image.size == (300, 200)
    assert image.tile  # header only: pixels are decoded later, at a reduced scale


def test_photo_files_on_disk_in_every_format_go_through_a_batch(tmp_path):
    from geo.photos import MediaStore, PhotoSource, ingest_photos

    lat, lon = INCIDENT
    paths = []
    for i, fmt in enumerate(FORMATS):
        path = tmp_path / f"IMG_{i}.{'heic' if fmt == 'heif' else fmt}"
        path.write_bytes(make_photo(fmt, seed=i, lat=lat, lon=lon, taken="2025:09:01 10:11:12"))
        paths.append(path)
    (tmp_path / "notes.txt").write_text("<html>not a photo</html>")
    sources = [PhotoSource.from_path(p) for p in [*paths, tmp_path / "notes.txt"]]
    outcomes = list(ingest_photos(sources, MediaStore(tmp_path / "media"), workers=2))
    assert [o.info.format for o in outcomes[:4]] == FORMATS
    assert all(o.info.meta.has_gps and o.media.original.exists() for o in outcomes[:4])
    assert [o.media.original.suffix for o in outcomes[:4]] == [".jpg", ".png", ".webp", ".heic"]
    assert not outcomes[4].ok and "notes.txt" in str(outcomes[4].error)
    assert PhotoSource.from_bytes("a.jpg", b"xyz").open().read() == b"xyz"
