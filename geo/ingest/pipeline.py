"""Parse → normalise → validate → assign ward and street → deduplicate → store.

Two phases so that the upload page can show what will happen before anything is
written: :func:`preview` reads a file and decides every row's outcome; :func:`commit`
stores a preview in one transaction. The CLI calls the same two functions.

Every row read ends as exactly one of ``accepted``, ``duplicate`` (naming the stored
incident or the earlier row it repeats) or ``rejected`` (a reason code and a bilingual
message naming the row and the field), so accepted + duplicate + rejected = rows read.
Clean rows go through vectorised pandas/numpy code only; Python loops touch just the
rows that need individual attention (unreadable values, repeats, status changes).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from pyproj import CRS

from geo.crs import parse_crs
from geo.errors import CRSError, GeoError, IngestError
from geo.ingest._columns import ColumnMapping, recognise_columns
from geo.ingest._coords import Parsed, parse_combined_column, parse_pair_columns, reproject
from geo.ingest._dates import parse_dates
from geo.ingest._identity import default_source, fingerprints
from geo.ingest._limits import IngestLimits
from geo.ingest._options import IngestOptions
from geo.ingest._readers import RawTable, parse_table
from geo.vocab import status_codes, type_codes

OUTCOMES = ("accepted", "duplicate", "rejected")
FLAGS = ("outside", "snapped", "swapped_lat_lon", "ward_mismatch", "no_street")

#: Reason codes → (Vietnamese, English) explanations.
REASONS: dict[str, tuple[str, str]] = {
    "too_many_fields": (
        "dòng có nhiều ô hơn tiêu đề",
        "the row has more fields than the header",
    ),
    "geometry_not_point": (
        "đối tượng không phải là điểm (Point)",
        "the feature's geometry is not a Point",
    ),
    "missing_coordinates": ("thiếu toạ độ", "the coordinates are missing"),
    "bad_coordinates": ("không đọc được toạ độ", "the coordinates cannot be read"),
    "coordinates_out_of_range": (
        "toạ độ ngoài phạm vi hợp lệ (vĩ độ ±90, kinh độ ±180; toạ độ phẳng cần --crs)",
        "the coordinates are out of range (latitude ±90, longitude ±180; "
        "projected coordinates need --crs)",
    ),
    "outside_jurisdiction": (
        "điểm nằm ngoài Hà Nội (chế độ nghiêm ngặt --strict)",
        "the point is outside Hà Nội (strict mode)",
    ),
    "missing_date": ("thiếu ngày phát hiện", "the reported date is missing"),
    "bad_date": (
        "không đọc được ngày (dùng dd/mm/yyyy hoặc yyyy-mm-dd)",
        "the date cannot be read (use dd/mm/yyyy or yyyy-mm-dd)",
    ),
    "date_month_day": (
        "ngày chỉ đọc được theo kiểu tháng/ngày; hãy ghi ngày/tháng/năm hoặc yyyy-mm-dd",
        "the date reads only as month/day; write day/month/year or yyyy-mm-dd",
    ),
    "date_ambiguous": (
        "cột ngày có giá trị kiểu tháng/ngày nên ngày này không rõ là ngày/tháng hay "
        "tháng/ngày; hãy ghi yyyy-mm-dd",
        "the date column holds month/day values, so this date is ambiguous "
        "(day/month or month/day); write yyyy-mm-dd",
    ),
    "date_out_of_range": (
        "ngày trước năm 2000 hoặc ở tương lai",
        "the date is before 2000 or in the future",
    ),
    "bad_cleared_date": (
        "không đọc được ngày xử lý xong",
        "the cleared date cannot be read",
    ),
    "unknown_status": (
        "trạng thái không nhận ra (chưa xử lý, đã xác minh, đang xử lý, đã xử lý, tái phạm)",
        "unknown status (open, verified, in progress, cleared, recurred)",
    ),
}


@dataclass
class IngestPreview:
    """What an ingest will do, row by row, before anything is stored."""

    file_name: str
    sha256: str
    size: int
    file_format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    sheets: list[str]
    source: str
    crs: str | None
    strict: bool
    mapping: ColumnMapping
    #: The file as read: original columns, all text, one row per data row.
    original: pd.DataFrame
    #: One row per data row: ``row``, ``outcome``, ``reason``, ``field``, messages,
    #: ``duplicate_of_incident``, ``duplicate_of_row``, ``flags`` and the parsed values.
    rows: pd.DataFrame
    store_checked: bool = False
    #: ``Store.change_marker()`` taken just before the store was consulted (None: never).
    store_marker: Any = field(default=None, repr=False)
    wards: Any = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    # -- summaries ----------------------------------------------------------------------

    @property
    def columns(self) -> pd.DataFrame:
        """Each column of the file with the role it was recognised as."""
        return self.mapping.describe()

    def counts(self) -> dict[str, int]:
        outcome = self.rows["outcome"].value_counts()
        counts = {name: int(outcome.get(name, 0)) for name in OUTCOMES}
        counts["rows"] = len(self.rows)
        return counts

    def flag_counts(self) -> dict[str, int]:
        """How many accepted rows carry each flag."""
        accepted = self.rows.loc[self.rows["outcome"] == "accepted", "flags"].astype(str)
        return {flag: int(accepted.str.contains(flag, regex=False).sum()) for flag in FLAGS}

    def reason_counts(self) -> dict[str, int]:
        reasons = self.rows.loc[self.rows["outcome"] == "rejected", "reason"].value_counts()
        return {str(k): int(v) for k, v in reasons.items()}

    def formats(self, column: str) -> dict[str, int]:
        values = self.rows[column].astype(str)
        counts = values[values != ""].value_counts()
        return {str(k): int(v) for k, v in counts.items()}

    @property
    def coordinate_formats(self) -> dict[str, int]:
        return self.formats("coord_format")

    @property
    def date_formats(self) -> dict[str, int]:
        return self.formats("date_format")

    @property
    def n_status_updates(self) -> int:
        return int(self.rows["update_to"].notna().sum())

    def summary(self) -> dict[str, Any]:
        """The JSON summary the CLI prints."""
        counts = self.counts()
        return {
            "file": self.file_name,
            "sha256": self.sha256,
            "format": self.file_format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "source": self.source,
            "crs": self.crs,
            "strict": self.strict,
            "rows": counts["rows"],
            "accepted": counts["accepted"],
            "duplicate": counts["duplicate"],
            "rejected": counts["rejected"],
            "status_updates": self.n_status_updates,
            "flags": self.flag_counts(),
            "reasons": self.reason_counts(),
            "columns": {role: column for role, column in self.mapping.roles.items()},
            "coordinate_formats": self.coordinate_formats,
            "date_formats": self.date_formats,
            "checked_against_store": self.store_checked,
        }

    def first_rows(self, n: int = 10) -> pd.DataFrame:
        """The first rows as parsed, with their outcome, for the upload preview."""
        shown = [
            "row", "outcome", "reason", "type", "status", "reported_at", "lat", "lon",
            "ward_code", "street", "flags", "message_vi", "message_en",
        ]  # fmt: skip
        return self.rows.loc[:, shown].head(n).copy()

    def rejects(self) -> pd.DataFrame:
        """Rejected rows with all their original columns, row number and reason."""
        mask = (self.rows["outcome"] == "rejected").to_numpy()
        out = self.original.loc[mask].copy()
        meta = self.rows.loc[mask, ["row", "reason", "field", "message_vi", "message_en"]]
        for column in reversed(meta.columns.tolist()):
            name = column if column not in out.columns else f"_{column}"
            out.insert(0, name, meta[column].to_numpy())
        return out.reset_index(drop=True)

    def rejects_csv(self) -> bytes:
        """:meth:`rejects` as UTF-8 CSV with a BOM (so Excel shows Vietnamese right), with
        formula-like cells neutralised: the file goes back to a field team's spreadsheet."""
        from geo.exports import neutralise_frame

        return neutralise_frame(self.rejects()).to_csv(index=False).encode("utf-8-sig")

    def write_rejects(self, path: str | Path) -> Path:
        """Write :meth:`rejects_csv` to ``path`` (the CLI's ``--rejects``)."""
        target = Path(path)
        target.write_bytes(self.rejects_csv())
        return target

    def incidents(self) -> pd.DataFrame:
        """The accepted rows in the store's incident columns."""
        columns = [
            "source", "source_id", "fingerprint", "type", "type_text", "lat", "lon",
            "ward_code", "street", "address", "note", "status", "reported_at", "cleared_at",
            "flags", "row",
        ]  # fmt: skip
        mask = (self.rows["outcome"] == "accepted").to_numpy()
        frame = self.rows[columns] if mask.all() else self.rows.loc[mask, columns]
        frame = frame.rename(columns={"row": "row_number"})
        frame["row_number"] = frame["row_number"].astype("int64")
        return frame.reset_index(drop=True)

    def status_updates(self) -> pd.DataFrame:
        """Moves of stored incidents through the workflow, in file order."""
        rows = self.rows.loc[self.rows["update_to"].notna()]
        note = "nhập từ / imported from " + self.file_name + ", dòng / row " + rows["row"].astype(
            str
        )
        return pd.DataFrame(
            {
                "incident_id": rows["update_incident"].astype("int64").to_numpy(),
                "to_status": rows["update_to"].astype(object).to_numpy(),
                "at": rows["update_at"].to_numpy(),
                "note": note.to_numpy(),
            }
        )


