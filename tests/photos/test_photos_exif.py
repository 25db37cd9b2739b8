"""EXIF metadata: times with and without zones, GPS refs and absurd values, text made safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import piexif
import pytest

from geo.photos import load_photo
from geo.photos.exif import MAX_EXIF_BYTES
from tests._photos import dms, make_photo

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: Pillow warns (and goes on) on the broken blocks these tests feed it on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")


def meta_of(fmt: str = "jpeg", **tags):
    return load_photo(make_photo(fmt, **tags), f"photo.{fmt}").info.meta


def codes(meta) -> list[str]:
    return [note.code for note in meta.notes]


# ------------------------------------------------------------------------------ time


def test_offset_time_original_is_used():
    meta = meta_of(taken="2025:09:01 10:00:00", offset="+09:00")
    assert meta.taken_at == datetime(2025, 9, 1, 10, tzinfo=timezone(timedelta(hours=9)))
    assert meta.taken_at.astimezone(UTC).hour == 1
    assert not meta.zone_assumed and meta.taken_at_source == "exif_original"


def test_without_offset_hanoi_time_is_assumed_and_said():
    meta = meta_of(taken="2025:09:01 10:00:00")
    assert meta.taken_at == datetime(2025, 9, 1, 10, tzinfo=HANOI)
    assert meta.taken_at.utcoffset() == timedelta(hours=7)
    assert meta.zone_assumed


def test_malformed_offset_falls_back_to_the_assumed_zone():
    meta = meta_of(taken="2025:09:01 10:00:00", offset="+99:99")
    assert meta.taken_at.utcoffset() == timedelta(hours=7) and meta.zone_assumed


def test_digitized_time_is_used_when_original_is_missing():
    meta = meta_of(exif_tags={piexif.ExifIFD.DateTimeDigitized: b"2025:09:02 08:30:00"})
    assert meta.taken_at == datetime(2025, 9, 2, 8, 30, tzinfo=HANOI)
    assert meta.taken_at_source == "exif_digitized"


def test_gps_time_stamp_is_utc_and_a_last_resort():
    gps = {
        piexif.GPSIFD.GPSDateStamp: b"2025:09:03",
        piexif.GPSIFD.GPSTimeStamp: ((1, 1), (2, 1), (3, 1)),
    }
    meta = meta_of(gps=gps)
    assert meta.taken_at == datetime(2025, 9, 3, 1, 2, 3, tzinfo=UTC)
    assert meta.taken_at_source == "gps" and not meta.zone_assumed


@pytest.mark.parametrize("blank", ["0000:00:00 00:00:00", "    :  :     :  :  ", ""])
def test_blank_camera_clock_is_no_time_without_a_note(blank):
    meta = meta_of(taken=blank)
    assert meta.taken_at is None and meta.notes == ()


@pytest.mark.parametrize(
    "bad", ["2025:13:45 99:00:00", "9999:01:01 00:00:00", "yesterday", "1850:01:01 00:00:00"]
)
def test_absurd_times_are_dropped_with_a_note(bad):
    meta = meta_of(taken=bad)
    assert meta.taken_at is None
    assert codes(meta) == ["exif_time_invalid"]
    assert "photo.jpeg" in meta.notes[0].message_en and "invalid" in meta.notes[0].message_en


# -------------------------------------------------------------------------- position


def test_south_and_west_refs_give_negative_degrees():
    meta = meta_of(lat=-33.5, lon=-70.25)
    assert meta.lat == pytest.approx(-33.5) and meta.lon == pytest.approx(-70.25)


def test_degrees_minutes_seconds_are_combined():
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: ((21, 1), (1, 1), (426, 10)),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: ((105, 1), (51, 1), (1512, 100)),
    }
    meta = meta_of(gps=gps)
    assert meta.lat == pytest.approx(21 + 1 / 60 + 42.6 / 3600)
    assert meta.lon == pytest.approx(105 + 51 / 60 + 15.12 / 3600)


@pytest.mark.parametrize("ref", [b"X", b"NE", b"", b"<b>", b"\x00"])
def test_gps_refs_other_than_nsew_drop_the_position(ref):
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: ref,
        piexif.GPSIFD.GPSLatitude: dms(21.03),
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: dms(105.85),
    }
    meta = meta_of(gps=gps)
    assert (meta.lat, meta.lon) == (None, None)
    assert codes(meta) == ["exif_gps_ref_invalid"]
    assert "N/S/E/W" in meta.notes[0].message_en and "N/S/E/W" in meta.notes[0].message_vi


def test_missing_longitude_ref_drops_the_position():
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: dms(21.03),
        piexif.GPSIFD.GPSLongitude: dms(105.85),
    }
    meta = meta_of(gps=gps)
    assert not meta.has_gps and codes(meta) == ["exif_gps_ref_invalid"]


@pytest.mark.parametrize(
    "latitude",
    [
        ((200, 1), (0, 1), (0, 1)),  # beyond the pole
        ((21, 1), (75, 1), (0, 1)),  # 75 minutes
        ((21, 1), (1, 1), (61, 1)),  # 61 seconds
        ((21, 0), (1, 1), (1, 1)),  # zero denominator
        ((4294967295, 1), (0, 1), (0, 1)),  # largest RATIONAL
        ((89, 1), (59, 1), (4294967295, 1000)),  # sums past 90
    ],
)
def test_absurd_gps_values_drop_the_position(latitude):
    gps = {
        piexif.GPSIFD.GPSLatitudeRef: b"N",
        piexif.GPSIFD.GPSLatitude: latitude,
        piexif.GPSIFD.GPSLongitudeRef: b"E",
        piexif.GPSIFD.GPSLongitude: dms(105.85),
    }
    meta = meta_of(gps=gps)
    assert not meta.has_gps
    assert codes(meta) == ["exif_gps_invalid"]


def test_null_island_is_no_position():
    meta = meta_of(lat=0.0, lon=0.0)
    assert not meta.has_gps and codes(meta) == ["exif_gps_zero"]


# ----------------------------------------------------------------- big and broken EXIF


def test_huge_exif_block_is_ignored_whole():
    meta = meta_of("png", lat=21.0, lon=105.8, taken="2025:09:01 10:00:00", description=b"A" * (MAX_EXIF_BYTES + 1))
    assert (meta.taken_at, meta.lat) == (None, None)
    assert codes(meta) == ["exif_too_large"]


def test_exif_just_under_the_limit_is_read():
    meta = meta_of("png", lat=21.0, lon=105.8, description=b"A" * (MAX_EXIF_BYTES - 500))
    assert meta.has_gps and meta.notes == ()


@pytest.mark.parametrize(
    "tiff",
    [
        b"XXXX\x00\x00\x00\x08" + b"\x00" * 40,  # not TIFF at all
        b"MM\x00\x2a\xff\xff\xff\xf0" + b"\x00" * 40,  # first IFD far outside the block
    ],
)
def test_unreadable_exif_block_is_a_note_not_a_refusal(tiff):
    photo = load_photo(make_photo("jpeg", exif=b"Exif\x00\x00" + tiff), "broken.jpg")
    meta = photo.info.meta
    assert not meta.has_gps and meta.taken_at is None
    assert codes(meta) == ["exif_unreadable"]
    assert "broken.jpg" in meta.notes[0].bilingual


def test_corrupt_ifd_inside_a_good_header_is_accepted_with_nothing_trusted():
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + b"\xff\xff" + b"\x00" * 40  # 65535 entries, no data
    meta = load_photo(make_photo("jpeg", exif=b"Exif\x00\x00" + tiff), "broken.jpg").info.meta
    assert (meta.taken_at, meta.lat, meta.camera) == (None, None, None)


# ----------------------------------------------------------------------------- text


def test_camera_text_is_plain_and_made_safe():
    meta = meta_of(make=b"Evil\xe2\x80\xae Corp\x07", model=b"X" * 500)
    assert "\u202e" not in meta.camera and "\x07" not in meta.camera
    assert "\ufffd" in meta.camera
    assert len(meta.camera) <= 80


def test_model_repeating_the_make_is_not_doubled():
    meta = meta_of(make=b"Apple", model=b"Apple iPhone 13")
    assert meta.camera == "Apple iPhone 13"
    assert meta_of(make=b"samsung", model=b"SM-A525F").camera == "samsung SM-A525F"


def test_markup_in_camera_text_is_returned_as_plain_text():
    meta = meta_of(model=b"<b>bold</b>")
    assert meta.camera == "<b>bold</b>"  # a plain value: whoever renders it escapes it


def test_no_exif_at_all():
    meta = meta_of()
    assert (meta.taken_at, meta.lat, meta.lon, meta.camera, meta.notes) == (None, None, None, None, ())
