"""Random bytes, random CSV shapes, random cells: no crash, and the count always balances."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import IngestError
from geo.ingest import IngestOptions, preview

SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

HEADERS = ["vĩ độ", "kinh độ", "lat", "lon", "toạ độ", "loại", "trạng thái", "ngày", "mã",
           "phường", "ghi chú", "_gps_latitude", "_gps_longitude", "_uuid", "x", "y", ""]  # fmt: skip
CELLS = st.one_of(
    st.sampled_from([
        "21.0365", "105.8490", "21,0365", "105,849", "21°02'11.4\"N", "105°50'56.4\"E",
        "21.0365, 105.8490", "21.0365 105.8490 0 0", "05/07/2025", "07/13/2025",
        "2025-07-05T08:00:00+07:00", "45843", "Lấn chiếm vỉa hè", "đã xử lý", "tái phạm",
        "Phường Hàng Mã, Quận Hoàn Kiếm", "", " ", "-999", "1e308", "nan", "NULL", '"',
        "a\nb", "2327228.148", "588046.702",
    ]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)  # fmt: skip


def _balanced(file_bytes: bytes, name: str, wards) -> None:
    try:
        p = preview(file_bytes, IngestOptions(file_name=name, wards=wards))
    except IngestError:
        return  # a file-level refusal with a bilingual message is a handled outcome
    counts = p.counts()
    assert counts["accepted"] + counts["duplicate"] + counts["rejected"] == counts["rows"]
    assert len(p.rows) == len(p.original)
    assert set(p.rows["outcome"]) <= {"accepted", "duplicate", "rejected"}
    rejected = p.rows["outcome"] == "rejected"
    assert (p.rows.loc[rejected, "reason"] != "").all()
    assert (p.rows.loc[rejected, "message_en"] != "").all()


@SETTINGS
@given(data=st.binary(max_size=600), ext=st.sampled_from(["csv", "txt", "geojson", "xlsx"]))
def test_random_bytes(data, ext, wards):
    _balanced(data, f"random.{ext}", wards)


@SETTINGS
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8),
    rows=st.lists(st.lists(CELLS, max_size=10), max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]),
    blank_lines=st.booleans(),
)
def test_random_csv_shapes(header, rows, delimiter, encoding, blank_lines, wards):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if blank_lines:
            out.write("\n")
    data = out.getvalue().encode(encoding, errors="replace")
    _balanced(data, "shape.csv", wards)