@dataclass
class IngestResult:
    """A committed (or dry-run) ingest: the preview and the batch it became."""

    preview: IngestPreview
    batch_id: int | None
    dry_run: bool = False

    def summary(self) -> dict[str, Any]:
        out = self.preview.summary()
        out["batch_id"] = self.batch_id
        out["dry_run"] = self.dry_run
        return out


# --------------------------------------------------------------------------- reading


def _read_input(file: str | Path | bytes | IO[bytes], file_name: str | None) -> tuple[bytes, str]:
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file), file_name or "upload"
    if isinstance(file, str | Path):
        path = Path(file)
        try:
            return path.read_bytes(), file_name or path.name
        except OSError as exc:
            raise IngestError(
                f"Không đọc được tệp {path}: {exc.strerror}",
                f"Cannot read the file {path}: {exc.strerror}",
            ) from exc
    data = file.read()
    name = file_name or getattr(file, "name", None) or "upload"
    return bytes(data), Path(str(name)).name


def _coordinates(
    table: RawTable, mapping: ColumnMapping, crs: CRS | None, file_name: str
) -> tuple[Parsed, np.ndarray, np.ndarray, np.ndarray, str]:
    """(parsed, lon, lat, projected?, field) — lon/lat in EPSG:4326 or NaN."""
    frame = table.frame
    geometry = mapping.how.get("lat") == "geometry"
    if mapping.get("lat") and mapping.get("lon"):
        parsed = parse_pair_columns(frame[mapping.roles["lat"]], frame[mapping.roles["lon"]])
        field_name = f"{mapping.roles['lat']}, {mapping.roles['lon']}"
        if geometry:
            field_name = "geometry"
            parsed.fmt = np.where(parsed.fmt != "", "geojson", "").astype(object)
    elif mapping.get("latlon"):
        parsed = parse_combined_column(frame[mapping.roles["latlon"]])
        field_name = mapping.roles["latlon"]
    else:
        found = ", ".join(f"{role}={col}" for role, col in mapping.roles.items()) or "-"
        raise IngestError(
            f"{file_name}: không tìm thấy cột toạ độ (vĩ độ/kinh độ, lat/lon, toạ độ...). "
            f"Các cột đã nhận ra: {found}.",
            f"{file_name}: no coordinate columns found (lat/lon, vĩ độ/kinh độ, a combined "
            f"'lat, lon' column...). Columns recognised: {found}.",
        )
    source_crs = crs
    if geometry and table.geometry_crs is not None:
        file_crs = parse_crs(table.geometry_crs, source=file_name)
        if crs is not None and not file_crs.equals(crs):
            raise CRSError(
                f"{file_name}: tệp ghi hệ toạ độ {file_crs.to_string()} khác với --crs "
                f"{crs.to_string()}.",
                f"{file_name}: the file states CRS {file_crs.to_string()}, which differs "
                f"from --crs {crs.to_string()}.",
            )
        source_crs = file_crs
    n = len(parsed.first)
    projected = np.zeros(n, dtype=bool)
    if source_crs is None or source_crs.equals(CRS.from_epsg(4326)):
        lat, lon = parsed.first.copy(), parsed.second.copy()
        if geometry:  # GeoJSON is (lon, lat) = (x, y) = (second, first) by construction
            lat, lon = parsed.first.copy(), parsed.second.copy()
    else:
        lon, lat, _ = reproject(parsed, source_crs, xy_order_known=geometry)
        ok = parsed.fmt != ""
        parsed.fmt = np.where(ok, "projected", "").astype(object)
        projected[:] = not source_crs.is_geographic
    return parsed, np.asarray(lon, float), np.asarray(lat, float), projected, field_name


