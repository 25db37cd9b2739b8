"""Property tests of ingest, where every example reaches its asserts.

1. Random bytes: each example ends either in a file-level refusal whose message is
   bilingual and names the file, or in a preview whose counts balance — both asserted.
2. Parseable but hostile CSVs: a header the reader must recognise (coordinates, date and
   type under their usual names, in any order) next to formula-like, markup and bidi
   column names; rows that mix good cells with formulas, markup, control characters,
   over-long cells and impossible numbers; any delimiter the reader sniffs, UTF-8 with or
   without BOM, UTF-16. Every example must parse, and each row's outcome is predicted from
   how the row was made (docs: a row is rejected for its first problem; a good row is
   accepted, or a duplicate of an earlier row by the identity rule).

``pytest --hypothesis-show-statistics`` lists the events (outcome mixes, delimiters,
encodings), which show that the examples cover accepted, duplicate and rejected rows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from geo.errors import IngestError
from geo.ingest import IngestOptions, preview
from tests._hostile import CORPUS

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(
    data=st.one_of(
        st.binary(max_size=600),
        # a recognisable header, then noise that decodes: the reader gets past the header
        st.text(max_size=300).map(lambda noise: ("vĩ độ,kinh độ,ngày\n" + noise).encode()),
    ),
    ext=st.sampled_from(["csv", "txt", "geojson", "xlsx"]),
)
def test_random_bytes_are_refused_clearly_or_balance(data, ext, wards):
    name = f"random.{ext}"
    try:
        p = preview(data, IngestOptions(file_name=name, wards=wards))
    except IngestError as refused:
        event("refused")
        # bilingual, both halves naming the file (the message the page and CLI show)
        assert refused.message_vi != refused.message_en
        assert name in refused.message_vi and name in refused.message_en
        return
    event("read")
    counts = p.counts()
    assert counts["accepted"] + counts["duplicate"] + counts["rejected"] == counts["rows"]
    assert len(p.rows) == len(p.original) == counts["rows"]


# --- parseable but hostile -----------------------------------------------------------

#: Known places (ward codes from the committed layer): Hàng Mã in Hoàn Kiếm, Láng.
PLACES = [((21.0365, 105.8490), "00070"), ((21.0371, 105.8487), "00070"),
          ((21.0128, 105.8106), "00199")]  # fmt: skip
#: Header names of each role, as field sheets write them.
NAMES = {
    "id": ["mã", "Mã vụ việc", "id", "source_id"],
    "lat": ["vĩ độ", "Vĩ độ (°)", "lat", "latitude"],
    "lon": ["kinh độ", "Kinh độ (độ)", "lon", "longitude"],
    "date": ["ngày", "Ngày phát hiện (dd/mm/yyyy)", "date", "ngày phát hiện"],
    "type": ["loại", "Loại vi phạm", "type"],
    "note": ["ghi chú", "note", "mô tả"],
}
#: Column names that are no role, but hostile: formulas, markup, bidi override, blanks.
EXTRA_NAMES = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "<script>alert(1)</script>",
               "hóa đơn\u202egpj.exe", "{{7*7}}", "Cột thêm"]  # fmt: skip
GOOD_TYPES = ["Lấn chiếm vỉa hè", "đỗ xe trái phép", "Mái che, mái vảy", "biển quảng cáo"]
#: Hostile text that is no number and no date (corpus minus its 100 kB cell).
HOSTILE = [c for c in CORPUS if len(c) < 1000]
#: One character more than GEO_INGEST_MAX_CELL_CHARS' default (10,000).
TOO_LONG = "x" * 10_001
NUMBER_NONSENSE = ["-999", "1e308", "nan", "inf", "", "  "]


def _dates(day: int) -> list[str]:
    """A good date written three ways; days 13–28 cannot be read month-first."""
    return [f"2025-07-{day:02d}", f"{day:02d}/07/2025", f"{day}/7/2025"]


@dataclass
class Row:
    cells: dict[str, str]
    place: str | None  # the ward code of a good position, None when the position is bad
    bad: str | None  # the problem that must reject the row (None: a good row)


@st.composite
def rows(draw, roles: list[str], extras: list[str], n_row: int) -> Row:
    (lat, lon), code = draw(st.sampled_from(PLACES))
    cells = {
        "id": f"R{n_row}",
        "lat": f"{lat:.4f}",
        "lon": f"{lon:.4f}",
        "date": draw(st.sampled_from(_dates(draw(st.integers(13, 28))))),
        "type": draw(st.sampled_from(GOOD_TYPES + HOSTILE)),  # any text is a type ("other")
        "note": draw(st.sampled_from([*HOSTILE, ""])),
    }
    for name in extras:
        cells[name] = draw(st.sampled_from(HOSTILE + NUMBER_NONSENSE))
    bad = None
    spoil = draw(st.sampled_from(["none", "none", "lat", "lon", "date", "long"]))
    if spoil in ("lat", "lon"):
        cells[spoil] = draw(st.sampled_from(HOSTILE + NUMBER_NONSENSE))
        bad = "position"
    elif spoil == "date":
        cells["date"] = draw(st.sampled_from([*HOSTILE, ""]))
        bad = "date"
    elif spoil == "long":
        cells[draw(st.sampled_from([c for c in ("type", "note", *extras) if c in roles + extras]))] = TOO_LONG
        bad = "long"
    return Row({k: v for k, v in cells.items() if k in roles or k in extras},
               None if bad == "position" else code, bad)


@st.composite
def hostile_files(draw):
    roles = ["lat", "lon", "date", "type", *draw(st.lists(st.sampled_from(["id", "note"]), unique=True))]
    extras = draw(st.lists(st.sampled_from(EXTRA_NAMES), unique=True, max_size=4))
    names = {role: draw(st.sampled_from(NAMES[role])) for role in roles}
    order = draw(st.permutations(roles + extras))
    made = [draw(rows(roles, extras, i)) for i in range(draw(st.integers(1, 12)))]
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([names.get(c, c) for c in order])
    writer.writerows([[row.cells[c] for c in order] for row in made])
    event(f"delimiter {delimiter!r}, {encoding}")
    return out.getvalue().encode(encoding), made, "id" in roles


POSITION_REASONS = {"bad_coordinates", "missing_coordinates", "coordinates_out_of_range"}
DATE_REASONS = {"bad_date", "missing_date"}


@SETTINGS
@given(case=hostile_files())
def test_hostile_but_parseable_files_give_each_row_its_outcome(case, wards):
    data, made, has_id = case
    p = preview(data, IngestOptions(file_name="hostile.csv", wards=wards))  # never refused
    rows = p.rows.reset_index(drop=True)
    assert len(rows) == len(p.original) == len(made)
    counts = p.counts()
    assert counts["accepted"] + counts["duplicate"] + counts["rejected"] == counts["rows"]
    for i, (row, got) in enumerate(zip(made, rows.to_dict("records"), strict=True)):
        assert got["row"] == i + 1
        where = (row.bad, got["outcome"], got["reason"], row.cells)
        if row.bad is None:
            assert got["outcome"] in ("accepted", "duplicate"), where
            if got["outcome"] == "duplicate":  # no id: the same fingerprint as an earlier row
                assert not has_id and 0 < got["duplicate_of_row"] < got["row"], where
            else:
                assert got["ward_code"] == row.place, where
                assert got["reported_at"].month == 7 and got["reported_at"].year == 2025
            continue
        assert got["outcome"] == "rejected", where
        # the row's first problem is the reason; both messages name the row
        expected = {"long": {"cell_too_long"}, "position": POSITION_REASONS, "date": DATE_REASONS}
        assert got["reason"] in expected[row.bad], where
        assert f"{i + 1}" in got["message_vi"] and f"{i + 1}" in got["message_en"]
    outcomes = sorted(set(rows["outcome"]))
    event(f"outcomes {'+'.join(outcomes)}")
    target(float(len(set(rows["reason"]))), label="distinct reasons in one file")
