"""The sample photos: deterministic, small, with the EXIF they were asked for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from geo.photos import check_photo, load_photo
from geo.photos.synthetic import sample_photo
from tests._photos import INCIDENT


def test_same_arguments_same_bytes_and_a_few_kilobytes():
    lat, lon = INCIDENT
    when = datetime(2025, 9, 1, 9, 15)
    first = sample_photo("before", lat=lat, lon=lon, taken_at=when, seed=3)
    assert first == sample_photo("before", lat=lat, lon=lon, taken_at=when, seed=3)
    assert first != sample_photo("before", lat=lat, lon=lon, taken_at=when, seed=4)
    assert first != sample_photo("after", lat=lat, lon=lon, taken_at=when, seed=3)
    assert 2_000 < len(first) < 20_000


def test_sample_exif_round_trips():
    lat, lon = INCIDENT
    data = sample_photo("after", lat=lat, lon=lon, taken_at=datetime(2025, 9, 2, 14, 5, 6), seed=1)
    meta = load_photo(data, "after.jpg").info.meta
    assert meta.lat == pytest.approx(lat, abs=1e-6) and meta.lon == pytest.approx(lon, abs=1e-6)
    assert meta.taken_at == datetime(2025, 9, 2, 14, 5, 6, tzinfo=timezone(timedelta(hours=7)))
    assert not meta.zone_assumed and meta.camera == "geo sample"


def test_sample_pair_passes_every_check():
    lat, lon = INCIDENT
    reported = datetime(2025, 9, 1, 9, 30)
    before = load_photo(sample_photo("before", lat=lat, lon=lon, taken_at=reported, seed=2), "b.jpg").info
    after = load_photo(
        sample_photo("after", lat=lat, lon=lon, taken_at=reported + timedelta(days=2), seed=2), "a.jpg"
    ).info
    result = check_photo(after.meta, role="after", incident_lat=lat, incident_lon=lon,
                         reported_at=reported, phash=after.phash, before_phashes=[before.phash],
                         now=reported + timedelta(days=3))  # fmt: skip
    assert result.flags == () and result.distance_m == pytest.approx(0, abs=0.01)


def test_sample_without_metadata():
    meta = load_photo(sample_photo("before", lat=None, lon=None, taken_at=None), "b.jpg").info.meta
    assert not meta.has_gps and meta.taken_at is None
