"""Stage 4, vocabulary: the violation type and the workflow status in the project's codes.

Field teams write types and statuses in their own words ("Lấn chiếm vỉa hè", "đã xử
lý"); :mod:`geo.vocab` maps them to codes. An unknown type is kept as written (the code
``other``); an unknown status rejects the row, since storing a guess would move the
incident through the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.ingest._reasons import Verdicts
from geo.ingest._text import text_or_none
from geo.vocab import status_codes, type_codes

if TYPE_CHECKING:
    from geo.ingest._read import ReadFile


@dataclass(frozen=True)
class Vocabulary:
    """Each row's type and status codes, and the type as the file wrote it."""

    types: NDArray[np.object_]
    type_text: NDArray[np.object_] | pd.Series
    status: NDArray[np.object_]
    #: The file gave a status for the row (else it is "reported").
    status_given: NDArray[np.bool_]


def vocabulary(read: ReadFile, verdicts: Verdicts) -> Vocabulary:
    """Map the type and status columns to codes; reject rows with an unknown status.

    Parameters
    ----------
    read : ReadFile
        The file as read.
    verdicts : Verdicts
        Rows whose status is not recognised are rejected here.

    Returns
    -------
    Vocabulary
        Types and statuses; "reported" where the file gives no status.
    """
    frame, n = read.table.frame, len(read.table.frame)
    type_text = text_or_none(frame, read.mapping.get("type"))
    type_texts = type_text if isinstance(type_text, pd.Series) else pd.Series(type_text, dtype=object)
    types = type_codes(type_texts).to_numpy(dtype=object)
    status_col = read.mapping.get("status")
    if status_col is None:
        status = np.full(n, "reported", dtype=object)
        return Vocabulary(types, type_text, status, np.zeros(n, dtype=bool))
    raw_status = frame[status_col].astype(str).str.strip()
    status_given = (raw_status != "").to_numpy(dtype=bool)
    status = status_codes(raw_status).to_numpy(dtype=object)
    verdicts.reject(status_given & pd.isna(status), "unknown_status", status_col)
    status = np.where(status_given & ~pd.isna(status), status, "reported").astype(object)
    return Vocabulary(types, type_text, status, status_given)
