"""Every photo flag, from real photos with known EXIF; distances in EPSG:32648."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import imagehash
import pytest
from PIL import Image

from geo.errors import InvalidArgument
from geo.photos import (
    FLAGS,
    check_photo,
    distance_m,
    is_reused,
    load_photo,
    photo_role,
    same_picture,
)
from geo.photos.checks import PHASH_SAME_MAX_BITS, phash_distance
from geo.photos.synthetic import sample_photo
from tests._photos import INCIDENT, make_photo, point_at

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
REPORTED = datetime(2025, 9, 1, 9, 0, tzinfo=HANOI)
NOW = datetime(2025, 9, 10, 12, 0, tzinfo=HANOI)


def photo(**tags):
    return load_photo(make_photo("jpeg", **tags), "p.jpg").info


def check(info, role="before", **kwargs):
    lat, lon = INCIDENT
    options = {"incident_lat": lat, "incident_lon": lon, "reported_at": REPORTED, "now": NOW}
    options.update(kwargs)
    return check_photo(info.meta, role=role, sha256=info.sha256, phash=info.phash, **options)


# ------------------------------------------------------------------------- distance


@pytest.mark.parametrize(("metres", "far"), [(49.0, False), (51.0, True)])
@pytest.mark.parametrize("direction", ["east", "north"])
def test_photo_far_at_49_and_51_metres(metres, far, direction):
    offset = {"east_m": metres} if direction == "east" else {"north_m": metres}
    lat, lon = point_at(*INCIDENT, **offset)
    result = check(photo(lat=lat, lon=lon, taken="2025:09:01 10:00:00"))
    assert result.distance_m == pytest.approx(metres, abs=0.01)
    assert ("photo_far" in result.flags) is far
    assert result.flags == (("photo_far",) if far else ())


def test_distance_is_measured_in_utm_48n_not_on_the_ellipsoid():
    # 5 km east in UTM 48N is about 5,001.5 m on the ellipsoid at Hà Nội (scale factor
    # 0.9997 at 0.85° from the central meridian): the rule says EPSG:32648 metres.
    lat, lon = point_at(*INCIDENT, east_m=5000)
    assert distance_m(lat, lon, *INCIDENT) == pytest.approx(5000, abs=0.05)


def test_distance_limit_from_parameter_and_environment(monkeypatch):
    lat, lon = point_at(*INCIDENT, east_m=80)
    info = photo(lat=lat, lon=lon, taken="2025:09:01 10:00:00")
    assert "photo_far" in check(info).flags
    assert "photo_far" not in check(info, max_m=100).flags
    monkeypatch.setenv("GEO_PHOTO_MAX_M", "100")
    assert "photo_far" not in check(info).flags
    monkeypatch.setenv("GEO_PHOTO_MAX_M", "ten")
    with pytest.raises(InvalidArgument, match="GEO_PHOTO_MAX_M"):
        check(info)


def test_incident_without_position_gives_no_distance():
    result = check(photo(lat=21.0, lon=105.0, taken="2025:09:01 10:00:00"), incident_lat=None)
    assert result.distance_m is None and "photo_far" not in result.flags


# ---------------------------------------------------------------- missing metadata


def test_stripped_photo_is_flagged_not_refused():
    result = check(photo())
    assert result.flags == ("photo_no_gps", "photo_no_time")
    assert result.distance_m is None


def test_invalid_gps_counts_as_no_gps():
    result = check(photo(lat=0.0, lon=0.0, taken="2025:09:01 10:00:00"))
    assert result.flags == ("photo_no_gps",)


# --------------------------------------------------------------------------- times


def test_after_photo_taken_before_the_report():
    lat, lon = INCIDENT
    early = photo(lat=lat, lon=lon, taken="2025:09:01 08:59:00")
    late = photo(lat=lat, lon=lon, taken="2025:09:01 09:01:00")
    assert check(early, role="after").flags == ("photo_before_report",)
    assert check(late, role="after").flags == ()
    assert check(early, role="before").flags == ()  # a before photo may predate the report


def test_naive_report_time_is_hanoi_time():
    lat, lon = INCIDENT
    info = photo(lat=lat, lon=lon, taken="2025:09:01 10:00:00", offset="+07:00")
    # 09:30 in Hà Nội is before the 10:00 photo; read as UTC it would be 16:30, after it.
    assert check(info, role="after", reported_at=datetime(2025, 9, 1, 9, 30)).flags == ()
    assert check(info, role="after", reported_at=datetime(2025, 9, 1, 10, 30)).flags == (
        "photo_before_report",
    )


def test_offset_decides_before_report():
    lat, lon = INCIDENT
    # 10:00 at UTC+09:00 is 08:00 in Hà Nội: before the 09:00 report.
    info = photo(lat=lat, lon=lon, taken="2025:09:01 10:00:00", offset="+09:00")
    assert check(info, role="after").flags == ("photo_before_report",)


def test_future_photo_beyond_clock_skew():
    lat, lon = INCIDENT
    soon = (NOW + timedelta(minutes=5)).strftime("%Y:%m:%d %H:%M:%S")
    later = (NOW + timedelta(minutes=30)).strftime("%Y:%m:%d %H:%M:%S")
    assert check(photo(lat=lat, lon=lon, taken=soon)).flags == ()
    assert check(photo(lat=lat, lon=lon, taken=later)).flags == ("photo_future",)
    assert check(photo(lat=lat, lon=lon, taken=later), role="after").flags == ("photo_future",)


def test_future_uses_the_clock_by_default():
    lat, lon = INCIDENT
    tomorrow = (datetime.now(HANOI) + timedelta(days=1)).strftime("%Y:%m:%d %H:%M:%S")
    info = photo(lat=lat, lon=lon, taken=tomorrow)
    assert "photo_future" in check(info, now=None).flags


# ----------------------------------------------------------------------------- reuse


def test_reused_bytes_from_a_set_or_a_lookup():
    info = photo(seed=1)
    other = photo(seed=2)
    assert "photo_reused" in check(info, attached_elsewhere={info.sha256}).flags
    assert "photo_reused" not in check(info, attached_elsewhere={other.sha256}).flags
    assert "photo_reused" in check(info, attached_elsewhere=lambda sha: sha == info.sha256).flags
    assert is_reused(info.sha256, lambda sha: False) is False


# -------------------------------------------------------------- after same as before


def _reencoded(data: bytes, *, quality: int, scale: float = 1.0) -> bytes:
    image = Image.open(io.BytesIO(data))
    if scale != 1.0:
        image = image.resize((int(image.width * scale), int(image.height * scale)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=image.info.get("exif", b""))
    return out.getvalue()


def test_after_photo_that_is_the_before_photo_again():
    lat, lon = INCIDENT
    before_bytes = sample_photo("before", lat=lat, lon=lon, taken_at=datetime(2025, 9, 1, 9, 30), seed=4)
    before = load_photo(before_bytes, "before.jpg").info
    for copy in (_reencoded(before_bytes, quality=40), _reencoded(before_bytes, quality=85, scale=0.5)):
        after = load_photo(copy, "after.jpg").info
        assert after.sha256 != before.sha256  # different bytes: only the perceptual hash sees it
        result = check(after, role="after", before_phashes=[before.phash])
        assert result.flags == ("after_same_as_before",)
        # The same picture as a *before* photo is not an after photo at all.
        assert "after_same_as_before" not in check(after, role="before", before_phashes=[before.phash]).flags


def test_real_after_photo_is_not_the_same_picture():
    lat, lon = INCIDENT
    for seed in range(8):
        before = load_photo(sample_photo("before", lat=lat, lon=lon, taken_at=REPORTED, seed=seed), "b.jpg").info
        after_bytes = sample_photo("after", lat=lat, lon=lon, taken_at=NOW - timedelta(days=1), seed=seed)
        after = load_photo(after_bytes, "a.jpg").info
        assert check(after, role="after", before_phashes=[before.phash]).flags == ()


def test_threshold_is_eight_bits_of_sixty_four():
    base = imagehash.hex_to_hash("0000000000000000")
    eight = imagehash.hex_to_hash("00000000000000ff")
    nine = imagehash.hex_to_hash("00000000000001ff")
    assert PHASH_SAME_MAX_BITS == 8
    assert base - eight == 8 and base - nine == 9
    assert same_picture(str(base), str(eight))
    assert not same_picture(str(base), str(nine))
    assert phash_distance(str(eight), str(nine)) == 1


# --------------------------------------------------------------------------- roles


def test_roles_from_events():
    assert photo_role("report") == "before"
    assert photo_role("clearance") == "after"
    assert photo_role("reinspection") == "after"
    with pytest.raises(InvalidArgument, match="unknown-event"):
        photo_role("unknown-event")


def test_flag_names_are_the_issue_s():
    assert set(FLAGS) == {
        "photo_far",
        "photo_no_gps",
        "photo_no_time",
        "photo_before_report",
        "photo_future",
        "photo_reused",
        "after_same_as_before",
    }
