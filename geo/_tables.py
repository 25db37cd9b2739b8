"""Checks shared by the table-taking domain functions (places, sustain, reinspect)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from geo.errors import InvalidArgument


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Refuse a table that lacks any of ``columns``, naming them all at once."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidArgument(
            f"Bảng {what} thiếu cột: {', '.join(missing)}.",
            f"The {what} table lacks the column(s): {', '.join(missing)}.",
        )
