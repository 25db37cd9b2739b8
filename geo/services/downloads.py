"""Every file a page offers for download, behind the right the CLI asks for the same file.

A download hands data to someone who can take it elsewhere, so the pages never build the
bytes themselves: the ward report (PDF/PNG), the league table (CSV/XLSX) and the density
grid (GeoTIFF) need ``export`` — the right ``python -m geo report --user`` and
``python -m geo export --user`` check — and are audited as ``export`` when made. The
rejected rows of an upload are the uploader's own file sent back to be fixed, so they
need ``upload``, the right ``python -m geo ingest --rejects`` works under.

A page asks :func:`offered` before drawing a button, so an account without the right is
not offered one; the builders check again when the file is made (a page may be stale, a
right revoked meanwhile), and a refusal is audited like any other.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import auth
from geo.auth import User
from geo.density import HANOI_BBOX, density_grid, geotiff_bytes
from geo.ingest import IngestPreview
from geo.metrics import table_csv, table_xlsx
from geo.report import render, ward_report_data
from geo.services._rights import check
from geo.store import Store

#: The files of the pages, each with the right that makes it.
RIGHT_OF: dict[str, str] = {
    "ward_report": "export",
    "league_table": "export",
    "density_geotiff": "export",
    "rejected_rows": "upload",
}


def offered(actor: User | None, download: str) -> bool:
    """Whether a page shows the button for ``download`` to ``actor``; asking is not an
    attempt, so nothing is audited.

    Parameters
    ----------
    actor
        The signed-in user (None: nobody).
    download
        A key of :data:`RIGHT_OF`.

    Returns
    -------
    bool
        True when ``actor`` holds the right that makes the file.
    """
    return auth.can(actor, RIGHT_OF[download])


def _exporting(store: Store, actor: User | None, what: str, fmt: str) -> User:
    """``actor`` once the ``export`` right is checked (a refusal is audited)."""
    check(store, actor, "export", object_type=what, object_id=fmt)
    assert actor is not None  # check refuses anonymous
    return actor


def ward_report_file(
    store: Store, actor: User | None, wards: gpd.GeoDataFrame, code: str,
    date_from: dt.date | None, date_to: dt.date | None, fmt: str, lang: str = "vi",
) -> bytes:
    """The one-page ward report as PDF or PNG bytes (:func:`geo.report.render`).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``export`` (checked first; a refusal is audited).
    wards, code, date_from, date_to
        As :func:`geo.report.ward_report_data`.
    fmt
        ``pdf`` or ``png``.
    lang
        ``vi`` or ``en``.

    Returns
    -------
    bytes
        The file; audited as ``export`` of a ``ward_report``.
    """
    user = _exporting(store, actor, "ward_report", fmt)
    data = ward_report_data(store, wards, code, date_from, date_to)
    out = render(data, fmt, lang)
    store.audit(user.username, "export", "ward_report", fmt,
                {"ward": code, "from": str(date_from), "to": str(date_to)})
    return out


def league_file(store: Store, actor: User | None, table: pd.DataFrame, fmt: str) -> bytes:
    """The league table as shown, as CSV (UTF-8 with BOM) or XLSX, formulas neutralised
    (:func:`geo.metrics.table_csv` / :func:`geo.metrics.table_xlsx`).

    Parameters
    ----------
    store
        Where the export is audited.
    actor
        Needs ``export`` (checked first; a refusal is audited).
    table
        The table the page shows (its column labels as shown).
    fmt
        ``csv`` or ``xlsx``.

    Returns
    -------
    bytes
        The file; audited as ``export`` of a ``league_table``.
    """
    user = _exporting(store, actor, "league_table", fmt)
    out = table_csv(table) if fmt == "csv" else table_xlsx(table)
    store.audit(user.username, "export", "league_table", fmt, {"rows": len(table)})
    return out


def density_file(
    store: Store,
    actor: User | None,
    lon: np.ndarray,
    lat: np.ndarray,
    cell_m: int,
    metres: tuple[np.ndarray, np.ndarray] | None = None,
) -> bytes:
    """The density grid over Hà Nội as a GeoTIFF (:func:`geo.density.geotiff_bytes`).

    Parameters
    ----------
    store
        Where the export is audited.
    actor
        Needs ``export`` (checked first; a refusal is audited).
    lon, lat
        The points the page read (through the ``view`` right).
    cell_m
        Cell size in metres.
    metres
        The points' EPSG:32648 ``(x, y)`` when the page has them (the snapshot's),
        counted instead of projected (:func:`geo.density.density_grid`).

    Returns
    -------
    bytes
        The file; audited as ``export`` of a ``density``.
    """
    user = _exporting(store, actor, "density", "geotiff")
    out = geotiff_bytes(density_grid(lon, lat, cell_m=cell_m, bbox=HANOI_BBOX, metres=metres))
    store.audit(user.username, "export", "density", "geotiff", {"points": len(lon), "cell_m": cell_m})
    return out


def rejected_rows_file(store: Store, actor: User | None, preview: IngestPreview) -> bytes:
    """The rejected rows of an upload's preview, as the CSV the team fixes and sends again
    (:meth:`geo.ingest.IngestPreview.rejects_csv`, formulas and column names neutralised).

    Parameters
    ----------
    store
        Where a refusal is audited.
    actor
        Needs ``upload``, as ``geo ingest --rejects`` (checked first).
    preview
        The preview the page shows.

    Returns
    -------
    bytes
        The CSV file.
    """
    check(store, actor, "upload", object_type="rejected_rows", object_id=preview.file_name)
    return preview.rejects_csv()
