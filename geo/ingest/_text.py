"""Text columns of a million rows, built without a million Python strings.

The preview's columns hold few distinct values (outcomes, reasons, ward codes, types), or
come straight from the file's pyarrow-backed columns; pandas would convert each value of
an object array one by one, so these build the column from its distinct values instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: pandas' default text dtype (pyarrow-backed, NaN for missing).
STR = pd.StringDtype("pyarrow", na_value=np.nan)


def str_column(values: NDArray[Any], index: pd.Index | None = None) -> NDArray[Any] | pd.Series:
    """An object array of few distinct strings as the text column pandas would infer,
    built from its distinct values (pandas converts each of a million values instead).
    Anything else (all missing, non-text values) is returned for pandas to infer.

    Parameters
    ----------
    values : numpy.ndarray
        An object array.
    index : pandas.Index, optional
        The index of the result.

    Returns
    -------
    numpy.ndarray or pandas.Series
        A pyarrow-backed text column, or ``values`` unchanged.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0 or len(uniques) > 4096 or not all(isinstance(u, str) for u in uniques):
        return values
    return str_codes(codes, [str(u) for u in uniques], index)


def coded_column(codes: NDArray[Any], labels: list[str], index: pd.Index | None = None) -> NDArray[Any] | pd.Series:
    """The column :func:`str_column` makes of ``labels[code]`` per row (missing where the
    code is negative), built from the codes a stage kept: its values were never a million
    Python objects, so there is nothing to hash again (``str_column``'s factorize of an
    object array is 60-190 ms per million rows, each call).

    The same result as ``str_column`` in every case, its fall-backs included: no value
    present (no rows, or all missing) or more than 4096 distinct texts give the object
    array, as pandas would infer it.

    Parameters
    ----------
    codes : numpy.ndarray
        Integer codes into ``labels``; negative: missing.
    labels : list of str
        The text of each code (repeats allowed).
    index : pandas.Index, optional
        The index of the result.

    Returns
    -------
    numpy.ndarray or pandas.Series
        A pyarrow-backed text column, or the object array ``str_column`` would return.
    """
    codes = np.asarray(codes)
    counts = np.bincount(codes[codes >= 0].astype(np.intp), minlength=len(labels))
    used = {labels[k] for k in np.flatnonzero(counts)}
    if not used or len(used) > 4096:
        return coded_values(codes, labels)
    return str_codes(codes, labels, index)


def coded_values(codes: NDArray[Any], labels: list[str]) -> NDArray[np.object_]:
    """``labels[code]`` per row as an object array, None where the code is negative (for
    the few callers that need the texts as Python objects).

    Parameters
    ----------
    codes : numpy.ndarray
        Integer codes into ``labels``; negative: missing.
    labels : list of str
        The text of each code.

    Returns
    -------
    numpy.ndarray
        Object array of str and None.
    """
    table = np.array([*labels, None], dtype=object)
    codes = np.asarray(codes)
    return table[np.where(codes >= 0, codes, len(labels))]


def str_codes(codes: NDArray[Any], labels: list[str], index: pd.Index | None = None) -> pd.Series:
    """Text column ``labels[code]`` per row (missing where the code is negative).

    Parameters
    ----------
    codes : numpy.ndarray
        Integer codes.
    labels : list of str
        The text of each code.
    index : pandas.Index, optional
        The index of the result.

    Returns
    -------
    pandas.Series
        A pyarrow-backed text column.
    """
    import pyarrow as pa

    codes = np.asarray(codes)
    indices = pa.array(codes.astype(np.int32), mask=codes < 0 if (codes < 0).any() else None)
    text = pa.DictionaryArray.from_arrays(indices, pa.array(labels, pa.string()))
    return pd.Series(pd.array(text.cast(pa.string()), dtype=STR), index=index)


def constant(value: str, n: int) -> pd.Series:
    """The text column holding ``value`` in each of ``n`` rows.

    Parameters
    ----------
    value : str
        The text.
    n : int
        The number of rows.

    Returns
    -------
    pandas.Series
        A pyarrow-backed text column.
    """
    return str_codes(np.zeros(n, dtype=np.int32), [value])


def cell_text(values: pd.Series) -> pd.Series:
    """Each cell as stripped text; a cell without a value (None from a JSON null,
    NaN/NaT/NA from pandas) as "", which is what an empty cell means: nothing written.

    ``astype(str)`` keeps such cells missing (pandas 3) or spells them "None"/"nan"
    (pandas 2), so a parser that reads the text would report them unreadable, or fail.
    """
    return values.astype(str).str.strip().where(values.notna().to_numpy(), "")


def text_or_none(frame: pd.DataFrame, column: str | None) -> NDArray[np.object_] | pd.Series:
    """Stripped text, missing where blank; a file's column stays in pyarrow form (a
    million Python strings per column would cost ~100 MB and a conversion back).

    Parameters
    ----------
    frame : pandas.DataFrame
        The file's table.
    column : str, optional
        The column; None: the file has none (all missing).

    Returns
    -------
    numpy.ndarray or pandas.Series
        The stripped text, missing where blank.
    """
    if column is None:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].astype(str).str.strip()
    return values.where(values != "")
