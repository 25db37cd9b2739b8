"""The identity rule's parts, pinned for mutation testing
(``python -m benchmarks.mutation --module identity``).

Expected keys are written out from the rule (``geo/ingest/_identity.py`` docstring and
docs/storage.md, "Identity"): ``v1|type|round(lat·1e5)|round(lon·1e5)|Hà Nội date``;
"" when a part is missing; a source is ``kobo`` for Kobo exports, else the file name
without extension with other characters than letters, digits and ``_.-`` made ``_``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.ingest._identity import default_source, fingerprints
from geo.store import batches
from tests._store_data import NO_UPDATES, batch, incidents


def test_fingerprint_text_rounding_and_local_day():
    types = pd.Series(["sidewalk", "parking", "awning", "other"], index=[7, 3, 9, 1])
    lat = np.array([21.036504, 21.036506, 20.99999, 21.0])
    lon = np.array([105.849, 105.8490049, 105.80001, 105.8])
    reported = pd.Series(
        pd.to_datetime(
            [
                "2025-07-04 16:59:59+00:00",  # 23:59:59 in Hà Nội: still the 4th
                "2025-07-04 17:00:00+00:00",  # midnight in Hà Nội: the 5th
                "2025-01-01 00:00:00+00:00",
                "2024-12-31 23:00:00+00:00",  # 06:00 on 1 January in Hà Nội
            ]
        ),
        index=[7, 3, 9, 1],
    )
    keys = fingerprints(types, lat, lon, reported)
    assert list(keys.index) == [7, 3, 9, 1]
    assert keys.tolist() == [
        "v1|sidewalk|2103650|10584900|2025-07-04",
        "v1|parking|2103651|10584900|2025-07-05",
        "v1|awning|2099999|10580001|2025-01-01",
        "v1|other|2100000|10580000|2025-01-01",
    ]


@pytest.mark.parametrize("missing", ["lat", "lon", "time"])
def test_fingerprint_is_empty_when_a_part_is_missing(missing):
    types = pd.Series(["sidewalk", "sidewalk"])
    lat = np.array([np.nan if missing == "lat" else 21.0, 21.0])
    lon = np.array([np.inf if missing == "lon" else 105.8, 105.8])
    reported = pd.Series(
        pd.to_datetime([None if missing == "time" else "2025-03-03 02:00Z", "2025-03-03 02:00Z"])
    )
    keys = fingerprints(types, lat, lon, reported)
    assert keys.tolist() == ["", "v1|sidewalk|2100000|10580000|2025-03-03"]


def test_a_missing_type_is_a_missing_part_too():
    """No type, no fingerprint: "" as for a missing position or time, never a null that
    would share a code with something else when the keys are factorised."""
    types = pd.Series([None, "sidewalk"], dtype="str")
    reported = pd.Series(pd.to_datetime(["2025-03-03 02:00Z", "2025-03-03 02:00Z"]))
    keys = fingerprints(types, np.array([21.0, 21.0]), np.array([105.8, 105.8]), reported)
    assert keys.tolist() == ["", "v1|sidewalk|2100000|10580000|2025-03-03"]


@pytest.mark.parametrize("missing", ["lat", "lon"])
def test_fingerprint_of_object_coordinates_with_a_missing_cell(missing):
    """Coordinates of object dtype (a column with an empty cell, None) are degrees all the
    same; the row with None has a missing part, so its fingerprint is ""."""
    types = pd.Series(["sidewalk", "sidewalk"])
    lat = np.array([None if missing == "lat" else 21.0, 21.0], dtype=object)
    lon = np.array([None if missing == "lon" else 105.8, 105.8], dtype=object)
    reported = pd.Series(pd.to_datetime(["2025-03-03 02:00Z", "2025-03-03 02:00Z"]))
    keys = fingerprints(types, lat, lon, reported)
    assert keys.tolist() == ["", "v1|sidewalk|2100000|10580000|2025-03-03"]


@pytest.mark.parametrize(
    ("name", "kobo", "expected"),
    [
        ("anything.xlsx", True, "kobo"),
        ("bao_cao-7.csv", False, "bao_cao-7"),
        ("report.v2.csv", False, "report.v2"),
        ("Báo cáo tháng 7.xlsx", False, "B_o_c_o_th_ng_7"),
        ("  (đợt 1).csv", False, "t_1"),
        ("đ.csv", False, "upload"),
        ("", False, "upload"),
        ("/tmp/uploads/team-A.geojson", False, "team-A"),
        # only the "_" made of other characters is trimmed: letters at the ends stay
        ("Xuân La X.csv", False, "Xu_n_La_X"),
    ],
)
def test_default_source(name, kobo, expected):
    assert default_source(name, kobo=kobo) == expected


def test_default_source_is_not_kobo_by_default():
    assert default_source("kobo_export.csv") == "kobo_export"


# -- batches.lookup_existing: the stored side of the rule --------------------------------


def test_lookup_on_an_empty_store_or_without_match_gives_the_key_columns(store):
    keys = pd.DataFrame({"source": ["a"], "source_id": ["1"], "fingerprint": ["x"]})
    columns = ["id", "source", "source_id", "fingerprint", "status", "row"]
    assert list(batches.lookup_existing(store, keys).columns) == columns
    batches.commit_batch(store, batch(), incidents([{}]), NO_UPDATES, actor="f")
    none = batches.lookup_existing(store, keys)
    assert none.empty and list(none.columns) == columns


def test_lookup_without_an_id_column_matches_by_fingerprint_and_keeps_row_labels(store):
    rows = [{"source_id": None}, {"source_id": None, "status": "in_progress"}, {"source_id": None}]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="f")
    keys = pd.DataFrame(
        {
            "source": ["renamed.csv"] * 4,
            "fingerprint": ["test.csv#3", "nomatch", "test.csv#2", "test.csv#1"],
        },
        index=[30, 10, 20, 40],
    )
    found = batches.lookup_existing(store, keys)
    # in the order of the input rows, each labelled with its row's index label
    assert found["row"].tolist() == [30, 20, 40]
    assert found["fingerprint"].tolist() == ["test.csv#3", "test.csv#2", "test.csv#1"]
    assert found["status"].tolist() == ["reported", "in_progress", "reported"]
    assert found["source"].tolist() == ["test.csv"] * 3  # the stored incident's own source
    assert found["id"].dtype == np.int64
    assert found["id"].tolist() == [3, 2, 1]


def test_fingerprint_reads_naive_times_as_utc():
    """Reported times are UTC (fingerprints' docstring); a naive time is UTC too, as
    everywhere in the store (geo.store._instants.to_utc), so 17:00 is the next Hà Nội day."""
    types = pd.Series(["sidewalk", "sidewalk"])
    reported = pd.Series(pd.to_datetime(["2025-07-04 16:59", "2025-07-04 17:00"]))
    keys = fingerprints(types, np.array([21.0, 21.0]), np.array([105.8, 105.8]), reported)
    assert keys.tolist() == [
        "v1|sidewalk|2100000|10580000|2025-07-04",
        "v1|sidewalk|2100000|10580000|2025-07-05",
    ]


def test_fingerprint_positions_are_whole_numbers_also_at_zero():
    """round(lat·1e5) is an integer: a value that rounds to zero is "0", never "-0"."""
    types = pd.Series(["other"])
    reported = pd.Series(pd.to_datetime(["2025-03-03 02:00Z"]))
    keys = fingerprints(types, np.array([-0.000001]), np.array([-0.000004]), reported)
    assert keys.tolist() == ["v1|other|0|0|2025-03-03"]


def test_fingerprints_are_pandas_text():
    """The keys are pandas' text dtype (``str``, missing = NaN), as the docstring says:
    comparing them gives plain numpy booleans, not pandas' nullable ones."""
    keys = fingerprints(
        pd.Series(["sidewalk", "sidewalk"]),
        np.array([21.0, np.nan]),
        np.array([105.8, 105.8]),
        pd.Series(pd.to_datetime(["2025-03-03 02:00Z"] * 2)),
    )
    assert keys.dtype == "str"
    assert (keys == "").dtype == np.dtype(bool)
    assert keys.tolist() == ["v1|sidewalk|2100000|10580000|2025-03-03", ""]


def test_fingerprints_of_no_rows_are_pandas_text_too():
    """An empty file's keys have the same ``str`` dtype as any other's (an empty Arrow
    string array alone would make pandas build an object Series)."""
    keys = fingerprints(
        pd.Series([], dtype=object),
        np.array([]),
        np.array([]),
        pd.Series(pd.to_datetime([], utc=True)),
    )
    assert keys.dtype == "str"
    assert len(keys) == 0
