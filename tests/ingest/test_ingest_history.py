"""Several statuses of one new incident in one file keep their whole history (issue 11 §6):
the incident is stored in its first state and each later status is a status event at its
row's date, in date order, on SQLite and PostGIS; the bulk insert stays set-based."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.ingest import IngestOptions, ingest
from geo.store import queries

HEADER = "mã,vĩ độ,kinh độ,loại vi phạm,trạng thái,ngày phát hiện,ngày xử lý\n"
#: One incident (H-1) seen four times, not in date order; another (H-2) once.
ROWS = [
    "H-1,21.0365,105.8490,Lấn chiếm vỉa hè,đang xử lý,07/07/2025,",
    "H-1,21.0365,105.8490,Lấn chiếm vỉa hè,chưa xử lý,05/07/2025,",
    "H-2,21.0371,105.8487,Biển quảng cáo,chưa xử lý,06/07/2025,",
    "H-1,21.0365,105.8490,Lấn chiếm vỉa hè,đã xác minh,06/07/2025,",
    "H-1,21.0365,105.8490,Lấn chiếm vỉa hè,đã xử lý,07/07/2025,09/07/2025",
]


def hanoi(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="Asia/Ho_Chi_Minh").tz_convert("UTC")


def _history(store, source_id: str) -> pd.DataFrame:
    stored = queries.incidents(store, limit=None)
    incident = int(stored.loc[stored["source_id"] == source_id, "id"].iloc[0])
    return queries.incident(store, incident).history


@pytest.mark.parametrize("order", ["as written", "reversed"])
def test_statuses_of_a_new_incident_become_its_history_in_date_order(store, wards, tmp_path, order):
    rows = ROWS if order == "as written" else ROWS[::-1]
    path = tmp_path / "history.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    result = ingest(path, store, IngestOptions(wards=wards, source="team"), actor="field1")
    s = result.summary()
    assert (s["accepted"], s["duplicate"], s["rejected"]) == (2, 3, 0)

    stored = queries.incidents(store, limit=None).set_index("source_id")
    assert stored.loc["H-1", "status"] == "cleared"
    assert stored.loc["H-1", "cleared_at"] == hanoi("2025-07-09")
    assert stored.loc["H-2", "status"] == "reported"

    # the earliest row is the incident as first reported; each later status is an event
    # at its row's date (the clearing at its clearing date), whatever the file's order
    history = _history(store, "H-1")
    got = [(None if pd.isna(f) else f, t, pd.Timestamp(a))
           for f, t, a in zip(history["from_status"], history["to_status"], history["at"], strict=True)]
    assert got == [
        (None, "reported", hanoi("2025-07-05")),
        ("reported", "verified", hanoi("2025-07-06")),
        ("verified", "in_progress", hanoi("2025-07-07")),
        ("in_progress", "cleared", hanoi("2025-07-09")),
    ]
    assert stored.loc["H-1", "reported_at"] == hanoi("2025-07-05")
    assert len(_history(store, "H-2")) == 1
