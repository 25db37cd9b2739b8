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
from geo.ingest._text import coded_column, text_or_none
from geo.vocab import map_distinct_codes, status_code, type_code

if TYPE_CHECKING:
    from geo.ingest._read import ReadFile


@dataclass(frozen=True)
class Vocabulary:
    """Each row's type and status codes, and the type as the file wrote it."""

    #: The type codes as the preview's text column (made from codes, see coded_column).
    types: NDArray[np.object_] | pd.Series
    type_text: NDArray[np.object_] | pd.Series
    #: The status codes as the preview's text column.
    status: NDArray[np.object_] | pd.Series
    #: The file gave a status for the row (else it is "reported").
    status_given: NDArray[np.bool_]


def vocabulary(read: ReadFile, verdicts: Verdicts) -> Vocabulary:
    """Map the type and status columns to codes; reject rows with an unknown status.

    Each distinct text is looked up once and the rows keep integer codes until the
    column is made (a million Python strings per column cost a factorize later).

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
    types = coded_column(*map_distinct_codes(type_texts, type_code))
    status_col = read.mapping.get("status")
    if status_col is None:
        status = coded_column(np.zeros(n, dtype=np.int32), ["reported"])
        return Vocabulary(types, type_text, status, np.zeros(n, dtype=bool))
    raw_status = frame[status_col].astype(str).str.strip()
    status_given = (raw_status != "").to_numpy(dtype=bool)
    codes, labels = map_distinct_codes(raw_status, status_code)
    verdicts.reject(status_given & (codes < 0), "unknown_status", status_col)
    reported = len(labels)
    codes = np.where(status_given & (codes >= 0), codes, reported)
    return Vocabulary(types, type_text, coded_column(codes, [*labels, "reported"]), status_given)
