"""Synthetic sample incidents (geo.sample): determinism, coverage, labels, vocabulary."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.admin_units import codes_by_name
from geo.assign import assign_lonlat
from geo.cli import main
from geo.sample import (
    COLUMNS,
    STATUS_TEXTS,
    SYNTHETIC_LABEL,
    TYPE_TEXTS,
    sample_incidents,
    write_sample,
)
from geo.streets import street_matches
from geo.vocab import status_code, type_code

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "data" / "incidents" / "sample_incidents.csv"
WHEN = "%d/%m/%Y %H:%M"


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """2,000 rows written and read back through the CLI, as a user would get them."""
    out = tmp_path_factory.mktemp("sample") / "s.csv"
    assert main(["sample", "--n", "2000", "--seed", "7", "--out", str(out)]) == 0
    return _read(out)


def test_same_seed_same_bytes_other_seed_other_rows(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert main(["sample", "--n", "1500", "--seed", "42", "--out", str(a)]) == 0
    assert main(["sample", "--n", "1500", "--seed", "42", "--out", str(b)]) == 0
    assert main(["sample", "--n", "1500", "--seed", "43", "--out", str(c)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert len(_read(a)) == 1500


def test_headers_and_synthetic_label(sample: pd.DataFrame) -> None:
    assert tuple(sample.columns) == COLUMNS
    assert (sample["nguồn dữ liệu"] == SYNTHETIC_LABEL).all()
    assert sample["mã"].str.fullmatch(r"GL7-\d{7}").all()
    assert sample["mã"].is_unique
    readme = (REPO / "data" / "incidents" / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "giả lập" in readme


def test_all_text_is_nfc(sample: pd.DataFrame) -> None:
    for column in sample.columns:
        assert sample[column].map(lambda v: unicodedata.is_normalized("NFC", v)).all(), column


def test_types_and_statuses_are_in_the_vocabulary(sample: pd.DataFrame) -> None:
    for code, (_, texts) in TYPE_TEXTS.items():
        for text in texts:
            assert type_code(text) == code, text
    for code, text in STATUS_TEXTS.items():
        assert status_code(text) == code, text
    types = sample["loại vi phạm"].map(type_code)
    assert set(types) == set(TYPE_TEXTS)
    assert sample["loại vi phạm"].isin([t for _, ts in TYPE_TEXTS.values() for t in ts]).all()
    statuses = sample["trạng thái"].map(status_code)
    assert statuses.notna().all()
    assert set(statuses) == set(STATUS_TEXTS)
    share = types.value_counts(normalize=True)
    assert share["sidewalk"] > share["parking"] > share["other"]


def test_dates_and_clearance(sample: pd.DataFrame) -> None:
    reported = pd.to_datetime(sample["ngày phát hiện"], format=WHEN)
    assert reported.min() >= pd.Timestamp("2025-07-01")
    assert reported.max() < pd.Timestamp("2026-01-01")
    assert reported.dt.month.nunique() == 6
    cleared_rows = sample["trạng thái"].map(status_code) == "cleared"
    has_date = sample["ngày xử lý"] != ""
    assert (has_date == cleared_rows).all()  # a clearance date exactly on cleared rows
    cleared = pd.to_datetime(sample.loc[has_date, "ngày xử lý"], format=WHEN)
    took = cleared - reported[has_date]
    assert (took >= pd.Timedelta(minutes=30)).all()
    assert (cleared < pd.Timestamp("2026-01-01")).all()
    # Parking is cleared in hours, signboards take much longer.
    types = sample.loc[has_date, "loại vi phạm"].map(type_code)
    assert took[types == "parking"].median() < took[types == "signboard"].median() / 5
    assert 0.4 < cleared_rows.mean() < 0.8


def test_covers_all_126_wards(sample: pd.DataFrame, wards: gpd.GeoDataFrame) -> None:
    lon = sample["kinh độ"].astype(float)
    lat = sample["vĩ độ"].astype(float)
    assigned = assign_lonlat(lon, lat, wards)
    assert (assigned["assign_flag"] == "").all()  # every point inside a ward
    assert assigned["ward_code"].nunique() == 126
    # The ward column, where filled in, names the ward the point lies in.
    named = sample["phường"] != ""
    assert named.mean() > 0.9
    codes = codes_by_name(sample.loc[named, "phường"])
    assert (codes.to_numpy() == assigned.loc[named, "ward_code"].to_numpy()).all()


def test_street_rows_lie_on_real_streets_hang_ma_among_them(sample: pd.DataFrame) -> None:
    on_street = sample["địa chỉ"].str.fullmatch(r"Số \d+ .+")
    assert 0.1 < on_street.mean() < 0.3
    rows = sample[on_street]
    named = rows["địa chỉ"].str.replace(r"^Số \d+ ", "", regex=True)
    match = street_matches(rows["kinh độ"].astype(float), rows["vĩ độ"].astype(float))
    assert match["street"].notna().all()  # 1–8 m off a centreline
    assert (match["distance_m"] <= 8.5).all()
    assert (match["street"].to_numpy() == named.to_numpy()).mean() > 0.8
    hang_ma = named == "Hàng Mã"
    assert hang_ma.sum() >= 20
    assert (match.loc[hang_ma.to_numpy(), "street"] == "Hàng Mã").mean() > 0.7


def test_some_wards_do_better_than_others(wards: gpd.GeoDataFrame) -> None:
    frame = sample_incidents(20_000, seed=3, wards=wards)
    frame = frame[frame["phường"] != ""]
    cleared = frame["trạng thái"].map(status_code) == "cleared"
    by_ward = cleared.groupby(frame["phường"]).agg(["mean", "size"])
    busy = by_ward[by_ward["size"] >= 60]["mean"]
    assert len(busy) >= 30
    assert busy.max() - busy.min() > 0.3


def test_small_and_empty_samples(tmp_path: Path, wards: gpd.GeoDataFrame) -> None:
    empty = sample_incidents(0, seed=1, wards=wards)
    assert list(empty.columns) == list(COLUMNS) and empty.empty
    out = write_sample(sample_incidents(5, seed=1, wards=wards), tmp_path / "five.csv")
    assert len(_read(out)) == 5
    with pytest.raises(ValueError):
        sample_incidents(-1)


def test_committed_sample(wards: gpd.GeoDataFrame) -> None:
    assert COMMITTED.stat().st_size < 1_000_000
    committed = _read(COMMITTED)
    assert len(committed) == 5000
    assert tuple(committed.columns) == COLUMNS
    assert (committed["nguồn dữ liệu"] == SYNTHETIC_LABEL).all()
    assert committed["mã"].str.startswith("GL2025-").all()
    assigned = assign_lonlat(
        committed["kinh độ"].astype(float), committed["vĩ độ"].astype(float), wards
    )
    assert assigned["ward_code"].nunique() == 126
    assert committed["địa chỉ"].str.endswith(" Hàng Mã").sum() > 50
    assert np.isin(committed["trạng thái"], list(STATUS_TEXTS.values())).all()
