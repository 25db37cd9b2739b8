"""Controlled vocabulary: violation types and workflow states.

Field teams write "lấn chiếm vỉa hè", "lan chiem via he", "Sidewalk encroachment" or
"LẤN CHIẾM LÒNG ĐƯỜNG" for the same thing. Reports, maps and dashboards group by a stable
code, so every free-text variant is folded (through :func:`geo.names.ascii_key`, i.e.
regardless of case and diacritics) onto one code here. The original text is kept by the
caller, so an unknown type becomes ``other`` without losing what the team wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.names import ascii_key


@dataclass(frozen=True)
class Term:
    """One entry of a vocabulary: a stable code and its labels."""

    code: str
    label_vi: str
    label_en: str


#: Violation types, in display order. Codes are stable: they are stored.
TYPES: tuple[Term, ...] = (
    Term("sidewalk", "Lấn chiếm vỉa hè, lòng đường", "Sidewalk / roadway encroachment"),
    Term("awning", "Mái che, mái vảy", "Awning / canopy"),
    Term("signboard", "Biển quảng cáo", "Signboard / billboard"),
    Term("parking", "Đỗ xe trái phép", "Illegal parking"),
    Term("materials", "Vật liệu xây dựng, rác thải", "Building materials / waste"),
    Term("other", "Khác", "Other"),
)

#: Workflow states of an incident, in workflow order.
STATES: tuple[Term, ...] = (
    Term("reported", "Mới phát hiện (chưa xử lý)", "Reported (open)"),
    Term("verified", "Đã xác minh", "Verified"),
    Term("in_progress", "Đang xử lý", "In progress"),
    Term("cleared", "Đã xử lý", "Cleared"),
    Term("recurred", "Tái phạm", "Recurred"),
)

#: The group each type is listed under by the Open311 server (``services.json``'s ``group``).
TYPE_GROUPS: dict[str, str] = {
    "sidewalk": "Lòng đường, vỉa hè",
    "parking": "Lòng đường, vỉa hè",
    "awning": "Công trình, quảng cáo",
    "signboard": "Công trình, quảng cáo",
    "materials": "Vệ sinh môi trường",
    "other": "Khác",
}

#: Words a resident would search for, per type (``services.json``'s ``keywords``).
TYPE_KEYWORDS_VI: dict[str, tuple[str, ...]] = {
    "sidewalk": ("lấn chiếm", "vỉa hè", "lòng đường", "bán hàng rong", "hàng quán"),
    "awning": ("mái che", "mái vảy", "bạt che", "ô dù"),
    "signboard": ("biển quảng cáo", "biển hiệu", "băng rôn", "bảng hiệu"),
    "parking": ("đỗ xe", "dừng đỗ", "trông giữ xe", "ô tô", "xe máy"),
    "materials": ("vật liệu xây dựng", "rác thải", "phế thải", "đổ trộm"),
    "other": ("khác",),
}

TYPE_CODES: tuple[str, ...] = tuple(t.code for t in TYPES)
STATE_CODES: tuple[str, ...] = tuple(s.code for s in STATES)

# Keywords (as ascii_key fragments) that identify a type inside free text, checked in
# this order; the first type with a matching keyword wins.
_TYPE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("awning", ("mai_che", "mai_vay", "mai_hien", "bat_che", "o_che", "awning", "canopy")),
    (
        "signboard",
        (
            "quang_cao",
            "bien_hieu",
            "bien_bang",
            "bang_ron",
            "bang_hieu",
            "bien_qc",
            "signboard",
            "billboard",
            "sign_board",
            "advert",
            "banner",
            "signage",
        ),
    ),
    (
        "parking",
        (
            "do_xe",
            "dau_xe",
            "trong_giu_xe",
            "giu_xe",
            "do_o_to",
            "dung_do",
            "parking",
            "parked",
        ),
    ),
    (
        "materials",
        (
            "vat_lieu",
            "vlxd",
            "rac_thai",
            "phe_thai",
            "phe_lieu",
            "do_rac",
            "rac",
            "material",
            "waste",
            "debris",
            "rubbish",
            "garbage",
            "trash",
        ),
    ),
    (
        "sidewalk",
        (
            "lan_chiem",
            "lan_chiem_via_he",
            "via_he",
            "long_duong",
            "le_duong",
            "buon_ban",
            "ban_hang_rong",
            "sidewalk",
            "pavement",
            "encroach",
            "roadway",
            "footpath",
        ),
    ),
    ("other", ("khac", "other", "others", "misc")),
)

# Whole-text variants for statuses (ascii keys). Checked as exact matches first, then
# as keyword containment in the order of _STATUS_KEYWORDS.
_STATUS_EXACT: dict[str, str] = {
    # reported
    "reported": "reported",
    "open": "reported",
    "new": "reported",
    "moi": "reported",
    "chua_xu_ly": "reported",
    "chua": "reported",
    "moi_phat_hien": "reported",
    "phat_hien": "reported",
    "da_phat_hien": "reported",
    "chua_giai_quyet": "reported",
    "tiep_nhan": "reported",
    "da_tiep_nhan": "reported",
    "pending": "reported",
    "todo": "reported",
    # verified
    "verified": "verified",
    "confirmed": "verified",
    "da_xac_minh": "verified",
    "xac_minh": "verified",
    "da_xac_nhan": "verified",
    "xac_nhan": "verified",
    "da_kiem_tra": "verified",
    # in progress
    "in_progress": "in_progress",
    "inprogress": "in_progress",
    "in_process": "in_progress",
    "processing": "in_progress",
    "ongoing": "in_progress",
    "dang_xu_ly": "in_progress",
    "dang_giai_quyet": "in_progress",
    "dang_khac_phuc": "in_progress",
    "dang_thuc_hien": "in_progress",
    # cleared
    "cleared": "cleared",
    "resolved": "cleared",
    "closed": "cleared",
    "done": "cleared",
    "fixed": "cleared",
    "completed": "cleared",
    "da_xu_ly": "cleared",
    "xu_ly_xong": "cleared",
    "da_xu_ly_xong": "cleared",
    "da_giai_quyet": "cleared",
    "da_khac_phuc": "cleared",
    "hoan_thanh": "cleared",
    "da_hoan_thanh": "cleared",
    "xong": "cleared",
    "da_giai_toa": "cleared",
    "giai_toa": "cleared",
    # recurred
    "recurred": "recurred",
    "recurring": "recurred",
    "reopened": "recurred",
    "repeat": "recurred",
    "tai_pham": "recurred",
    "tai_dien": "recurred",
    "tai_lan_chiem": "recurred",
}

_STATUS_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("recurred", ("tai_pham", "tai_dien", "recur", "reopen")),
    ("in_progress", ("dang_xu_ly", "dang_", "progress", "processing")),
    ("cleared", ("da_xu_ly", "xu_ly_xong", "da_khac_phuc", "hoan_thanh", "cleared", "resolved")),
    ("verified", ("xac_minh", "verif", "confirm")),
    ("reported", ("chua_xu_ly", "chua_", "moi_", "open")),
)

_LABEL_TYPES = {ascii_key(t.label_vi): t.code for t in TYPES} | {
    ascii_key(t.label_en): t.code for t in TYPES
}
_LABEL_STATES = {ascii_key(s.label_vi): s.code for s in STATES} | {
    ascii_key(s.label_en): s.code for s in STATES
}


def _contains(key: str, fragment: str) -> bool:
    """True when ``fragment`` occurs in ``key`` on word (underscore) boundaries."""
    if fragment.endswith("_"):  # a prefix keyword such as "dang_"
        return key.startswith(fragment) or f"_{fragment}" in f"_{key}"
    padded = f"_{key}_"
    return f"_{fragment}_" in padded or (len(fragment) >= 5 and fragment in key)


def type_code(text: object) -> str:
    """The stable type code for a free-text violation type; ``other`` when unknown.

    Parameters
    ----------
    text : object
        The type as written in the file (non-strings count as unknown).

    Returns
    -------
    str
        A code of :data:`TYPE_CODES` (``"other"`` when not understood).
    """
    if not isinstance(text, str):
        return "other"
    key = ascii_key(text)
    if not key:
        return "other"
    if key in TYPE_CODES:
        return key
    if key in _LABEL_TYPES:
        return _LABEL_TYPES[key]
    for code, fragments in _TYPE_KEYWORDS:
        if any(_contains(key, fragment) for fragment in fragments):
            return code
    return "other"


def status_code(text: object) -> str | None:
    """The workflow state for a free-text status; None when blank or not understood.

    Parameters
    ----------
    text : object
        The status as written in the file (non-strings count as blank).

    Returns
    -------
    str or None
        A code of :data:`STATE_CODES`, or None.
    """
    if not isinstance(text, str):
        return None
    key = ascii_key(text)
    if not key:
        return None
    if key in STATE_CODES:
        return key
    if key in _STATUS_EXACT:
        return _STATUS_EXACT[key]
    if key in _LABEL_STATES:
        return _LABEL_STATES[key]
    for code, fragments in _STATUS_KEYWORDS:
        if any(_contains(key, fragment) for fragment in fragments):
            return code
    return None


def _map_distinct(texts: pd.Series, func: Callable[[object], str | None]) -> pd.Series:
    """``func`` once per distinct value, spread back by position (fast on 10^6 rows)."""
    codes, labels = map_distinct_codes(texts, func)
    table = np.array([*labels, None], dtype=object)
    return pd.Series(table[codes], index=texts.index, dtype=object)


def map_distinct_codes(
    texts: pd.Series, func: Callable[[object], str | None]
) -> tuple[NDArray[np.int32], list[str]]:
    """``func`` once per distinct value, as codes into its results: the rows' codes stay
    integers, so a million rows are never a million Python objects.

    Parameters
    ----------
    texts : pandas.Series
        The values as written (missing ones are given to ``func`` as None).
    func : callable
        Value → text, or None.

    Returns
    -------
    tuple
        (per row the position of its result in the list, -1 where ``func`` gave None;
        the results, "" standing in for the Nones).
    """
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    mapped = [func(u) for u in uniques] + [func(None)]
    table = np.array([-1 if m is None else k for k, m in enumerate(mapped)], dtype=np.int32)
    return table[codes], ["" if m is None else m for m in mapped]


def type_codes(texts: pd.Series) -> pd.Series:
    """:func:`type_code` over a Series (evaluated once per distinct value), same index.

    Parameters
    ----------
    texts : pandas.Series
        Types as written in the file.

    Returns
    -------
    pandas.Series
        A type code per row.
    """
    return _map_distinct(texts, type_code)


def status_codes(texts: pd.Series) -> pd.Series:
    """:func:`status_code` over a Series (None where not understood), same index.

    Parameters
    ----------
    texts : pandas.Series
        Statuses as written in the file.

    Returns
    -------
    pandas.Series
        A state code or None per row.
    """
    return _map_distinct(texts, status_code)


def type_label(code: str, lang: str = "vi") -> str:
    """Display label of a type code (the code itself when unknown).

    Parameters
    ----------
    code : str
        A type code.
    lang : str
        ``"vi"``; any other value gives the English label.

    Returns
    -------
    str
        The label.
    """
    for term in TYPES:
        if term.code == code:
            return term.label_vi if lang == "vi" else term.label_en
    return code


def state_label(code: str, lang: str = "vi") -> str:
    """Display label of a workflow state (the code itself when unknown).

    Parameters
    ----------
    code : str
        A workflow state code.
    lang : str
        ``"vi"``; any other value gives the English label.

    Returns
    -------
    str
        The label.
    """
    for term in STATES:
        if term.code == code:
            return term.label_vi if lang == "vi" else term.label_en
    return code
