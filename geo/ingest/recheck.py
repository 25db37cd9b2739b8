"""Re-inspection results as a file (issue 12 §2): read, decide every row, store in one go.

A results file has a result column and a check-date column (``--kind recheck`` forces
it); each row names its place by ``place_id`` (mã điểm) or by ``lat``/``lon``, matched to
the nearest place within ``GEO_PLACE_RADIUS_M`` (of the row's violation type when the file
has a ``loại vi phạm`` column, as the matching rule asks). The file is read by the same reader as
incident files (limits, encodings, Excel), and every row ends as exactly one of accepted,
duplicate or rejected, with a reason:

- ``no_place`` — no place with that id, or none within the radius of the position;
- ``not_cleared`` — the place had an open violation on the check's date (or, for a
  ``violation`` result, was reported again after it: a recurrence is opened only once);
- ``check_before_clear`` — the check is dated before the place's first clearance;
- ``bad_result`` — a result word it does not know;
- ``future_date`` — dated after now; ``missing_date`` — no readable date.

A row is a duplicate when its place already has a check at that instant (in the store or
earlier in the file), so a results file ingested twice adds nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo import settings
from geo.errors import IngestError
from geo.i18n import t
from geo.ingest._options import IngestOptions
from geo.ingest._read import FileInput, read_file
from geo.ingest._readers import header_fields, sniff_delimiter
from geo.ingest._reasons import row_message
from geo.names import ascii_key
from geo.places import project_lonlat
from geo.reinspect import LOCAL_TZ, parse_results
from geo.store import Store
from geo.store import inspections as stored_checks
from geo.store import places as stored_places
from geo.vocab import type_code

#: Header (as an :func:`geo.names.ascii_key`) → role.
_HEADERS: dict[str, str] = {
    "place_id": "place_id", "ma_diem": "place_id", "ma_dia_diem": "place_id",
    "checked_at": "checked_at", "ngay_tai_kiem_tra": "checked_at", "ngay_kiem_tra": "checked_at",
    "result": "result", "ket_qua": "result",
    "note": "note", "ghi_chu": "note",
    "lat": "lat", "vi_do": "lat", "latitude": "lat",
    "lon": "lon", "kinh_do": "lon", "longitude": "lon", "lng": "lon",
    "type": "type", "loai_vi_pham": "type",
}  # fmt: skip
REASONS: tuple[str, ...] = (
    "no_place", "not_cleared", "check_before_clear", "bad_result", "future_date", "missing_date",
)  # fmt: skip


def result_columns(columns: list[str]) -> dict[str, str]:
    """Role → the file's column, for the headers a results file has.

    Parameters
    ----------
    columns
        The file's headers.

    Returns
    -------
    dict
        Role (place_id, checked_at, result, note, lat, lon, type) → the first column with
        it.
    """
    roles: dict[str, str] = {}
    for column in columns:
        role = _HEADERS.get(ascii_key(str(column)))
        if role is not None and role not in roles:
            roles[role] = column
    return roles


def looks_like_results(columns: list[str]) -> bool:
    """A file with a result column and a check-date column is read as results.

    Parameters
    ----------
    columns
        The file's headers.

    Returns
    -------
    bool
        Whether the file has a result and a check-date column.
    """
    roles = result_columns(columns)
    return "result" in roles and "checked_at" in roles


def looks_like_results_file(name: str, head: bytes) -> bool:
    """``--kind auto`` and the upload page: a CSV/TXT whose header has a result and a
    check-date column is a results file (an Excel file is an incident file unless told).

    Parameters
    ----------
    name
        The file's name (its suffix decides whether the header is looked at).
    head
        The file's first bytes (64 KiB are plenty).

    Returns
    -------
    bool
        Whether to read it as re-inspection results.
    """
    if not name.lower().endswith((".csv", ".txt")):
        return False
    text = head[:65_536].decode("utf-8-sig", errors="replace")
    # the header record, as the readers parse it: a quoted header cell may hold a line break
    # (Alt+Enter in a spreadsheet), and its first physical line is then not the header
    return looks_like_results(header_fields(text, sniff_delimiter(text)) if text.strip() else [])


@dataclass
class RecheckResult:
    """What a results file did: the counts balance (rows = accepted + duplicate + rejected)."""

    file: str
    rows: int
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    clear: int = 0
    violation: int = 0
    batch_id: int | None = None
    dry_run: bool = False
    #: Per row: "accepted", "duplicate" or the reason it was rejected.
    outcome: list[str] = field(default_factory=list)
    #: Places of the accepted ``violation`` rows (the rights check needs their wards).
    violation_places: list[int] = field(default_factory=list)
    #: Per row: its data-row number in the file (1 = the first row under the header).
    row_numbers: list[int] = field(default_factory=list)
    #: Per rejected row, in file order: its message (Vietnamese, English) naming the row,
    #: the file's column the reason is about and the value read there.
    messages: list[tuple[str, str]] = field(default_factory=list)

    def rejected_rows(self) -> list[tuple[int, str]]:
        """(row number, reason code) of every rejected row, in file order."""
        kept = ("accepted", "duplicate")
        return [(n, o) for n, o in zip(self.row_numbers, self.outcome, strict=True) if o not in kept]

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file, "kind": "recheck", "rows": self.rows, "accepted": self.accepted,
            "duplicate": self.duplicate, "rejected": self.rejected, "reasons": self.reasons,
            "clear": self.clear, "violation": self.violation, "batch_id": self.batch_id,
            "dry_run": self.dry_run,
        }  # fmt: skip


def _instants(texts: pd.Series) -> pd.Series:
    """Check dates as UTC instants: ISO or dd/mm/yyyy (Vietnamese order), naive = Hà Nội."""
    iso = texts.str.match(r"^\s*\d{4}-\d{2}-\d{2}", na=False)
    parsed = pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns]")
    if iso.any():
        parsed[iso] = pd.to_datetime(texts[iso], errors="coerce", format="mixed").dt.tz_localize(None)
    if (~iso).any():
        parsed[~iso] = pd.to_datetime(texts[~iso], errors="coerce", dayfirst=True, format="mixed")
    local: pd.Series = parsed.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
    utc: pd.Series = local.dt.tz_convert("UTC")
    return utc


def _type_codes(frame: pd.DataFrame, roles: dict[str, str]) -> np.ndarray:
    """Each row's violation type code when the file names one (None: any type)."""
    if "type" not in roles:
        return np.full(len(frame), None, dtype=object)
    texts = frame[roles["type"]].fillna("")
    return np.array([type_code(t) if t.strip() else None for t in texts], dtype=object)


