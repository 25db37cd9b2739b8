"""The committed sustained-order sample (issue 12 §4): campaign wards look like campaigns,
steady wards do not, Hàng Mã has removals, checks and returns; and SQLite and PostGIS give
the same sustain figures for it (the agreement pattern of test_store_agreement)."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest

from geo import sustain
from geo.ingest import IngestOptions, ingest
from geo.ingest.recheck import ingest_results
from geo.sample_sustain import (
    CAMPAIGN_WARDS,
    HANG_MA,
    STEADY_WARDS,
    main_sample_points,
    sustain_sample,
)
from geo.seed import RECHECKS_CSV, SAMPLE_CSV, SUSTAIN_CSV
from geo.store import open_store
from geo.streets import streets_path
from tests.conftest import REPO

WARDS = REPO / "data" / "boundaries" / "hanoi_wards_2025.geojson"


def test_the_committed_files_are_the_generator_s_output():
    incidents, results = sustain_sample(gpd.read_file(WARDS), gpd.read_file(streets_path()),
                                        avoid=main_sample_points(SAMPLE_CSV))  # fmt: skip
    committed = pd.read_csv(SUSTAIN_CSV, dtype=str, keep_default_na=False)
    assert committed.values.tolist() == incidents.astype(str).values.tolist()
    assert len(pd.read_csv(RECHECKS_CSV)) == len(results)


def load(url: str) -> list[dict]:
    store = open_store(url)
    try:
        ingest(SUSTAIN_CSV, store, IngestOptions(source="sample_sustain"), actor="system")
        summary = ingest_results(store, RECHECKS_CSV, actor="system").summary()
        assert summary["rejected"] == 0 and summary["accepted"] == summary["rows"]
        return {by: sustain.stored_records(store, by=by, date_to="2026-01-01") for by in ("ward", "street", "type")}
    finally:
        store.close()


@pytest.fixture(scope="module")
def sqlite_figures(tmp_path_factory):
    return load(f"sqlite:///{tmp_path_factory.mktemp('sustain_sample') / 's.sqlite'}")


def test_campaign_and_steady_wards_look_as_they_should(sqlite_figures):
    by_ward = {r["ward_code"]: r for r in sqlite_figures["ward"]}
    for code in CAMPAIGN_WARDS:
        row = by_ward[code]
        assert row["campaign_flag"] is True, row
        assert row["retention_30"] < 0.6 and row["recurrence_rate"] > 0.3
    for code in STEADY_WARDS:
        row = by_ward[code]
        assert row["campaign_flag"] is False, row
        assert row["retention_30"] > 0.9 and row["rechecked_share"] > 0.5
    hang_ma = next(r for r in sqlite_figures["street"] if r["street"] == HANG_MA)
    assert hang_ma["places"] >= 10 and 0 < hang_ma["recurrence_rate"] < 1
    assert hang_ma["rechecked_share"] > 0.5 and hang_ma["retention_90"] < 1


@pytest.mark.postgis
def test_sqlite_and_postgis_give_the_same_sustain_figures(sqlite_figures, postgis_url):
    postgis = load(postgis_url)
    assert postgis.keys() == sqlite_figures.keys()
    for by, rows in sqlite_figures.items():
        assert len(postgis[by]) == len(rows), by
        for a, b in zip(rows, postgis[by], strict=True):
            assert a.keys() == b.keys()
            for key, value in a.items():
                other = b[key]
                if isinstance(value, float) and not isinstance(value, bool):
                    assert other is not None and math.isclose(value, other, rel_tol=0, abs_tol=1e-9), (by, key)
                else:
                    assert value == other, (by, key, value, other)
