"""Small value helpers shared by the store's modules: the clock and text/JSON cleaning."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np


def utcnow() -> datetime:
    """Now, timezone-aware UTC (the only clock the store reads)."""
    return datetime.now(UTC)


def clean(value: Any) -> Any:
    """A text with NUL characters, which PostgreSQL cannot store, replaced by U+FFFD (both
    backends, so the two hold the same text); any other value unchanged."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def plain(value: Any) -> Any:
    """JSON-safe scalars (numpy ints from value_counts and friends), texts cleaned."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
