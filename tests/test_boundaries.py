"""The ward layer: formats, CRS discipline, validation, official codes, the committed default."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo.boundaries import (
    DEFAULT_BOUNDARIES,
    build_default_layer,
    check_boundaries,
    load_boundaries,
    read_layer,
    standardise,
)
from geo.crs import METRIC_CRS
from geo.errors import BoundaryError, CRSError
from geo.names import name_key


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "geo", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[1],
    )


# ------------------------------------------------------------------ the default layer


def test_default_layer_has_126_units_with_official_codes(wards):
    assert len(wards) == 126
    assert wards.crs.to_epsg() == 4326
    assert list(wards.columns) == [
        "code",
        "name",
        "name_en",
        "kind",
        "area_km2",
        "population",
        "osm_id",
        "geometry",
    ]
    assert wards["code"].str.fullmatch(r"\d{5}").all()
    assert wards["code"].is_unique
    assert wards["kind"].value_counts().to_dict() == {"xa": 75, "phuong": 51}
    assert shapely.is_valid(wards.geometry.to_numpy()).all()
    hk = wards.set_index("code").loc["00070"]
    assert hk["name"] == "Phường Hoàn Kiếm"
    assert hk["osm_id"].startswith("relation/")
    assert 0.5 < hk["area_km2"] < 10
    assert wards["population"].notna().sum() >= 70  # OSM has it for 74 units


def test_default_layer_file_is_small_and_documented(repo):
    assert DEFAULT_BOUNDARIES.stat().st_size <= 3 * 1024 * 1024
    readme = (repo / "data" / "boundaries" / "README.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in readme
    assert "python -m geo boundaries build" in readme


def test_check_cli_on_default_layer():
    result = run_cli("boundaries", "check", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["count"] == 126
    assert report["invalid"] == 0
    assert report["codes_matched"] == 126
    assert report["unmatched"] == []
    # The figures by another route (UTM 48N): with no point in three wards, the overlap
    # is the sum of the areas minus the area of their union; the gaps are what filling
    # the union's holes adds to it.
    metric = load_boundaries().geometry.to_crs(METRIC_CRS)
    union = shapely.union_all(shapely.make_valid(metric.to_numpy()))
    filled = shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(union)])
    assert report["overlaps_m2"] == pytest.approx(metric.area.sum() - union.area, abs=5.0)
    assert report["gaps_m2"] == pytest.approx(filled.area - union.area, abs=5.0)
    assert report["overlaps_m2"] > 1000 and report["gaps_m2"] > 1000  # the OSM layer has both
    assert [(p["a"], p["b"]) for p in report["overlap_pairs"]][:1] == [("00643", "09556")]


def test_rebuild_reproduces_committed_layer(tmp_path, osm_admin):
    out = tmp_path / "wards.geojson"
    report = build_default_layer(osm_admin, out)
    assert report.codes_matched == 126
    rebuilt, committed = load_boundaries(out), load_boundaries()
    assert rebuilt["code"].tolist() == committed["code"].tolist()
    assert rebuilt.geometry.geom_equals_exact(committed.geometry, tolerance=1e-6).all()


def test_simplification_moves_no_boundary_more_than_2m(osm_admin, wards):
    raw = standardise(read_layer(osm_admin)).set_index("code").loc[wards["code"]]
    before = raw.geometry.to_crs(METRIC_CRS).to_numpy()
    after = wards.geometry.to_crs(METRIC_CRS).to_numpy()
    shift = shapely.hausdorff_distance(shapely.boundary(before), shapely.boundary(after))
    assert float(shift.max()) <= 2.0 + 0.1  # 0.1 m: 6-decimal coordinates in the file


# ---------------------------------------------------------------------- formats & CRS


@pytest.fixture(scope="module")
def three_wards(wards):
    return wards[wards["code"].isin(["00070", "00199", "00025"])].reset_index(drop=True)


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [(".geojson", "GeoJSON"), (".gpkg", "GPKG"), (".shp", "ESRI Shapefile"), (".kml", "KML")],
)
def test_reads_each_format(tmp_path, three_wards, suffix, driver):
    path = tmp_path / f"wards{suffix}"
    three_wards[["code", "name", "geometry"]].to_file(path, driver=driver, engine="pyogrio")
    layer = load_boundaries(path)
    assert sorted(layer["code"]) == ["00025", "00070", "00199"]
    assert layer.crs.to_epsg() == 4326


def test_reads_zipped_shapefile(tmp_path, three_wards):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    three_wards[["code", "name", "geometry"]].to_file(shp_dir / "wards.shp", engine="pyogrio")
    archive = tmp_path / "wards.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in shp_dir.iterdir():
            zf.write(part, f"nested/{part.name}")
    layer = load_boundaries(archive)
    assert sorted(layer["code"]) == ["00025", "00070", "00199"]


def test_names_only_layer_gets_codes_from_register(tmp_path, three_wards):
    """A layer with old-style tone marks and no codes is matched by normalised name."""
    layer = three_wards[["name", "geometry"]].copy()
    layer["name"] = ["Hoàn Kiếm", "phường  giảng võ", "Phường Láng"]
    path = tmp_path / "names.geojson"
    layer.to_file(path, engine="pyogrio")
    loaded = load_boundaries(path)
    assert dict(zip(loaded["code"], loaded["name"], strict=True)) == {
        "00025": "Phường Giảng Võ",
        "00070": "Phường Hoàn Kiếm",
        "00199": "Phường Láng",
    }


def test_vn2000_layer_keeps_the_datum_shift(tmp_path, three_wards):
    """EPSG:5897 (VN-2000 TM-3 105°) round-trips to within centimetres of the original."""
    path = tmp_path / "vn2000.gpkg"
    three_wards[["code", "name", "geometry"]].to_crs("EPSG:5897").to_file(path, engine="pyogrio")
    layer = load_boundaries(path)
    original = three_wards.set_index("code").geometry.to_crs(METRIC_CRS)
    loaded = layer.set_index("code").geometry.to_crs(METRIC_CRS).loc[original.index]
    assert (original.centroid.distance(loaded.centroid) < 0.05).all()

    # Dropping the datum shift (a bare proj string, no towgs84) would misplace it ~224 m.
    x, y = 105.8490, 21.0365
    proper = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True).transform(x, y)
    bare = Transformer.from_crs(
        "EPSG:4326",
        "+proj=tmerc +lat_0=0 +lon_0=105 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m",
        always_xy=True,
    ).transform(x, y)
    assert 200 < float(np.hypot(proper[0] - bare[0], proper[1] - bare[1])) < 250


def test_layer_without_crs_is_refused_unless_stated(tmp_path, three_wards):
    path = tmp_path / "nocrs.shp"
    three_wards[["code", "name", "geometry"]].to_file(path, engine="pyogrio")
    path.with_suffix(".prj").unlink()
    with pytest.raises(CRSError) as info:
        load_boundaries(path)
    assert "nocrs.shp" in str(info.value) and "CRS" in str(info.value)
    layer = load_boundaries(path, crs="EPSG:4326")
    assert len(layer) == 3


def test_invalid_geometry_is_repaired_and_reported(tmp_path, three_wards):
    bowtie = shapely.Polygon([(105.80, 21.00), (105.81, 21.01), (105.81, 21.00), (105.80, 21.01)])
    layer = three_wards[["code", "name", "geometry"]].copy()
    layer.loc[0, "geometry"] = bowtie
    path = tmp_path / "bowtie.geojson"
    layer.to_file(path, engine="pyogrio")
    report = check_boundaries(path)
    assert report.invalid == 1
    assert report.repairs[0]["code"] == layer.loc[0, "code"]
    assert "Self-intersection" in report.repairs[0]["reason"]
    assert shapely.is_valid(load_boundaries(path).geometry.to_numpy()).all()


def test_overlaps_and_gaps_are_measured_in_square_metres(tmp_path):
    # Two 1 km squares in UTM overlapping by 10 m x 1000 m, a third leaving a 10 m gap.
    squares = [
        shapely.box(600000, 2320000, 601000, 2321000),
        shapely.box(600990, 2320000, 601990, 2321000),
        shapely.box(600000, 2321010, 601990, 2322000),
    ]
    frame = gpd.GeoDataFrame(
        {"code": ["00004", "00008", "00025"]}, geometry=squares, crs=METRIC_CRS
    )
    ring = shapely.box(599000, 2319000, 603000, 2323000).difference(
        shapely.box(599990, 2319990, 602000, 2322010)
    )
    frame.loc[3] = ["00070", ring]  # a frame around them, so the 10 m strip is an enclosed gap
    path = tmp_path / "squares.gpkg"
    frame.to_file(path, engine="pyogrio")
    report = check_boundaries(path)
    assert report.overlaps_m2 == pytest.approx(10_000, rel=0.01)
    assert report.gaps_m2 > 0
    assert report.gap_count >= 1


# ----------------------------------------------------------------- bad input messages


def _assert_clean_cli_error(path: Path, *needles: str) -> None:
    result = run_cli("boundaries", "check", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert path.name in result.stderr
    for needle in needles:
        assert needle in result.stderr


def test_bad_inputs_get_clear_bilingual_messages(tmp_path, three_wards):
    empty = tmp_path / "empty.geojson"
    empty.write_bytes(b"")
    _assert_clean_cli_error(empty, "tệp rỗng", "empty")

    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    _assert_clean_cli_error(broken, "GeoJSON", "not valid JSON")

    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    _assert_clean_cli_error(corrupt, "zip")

    lines = tmp_path / "lines.geojson"
    gpd.GeoDataFrame(
        {"code": ["1"]}, geometry=[shapely.LineString([(105.8, 21), (105.9, 21.1)])], crs=4326
    ).to_file(lines, engine="pyogrio")
    _assert_clean_cli_error(lines, "LineString", "polygons")

    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame({"code": ["1"]}, geometry=[shapely.Point(105.8, 21)], crs=4326).to_file(
        points, engine="pyogrio"
    )
    _assert_clean_cli_error(points, "Point")

    nocrs = tmp_path / "nocrs.shp"
    three_wards[["code", "geometry"]].to_file(nocrs, engine="pyogrio")
    nocrs.with_suffix(".prj").unlink()
    _assert_clean_cli_error(nocrs, "CRS")


def test_zip_with_path_traversal_is_refused(tmp_path, three_wards):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../etc/evil.shp", b"x")
    with pytest.raises(BoundaryError, match="unsafe path"):
        read_layer(archive)
    assert not (tmp_path.parent.parent / "etc" / "evil.shp").exists()


def test_zip_bomb_is_refused_before_unpacking(tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("wards.shp", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(BoundaryError, match="zip bomb"):
        read_layer(archive)


# ---------------------------------------------------------------- names and identity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Phường Hoà Bình", "hòa bình"),
        ("Xã Thuỵ Lâm", "Thụy Lâm"),
        ("Phù  - Đổng", "Phù-Đổng"),
        ("Ho\u0300a Bi\u0300nh", "Hòa Bình"),
        ("HOÀN KIẾM", "Phường Hoàn Kiếm"),
    ],
)
def test_name_key_ignores_spelling_variants(a, b):
    assert name_key(a) == name_key(b)


def test_name_key_keeps_real_differences():
    assert name_key("Hà Đông") != name_key("Hải Đông")
    assert name_key("Phú Lương") != name_key("Phú Lượng")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Phường Láng", "00199"),
        ("phuong hoan kiem", "00070"),  # no diacritics
        ("Phường Hàng Mã, Quận Hoàn Kiếm", "00070"),  # a pre-2025 ward, converted
        ("Phường Hàng Mã", "00070"),  # old name without its district: only one had it
        ("Xã Hoà Bình", "10183"),  # old commune of Thường Tín, now Xã Thường Tín
        ("Phường Hoà Bình", None),  # no phường of that name: the kind must agree
        ("Nowhere", None),
        ("", None),
    ],
)
def test_ward_code_from_text(text, code):
    from geo.admin_units import ward_code_from_text

    assert ward_code_from_text(text) == code


def test_register_is_read_without_the_address_parser():
    """A 2025 ward name is looked up in the register without importing
    ``vietnamadminunits`` (its parser's regular expressions cost a fresh process about
    0.5 s of CPU); an old name still goes through the converter. A fresh interpreter,
    since another test may have imported the package already."""
    script = (
        "import sys\n"
        "from geo.admin_units import ward_code_from_text as f\n"
        "print(f('Phường Láng'), 'vietnamadminunits' in sys.modules)\n"
        "print(f('Phường Hàng Mã, Quận Hoàn Kiếm'), 'vietnamadminunits' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["00199 False", "00070 True"]