def _assign(lon: np.ndarray, lat: np.ndarray, wards: Any) -> pd.DataFrame:
    from geo.assign import assign_lonlat

    return assign_lonlat(lon, lat, wards)


def _streets(lon: np.ndarray, lat: np.ndarray, streets: Any) -> np.ndarray:
    """Nearest named street per point (None when none within 25 m or no layer)."""
    out = np.full(len(lon), None, dtype=object)
    if not len(lon):
        return out
    try:
        from geo.streets import nearest_streets

        names = nearest_streets(lon, lat, streets)
    except (ImportError, GeoError, OSError):
        return out
    values = names.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values


def _ward_codes_from_text(texts: pd.Series) -> np.ndarray:
    from geo.admin_units import ward_code_from_text

    values = texts.astype(str).str.strip()
    positions, uniques = pd.factorize(values, use_na_sentinel=True)
    table = [ward_code_from_text(v) if isinstance(v, str) and v else None for v in uniques]
    return np.array([*table, None], dtype=object)[positions]  # -1 (missing) → None


def _flag_strings(masks: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Comma-joined sorted flag names per row ("" when none), without a Python row loop:
    each row's flags as a bit pattern, looked up in a table of every combination."""
    names = sorted(masks)
    bits = np.zeros(n, dtype=np.int64)
    for k, name in enumerate(names):
        bits |= np.asarray(masks[name], dtype=bool).astype(np.int64) << k
    table = np.array(
        [",".join(nm for k, nm in enumerate(names) if code >> k & 1) for code in range(1 << len(names))],
        dtype=object,
    )
    return table[bits]


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default text dtype


def _str_column(values: np.ndarray, index: pd.Index | None = None) -> np.ndarray | pd.Series:
    """An object array of few distinct strings as the text column pandas would infer,
    built from its distinct values (pandas converts each of a million values instead).
    Anything else (all missing, non-text values) is returned for pandas to infer."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0 or len(uniques) > 4096 or not all(isinstance(u, str) for u in uniques):
        return values
    return _str_codes(codes, list(uniques), index)


def _str_codes(codes: np.ndarray, labels: list[str], index: pd.Index | None = None) -> pd.Series:
    """Text column ``labels[code]`` per row (missing where the code is negative)."""
    import pyarrow as pa

    codes = np.asarray(codes)
    indices = pa.array(codes.astype(np.int32), mask=codes < 0 if (codes < 0).any() else None)
    text = pa.DictionaryArray.from_arrays(indices, pa.array(labels, pa.string()))
    return pd.Series(pd.array(text.cast(pa.string()), dtype=_STR), index=index)


def _text_or_none(frame: pd.DataFrame, column: str | None) -> np.ndarray | pd.Series:
    """Stripped text, missing where blank; a file's column stays in pyarrow form (a
    million Python strings per column would cost ~100 MB and a conversion back)."""
    if column is None:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].astype(str).str.strip()
    return values.where(values != "")


# --------------------------------------------------------------------------- preview


def preview(
    file: str | Path | bytes | IO[bytes],
    options: IngestOptions | None = None,
    *,
    store: Any = None,
) -> IngestPreview:
    """Read ``file`` and decide every row's outcome; nothing is written.

    ``store`` (optional) is consulted for incidents already stored; without it, only
    repeats inside the file are found. ``options.wards`` defaults to the boundaries layer
    in use (``GEO_BOUNDARIES``), ``options.streets`` to the committed street layer.
    """
    options = options or IngestOptions()
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now_ = time.perf_counter()
        timings[name] = round(now_ - clock, 4)
        clock = now_

    # The per-column work arrays die with _decide's frame, before the store lookup.
    result = _decide(file, options, lap)
    result.timings = timings
    classify(result, store)
    lap("identity")
    return result


def _decide(file: str | Path | bytes | IO[bytes], options: IngestOptions, lap: Any) -> IngestPreview:
    """Everything :func:`preview` decides without the store, as an unclassified preview."""
    file_name, crs, sheet, source, strict = (
        options.file_name, options.crs, options.sheet, options.source, options.strict
    )
    wards, streets, now = options.wards, options.streets, options.now
    data, name = _read_input(file, file_name)
    limits = options.limits or IngestLimits.from_env()
    limits.check_bytes(len(data), name)
    sha256 = hashlib.sha256(data).hexdigest()
    stated_crs = parse_crs(crs, source="--crs") if crs is not None else None
    table = parse_table(data, name, sheet=sheet, limits=limits)
    size = len(data)
    del data  # the file's bytes are not needed past this point (200 MB at a million rows)
    lap("read")
    frame = table.frame
    n = len(frame)
    mapping = recognise_columns(list(frame.columns), frame.head(50))
    src = source or default_source(name, kobo=mapping.kobo)
    if wards is None:
        from geo.boundaries import load_boundaries

        wards = load_boundaries()

    reason = np.full(n, "", dtype=object)
    field_of = np.full(n, "", dtype=object)

    def reject(mask: np.ndarray, code: str, field_name: str) -> None:
        sel = mask & (reason == "")
        reason[sel] = code
        field_of[sel] = field_name

    problems = table.row_problems if table.row_problems is not None else np.full(n, "", object)
    reject(problems == "too_many_fields", "too_many_fields", "")
    reject(problems == "geometry_not_point", "geometry_not_point", "geometry")

    # Dates are read in a second thread while the coordinates and wards are worked out
    # (pyarrow, numpy and shapely work, mostly without the GIL); the rejections are
    # still applied in the order below.
    date_col = mapping.get("reported_at")
    cleared_col = mapping.get("cleared_at")
    reported_job = cleared_job = None
    if date_col is not None:
        utc_naive = mapping.how.get("reported_at") == "Kobo/ODK"  # Kobo stores UTC
        reported_job = _Background(
            parse_dates, frame[date_col], now=now, naive_tz="UTC" if utc_naive else None
        )
    if cleared_col is not None:
        cleared_job = _Background(parse_dates, frame[cleared_col], now=now)

    # Coordinates.
    if n == 0:
        _check_has_coordinates(mapping, name)
    parsed, lon, lat, projected, coord_field = _coordinates(table, mapping, stated_crs, name)
    for code in ("missing_coordinates", "bad_coordinates"):
        reject(parsed.error == code, code, coord_field)
    lap("coordinates")

    # Jurisdiction and swapped lat/lon: swap only when that moves the point into Hà Nội.
    readable = np.isfinite(lat) & np.isfinite(lon) & (reason == "")
    assigned = _assign(np.where(readable, lon, np.nan), np.where(readable, lat, np.nan), wards)
    ward_code = assigned["ward_code"].to_numpy(dtype=object, copy=True)
    assign_flag = assigned["assign_flag"].to_numpy(dtype=object, copy=True)
    swapped = np.zeros(n, dtype=bool)
    try_swap = readable & (assign_flag == "outside") & ~projected
    if try_swap.any():
        idx = np.flatnonzero(try_swap)
        again = _assign(lat[idx], lon[idx], wards)
        inside = again["assign_flag"].to_numpy(dtype=object) != "outside"
        hit = idx[inside]
        swapped[hit] = True
        lat[hit], lon[hit] = lon[hit].copy(), lat[hit].copy()
        ward_code[hit] = again["ward_code"].to_numpy(dtype=object)[inside]
        assign_flag[hit] = again["assign_flag"].to_numpy(dtype=object)[inside]
    with np.errstate(invalid="ignore"):
        in_range = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    reject(readable & ~in_range, "coordinates_out_of_range", coord_field)
    outside = assign_flag == "outside"
    if strict:
        reject(outside, "outside_jurisdiction", coord_field)
    lap("wards")

    # Dates.
    if reported_job is not None:
        reported, date_format, date_error = reported_job.result()
        for code in ("missing_date", "bad_date", "date_month_day", "date_ambiguous",
                     "date_out_of_range"):  # fmt: skip
            reject(date_error == code, code, str(date_col))
    else:
        reported = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
        date_format = np.full(n, "", dtype=object)
        reject(np.ones(n, dtype=bool), "missing_date", "")
    if cleared_job is not None:
        cleared, _, cleared_error = cleared_job.result()
        reject((cleared_error != "") & (cleared_error != "missing_date"), "bad_cleared_date",
               str(cleared_col))  # fmt: skip
    else:
        cleared = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    lap("dates")

    # Nearest streets in a second thread (shapely, without the GIL) while the vocabulary
    # and ward names are read; for every row not rejected so far, blanked below for rows
    # rejected meanwhile, so the result is that of the rows finally accepted.
    street_rows = np.flatnonzero((reason == "") & ~outside)
    street_job = _Background(_streets, lon[street_rows], lat[street_rows], streets)

    # Type and status.
    type_col = mapping.get("type")
    type_text = _text_or_none(frame, type_col)
    type_texts = type_text if isinstance(type_text, pd.Series) else pd.Series(type_text, dtype=object)
    types = type_codes(type_texts).to_numpy(dtype=object)
    status_col = mapping.get("status")
    if status_col is not None:
        raw_status = frame[status_col].astype(str).str.strip()
        status_given = (raw_status != "").to_numpy(dtype=bool)
        status = status_codes(raw_status).to_numpy(dtype=object)
        reject(status_given & pd.isna(status), "unknown_status", status_col)
        status = np.where(status_given & ~pd.isna(status), status, "reported").astype(object)
    else:
        status_given = np.zeros(n, dtype=bool)
        status = np.full(n, "reported", dtype=object)
    lap("vocab")

    # Ward named in the file, cross-checked with the spatial assignment.
    ward_col = mapping.get("ward")
    mismatch = np.zeros(n, dtype=bool)
    if ward_col is not None:
        text_codes = _ward_codes_from_text(frame[ward_col])
        named = (frame[ward_col].astype(str).str.strip() != "").to_numpy(dtype=bool)
        mismatch = named & (text_codes != ward_code)
        mismatch |= named & pd.isna(text_codes)
    ok = reason == ""
    street = np.full(n, None, dtype=object)
    street[street_rows] = street_job.result()
    street[~(ok & ~outside)] = None
    lap("streets")

    flags = _flag_strings(
        {
            "outside": outside & ok,
            "snapped": (assign_flag == "snapped") & ok,
            "swapped_lat_lon": swapped & ok,
            "ward_mismatch": mismatch & ok,
            "no_street": pd.isna(street) & ok,
        },
        n,
    )

    # Identity.
    id_col = mapping.get("id")
    source_id = _text_or_none(frame, id_col)
    fp = fingerprints(pd.Series(types, dtype=object), lat, lon, reported.reset_index(drop=True))
    rows = pd.DataFrame(
        {
            "row": table.row_numbers.astype(np.int64),
            "outcome": _str_codes((~ok).astype(np.int32), ["accepted", "rejected"]),
            "reason": _str_column(reason),
            "field": _str_column(field_of),
            "message_vi": _str_codes(np.zeros(n, dtype=np.int32), [""]),
            "message_en": _str_codes(np.zeros(n, dtype=np.int32), [""]),
            "flags": _str_column(np.where(ok, flags, "")),
            "source": _str_codes(np.zeros(n, dtype=np.int32), [src]),
            "source_id": source_id,
            "fingerprint": fp.reset_index(drop=True),
            "type": _str_column(types),
            "type_text": type_text,
            "lat": np.where(ok, lat, np.nan),
            "lon": np.where(ok, lon, np.nan),
            "ward_code": _str_column(np.where(ok, ward_code, np.array(None, dtype=object))),
            "street": _str_column(street),
            "address": _text_or_none(frame, mapping.get("address")),
            "note": _text_or_none(frame, mapping.get("note")),
            "status": _str_column(status),
            "status_given": status_given,
            "reported_at": reported.reset_index(drop=True),
            "cleared_at": cleared.reset_index(drop=True),
            "coord_format": _str_column(parsed.fmt),
            "date_format": _str_column(date_format),
        }
    )
    _messages(rows, frame)
    result = IngestPreview(
        file_name=name,
        sha256=sha256,
        size=size,
        file_format=table.file_format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        sheet=table.sheet,
        sheets=table.sheets,
        source=src,
        crs=stated_crs.to_string() if stated_crs is not None else None,
        strict=strict,
        mapping=mapping,
        original=frame,
        rows=rows,
        wards=wards,
    )
    return result


class _Background:
    """``fn(*args, **kwargs)`` in its own thread; :meth:`result` waits and returns it (or
    raises what it raised). The thread ends with the call, whatever the caller does."""

    def __init__(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="geo-ingest", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _check_has_coordinates(mapping: ColumnMapping, file_name: str) -> None:
    if (mapping.get("lat") and mapping.get("lon")) or mapping.get("latlon"):
        return
    if not mapping.roles and not mapping.ignored:
        return  # an empty file: zero rows, nothing to complain about
    found = ", ".join(f"{role}={col}" for role, col in mapping.roles.items()) or "-"
    raise IngestError(
        f"{file_name}: không tìm thấy cột toạ độ. Các cột đã nhận ra: {found}.",
        f"{file_name}: no coordinate columns found. Columns recognised: {found}.",
    )


def _messages(rows: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Bilingual messages for the rejected rows only (a loop over the few that need one)."""
    idx = np.flatnonzero((rows["reason"] != "").to_numpy())
    vi = rows["message_vi"].to_numpy(dtype=object, copy=True)
    en = rows["message_en"].to_numpy(dtype=object, copy=True)
    reasons = rows["reason"].to_numpy(dtype=object)
    fields = rows["field"].to_numpy(dtype=object)
    numbers = rows["row"].to_numpy()
    for i in idx:
        text_vi, text_en = REASONS[reasons[i]]
        column = fields[i]
        value = ""
        if column:
            cells = [str(frame.iloc[i][c]) for c in str(column).split(", ") if c in frame.columns]
            value = " | ".join(cells)
        where_vi = f"Dòng {numbers[i]}" + (f", cột “{column}”" if column else "")
        where_en = f"Row {numbers[i]}" + (f", column '{column}'" if column else "")
        shown = f" ({value!r})" if column else ""
        vi[i] = f"{where_vi}: {text_vi}{shown}."
        en[i] = f"{where_en}: {text_en}{shown}."
    rows["message_vi"] = vi
    rows["message_en"] = en


