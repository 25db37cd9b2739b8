"""Helpers of the snapshot tests: a snapshot as a plain frame, a file sent again with moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

from geo.snapshot import IncidentSnapshot


def decoded(snapshot: IncidentSnapshot) -> pd.DataFrame:
    """Every row of ``snapshot`` with its codes turned back into values (None for -1), so
    two snapshots whose labels are numbered differently compare equal when their rows do."""
    out: dict[str, object] = {"id": snapshot.ids, "lat": snapshot.lat, "lon": snapshot.lon, "x": snapshot.x, "y": snapshot.y}
    for column, codes in snapshot.codes.items():
        out[column] = np.append(snapshot.labels[column], None)[codes]  # code -1 -> None
    out.update(snapshot.times)
    return pd.DataFrame(out)


def assert_metres_of_degrees(snapshot: IncidentSnapshot) -> None:
    """Every row's ``x``/``y`` is its lon/lat projected from EPSG:4326 to EPSG:32648 by
    pyproj (x east, y north), exactly: what the map's density grid computed from the
    degrees before the snapshot kept metres."""
    assert len(snapshot) > 0
    to_m = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    x, y = to_m.transform(snapshot.lon, snapshot.lat)
    assert snapshot.x.dtype == snapshot.y.dtype == np.float64
    np.testing.assert_array_equal(snapshot.x, x)
    np.testing.assert_array_equal(snapshot.y, y)
    assert 5e5 < float(np.median(snapshot.x)) < 6.5e5 and 2.2e6 < float(np.median(snapshot.y)) < 2.5e6  # Hà Nội in UTM 48N


def resent(frame: pd.DataFrame, moved: int, to: str = "Đang xử lý") -> pd.DataFrame:
    """``frame`` (a :func:`geo.sample.sample_incidents` file) sent again with its first
    ``moved`` unhandled incidents in status ``to`` (as the file writes it)."""
    status = frame.columns[2]  # "trạng thái"
    unhandled = frame.index[frame[status] == "Chưa xử lý"][:moved]
    assert len(unhandled) == moved
    again = frame.copy()
    again.loc[unhandled, status] = to
    return again
