"""The controlled vocabulary folds field teams' free text onto stable codes."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest

from geo.vocab import (
    STATE_CODES,
    STATES,
    TYPE_CODES,
    TYPES,
    state_label,
    status_code,
    status_codes,
    type_code,
    type_codes,
    type_label,
)


def test_codes_are_the_documented_ones():
    assert TYPE_CODES == ("sidewalk", "awning", "signboard", "parking", "materials", "other")
    assert STATE_CODES == ("reported", "verified", "in_progress", "cleared", "recurred")
    assert all(t.label_vi and t.label_en for t in (*TYPES, *STATES))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Lấn chiếm vỉa hè", "sidewalk"),
        ("lan chiem via he", "sidewalk"),
        ("LẤN CHIẾM LÒNG ĐƯỜNG", "sidewalk"),
        ("Sidewalk encroachment", "sidewalk"),
        ("sidewalk", "sidewalk"),
        ("Mái che", "awning"),
        ("mai vay", "awning"),
        ("Mái che, mái vảy", "awning"),
        ("Awning", "awning"),
        ("Biển quảng cáo", "signboard"),
        ("bien quang cao sai phep", "signboard"),
        ("Billboard", "signboard"),
        ("Đỗ xe trái phép", "parking"),
        ("do xe trai phep", "parking"),
        ("Illegal parking", "parking"),
        ("Vật liệu xây dựng", "materials"),
        ("rác thải", "materials"),
        ("Building materials", "materials"),
        ("Khác", "other"),
        ("other", "other"),
        ("something nobody wrote before", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_type_code(text, code):
    assert type_code(text) == code


def test_type_code_ignores_unicode_form():
    decomposed = unicodedata.normalize("NFD", "Lấn chiếm vỉa hè")
    assert decomposed != "Lấn chiếm vỉa hè"
    assert type_code(decomposed) == "sidewalk"


def test_labels_map_back_to_their_codes():
    for term in TYPES:
        assert type_code(term.label_vi) == term.code
        assert type_code(term.label_en) == term.code
        assert type_label(term.code) == term.label_vi
        assert type_label(term.code, "en") == term.label_en
    for term in STATES:
        assert status_code(term.label_vi) == term.code
        assert status_code(term.label_en) == term.code
        assert state_label(term.code, "en") == term.label_en


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("chưa xử lý", "reported"),
        ("Chua xu ly", "reported"),
        ("open", "reported"),
        ("Mới", "reported"),
        ("đã xác minh", "verified"),
        ("Verified", "verified"),
        ("đang xử lý", "in_progress"),
        ("In progress", "in_progress"),
        ("in_progress", "in_progress"),
        ("đã xử lý", "cleared"),
        ("DA XU LY", "cleared"),
        ("cleared", "cleared"),
        ("Resolved", "cleared"),
        ("tái phạm", "recurred"),
        ("recurred", "recurred"),
        ("", None),
        ("   ", None),
        (None, None),
        ("banana", None),
    ],
)
def test_status_code(text, code):
    assert status_code(text) == code


def test_series_versions_keep_the_index():
    texts = pd.Series(["Mái che", "xyz", "Mái che", None], index=[10, 11, 12, 13])
    out = type_codes(texts)
    assert list(out.index) == [10, 11, 12, 13]
    assert list(out) == ["awning", "other", "awning", "other"]
    statuses = status_codes(pd.Series(["đã xử lý", "??"], index=[5, 6]))
    assert statuses.loc[5] == "cleared"
    assert statuses.loc[6] is None