def _places_of(frame: pd.DataFrame, roles: dict[str, str], places: pd.DataFrame) -> np.ndarray:
    """Each row's place id (-1: none): its ``place_id``, else the nearest place in radius."""
    out = np.full(len(frame), -1, dtype=np.int64)
    known = set(places["place_id"].astype(int))
    if "place_id" in roles:
        ids = pd.to_numeric(frame[roles["place_id"]], errors="coerce")
        ok = ids.notna() & ids.isin(list(known))
        out[ok.to_numpy()] = ids[ok].astype(int).to_numpy()
    if "lat" in roles and "lon" in roles and len(places):
        todo = out < 0
        lat = pd.to_numeric(frame[roles["lat"]].str.replace(",", ".", regex=False), errors="coerce")
        lon = pd.to_numeric(frame[roles["lon"]].str.replace(",", ".", regex=False), errors="coerce")
        x, y = project_lonlat(lon.to_numpy(dtype=float), lat.to_numpy(dtype=float))
        finite = todo & np.isfinite(x) & np.isfinite(y)
        types = _type_codes(frame, roles)
        for code in pd.unique(types):
            rows = np.flatnonzero(finite & (types == code))
            pool = places if code is None else places[places["type"] == code]
            if not len(rows) or pool.empty:
                continue
            tree = cKDTree(pool[["x", "y"]].to_numpy(dtype=float))
            dist, nearest = tree.query(np.c_[x[rows], y[rows]],
                                       distance_upper_bound=settings.place_radius_m())  # fmt: skip
            hit = np.isfinite(dist)
            out[rows[hit]] = pool["place_id"].to_numpy(dtype=np.int64)[nearest[hit]]
    return out


def _decide(
    frame: pd.DataFrame, roles: dict[str, str], store: Store
) -> tuple[list[str], np.ndarray, pd.Series, pd.Series]:
    """Every row's outcome, place, instant and result (before anything is written)."""
    n = len(frame)
    place = _places_of(frame, roles, stored_places.places_frame(store))
    at = _instants(frame[roles["checked_at"]].fillna(""))
    results = parse_results(frame[roles["result"]].replace("", None))
    timelines = dict(tuple(stored_places.place_incidents_frame(store).groupby("place_id")))
    stored = stored_places.inspections_frame(store)
    seen = {(int(p), pd.Timestamp(t)) for p, t in zip(stored["place_id"], stored["checked_at"], strict=True)}
    now = pd.Timestamp.now(tz="UTC")

    def reopened(p: int, when: pd.Timestamp) -> bool:
        """A violation result reopens only the place's latest clearance."""
        later = timelines[p]["reported_at"] > when
        return bool(later.any())

    outcome: list[str] = []
    for i in range(n):
        p, when = int(place[i]), at.iloc[i]
        if p < 0:
            outcome.append("no_place")
        elif results.iloc[i] == "bad_result":
            outcome.append("bad_result")
        elif pd.isna(when):
            outcome.append("missing_date")
        elif when > now:
            outcome.append("future_date")
        elif (p, pd.Timestamp(when)) in seen:  # first: a stored violation reopened the place
            outcome.append("duplicate")
        elif (state := stored_places.state_at(timelines[p], when)) == "none":
            outcome.append("check_before_clear")
        elif state == "open" or (results.iloc[i] == "violation" and reopened(p, when)):
            outcome.append("not_cleared")
        else:
            seen.add((p, pd.Timestamp(when)))
            outcome.append("accepted")
    return outcome, place, at, results


