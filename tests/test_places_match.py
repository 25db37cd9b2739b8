"""Places: the matching rule, against a literal loop written from the rule text.

The rule (issue 12): an incident joins the nearest existing place of the same violation
type, in the same ward, within the radius (15 m in EPSG:32648); otherwise it starts a new
place at its own position. Places never drift; ids continue after the largest existing
id, in incident order; incidents of one batch see places started earlier in the batch.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geo import _places_match
from geo.errors import InvalidArgument
from geo.places import (
    DEFAULT_RADIUS_M,
    NEW_PLACE_COLUMNS,
    PLACE_COLUMNS,
    assign_places,
    assign_places_metric,
    empty_places,
    place_radius,
    rebuild_places,
)

# The engine fixture only patches module constants: sharing it across examples is intended.
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
X0, Y0 = 585_000.0, 2_320_000.0  # central Hà Nội in EPSG:32648


# --------------------------------------------------------------------------- reference


def reference(incidents: pd.DataFrame, places: pd.DataFrame, radius: float) -> list[int]:
    """The rule as written, one incident at a time over a plain list of places.

    "Same ward" treats two missing wards as the same; an incident without coordinates
    starts a place nothing can join.
    """
    known = [
        (int(p["place_id"]), p["type"], p["ward_code"], float(p["x"]), float(p["y"]))
        for p in places.to_dict("records")
    ]
    next_id = max((k[0] for k in known), default=0) + 1
    out = []
    for inc in incidents.to_dict("records"):
        t, w, x, y = inc["type"], inc["ward_code"], float(inc["x"]), float(inc["y"])
        best: tuple[float, int] | None = None
        if math.isfinite(x) and math.isfinite(y):
            for pid, pt, pw, px, py in known:
                same_ward = (pw == w) or (pd.isna(pw) and pd.isna(w))  # None or NaN alike
                if pt != t or not same_ward:
                    continue
                d2 = (x - px) ** 2 + (y - py) ** 2  # no drift: px, py never change
                if d2 <= radius * radius and (best is None or (d2, pid) < best):
                    best = (d2, pid)
        if best is None:
            known.append((next_id, t, w, x, y))
            out.append(next_id)
            next_id += 1
        else:
            out.append(best[1])
    return out


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Incidents in metres: (type, ward, dx, dy) relative to (X0, Y0)."""
    return pd.DataFrame(
        {
            "type": [r[0] for r in rows],
            "ward_code": [r[1] for r in rows],
            "x": [X0 + r[2] for r in rows],
            "y": [Y0 + r[3] for r in rows],
        }
    )


def places_of(result) -> pd.DataFrame:
    return result.new_places[list(PLACE_COLUMNS)]


# --------------------------------------------------------------------------- strategies

GRID = st.integers(0, 40).map(lambda v: v * 3.0)  # multiples of 3 m: exact 15 m ties (9, 12)
FREE = st.floats(0, 120, allow_nan=False)
COORD = st.one_of(GRID, FREE)
INCIDENT = st.tuples(
    st.sampled_from(["sidewalk", "awning"]),
    st.sampled_from(["00070", "00073", None]),
    COORD,
    COORD,
)
BATCH = st.lists(INCIDENT, min_size=0, max_size=90).map(frame)


@pytest.fixture(params=["rounds", "sequential", "default"])
def engine(request, monkeypatch):
    """Both halves of the engine: bulk rounds only, the sequential finish only, the mix."""
    if request.param == "rounds":
        monkeypatch.setattr(_places_match, "_MIN_ROUND_YIELD", 0)
        monkeypatch.setattr(_places_match, "_MAX_ROUNDS", 10**9)
    elif request.param == "sequential":
        monkeypatch.setattr(_places_match, "_ROUNDS_BEFORE_FALLBACK", 0)
        monkeypatch.setattr(_places_match, "_MIN_ROUND_YIELD", 10**9)
    return request.param


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(batch=BATCH)
def test_matches_the_reference_loop(batch, engine):
    got = assign_places_metric(batch, radius_m=15.0)
    assert got.place_id.tolist() == reference(batch, empty_places(), 15.0)


@SETTINGS
@given(first=BATCH, second=BATCH, radius=st.sampled_from([15.0, 6.0, 25.5]))
def test_batch_a_then_b_equals_one_pass(first, second, radius, engine):
    both = pd.concat([first, second], ignore_index=True)
    one_pass = assign_places_metric(both, radius_m=radius)
    a = assign_places_metric(first, radius_m=radius)
    b = assign_places_metric(second, places_of(a), radius_m=radius)
    assert np.concatenate([a.place_id, b.place_id]).tolist() == one_pass.place_id.tolist()
    combined = pd.concat([a.new_places, b.new_places], ignore_index=True)
    assert combined["place_id"].tolist() == one_pass.new_places["place_id"].tolist()
    assert b.place_id.tolist() == reference(second, places_of(a), radius)


