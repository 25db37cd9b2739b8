"""The media store: dedup by content, thumbnails and public copies without metadata, atomic writes."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import piexif
import pytest
from PIL import Image

from geo.errors import NotFound, StorageError
from geo.photos import MediaStore, load_photo, store_photo, stripped_copy
from geo.photos.media import THUMB_MAX_SIDE
from tests._photos import INCIDENT, make_photo

REPO = Path(__file__).resolve().parents[2]
XMP_WITH_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="21,1.71N" '
    b'exif:GPSLongitude="105,51.252E"/></rdf:RDF></x:xmpmeta>'
)


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def assert_no_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert not image.getexif(), "EXIF left in the copy"
    assert "exif" not in image.info and "xmp" not in image.info
    for marker in (b"Exif\x00\x00", b"GPS", b"xmpmeta", b"21,1.71N"):
        assert marker not in data, marker


# ------------------------------------------------------------------------- storing


def test_same_bytes_are_stored_once(tmp_path):
    media = MediaStore(tmp_path)
    photo = load_photo(make_photo("jpeg", lat=21.0, lon=105.8), "a.jpg")
    first = store_photo(photo, media)
    again = store_photo(load_photo(photo.data, "renamed copy.jpg"), media)
    assert first.created and not again.created
    assert again.original == first.original and again.thumbnail == first.thumbnail
    assert files(tmp_path) == sorted([first.original, first.thumbnail])
    assert first.original.read_bytes() == photo.data  # the original is kept byte for byte
    assert first.original.name == f"{photo.info.sha256}.jpg"
    assert first.original.parent.name == photo.info.sha256[:2]


def test_media_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_MEDIA_DIR", str(tmp_path / "m"))
    stored = store_photo(load_photo(make_photo("png"), "a.png"), MediaStore())
    assert stored.original.is_relative_to(tmp_path / "m")
    assert stored.original.suffix == ".png"


def test_missing_thumbnail_is_completed_on_the_next_put(tmp_path):
    media = MediaStore(tmp_path)
    photo = load_photo(make_photo("jpeg"), "a.jpg")
    stored = store_photo(photo, media)
    stored.thumbnail.unlink()  # as if a crash came between the two writes
    again = store_photo(photo, media)
    assert not again.created and again.thumbnail.exists()


# ---------------------------------------------------------------------- thumbnails


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "heif"])
def test_thumbnail_is_small_jpeg_without_any_metadata(fmt):
    data = make_photo(fmt, size=(1200, 900), lat=21.0, lon=105.8, taken="2025:09:01 10:00:00",
                      make=b"Apple", model=b"iPhone 13")  # fmt: skip
    photo = load_photo(data, f"a.{fmt}")
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert thumb.format == "JPEG"
    assert thumb.size == (THUMB_MAX_SIDE, 360)
    assert_no_metadata(photo.thumbnail)


def test_thumbnail_of_xmp_photo_carries_no_xmp():
    photo = load_photo(make_photo("jpeg", size=(800, 600), xmp=XMP_WITH_GPS), "a.jpg")
    assert b"21,1.71N" in photo.data
    assert_no_metadata(photo.thumbnail)


@pytest.mark.parametrize(
    ("stored", "orientation", "shown"),
    [((640, 480), 6, (480, 640)), ((480, 640), 8, (640, 480)), ((640, 480), 3, (640, 480))],
)
def test_orientation_is_applied_to_thumbnail_and_size(stored, orientation, shown):
    photo = load_photo(make_photo("jpeg", size=stored, orientation=orientation), "rotated.jpg")
    assert (photo.info.width, photo.info.height) == shown
    assert Image.open(io.BytesIO(photo.thumbnail)).size == tuple(d * 480 // 640 for d in shown)


def test_transparent_png_thumbnail_is_flattened_on_white():
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    photo = load_photo(make_photo("png", image=image), "clear.png")
    thumb = Image.open(io.BytesIO(photo.thumbnail)).convert("RGB")
    assert thumb.getpixel((50, 50)) == pytest.approx((255, 255, 255), abs=2)


# ------------------------------------------------------------------ stripped copies


@pytest.mark.parametrize(("fmt", "ext"), [("jpeg", "jpg"), ("png", "png"), ("webp", "webp"), ("heif", "jpg")])
def test_stripped_copy_has_no_gps(fmt, ext):
    lat, lon = INCIDENT
    data = make_photo(fmt, size=(300, 200), lat=lat, lon=lon, taken="2025:09:01 10:00:00")
    assert load_photo(data, "a").info.meta.has_gps
    copy, got_ext = stripped_copy(data, f"a.{fmt}")
    assert got_ext == ext
    assert_no_metadata(copy)
    assert not load_photo(copy, "copy").info.meta.has_gps
    if fmt == "jpeg":
        assert piexif.load(copy)["GPS"] == {}


def test_stripped_copy_drops_xmp_gps_and_appended_bytes():
    data = make_photo("jpeg", size=(300, 200), xmp=XMP_WITH_GPS) + b"trailing secret"
    copy, _ = stripped_copy(data, "a.jpg")
    assert_no_metadata(copy)
    assert b"trailing secret" not in copy


def test_stripped_copy_is_upright_and_bounded():
    data = make_photo("jpeg", size=(3000, 1000), orientation=6)
    copy, _ = stripped_copy(data, "a.jpg", max_side=1024)
    assert Image.open(io.BytesIO(copy)).size == (341, 1024)


def test_stripped_copy_keeps_colour_profile():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50), (10, 200, 30)).save(buffer, "JPEG", icc_profile=icc)
    copy, _ = stripped_copy(buffer.getvalue(), "a.jpg")
    assert Image.open(io.BytesIO(copy)).info.get("icc_profile") == icc


def test_public_copy_is_made_once_and_kept(tmp_path):
    media = MediaStore(tmp_path)
    photo = load_photo(make_photo("heif", size=(300, 200), lat=21.0, lon=105.8), "a.heic")
    store_photo(photo, media)
    path = media.public_copy(photo.info.sha256)
    assert path.suffix == ".jpg" and path.parent.parent.name == "public"
    assert_no_metadata(path.read_bytes())
    stamp = path.stat().st_mtime_ns
    assert media.public_copy(photo.info.sha256) == path
    assert path.stat().st_mtime_ns == stamp


# ---------------------------------------------------------------------- robustness


def test_ids_that_are_not_sha256_are_never_paths(tmp_path):
    media = MediaStore(tmp_path / "a" / "b" / "media")
    secret = tmp_path / "secret.jpg"  # where "../../../../../secret" would lead
    secret.write_bytes(b"not yours")
    for bad in ("../../../../../secret", "A" * 64, "0" * 63, ""):
        with pytest.raises(NotFound, match="Invalid photo id"):
            media.find_original(bad)
        with pytest.raises(NotFound, match="Invalid photo id"):
            media.public_copy(bad)
    with pytest.raises(NotFound, match="No photo"):
        media.find_original("0" * 64)


def test_changed_original_is_detected(tmp_path):
    media = MediaStore(tmp_path)
    photo = load_photo(make_photo("jpeg"), "a.jpg")
    stored = store_photo(photo, media)
    stored.original.write_bytes(photo.data + b"x")
    with pytest.raises(StorageError, match="does not match"):
        media.read_original(photo.info.sha256)


def test_failed_rename_leaves_no_file_and_no_temp(tmp_path, monkeypatch):
    media = MediaStore(tmp_path)
    photo = load_photo(make_photo("jpeg"), "a.jpg")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("geo.photos.media.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store_photo(photo, media)
    assert files(tmp_path) == []


_KILLED_WRITER = """
import sys, time
from geo.photos import media as m
from tests._photos import make_photo
from geo.photos import load_photo
photo = load_photo(make_photo("jpeg", size=(400, 300)), "a.jpg")
def stall(src, dst):
    print("READY", flush=True)
    time.sleep(120)
m.os.replace = stall
m.MediaStore(sys.argv[1]).put(photo.data, "jpeg", photo.thumbnail)
"""


def test_writer_killed_mid_write_leaves_only_a_temp_file_that_is_cleaned(tmp_path):
    root = tmp_path / "media"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(root)], stdout=subprocess.PIPE,
                            cwd=REPO, env=env, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    left = files(root)
    assert len(left) == 1 and left[0].name.startswith(".") and left[0].suffix == ".part"
    assert MediaStore(root).remove_stale_temp(older_than_s=3600) == 0  # too young to be stale
    assert MediaStore(root).remove_stale_temp(older_than_s=0) == 1
    assert files(root) == []


def test_sync_flushes_written_files(tmp_path):
    media = MediaStore(tmp_path)
    store_photo(load_photo(make_photo("jpeg"), "a.jpg"), media)
    assert len(media._unsynced) == 2
    media.sync()
    assert media._unsynced == []
