"""The codes the ingest writes about how it read a file, declared once with their label keys.

Three kinds: how a column was recognised (``ColumnMapping.how``, the preview's column
table), how coordinates were written (the ``coord_format`` column) and how reported dates
were written (``date_format``). The codes stay codes in geo.ingest, storage and the CLI's
JSON; the upload page shows each as a word through :func:`label_key`. The producers
(``_columns``, ``_coords``, ``_locate``, ``_dates``) use these names rather than literals,
and tests/ingest/test_ingest_codes.py checks that every code declared here has a label in
both languages and that no producer writes a bare literal code, so a new code cannot reach
the preview as itself.

A code's label key is ``upload.<kind>.<suffix>`` (:data:`LABEL_PREFIX`); the suffix is
the code itself except where the code is no key ("Kobo/ODK", "dd/mm/yyyy"), kept as they
are because stored rows and the CLI's JSON carry them.
"""

from __future__ import annotations

# -- how a column was recognised (geo.ingest._columns) --------------------------------------
HOW_EXACT = "exact"
HOW_PREFIX = "prefix"
HOW_GEOMETRY = "geometry"
HOW_KOBO = "Kobo/ODK"
HOW_KOBO_GEOPOINT = "Kobo/ODK geopoint"
HOW_CONTENT = "content"
HOW_IGNORED = "ignored"

# -- how coordinates were written (geo.ingest._coords, _locate) -----------------------------
COORD_DECIMAL = "decimal"
COORD_DECIMAL_COMMA = "decimal_comma"
COORD_DMS = "dms"
COORD_COMBINED = "combined"
COORD_COMBINED_COMMA = "combined_comma"
COORD_PROJECTED = "projected"
COORD_GEOJSON = "geojson"

# -- how reported dates were written (geo.ingest._dates) ------------------------------------
DATE_DMY = "dd/mm/yyyy"
DATE_ISO = "iso"
DATE_ISO_ZONED = "iso_zoned"
DATE_EXCEL_SERIAL = "excel_serial"
DATE_FILE = "file_date"

#: Each kind's codes → the suffix of their label keys.
MATCH_METHODS: dict[str, str] = {
    HOW_EXACT: "exact", HOW_PREFIX: "prefix", HOW_GEOMETRY: "geometry", HOW_KOBO: "kobo",
    HOW_KOBO_GEOPOINT: "kobo_geopoint", HOW_CONTENT: "content", HOW_IGNORED: "ignored",
}  # fmt: skip
COORD_FORMATS: dict[str, str] = {
    code: code for code in (
        COORD_DECIMAL, COORD_DECIMAL_COMMA, COORD_DMS, COORD_COMBINED, COORD_COMBINED_COMMA,
        COORD_PROJECTED, COORD_GEOJSON,
    )
}  # fmt: skip
DATE_FORMATS: dict[str, str] = {
    DATE_DMY: "dmy", DATE_ISO: "iso", DATE_ISO_ZONED: "iso_zoned",
    DATE_EXCEL_SERIAL: "excel_serial", DATE_FILE: "file_date",
}  # fmt: skip

#: Kind → (its codes, the prefix of their label keys in geo.i18n).
KINDS: dict[str, tuple[dict[str, str], str]] = {
    "how": (MATCH_METHODS, "upload.how"),
    "coord_format": (COORD_FORMATS, "upload.coordfmt"),
    "date_format": (DATE_FORMATS, "upload.datefmt"),
}


def label_key(kind: str, code: str) -> str | None:
    """The label key of a declared code of ``kind`` (``"how"``, ``"coord_format"``,
    ``"date_format"``), None for "" (no value) or a code not declared.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    code : str
        The code as the ingest wrote it.

    Returns
    -------
    str or None
        E.g. ``"upload.datefmt.dmy"`` for ``"dd/mm/yyyy"``.
    """
    codes, prefix = KINDS[kind]
    suffix = codes.get(code)
    return None if suffix is None else f"{prefix}.{suffix}"