@SETTINGS
@given(batch=BATCH)
def test_rebuild_is_deterministic_and_places_are_first_incidents(batch):
    one, two = assign_places_metric(batch), assign_places_metric(batch)
    assert one.place_id.tolist() == two.place_id.tolist()
    pd.testing.assert_frame_equal(one.new_places, two.new_places)
    new = one.new_places
    assert list(new.columns) == list(NEW_PLACE_COLUMNS)
    assert new["place_id"].tolist() == list(range(1, len(new) + 1))  # in incident order
    first = new["first_incident"].to_numpy()
    assert (np.diff(first) > 0).all()
    assert (one.place_id[first] == new["place_id"].to_numpy()).all()
    assert np.array_equal(new["x"].to_numpy(), batch["x"].to_numpy()[first])
    # every incident that did not start a place joined one started before it
    started_at = dict(zip(new["place_id"], first, strict=True))
    for i, pid in enumerate(one.place_id):
        assert started_at[int(pid)] <= i


# --------------------------------------------------------------------------- the rule, case by case


def test_radius_boundary_is_inclusive_at_exactly_15_m():
    at = assign_places_metric(frame([("sidewalk", "w", 0, 0), ("sidewalk", "w", 15.0, 0)]))
    assert at.place_id.tolist() == [1, 1]
    diagonal = assign_places_metric(frame([("sidewalk", "w", 0, 0), ("sidewalk", "w", 9, 12)]))
    assert diagonal.place_id.tolist() == [1, 1]  # 9² + 12² = 15²
    beyond = np.nextafter(X0 + 15.0, np.inf) - X0
    past = assign_places_metric(frame([("sidewalk", "w", 0, 0), ("sidewalk", "w", beyond, 0)]))
    assert past.place_id.tolist() == [1, 2]


def test_the_radius_is_measured_in_utm_48n_metres():
    """14.5 m apart in EPSG:32648 is 15.5 m in Web Mercator at 21° N: it must join."""
    to_lonlat = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform([X0, X0 + 14.5, X0 + 40, X0 + 40 + 15.5], [Y0] * 4)
    incidents = pd.DataFrame(
        {"type": ["awning"] * 4, "ward_code": ["00070"] * 4, "lon": lon, "lat": lat}
    )
    result = assign_places(incidents)
    assert result.place_id.tolist() == [1, 1, 2, 3]
    assert np.allclose(result.new_places["x"], [X0, X0 + 40, X0 + 55.5], atol=1e-6)
    assert np.allclose(result.new_places["lon"], np.asarray(lon)[[0, 2, 3]])


def test_type_and_ward_keep_places_apart():
    rows = [
        ("sidewalk", "00070", 0, 0),
        ("awning", "00070", 0, 0),  # same spot, other type
        ("sidewalk", "00073", 0, 0),  # same spot, other ward
        ("sidewalk", None, 0, 0),  # no ward: a group of its own
        ("sidewalk", "00070", 1, 1),
        ("awning", "00070", 2, 0),
        ("sidewalk", "00073", 0, 3),
        ("sidewalk", None, 3, 0),
    ]
    assert assign_places_metric(frame(rows)).place_id.tolist() == [1, 2, 3, 4, 1, 2, 3, 4]


def test_a_place_never_drifts():
    """Reports every 10 m along a street: the place stays at the first one."""
    rows = [("sidewalk", "w", d, 0) for d in (0, 10, 20, 30, 40)]
    result = assign_places_metric(frame(rows))
    # 20 m is beyond place 1 (at 0) even though it is 10 m from the report at 10 m
    assert result.place_id.tolist() == [1, 1, 2, 2, 3]
    assert (result.new_places["x"] - X0).tolist() == [0, 20, 40]


def test_nearest_place_wins_and_ties_go_to_the_smallest_id():
    existing = pd.DataFrame(
        {
            "place_id": [5, 3],
            "type": ["parking", "parking"],
            "ward_code": ["00070", "00070"],
            "x": [X0, X0 + 20],
            "y": [Y0, Y0],
        }
    )
    rows = [("parking", "00070", 12, 0), ("parking", "00070", 10, 0), ("parking", "00070", 7, 0)]
    result = assign_places_metric(frame(rows), existing)
    assert result.place_id.tolist() == [3, 3, 5]
    assert result.new_places.empty


def test_a_place_started_in_the_batch_is_seen_by_later_incidents_of_the_batch():
    existing = pd.DataFrame(
        {"place_id": [1], "type": ["sidewalk"], "ward_code": ["w"], "x": [X0], "y": [Y0]}
    )
    # 20 m from place 1: new place 2; then a report 12 m from 1 but 8 m from 2 joins 2
    rows = [("sidewalk", "w", 20, 0), ("sidewalk", "w", 12, 0), ("sidewalk", "w", 3, 0)]
    assert assign_places_metric(frame(rows), existing).place_id.tolist() == [2, 2, 1]


