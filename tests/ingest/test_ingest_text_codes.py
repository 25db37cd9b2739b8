"""The preview's text columns made from codes the stages keep (session 27).

The reason, field, type, status, outcome and flags columns are built from integer codes
instead of a million Python strings factorized again. The columns must be the ones the
row-by-row rules give — the same texts, the same dtype, the same fall-backs — since both
stores, the upload page, the CLI and the refusal report read them.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest

from geo.ingest import IngestOptions, preview
from geo.ingest._classify import _flag_unverified, _flags_by_codes, _status_column, classify
from geo.ingest._reasons import Verdicts
from geo.ingest._text import STR, coded_column, coded_values, str_column
from geo.vocab import map_distinct_codes, status_code
from tests._files import HEADER, csv_text


def _same(a, b) -> None:
    """Equal values and the same kind of column (pyarrow text Series or object array)."""
    assert type(a) is type(b)
    if isinstance(a, pd.Series):
        assert a.dtype == b.dtype
        pd.testing.assert_series_equal(a, b, check_exact=True)
    else:
        assert a.dtype == b.dtype
        assert a.tolist() == b.tolist()


@pytest.mark.parametrize(
    ("codes", "labels"),
    [
        ([0, 1, -1, 0], ["accepted", "rejected"]),
        ([2, 2, 0], ["a", "a", "b"]),  # repeated texts
        ([], ["a"]),  # no rows: pandas infers an object column
        ([-1, -1], ["a"]),  # nothing present: object column of None
        (list(range(5000)), [f"t{k}" for k in range(5000)]),  # too many texts: objects
        ([1, 1], ["unused", "kept"]),
    ],
)
def test_a_coded_column_is_the_column_str_column_makes_of_its_texts(codes, labels):
    codes = np.array(codes, dtype=np.int32)
    _same(coded_column(codes, labels), str_column(coded_values(codes, labels)))


def test_a_coded_column_holds_each_rows_text_and_missing_for_negative_codes():
    column = coded_column(np.array([0, 1, -1, 0]), ["đã xử lý", "other"])
    assert column.dtype == STR
    assert column.iloc[[0, 1, 3]].tolist() == ["đã xử lý", "other", "đã xử lý"]
    assert pd.isna(column.iloc[2])
    empty = coded_column(np.zeros(0, dtype=np.int32), ["x"])
    assert isinstance(empty, np.ndarray) and empty.dtype == object and len(empty) == 0


def test_verdicts_keep_each_rows_first_reason_and_its_field():
    verdicts = Verdicts(4)
    verdicts.reject(np.array([True, False, True, False]), "bad_date", "Ngày phát hiện")
    verdicts.reject(np.array([True, True, False, False]), "unknown_status", "Trạng thái")
    assert verdicts.reason.tolist() == ["bad_date", "unknown_status", "bad_date", ""]
    assert verdicts.field.tolist() == ["Ngày phát hiện", "Trạng thái", "Ngày phát hiện", ""]
    reason, field = verdicts.columns()
    assert reason.tolist() == ["bad_date", "unknown_status", "bad_date", ""]
    assert field.tolist() == ["Ngày phát hiện", "Trạng thái", "Ngày phát hiện", ""]
    assert reason.dtype == STR and field.dtype == STR
    # a column named like a reason code shares its text, not its meaning
    verdicts.reject(np.array([False, False, False, True]), "too_many_fields", "bad_date")
    assert verdicts.columns()[1].tolist()[3] == "bad_date"


def test_statuses_looked_up_once_per_text_give_none_as_minus_one():
    texts = pd.Series(["Đã xử lý", "hủy bỏ", None, "Đã xử lý", ""], dtype="str")
    codes, labels = map_distinct_codes(texts, status_code)
    assert [labels[c] if c >= 0 else None for c in codes] == [
        "cleared",
        None,
        None,
        "cleared",
        None,
    ]


def test_a_status_column_is_kept_only_when_it_is_the_text_column_str_column_makes():
    index = pd.RangeIndex(3)
    text = pd.Series(["cleared", "reported", "cleared"], dtype=STR)
    kept = _status_column(text, text.to_numpy(dtype=object), index)
    assert kept is text
    # all missing: str_column leaves the objects for pandas to infer, so must this
    missing = pd.Series([np.nan] * 3, dtype=STR)
    _same(
        _status_column(missing, missing.to_numpy(dtype=object), index),
        str_column(missing.to_numpy(dtype=object), index),
    )
    objects = pd.Series(["cleared", "reported", "cleared"], dtype=object)
    made = _status_column(objects, objects.to_numpy(), index)
    assert made is not objects and made.dtype == STR and made.tolist() == objects.tolist()


def _classified_rows(flags, outcome_not_accepted, types, statuses):
    rows = pd.DataFrame(
        {
            "flags": flags,
            "type": pd.Series(types, dtype=STR),
            "status": pd.Series(statuses, dtype=STR),
        }
    )
    return rows, np.array(outcome_not_accepted, dtype=bool)


@pytest.fixture
def photo_types(monkeypatch):
    """Sidewalk and awning need an after photo to be cleared (the default outside tests)."""
    monkeypatch.setenv("GEO_CLEAR_NEEDS_PHOTO", "sidewalk,awning")


@pytest.mark.usefixtures("photo_types")
def test_flags_rules_per_distinct_text():
    flags = ["no_street", "", "outside", "no_street,cleared_unverified", "no_street", ""]
    rows, not_accepted = _classified_rows(
        pd.Series(flags, dtype=STR),
        [False, False, True, False, False, False],
        ["sidewalk", "awning", "sidewalk", "sidewalk", "parking", "sidewalk"],
        ["cleared", "cleared", "cleared", "cleared", "cleared", "reported"],
    )
    assert _flags_by_codes(rows, not_accepted)
    assert rows["flags"].dtype == STR
    assert rows["flags"].tolist() == [
        "no_street,cleared_unverified",  # flag added after the others
        "cleared_unverified",  # no other flag: no comma
        "",  # not accepted: no flags at all
        "no_street,cleared_unverified",  # classified again: the flag once
        "no_street",  # parking needs no photo
        "",  # not cleared
    ]


@pytest.mark.usefixtures("photo_types")
def test_flags_with_a_missing_value_follow_the_row_by_row_rules():
    flags = pd.Series(["no_street", np.nan, ""], dtype=STR)
    rows, not_accepted = _classified_rows(flags, [False] * 3, ["sidewalk"] * 3, ["cleared"] * 3)
    assert not _flags_by_codes(rows, not_accepted)
    assert rows["flags"].tolist()[0] == "no_street"  # untouched: the caller applies the rules
    _flag_unverified(rows, ~not_accepted)  # what write() does then
    got = rows["flags"].tolist()
    assert got[0] == "no_street,cleared_unverified" and got[2] == "cleared_unverified"
    assert pd.isna(got[1])  # a missing value stays missing (codes would give it a text)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.usefixtures("photo_types")
def test_a_preview_of_odd_text_gives_the_rules_codes_in_text_columns(tmp_path, wards):
    header = [*HEADER]
    rows = [
        ["A-1", 21.0365, 105.8490, "Lấn chiếm vỉa hè", "đã xử lý", "05/07/2025", "", "", ""],
        ["A-2", 21.0368, 105.8493, _nfd("Lấn chiếm vỉa hè"), _nfd("Đã xử lý"), "05/07/2025",
         "", "", ""],
        ["A-3", 21.0371, 105.8487, "  Vi phạm lạ  ", "  Đang   xử lý ", "06/07/2025", "", "", ""],
        ["A-4", 21.0372, 105.8488, "", "", "06/07/2025", "", "", ""],
        ["A-5", 21.0373, 105.8489, "Đỗ xe", "hủy bỏ", "06/07/2025", "", "", ""],
        ["A-1", 21.0365, 105.8490, "Lấn chiếm vỉa hè", "đã xử lý", "07/07/2025", "", "", ""],
    ]  # fmt: skip
    path = tmp_path / "odd.csv"
    path.write_text(csv_text(rows, header), encoding="utf-8")
    p = preview(path, IngestOptions(wards=wards))
    r = p.rows.set_index("row")
    for column in ("outcome", "reason", "field", "type", "status", "flags"):
        assert p.rows[column].dtype == STR, column
    assert r["outcome"].tolist() == [
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "rejected",
        "duplicate",
    ]
    assert r["type"].tolist() == ["sidewalk", "sidewalk", "other", "other", "parking", "sidewalk"]
    assert r.loc[3, "type_text"] == "Vi phạm lạ"  # an unknown type kept as written, stripped
    assert pd.isna(r.loc[4, "type_text"])
    assert r["status"].tolist()[:4] == ["cleared", "cleared", "in_progress", "reported"]
    assert r["status_given"].tolist()[:4] == [True, True, True, False]
    assert r["reason"].tolist() == ["", "", "", "", "unknown_status", ""]
    assert r["field"].tolist() == ["", "", "", "", "Trạng thái", ""]
    assert r.loc[5, "message_en"].startswith("Row 5, column 'Trạng thái': unknown status")
    assert r.loc[5, "message_vi"].startswith("Dòng 5, cột “Trạng thái”: trạng thái không nhận ra")
    # cleared sidewalks without an after photo are flagged; rejected and repeated rows not
    assert "cleared_unverified" in r.loc[1, "flags"] and "cleared_unverified" in r.loc[2, "flags"]
    assert "cleared_unverified" not in r.loc[3, "flags"]
    assert r.loc[5, "flags"] == "" and r.loc[6, "flags"] == ""
    before = p.rows.copy()
    classify(p)  # classified again: the same columns, the flag still once
    pd.testing.assert_frame_equal(p.rows, before, check_exact=True)
