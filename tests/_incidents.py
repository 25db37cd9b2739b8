"""Test helper: a real SQLite store filled with a few known incidents (no mocks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geo.store import batches
from geo.store import wards as stored_wards

#: Known incidents: two on Hàng Mã in Phường Hoàn Kiếm (00070), one in Láng (00199).
KNOWN = [
    # id-order: type, status, lat, lon, ward, street, address, reported (UTC)
    ("sidewalk", "reported", 21.0365, 105.8490, "00070", "Hàng Mã", "12 Hàng Mã", "2025-07-01T17:30Z"),
    ("awning", "cleared", 21.0367, 105.8492, "00070", "Hàng Mã", "<script>alert('x')</script>", "2025-07-10T03:00Z"),
    ("parking", "in_progress", 21.0128, 105.8106, "00199", "Láng", "Ngõ 1 Láng", "2025-08-01T03:00Z"),
]


def incident_frame(rows: list[tuple] | None = None, *, source: str = "test") -> pd.DataFrame:
    rows = KNOWN if rows is None else rows
    frame = pd.DataFrame(
        rows,
        columns=["type", "status", "lat", "lon", "ward_code", "street", "address", "reported_at"],
    )
    n = len(frame)
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    frame["cleared_at"] = frame["reported_at"].where(frame["status"] == "cleared")
    frame["source"] = source
    frame["source_id"] = [f"{source}-{i}" for i in range(n)]
    frame["fingerprint"] = [f"{source}-fp-{i}" for i in range(n)]
    frame["type_text"] = frame["type"]
    frame["note"] = ""
    frame["flags"] = ""
    frame["row_number"] = np.arange(1, n + 1)
    return frame


def random_incidents(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` incidents scattered over central Hà Nội (for size/density tests)."""
    rng = np.random.default_rng(seed)
    rows = [
        (
            "sidewalk",
            str(rng.choice(["reported", "verified", "cleared"])),
            float(21.03 + rng.normal(0, 0.03)),
            float(105.85 + rng.normal(0, 0.03)),
            None,
            "Phố Huế",
            f"Số {i}",
            "2025-09-01T03:00Z",
        )
        for i in range(n)
    ]
    return incident_frame(rows, source=f"rand{seed}")


def make_store(path: Path, wards: pd.DataFrame, frames: list[pd.DataFrame] | None = None):
    """A fresh SQLite store at ``path`` holding the wards and ``frames`` (default: KNOWN)."""
    from geo.store import open_store

    store = open_store(f"sqlite:///{path}")
    stored_wards.ensure(store, wards)
    for i, frame in enumerate(frames if frames is not None else [incident_frame()]):
        batches.commit_batch(store,
            {"file_name": f"batch{i}.csv", "sha256": f"{i:064d}", "source": "test"},
            frame,
            pd.DataFrame(columns=["incident_id", "to_status", "at", "note"]),
            actor="test",
        )
    return store
