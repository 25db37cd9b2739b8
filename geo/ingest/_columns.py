"""Recognising what each column of an incident file means.

Headers come in Vietnamese or English, with or without diacritics, in any case, and
from KoboToolbox/ODK with their own conventions (``_gps_latitude``, ``_submission_time``,
``group/question`` paths). Surveyors and ward clerks add units or hints in brackets
(``X (m)``, ``Kinh độ (độ)``, ``Toạ độ X (VN-2000)``, ``Ngày phát hiện (dd/mm/yyyy)``):
such a suffix is removed first. Each header is then reduced with
:func:`geo.names.ascii_key` and looked up in the variant tables below; the mapping is shown to the officer in the
upload preview so a wrong guess is visible before anything is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from geo.ingest import codes
from geo.ingest._geojson import GEOM_X, GEOM_Y
from geo.names import ascii_key

#: Roles a column can play, in the order the preview lists them.
ROLES = (
    "id",
    "lat",
    "lon",
    "latlon",
    "type",
    "status",
    "reported_at",
    "cleared_at",
    "address",
    "ward",
    "note",
)

_VARIANTS: dict[str, set[str]] = {
    "lat": {
        "vi_do", "vido", "lat", "latitude", "y", "lat_wgs84", "latitude_wgs84", "toa_do_y",
        "y_coord", "coord_y", "northing", "toa_do_bac",
    },
    "lon": {
        "kinh_do", "kinhdo", "lng", "lon", "long", "longitude", "x", "lon_wgs84", "lng_wgs84",
        "longitude_wgs84", "toa_do_x", "x_coord", "coord_x", "easting", "toa_do_dong",
    },
    "latlon": {
        "toa_do", "vi_tri", "location", "coordinates", "coordinate", "coords", "lat_lon",
        "latlon", "lat_long", "lat_lng", "latlng", "gps", "geopoint", "toa_do_gps",
        "vi_tri_gps", "geolocation", "vi_do_kinh_do", "lat_lon_alt_acc", "position",
        "toa_do_vi_tri", "diem_gps", "point",
    },
    "type": {
        "loai_vi_pham", "loai", "type", "category", "loai_hinh", "loai_hinh_vi_pham",
        "hanh_vi", "hanh_vi_vi_pham", "vi_pham", "violation", "violation_type",
        "incident_type", "kind", "phan_loai", "nhom_vi_pham", "type_of_violation",
        "noi_dung_vi_pham",
    },
    "status": {
        "trang_thai", "status", "tinh_trang", "tinh_trang_xu_ly", "trang_thai_xu_ly",
        "ket_qua_xu_ly", "state", "workflow_state",
    },
    "reported_at": {
        "ngay_phat_hien", "ngay", "reported_at", "date", "thoi_gian", "ngay_gio",
        "thoi_gian_phat_hien", "ngay_vi_pham", "ngay_bao_cao", "datetime", "time",
        "timestamp", "reported", "reported_date", "date_reported", "ngay_ghi_nhan",
        "ngay_kiem_tra", "thoi_diem", "thoi_diem_phat_hien", "created_at", "ngay_lap",
        "ngay_thang", "report_date",
    },
    "cleared_at": {
        "ngay_xu_ly", "ngay_xu_ly_xong", "ngay_hoan_thanh", "cleared_at", "cleared_date",
        "date_cleared", "resolved_at", "ngay_khac_phuc", "ngay_giai_toa",
    },
    "address": {
        "dia_chi", "address", "so_nha", "dia_diem", "dia_chi_vi_pham", "street_address",
        "addr", "noi_vi_pham",
    },
    "note": {
        "ghi_chu", "note", "notes", "mo_ta", "description", "desc", "comment", "comments",
        "chi_tiet", "remarks", "mo_ta_chi_tiet",
    },
    "id": {
        "ma", "id", "ma_vu_viec", "ma_vi_pham", "ma_so", "ma_su_viec", "incident_id",
        "source_id", "case_id", "ref", "reference", "ma_ho_so", "record_id", "ma_bien_ban",
    },
    "ward": {
        "phuong", "ward", "phuong_xa", "xa_phuong", "ten_phuong", "ward_name", "don_vi",
        "phuong_xa_thi_tran", "xa", "dia_ban", "ten_phuong_xa",
    },
}
_LOOKUP = {variant: role for role, variants in _VARIANTS.items() for variant in variants}

#: A unit or hint in brackets at the end of a header: "(m)", "[độ]", "(dd/mm/yyyy)".
_HINT = re.compile(r"\s*(?:\([^()]*\)|\[[^\[\]]*\])\s*$")
_KOBO_LAT = re.compile(r"^_(.+)_latitude$")
_KOBO_LON = re.compile(r"^_(.+)_longitude$")
_NUM = r"[-+]?\d+(?:[.,]\d+)?"
_GEOPOINT = re.compile(rf"^\s*{_NUM}\s*[,; ]\s*{_NUM}(?:\s+{_NUM}){{0,2}}\s*$")


@dataclass
class ColumnMapping:
    """Which column plays which role; ``how`` says why (for the preview)."""

    roles: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    kobo: bool = False

    def get(self, role: str) -> str | None:
        """The column playing ``role`` (one of :data:`ROLES`), None if none does."""
        return self.roles.get(role)

    def describe(self) -> pd.DataFrame:
        """One row per column of the file: its role ("" when ignored) and why.

        Returns
        -------
        pandas.DataFrame
            ``column``, ``role`` and ``how``.
        """
        rows = [
            {"column": column, "role": role, "how": self.how.get(role, "")}
            for role, column in self.roles.items()
        ]
        rows += [{"column": column, "role": "", "how": codes.HOW_IGNORED} for column in self.ignored]
        return pd.DataFrame(rows, columns=["column", "role", "how"])


def without_hints(header: str) -> str:
    """A header without the units or hints in brackets at its end ("X (m)" → "X").

    The hint goes first, before a Kobo group path is split on "/": "(dd/mm/yyyy)" holds
    slashes too. A header that is nothing but brackets is kept as written.

    Parameters
    ----------
    header : str
        A header as written.

    Returns
    -------
    str
        The header without its trailing bracketed parts.
    """
    text = str(header).strip()
    while (stripped := _HINT.sub("", text)) != text and stripped:
        text = stripped
    return text


def header_key(header: str) -> str:
    """ascii_key of the last part of a Kobo group path, without units or hints
    ("grp/Vĩ độ (°)" → "vi_do").

    Parameters
    ----------
    header : str
        A header as written.

    Returns
    -------
    str
        The key the variant tables are looked up by.
    """
    return ascii_key(without_hints(header).split("/")[-1])


def _role_of(key: str) -> tuple[str | None, str]:
    if key in _LOOKUP:
        return _LOOKUP[key], codes.HOW_EXACT
    tokens = key.split("_")
    # "Vĩ độ (WGS84)", "Ngày phát hiện (dd/mm/yyyy)": drop trailing words, keep two or more.
    for end in range(len(tokens) - 1, 1, -1):
        stem = "_".join(tokens[:end])
        if stem in _LOOKUP:
            return _LOOKUP[stem], codes.HOW_PREFIX
    if tokens and tokens[0] in {"lat", "latitude", "lon", "lng", "longitude"} and len(tokens) > 1:
        return _LOOKUP[tokens[0]], codes.HOW_PREFIX
    return None, ""


def recognise_columns(columns: list[str], sample: pd.DataFrame | None = None) -> ColumnMapping:
    """Map a file's headers to roles.

    Parameters
    ----------
    columns : list of str
        The file's headers.
    sample : pandas.DataFrame, optional
        The first rows, which help find a geopoint column by its content.

    Returns
    -------
    ColumnMapping
        Each role's column, why it was chosen, and the columns left unused.
    """
    found = _Found()
    kobo = _by_header(columns, found)
    have_pair = "lat" in found.best and "lon" in found.best
    if not have_pair and "latlon" not in found.best and sample is not None:
        _by_content(columns, sample, found)
    _settle(found.best)
    mapping = ColumnMapping(kobo=kobo)
    for role in ROLES:
        if role in found.best:
            mapping.roles[role] = found.best[role][1]
            mapping.how[role] = found.best[role][2]
    used = set(mapping.roles.values())
    mapping.ignored = [c for c in columns if c not in used and c not in (GEOM_X, GEOM_Y)]
    return mapping


class _Found:
    """The best column offered for each role so far (lowest priority number wins)."""

    def __init__(self) -> None:
        self.best: dict[str, tuple[int, str, str]] = {}  # role -> (priority, column, how)

    def offer(self, role: str, column: str, priority: int, how: str) -> None:
        if role not in self.best or priority < self.best[role][0]:
            self.best[role] = (priority, column, how)


_KOBO_META = {"_submission_time": "kobo_submission_time", "_uuid": "kobo_uuid", "_id": "kobo_id"}


def _by_header(columns: list[str], found: _Found) -> bool:
    """Offer each column for the role its header names; True if Kobo/ODK columns appear."""
    kobo = False
    for column in columns:
        raw = str(column).strip()
        last = without_hints(raw).split("/")[-1]
        if column in (GEOM_X, GEOM_Y):
            found.offer("lon" if column == GEOM_X else "lat", column, 0, codes.HOW_GEOMETRY)
            continue
        if last.startswith("_"):
            lowered = last.lower()
            if lowered in _KOBO_META:
                kobo = True
                found.offer(_KOBO_META[lowered], column, 5, codes.HOW_KOBO)
            elif _KOBO_LAT.match(lowered):
                kobo = True
                found.offer("lat", column, 1, codes.HOW_KOBO_GEOPOINT)
            elif _KOBO_LON.match(lowered):
                kobo = True
                found.offer("lon", column, 1, codes.HOW_KOBO_GEOPOINT)
            continue
        role, how = _role_of(header_key(raw))
        if role is not None:
            found.offer(role, column, 2 if how == codes.HOW_EXACT else 3, how)
    return kobo


def _by_content(columns: list[str], sample: pd.DataFrame, found: _Found) -> None:
    """A geopoint-looking column found by content, when nothing else gives coordinates."""
    taken = {entry[1] for entry in found.best.values()}
    for column in columns:
        if column in taken or str(column).startswith("_"):
            continue
        values = sample[column].astype(str).str.strip()
        values = values[values != ""].head(20)
        if len(values) and values.str.match(_GEOPOINT).mean() >= 0.8:
            found.offer("latlon", column, 4, codes.HOW_CONTENT)
            break


def _settle(found: dict[str, tuple[int, str, str]]) -> None:
    """Kobo identifiers and times stand in only where the form has no explicit column;
    a lone lat or lon is useless, and a combined column then takes over."""
    if "id" not in found:
        for meta in ("kobo_uuid", "kobo_id"):
            if meta in found:
                found["id"] = (found[meta][0], found[meta][1], codes.HOW_KOBO)
                break
    if "reported_at" not in found and "kobo_submission_time" in found:
        entry = found["kobo_submission_time"]
        found["reported_at"] = (entry[0], entry[1], codes.HOW_KOBO)
    for meta in ("kobo_uuid", "kobo_id", "kobo_submission_time"):
        found.pop(meta, None)
    if ("lat" in found) != ("lon" in found) and "latlon" in found:
        found.pop("lat", None)
        found.pop("lon", None)
