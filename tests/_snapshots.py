"""Helpers of the snapshot tests: a snapshot as a plain frame, a file sent again with moves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.snapshot import IncidentSnapshot


def decoded(snapshot: IncidentSnapshot) -> pd.DataFrame:
    """Every row of ``snapshot`` with its codes turned back into values (None for -1), so
    two snapshots whose labels are numbered differently compare equal when their rows do."""
    out: dict[str, object] = {"id": snapshot.ids, "lat": snapshot.lat, "lon": snapshot.lon}
    for column, codes in snapshot.codes.items():
        out[column] = np.append(snapshot.labels[column], None)[codes]  # code -1 -> None
    out.update(snapshot.times)
    return pd.DataFrame(out)


def resent(frame: pd.DataFrame, moved: int, to: str = "Đang xử lý") -> pd.DataFrame:
    """``frame`` (a :func:`geo.sample.sample_incidents` file) sent again with its first
    ``moved`` unhandled incidents in status ``to`` (as the file writes it)."""
    status = frame.columns[2]  # "trạng thái"
    unhandled = frame.index[frame[status] == "Chưa xử lý"][:moved]
    assert len(unhandled) == moved
    again = frame.copy()
    again.loc[unhandled, status] = to
    return again
