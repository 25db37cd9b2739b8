"""The ward report's photo page on a seeded store (issue 13): up to six before/after
pairs of the period's clearances, pairs without flags first, each flag in plain words;
thumbnails only (no EXIF, no GPS)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from matplotlib.image import AxesImage
from PIL import Image

from geo.photos import MediaStore
from geo.report import MAX_PHOTO_PAIRS, photo_page, render, ward_report_data
from geo.seed import ensure_seeded
from geo.store import open_store

HOAN_KIEM = "00070"  # the sample's photos are of six cleared incidents there, one after photo 80 m off


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, wards):
    tmp = tmp_path_factory.mktemp("report_photos")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GEO_SEED_SAMPLE", "1")
        patch.delenv("GEO_CLEAR_NEEDS_PHOTO", raising=False)
        patch.setenv("GEO_MEDIA_DIR", str(tmp / "media"))
        store = open_store(f"sqlite:///{tmp / 'seeded.sqlite'}")
        assert ensure_seeded(store, wards=wards)
    yield store, MediaStore(tmp / "media")
    store.close()


def _texts(fig) -> list[str]:
    return [x.get_text() for x in fig.texts]


def test_six_pairs_unflagged_first_with_flags_in_plain_words(seeded, wards):
    store, media = seeded
    data = ward_report_data(store, wards, HOAN_KIEM, media=media)
    pairs = data.photo_pairs
    assert len(pairs) == MAX_PHOTO_PAIRS == 6
    assert [p.before_flags for p in pairs] == [()] * 6
    assert [p.after_flags for p in pairs] == [()] * 5 + [("photo_far",)]  # the flagged pair fills last
    for pair in pairs:
        for data_ in (pair.before, pair.after):
            image = Image.open(io.BytesIO(data_))
            assert image.format == "JPEG" and max(image.size) <= 480 and not image.getexif()
    page = photo_page(data, "vi")
    texts = _texts(page)
    assert texts.count("Sau xử lý: chụp xa vị trí vi phạm") == 1
    assert texts.count("Sau xử lý: không có cảnh báo") == 5 and texts.count("Trước xử lý: không có cảnh báo") == 6
    assert sum(isinstance(a, AxesImage) for ax in page.axes for a in ax.get_children()) == 12
    assert {f"Vụ việc số {p.incident_id}" for p in pairs} <= set(texts)
    english = _texts(photo_page(data, "en"))
    assert "After: taken far from the incident" in english


def test_the_report_gets_a_photo_page(seeded, wards):
    store, media = seeded
    data = ward_report_data(store, wards, HOAN_KIEM, media=media)
    pdf = render(data, "pdf")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 2
    png = Image.open(io.BytesIO(render(data, "png")))
    assert png.height > 2.5 * png.width  # two A4 portrait pages, one under the other


def test_no_photo_page_without_pairs(seeded, wards, tmp_path):
    store, media = seeded
    later = ward_report_data(store, wards, HOAN_KIEM, dt.date(2099, 1, 1), dt.date(2099, 1, 31), media=media)
    assert later.photo_pairs == () and photo_page(later) is None
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", render(later, "pdf"))) == 1
    elsewhere = ward_report_data(store, wards, "00082", media=media)  # a ward without photos
    assert elsewhere.photo_pairs == ()
    # a copy of the store without its media folder: a report without photos, not an error
    assert ward_report_data(store, wards, HOAN_KIEM, media=MediaStore(tmp_path / "none")).photo_pairs == ()