def test_new_ids_continue_after_the_largest_existing_id_in_incident_order():
    existing = pd.DataFrame(
        {"place_id": [42, 7], "type": ["a", "a"], "ward_code": ["w", "w"],
         "x": [X0, X0 + 1000], "y": [Y0, Y0]}
    )  # fmt: skip
    rows = [("a", "w", 500, 0), ("a", "w", 1, 0), ("a", "w", 700, 0), ("a", "w", 502, 0)]
    result = assign_places_metric(frame(rows), existing)
    assert result.place_id.tolist() == [43, 42, 44, 43]
    assert result.new_places["place_id"].tolist() == [43, 44]
    assert result.new_places["first_incident"].tolist() == [0, 2]


def test_incidents_without_coordinates_get_a_place_of_their_own():
    rows = [("a", "w", 0, 0), ("a", "w", float("nan"), 0), ("a", "w", 1, 1),
            ("a", "w", float("nan"), float("nan")), ("a", "w", float("inf"), 0)]  # fmt: skip
    assert assign_places_metric(frame(rows)).place_id.tolist() == [1, 2, 1, 3, 4]


def test_far_and_invalid_existing_places_are_ignored():
    existing = pd.DataFrame(
        {"place_id": [1, 2, 3], "type": ["a"] * 3, "ward_code": ["w"] * 3,
         "x": [np.nan, X0 + 1e7, X0 + 1e300], "y": [Y0, Y0, Y0]}
    )  # fmt: skip
    assert assign_places_metric(frame([("a", "w", 0, 0)]), existing).place_id.tolist() == [4]


def test_a_million_incidents_on_one_spot_make_one_place():
    """Linear, not a million-squared neighbour list (that would not finish)."""
    n = 1_000_000
    batch = pd.DataFrame({"type": ["a"] * n, "ward_code": ["w"] * n,
                          "x": np.full(n, X0), "y": np.full(n, Y0)})  # fmt: skip
    result = assign_places_metric(batch)
    assert len(result.new_places) == 1
    assert (result.place_id == 1).all()
    again = assign_places_metric(batch.iloc[:1000], places_of(result))
    assert (again.place_id == 1).all() and again.new_places.empty


def test_an_order_sorted_along_a_street_matches_the_reference():
    """The order that defeats the bulk rounds (each place waits for its neighbour)."""
    rows = [("a", "w", d * 7.0, (d % 3) * 4.0) for d in range(1500)]
    batch = frame(rows)
    assert assign_places_metric(batch).place_id.tolist() == reference(batch, empty_places(), 15.0)


def test_random_city_scale_batch_matches_the_reference_in_pieces():
    rng = np.random.default_rng(12)
    n = 4000
    batch = pd.DataFrame(
        {
            "type": rng.choice(["sidewalk", "awning", "parking"], n),
            "ward_code": rng.choice(["00070", "00073"], n),
            "x": X0 + rng.normal(0, 60, n),
            "y": Y0 + rng.normal(0, 60, n),
        }
    )
    whole = assign_places_metric(batch)
    assert whole.place_id.tolist() == reference(batch, empty_places(), DEFAULT_RADIUS_M)
    pieces, known = [], empty_places()
    for part in np.array_split(np.arange(n), 7):
        step = assign_places_metric(batch.iloc[part].reset_index(drop=True), known)
        pieces.append(step.place_id)
        known = pd.concat([known, places_of(step)], ignore_index=True)
    assert np.concatenate(pieces).tolist() == whole.place_id.tolist()


def test_rebuild_places_projects_lon_lat():
    incidents = pd.DataFrame(
        {"type": ["a", "a"], "ward_code": ["w", "w"], "lon": [105.85, 105.85001],
         "lat": [21.03, 21.03]}
    )  # fmt: skip
    result = rebuild_places(incidents)
    assert result.place_id.tolist() == [1, 1]  # ~1 m apart
    assert rebuild_places(incidents).new_places.equals(result.new_places)


# --------------------------------------------------------------------------- bad input


def test_place_radius_parses_and_refuses():
    assert place_radius(20) == 20.0
    assert place_radius(7.5) == 7.5
    for bad in ("abc", 0, -3, float("nan"), float("inf"), None):
        with pytest.raises(InvalidArgument, match="place radius"):
            place_radius(bad)  # type: ignore[arg-type]


def test_missing_columns_and_bad_place_ids_are_refused():
    with pytest.raises(InvalidArgument, match="ward_code"):
        assign_places(pd.DataFrame({"type": ["a"], "lon": [105.8], "lat": [21.0]}))
    ok = frame([("a", "w", 0, 0)])
    dup = pd.DataFrame({"place_id": [3, 3], "type": ["a", "a"], "ward_code": ["w", "w"],
                        "x": [X0, X0], "y": [Y0, Y0]})  # fmt: skip
    with pytest.raises(InvalidArgument, match="place_id 3"):
        assign_places_metric(ok, dup)
    bad = dup.assign(place_id=["x", 4])
    with pytest.raises(InvalidArgument, match="row 0"):
        assign_places_metric(ok, bad)
