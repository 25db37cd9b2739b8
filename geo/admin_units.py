"""Official ward identity (5-digit codes, canonical names) from ``vietnamadminunits``.

The package (MIT) ships the post-2025 register and the pre-2025 → 2025 converter; this
module is the only place that talks to it.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

import pandas as pd

from geo.names import ascii_key, name_key, strip_unit_prefix, unit_kind

HANOI = "Thành phố Hà Nội"


def _dataset() -> AbstractContextManager[Path]:
    """The package's register (``data/dataset.db``), found without importing the package.

    Importing ``vietnamadminunits`` compiles its address parser's regular expressions:
    about 0.5 s of CPU (2 s under a profiler) that a fresh process (the CLI, each
    benchmark run) paid on its first ward name; only the pre-2025 converter
    (:func:`_convert_legacy`) needs the parser.
    Installed as a folder, the file is read where it lies; otherwise (a zip) through
    :mod:`importlib.resources`, which imports the package.
    """
    spec = find_spec("vietnamadminunits")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / "data" / "dataset.db"
        if path.is_file():
            return nullcontext(path)
    return resources.as_file(resources.files("vietnamadminunits") / "data" / "dataset.db")


@lru_cache(maxsize=4)
def official_wards(province: str = HANOI) -> pd.DataFrame:
    """The register of a province's 2025 wards: code, name, short_name, kind, lat, lon, key.

    Parameters
    ----------
    province : str
        The province's full name as in ``vietnamadminunits`` (default :data:`HANOI`).

    Returns
    -------
    pandas.DataFrame
        One row per ward, ordered by code: ``code``, ``name``, ``short_name``, ``lat``, ``lon``
        (EPSG:4326 centre), ``area_km2``, ``kind`` (:func:`geo.names.unit_kind`) and ``key``
        (:func:`geo.names.name_key`). Cached: do not modify it.
    """
    with _dataset() as path, sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        frame = pd.read_sql_query(
            "SELECT wardCode AS code, ward AS name, wardShort AS short_name, "
            "wardLat AS lat, wardLon AS lon, wardAreaKm2 AS area_km2 "
            "FROM admin_units WHERE province = ? ORDER BY wardCode",
            con,
            params=(province,),
        )
    frame["kind"] = frame["name"].map(unit_kind)
    frame["key"] = frame["name"].map(name_key)
    return frame


def codes_by_name(names: pd.Series, province: str = HANOI) -> pd.Series:
    """Official code for each name (None where no unit matches), indexed like ``names``.

    Parameters
    ----------
    names : pandas.Series
        Ward names as written (any Unicode form, with or without the "Phường"/"Xã" prefix).
    province : str
        The province whose register is searched (default :data:`HANOI`).

    Returns
    -------
    pandas.Series
        The 2025 ward code per name, or None (also for non-string entries).
    """
    register = official_wards(province)
    lookup = dict(zip(register["key"], register["code"], strict=True))
    return names.map(lambda n: lookup.get(name_key(n)) if isinstance(n, str) else None)


def canonical_names(codes: pd.Series, province: str = HANOI) -> pd.Series:
    """Canonical full Vietnamese name for each code, indexed like ``codes``.

    Parameters
    ----------
    codes : pandas.Series
        2025 ward codes (strings, as in the register).
    province : str
        The province whose register is read (default :data:`HANOI`).

    Returns
    -------
    pandas.Series
        The register's full name per code; NaN where the code is not in the register.
    """
    register = official_wards(province).set_index("code")["name"]
    return codes.map(register)


@lru_cache(maxsize=4)
def _legacy_wards(province: str = HANOI) -> pd.DataFrame:
    """Pre-2025 wards with their districts, for names written without a district."""
    with _dataset() as path, sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        frame = pd.read_sql_query(
            "SELECT ward, district FROM admin_units_legacy WHERE province = ?",
            con,
            params=(province,),
        )
    frame["ascii"] = frame["ward"].map(lambda n: ascii_key(strip_unit_prefix(n)))
    return frame


_ASCII_PREFIXES = ("phuong", "xa", "thi_tran")


def _unique(codes: pd.Series) -> str | None:
    values = codes.unique()
    return str(values[0]) if len(values) == 1 else None


@lru_cache(maxsize=4096)
def ward_code_from_text(text: str, province: str = HANOI) -> str | None:
    """The 2025 ward code named by free text, old names included; None when unknown.

    Tried in order: the 2025 register by name (diacritics kept, then dropped when that
    is unambiguous); the pre-2025 address converter ("Phường Hàng Mã, Quận Hoàn Kiếm");
    and an old ward name without its district when only one district had it.

    Parameters
    ----------
    text : str
        A ward name or address fragment, e.g. ``"Phường Hàng Mã, Quận Hoàn Kiếm"``.
    province : str
        The province whose register is searched (default :data:`HANOI`).

    Returns
    -------
    str or None
        The 2025 ward code, or None when empty, unknown or ambiguous.
    """
    if not text or not text.strip():
        return None
    register = official_wards(province)
    first_part = text.split(",")[0]
    direct = _unique(register.loc[register["key"] == name_key(first_part), "code"])
    if direct:
        return direct
    has_district = "," in text.strip(", ")
    if not has_district:
        legacy_text = _match_without_district(ascii_key(first_part), register, province)
        if legacy_text is None or legacy_text.isdigit():
            return legacy_text
        text = legacy_text
    return _convert_legacy(text, province)


def _match_without_district(words: str, register: pd.DataFrame, province: str) -> str | None:
    """A 2025 code, or "old ward, old district" to convert, for a bare (maybe ASCII) name.

    A leading "phuong"/"xa"/"thi tran" is read as the unit kind, unless only the
    whole text is a name ("Xa La").
    """
    kind = next((k for k in _ASCII_PREFIXES if words.startswith(k + "_")), None)
    readings: list[tuple[str | None, str]] = [(kind, words[len(kind) + 1 :])] if kind else []
    readings.append((None, words))
    legacy = _legacy_wards(province)
    register_plain = register["name"].map(lambda n: ascii_key(strip_unit_prefix(n)))
    for unit_kind_, plain in readings:
        current = register_plain == plain
        old = legacy["ascii"] == plain
        if unit_kind_:
            current &= register["name"].map(ascii_key).str.startswith(unit_kind_ + "_")
            old &= legacy["ward"].map(ascii_key).str.startswith(unit_kind_ + "_")
        if current.sum() == 1:
            return str(register.loc[current, "code"].iloc[0])
        if old.sum() == 1:
            match = legacy[old]
            return f"{match['ward'].iloc[0]}, {match['district'].iloc[0]}"
    return None


def _convert_legacy(text: str, province: str) -> str | None:
    from vietnamadminunits import convert_address

    address = text if ascii_key(province.split(" ", 2)[-1]) in ascii_key(text) else f"{text}, {province}"
    try:
        unit = convert_address(address)
    except Exception:  # the converter raises plain exceptions on unknown names
        return None
    code = getattr(unit, "ward_code", None)
    if code and getattr(unit, "province", None) == province:
        return str(code)
    return None
