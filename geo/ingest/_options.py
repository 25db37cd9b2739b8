"""The choices of one ingest, as one value that the CLI, the upload page and tests build.

One frozen object instead of a dozen keywords, so that every layer (page, service, CLI,
pipeline) hands the same thing on unchanged and a new option is added in one place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from geo.ingest._limits import IngestLimits

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from pyproj import CRS


@dataclass(frozen=True)
class IngestOptions:
    """How to read one incident file and what to do with it.

    Parameters
    ----------
    file_name : str, optional
        The name shown in messages and stored with the batch; defaults to the file's own
        name (``"upload"`` for bytes without one).
    crs : str, int or pyproj.CRS, optional
        The CRS of projected x/y columns (``--crs``), e.g. ``"EPSG:5897"`` for VN-2000.
        None: degrees in EPSG:4326, or the CRS a GeoJSON file states.
    sheet : str or int, optional
        The Excel sheet to read (name or 0-based position); None: the first sheet.
    source : str, optional
        The namespace of the file's ids; None: derived from the file name.
    strict : bool
        Reject points outside Hà Nội instead of storing them flagged ``outside``.
    dry_run : bool
        Read and decide every row, store nothing (:func:`geo.ingest.ingest`).
    limits : IngestLimits, optional
        Size limits; None: :meth:`IngestLimits.from_env` when the file is read.
    file_date : datetime.date, optional
        The report date of the whole file (``--date``; "Ngày phát hiện cho cả tệp" on the
        upload page), for sheets dated once in their title or name: rows without a date of
        their own take it (Hà Nội midnight) and carry the flag ``date_from_file``. None:
        such rows are rejected (``missing_date``).
    now : pandas.Timestamp, optional
        "Today" for the dates-in-the-future check; None: the current time.
    wards : geopandas.GeoDataFrame, optional
        The ward layer to assign points to; None: :func:`geo.boundaries.load_boundaries`.
    streets : geopandas.GeoDataFrame, optional
        The street layer for nearest streets; None: the committed layer.
    """

    file_name: str | None = None
    crs: str | int | CRS | None = None
    sheet: str | int | None = None
    source: str | None = None
    strict: bool = False
    dry_run: bool = False
    limits: IngestLimits | None = None
    file_date: dt.date | None = None
    now: pd.Timestamp | None = None
    # Layers are data, not choices: left out of equality (and so of hashing) and repr.
    wards: gpd.GeoDataFrame | None = field(default=None, compare=False, repr=False)
    streets: gpd.GeoDataFrame | None = field(default=None, compare=False, repr=False)
