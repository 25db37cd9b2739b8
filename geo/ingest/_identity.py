"""Who an incident is: its id within its source, or else a fingerprint.

The fingerprint is readable on purpose ("v1|sidewalk|2103650|10584900|2025-07-05"): type,
position rounded to 1e-5 degrees (about 1.1 m north-south, 1.0 m east-west in Hà Nội)
and the local (Hà Nội) calendar date of the report. It decides only for rows without an
id: two such reports of the same thing at the same spot on the same day are one incident.
Rows with an id are one incident only when their ids match within one source, wherever
they are (two parking violations at one spot on one day are two). The whole rule:
docs/storage.md, "Identity".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.crs import LOCAL_TZ
from geo.ingest._text import text_or_none

if TYPE_CHECKING:
    from geo.ingest._dates import Dates
    from geo.ingest._locate import Located
    from geo.ingest._read import ReadFile
    from geo.ingest._vocabulary import Vocabulary

FINGERPRINT_VERSION = "v1"
_SOURCE_CHARS = re.compile(r"[^0-9A-Za-z_.\-]+")


def fingerprints(
    types: pd.Series, lat: np.ndarray, lon: np.ndarray, reported_at: pd.Series
) -> pd.Series:
    """Fingerprint per row (index of ``types``); "" where a part is missing.

    Built with pyarrow's string kernels: a million keys in a fraction of a second.

    Parameters
    ----------
    types : pandas.Series
        Type codes.
    lat, lon : numpy.ndarray
        WGS 84 degrees.
    reported_at : pandas.Series
        Reported times (UTC).

    Returns
    -------
    pandas.Series
        The fingerprint text per row, on the index of ``types``, as pandas' text dtype
        (``str``; comparisons give numpy booleans); "" where any part is missing.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    lat_i = np.round(np.asarray(lat, dtype=float) * 1e5)
    lon_i = np.round(np.asarray(lon, dtype=float) * 1e5)
    stamps = pd.to_datetime(reported_at, utc=True)
    ok = np.isfinite(lat_i) & np.isfinite(lon_i) & stamps.notna().to_numpy()
    index = types.index
    lat_s = pc.cast(pa.array(np.where(ok, lat_i, 0).astype(np.int64)), pa.string())
    lon_s = pc.cast(pa.array(np.where(ok, lon_i, 0).astype(np.int64)), pa.string())
    local = stamps.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).to_numpy(dtype="datetime64[D]")
    day = pc.cast(pa.array(np.where(ok, local, np.datetime64(0, "D"))), pa.string())
    # pandas' Arrow-backed text hands pyarrow its own nulls (no from_pandas needed)
    kinds = pa.array(types.astype("str"), type=pa.string())
    # a missing part makes the key null (pyarrow's default), and "" below
    key = pc.binary_join_element_wise(FINGERPRINT_VERSION, kinds, lat_s, lon_s, day, "|")
    key = pc.fill_null(pc.if_else(pa.array(ok), key, ""), "")  # a missing type too
    # "str" also for no rows: an empty Arrow array alone would give an object Series
    return pd.Series(key, index=index, dtype="str")


def default_source(file_name: str, *, kobo: bool = False) -> str:
    """The source a file's ids belong to when ``--source`` is not given.

    Kobo/ODK ``_uuid`` values are unique world-wide, so all Kobo exports share "kobo".
    Other files: their name without extension, so the same export re-sent is recognised
    by its ids. A renamed copy of a file without ids is still caught by the fingerprints;
    a renamed file with ids is another source (its sender should give ``--source``).

    Parameters
    ----------
    file_name : str
        The file's name.
    kobo : bool
        The file is a Kobo/ODK export.

    Returns
    -------
    str
        The source name (letters, digits, ``_.-``).
    """
    if kobo:
        return "kobo"
    stem = PurePath(file_name or "upload").stem
    return _SOURCE_CHARS.sub("_", stem).strip("_") or "upload"


# --------------------------------------------------------------------------- the stage


@dataclass(frozen=True)
class Identity:
    """Each row's id within its source (missing where the file has none) and fingerprint."""

    source_id: NDArray[np.object_] | pd.Series
    fingerprint: pd.Series


def identity(read: ReadFile, located: Located, dates: Dates, vocab: Vocabulary) -> Identity:
    """The keys :func:`geo.ingest.classify` matches rows by.

    Parameters
    ----------
    read : ReadFile
        The file as read (its id column, if any).
    located, dates, vocab : Located, Dates, Vocabulary
        Position, reported time and type: the parts of the fingerprint.

    Returns
    -------
    Identity
        Ids and fingerprints, on a 0-based RangeIndex.
    """
    source_id = text_or_none(read.table.frame, read.mapping.get("id"))
    types = pd.Series(vocab.types)  # any dtype: fingerprints reads it as "str"
    reported = dates.reported.reset_index(drop=True)
    fp = fingerprints(types, located.lat, located.lon, reported)
    return Identity(source_id, fp.reset_index(drop=True))