# --------------------------------------------------------------------------- identity


def _marker(store: Any) -> tuple[str, tuple[int, ...]] | None:
    return (str(store.url), store.change_marker()) if store is not None else None


def refresh(result: IngestPreview, store: Any) -> None:
    """:func:`classify` again only if ``store`` may have changed since ``result`` was
    classified against it (its :meth:`~geo.store.Store.change_marker` moved): the
    preview's lookup of every key stands otherwise."""
    if result.store_checked and _marker(store) == result.store_marker:
        return  # nothing written since these rows were classified against this store
    classify(result, store)


def classify(result: IngestPreview, store: Any = None) -> None:
    """Decide accepted / duplicate for the rows not rejected (in place on ``result.rows``).

    Repeats inside the file name the earlier row; rows matching a stored incident name it.
    A later status that the workflow allows moves the incident: for a stored incident as a
    status update, for a new one by storing it directly in its latest state.
    """
    from geo.store.workflow import can_transition

    # Taken before the lookup: a write during it shows in the next marker.
    result.store_marker = _marker(store)
    rows = result.rows
    n = len(rows)
    live = (rows["outcome"] != "rejected").to_numpy()
    rows.loc[live, "outcome"] = "accepted"

    has_id = rows["source_id"].notna().to_numpy()
    id_codes, id_uniques = pd.factorize(rows["source_id"])
    key = id_codes.astype(np.int64)
    if not has_id.all():  # fingerprints matter only where there is no id
        fp_codes, _ = pd.factorize(rows["fingerprint"][~has_id])
        key[~has_id] = len(id_uniques) + fp_codes
    # Repeats among live rows: the first row of each identity is its anchor.
    live_idx = np.flatnonzero(live)
    codes = key[live_idx]
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    anchor_of = np.arange(n)
    anchor_of[live_idx] = live_idx[first[inverse]]
    repeat = live & (anchor_of != np.arange(n))
    anchors = live & ~repeat

    # Stored incidents matching the anchors.
    stored_id = np.full(n, -1, dtype=np.int64)
    stored_status = np.full(n, None, dtype=object)
    result.store_checked = store is not None
    if store is not None and anchors.any():
        keys = rows.loc[anchors, ["source", "source_id", "fingerprint"]]
        found = store.lookup_existing(keys)
        if len(found):
            pos = rows.index.get_indexer(found["row"].to_numpy())
            # A fingerprint match to a different id of the same source is another incident.
            row_ids = rows["source_id"].to_numpy(dtype=object)[pos]
            same_source = found["source"].to_numpy(dtype=object) == result.source
            other_id = (
                pd.notna(row_ids)
                & pd.notna(found["source_id"].to_numpy(dtype=object))
                & (found["source_id"].astype(str).to_numpy(dtype=object) != row_ids.astype(str))
            )
            keep = ~(same_source & other_id)
            stored_id[pos[keep]] = found["id"].to_numpy(dtype=np.int64)[keep]
            stored_status[pos[keep]] = found["status"].to_numpy(dtype=object)[keep]

    outcome = rows["outcome"].to_numpy(dtype=object, copy=True)
    dup_incident = np.full(n, -1, dtype=np.int64)
    dup_row = np.full(n, -1, dtype=np.int64)
    update_incident = np.full(n, -1, dtype=np.int64)
    update_to = np.full(n, None, dtype=object)
    update_at = np.full(n, np.datetime64("NaT", "ns"))
    status = rows["status"].to_numpy(dtype=object, copy=True)
    cleared_at = _naive_utc(rows["cleared_at"])
    status_given = rows["status_given"].to_numpy(dtype=bool)
    row_numbers = rows["row"].to_numpy()

    # Anchors that are stored already: duplicates, maybe moving the stored incident on.
    matched = anchors & (stored_id >= 0)
    outcome[matched] = "duplicate"
    dup_incident[matched] = stored_id[matched]
    state = np.where(matched, stored_status, status).astype(object)
    for i in np.flatnonzero(matched & status_given & (status != stored_status)):
        if can_transition(str(stored_status[i]), str(status[i])):
            update_incident[i], update_to[i], update_at[i] = stored_id[i], status[i], cleared_at[i]
            state[i] = status[i]

    # Repeats inside the file (the loop runs over the repeated rows only).
    for i in np.flatnonzero(repeat):
        a = int(anchor_of[i])
        outcome[i] = "duplicate"
        if stored_id[a] >= 0:
            dup_incident[i] = stored_id[a]
        else:
            dup_row[i] = row_numbers[a]
        if not status_given[i] or status[i] == state[a]:
            continue
        if not can_transition(str(state[a]), str(status[i])):
            continue
        if stored_id[a] >= 0:
            update_incident[i], update_to[i], update_at[i] = stored_id[a], status[i], cleared_at[i]
        else:  # a new incident: store it directly in its latest state
            status[a] = status[i]
            if status[i] == "cleared" and pd.notna(cleared_at[i]):
                cleared_at[a] = cleared_at[i]
        state[a] = status[i]

    rows["outcome"] = _str_column(outcome, rows.index)
    rows["duplicate_of_incident"] = _nullable_int(dup_incident)
    rows["duplicate_of_row"] = _nullable_int(dup_row)
    rows["update_incident"] = _nullable_int(update_incident)
    rows["update_to"] = update_to
    rows["update_at"] = pd.Series(update_at, index=rows.index).dt.tz_localize("UTC")
    rows["status"] = _str_column(status, rows.index)
    rows["cleared_at"] = pd.Series(cleared_at, index=rows.index).dt.tz_localize("UTC")
    # Flags describe what will be stored: only accepted rows keep them.
    not_accepted = outcome != "accepted"
    if not_accepted.any():
        rows.loc[not_accepted, "flags"] = ""


