"""Official ward identity (5-digit codes, canonical names) from ``vietnamadminunits``.

The package (MIT) ships the post-2025 register and the pre-2025 → 2025 converter; this
module is the only place that talks to it.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from importlib import resources

import pandas as pd

from geo.names import name_key, unit_kind

HANOI = "Thành phố Hà Nội"


@lru_cache(maxsize=4)
def official_wards(province: str = HANOI) -> pd.DataFrame:
    """The register of a province's 2025 wards: code, name, short_name, kind, lat, lon, key."""
    db = resources.files("vietnamadminunits") / "data" / "dataset.db"
    with resources.as_file(db) as path, sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
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
    """Official code for each name (None where no unit matches), indexed like ``names``."""
    register = official_wards(province)
    lookup = dict(zip(register["key"], register["code"], strict=True))
    return names.map(lambda n: lookup.get(name_key(n)) if isinstance(n, str) else None)


def canonical_names(codes: pd.Series, province: str = HANOI) -> pd.Series:
    """Canonical full Vietnamese name for each code, indexed like ``codes``."""
    register = official_wards(province).set_index("code")["name"]
    return codes.map(register)


@lru_cache(maxsize=4096)
def ward_code_from_text(text: str, province: str = HANOI) -> str | None:
    """The 2025 ward code named by free text, old names included; None when unknown.

    "Phường Láng" is looked up in the 2025 register first. Failing that, the text is
    read as a pre-2025 address ("Phường Hàng Mã, Quận Hoàn Kiếm") and converted.
    """
    if not text or not text.strip():
        return None
    register = official_wards(province)
    first_part = text.split(",")[0]
    direct = register.loc[register["key"] == name_key(first_part), "code"]
    if len(direct) == 1:
        return str(direct.iloc[0])
    from vietnamadminunits import convert_address

    address = text if name_key(province) in name_key(text) else f"{text}, {province}"
    try:
        unit = convert_address(address)
    except Exception:  # the converter raises plain exceptions on unknown names
        return None
    code = getattr(unit, "ward_code", None)
    if code and getattr(unit, "province", None) == province:
        return str(code)
    return None
