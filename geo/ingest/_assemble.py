"""Stage 6, assemble: one row per data row with its outcome so far, values and messages.

Rejected rows keep their reason and field and lose their values (position, ward, flags),
so that what the preview shows is what would be stored. :func:`geo.ingest.classify`
then decides accepted or duplicate for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.ingest._dates import Dates
from geo.ingest._identity import Identity
from geo.ingest._locate import Located
from geo.ingest._read import ReadFile
from geo.ingest._reasons import Verdicts, write_messages
from geo.ingest._text import constant, str_codes, str_column, text_or_none
from geo.ingest._vocabulary import Vocabulary


def assemble(
    read: ReadFile,
    located: Located,
    dates: Dates,
    vocab: Vocabulary,
    ident: Identity,
    verdicts: Verdicts,
) -> pd.DataFrame:
    """The preview's rows: what every stage decided, side by side.

    Parameters
    ----------
    read, located, dates, vocab, ident : the stages' results
        As returned by :func:`~geo.ingest._read.read_file`,
        :func:`~geo.ingest._locate.place_names`, :func:`~geo.ingest._dates.finish_dates`,
        :func:`~geo.ingest._vocabulary.vocabulary` and :func:`~geo.ingest._identity.identity`.
    verdicts : Verdicts
        The rejections, final.

    Returns
    -------
    pandas.DataFrame
        ``row``, ``outcome`` ("accepted" or "rejected" for now), ``reason``, ``field``,
        bilingual messages, ``flags``, the identity columns and the parsed values.
    """
    frame, mapping = read.table.frame, read.mapping
    n = len(frame)
    ok = verdicts.standing()
    reason, field = verdicts.columns()
    rows = pd.DataFrame(
        {
            "row": read.table.row_numbers.astype(np.int64),
            "outcome": str_codes((~ok).astype(np.int32), ["accepted", "rejected"]),
            "reason": reason,
            "field": field,
            "message_vi": constant("", n),
            "message_en": constant("", n),
            "flags": _flags(located, dates, ok),
            "source": constant(read.source, n),
            "source_id": ident.source_id,
            "fingerprint": ident.fingerprint,
            "type": vocab.types,
            "type_text": vocab.type_text,
            "lat": np.where(ok, located.lat, np.nan),
            "lon": np.where(ok, located.lon, np.nan),
            "ward_code": str_column(np.where(ok, located.ward_code, np.array(None, dtype=object))),
            "street": str_column(located.street),
            "address": text_or_none(frame, mapping.get("address")),
            "note": text_or_none(frame, mapping.get("note")),
            "status": vocab.status,
            "status_given": vocab.status_given,
            "reported_at": dates.reported.reset_index(drop=True),
            "cleared_at": dates.cleared.reset_index(drop=True),
            "coord_format": str_column(located.fmt),
            "date_format": str_column(dates.fmt),
        }
    )
    write_messages(rows, frame)
    return rows


def _flags(located: Located, dates: Dates, ok: NDArray[np.bool_]) -> NDArray[Any] | pd.Series:
    """Each standing row's flags (see :data:`geo.ingest.FLAGS`), "" for the others, as
    the text column :func:`~geo.ingest._text.str_column` would make of the strings:
    built from the rows' flag patterns directly (no million strings to tell apart again)."""
    bits, table = flag_codes(
        {
            "date_from_file": dates.from_file & ok,
            "outside": located.outside & ok,
            "snapped": (located.assign_flag == "snapped") & ok,
            "swapped_lat_lon": located.swapped & ok,
            "ward_mismatch": located.ward_mismatch & ok,
            "no_street": pd.isna(located.street) & ok,
        },
        len(ok),
    )
    if not len(ok):
        return str_column(table[bits])  # no rows: what str_column gives for none
    return str_codes(bits, table.tolist())


def flag_codes(masks: Mapping[str, NDArray[np.bool_]], n: int) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Each row's flags as a bit pattern, and the text of every pattern, without a Python
    row loop: the flags of a row are ``table[bits]``, e.g. "outside,swapped_lat_lon"
    (comma-joined, sorted; "" when none).

    Parameters
    ----------
    masks : mapping of str to numpy.ndarray of bool
        Each flag's rows.
    n : int
        The number of rows.

    Returns
    -------
    tuple
        (the bit pattern of each row, the text of each pattern).
    """
    names = sorted(masks)
    bits = np.zeros(n, dtype=np.int64)
    for k, name in enumerate(names):
        bits |= np.asarray(masks[name], dtype=bool).astype(np.int64) << k
    table = np.array(
        [",".join(nm for k, nm in enumerate(names) if code >> k & 1) for code in range(1 << len(names))],
        dtype=object,
    )
    return bits, table