def _nullable_int(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Int64 column from an int array where negative means missing."""
    return pd.arrays.IntegerArray(np.where(values >= 0, values, 0).astype("int64"), values < 0)


def _naive_utc(stamps: pd.Series) -> np.ndarray:
    """datetime64[ns] (UTC, zone dropped) — numpy arrays of aware Timestamps are objects."""
    return np.array(
        pd.to_datetime(stamps, utc=True).dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    )


# --------------------------------------------------------------------------- commit


def commit(preview_: IngestPreview, store: Any, actor: str) -> IngestResult:
    """Store a preview as one batch in one transaction.

    The rows are classified again first if the store changed since the preview (someone
    may have stored the same incidents meanwhile; see :func:`refresh`).
    """
    refresh(preview_, store)
    return write_batch(preview_, store, actor)


def write_batch(preview_: IngestPreview, store: Any, actor: str) -> IngestResult:
    """Store a preview as classified, as one batch in one transaction (no re-check: the
    caller has just run :func:`refresh`, and checked rights on what it decided)."""
    if preview_.wards is not None and store.wards().empty:
        # A fresh store gets the ward layer the preview used; refreshing a loaded one is
        # the boundaries workflow's job, not every upload's.
        store.ensure_wards(preview_.wards)
    counts = preview_.counts()
    batch = {
        "file_name": preview_.file_name,
        "sha256": preview_.sha256,
        "user": actor,
        "source": preview_.source,
        "counts": {
            **counts,
            "status_updates": preview_.n_status_updates,
            **{f"flag_{k}": v for k, v in preview_.flag_counts().items()},
        },
    }
    incidents = preview_.incidents()
    updates = preview_.status_updates()
    batch_id = store.commit_batch(batch, incidents, updates, actor=actor)
    return IngestResult(preview_, int(batch_id))


def ingest(
    file: str | Path | bytes | IO[bytes],
    store: Any,
    options: IngestOptions | None = None,
    *,
    actor: str,
) -> IngestResult:
    """Preview and, unless ``options.dry_run``, commit: what the CLI does."""
    options = options or IngestOptions()
    result = preview(file, options, store=store)
    if options.dry_run:
        return IngestResult(result, None, dry_run=True)
    return commit(result, store, actor)