def _cell(frame: pd.DataFrame, i: int, column: str) -> str:
    value = frame.iloc[i][column]
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _reason_columns(frame: pd.DataFrame, roles: dict[str, str], i: int, reason: str) -> list[str]:
    """The file's columns a rejection of row ``i`` is about: the place's (its id when the
    row gives one, else its position), the result's, else the check date's."""
    if reason == "no_place":
        given = "place_id" in roles and _cell(frame, i, roles["place_id"]).strip()
        return [roles["place_id"]] if given or "lat" not in roles else [roles["lat"], roles["lon"]]
    return [roles["result" if reason == "bad_result" else "checked_at"]]


def _messages(
    frame: pd.DataFrame, roles: dict[str, str], outcome: list[str], numbers: list[int]
) -> list[tuple[str, str]]:
    """Each rejected row's message in both languages (:func:`row_message`), in file order."""
    out = []
    for i, reason in enumerate(outcome):
        if reason in ("accepted", "duplicate"):
            continue
        columns = _reason_columns(frame, roles, i, reason)
        value = " | ".join(_cell(frame, i, c) for c in columns)
        words = (t(f"upload.recheck.{reason}", lang) for lang in ("vi", "en"))
        out.append(row_message(numbers[i], ", ".join(columns), value, *words))
    return out


def ingest_results(
    store: Store, file: FileInput, *, actor: str, options: IngestOptions | None = None
) -> RecheckResult:
    """Read a results file and store its accepted rows in one transaction (or, with
    ``options.dry_run``, only decide them). A ``violation`` row opens a recurrence.

    Parameters
    ----------
    store
        The store.
    file
        The results file (path, bytes or binary file object).
    actor
        Named on the inspections, the batch and the audit entry.
    options
        Reading options; ``dry_run`` decides every row and writes nothing.

    Returns
    -------
    RecheckResult
        The balanced counts, the reasons and the batch id (None on a dry run).
    """
    options = options or IngestOptions()
    read = read_file(file, options)
    frame = read.table.frame
    roles = result_columns(list(frame.columns))
    if "checked_at" not in roles or "result" not in roles or not (
        "place_id" in roles or {"lat", "lon"} <= set(roles)
    ):
        raise IngestError(
            f"{read.name}: tệp kết quả tái kiểm tra cần các cột ngày tái kiểm tra "
            "(checked_at), kết quả (result) và mã điểm (place_id) hoặc vĩ độ/kinh độ.",
            f"{read.name}: a re-inspection results file needs the columns checked_at, "
            "result and place_id (or lat/lon).",
        )
    outcome, place, at, results = _decide(frame, roles, store)
    counts = Counter(outcome)
    summary = RecheckResult(
        file=read.name, rows=len(frame), accepted=counts.pop("accepted", 0),
        duplicate=counts.pop("duplicate", 0), dry_run=bool(options.dry_run), outcome=outcome,
        row_numbers=[int(n) for n in read.table.row_numbers],
    )  # fmt: skip
    summary.reasons = {r: counts[r] for r in REASONS if counts.get(r)}
    summary.messages = _messages(frame, roles, outcome, summary.row_numbers)
    summary.rejected = sum(summary.reasons.values())
    accepted = [i for i, o in enumerate(outcome) if o == "accepted"]
    summary.clear = sum(1 for i in accepted if results.iloc[i] == "clear")
    summary.violation = len(accepted) - summary.clear
    summary.violation_places = sorted({int(place[i]) for i in accepted if results.iloc[i] == "violation"})
    if options.dry_run or not accepted:
        return summary
    notes = frame[roles["note"]] if "note" in roles else pd.Series(None, index=frame.index)
    checks = [(int(place[i]), at.iloc[i], str(results.iloc[i]), notes.iloc[i] or None) for i in accepted]
    summary.batch_id = stored_checks.commit_checks(
        store, checks, actor=actor, file_name=read.name, sha256=read.sha256,
        counts=summary.summary(),
    )  # fmt: skip
    return summary
