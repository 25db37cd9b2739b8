"""Instants as the store keeps them: always UTC, ``timestamptz`` on PostgreSQL and
fixed-width ISO text on SQLite (so the text sorts like the instants it spells).

Apart from the tables (:mod:`geo.store._schema`) because every writer converts the
instants it is given here (:func:`to_utc`), and the hash chains and bulk paths render
them as SQLite's text without SQLAlchemy (:func:`utc_text`); reading many back as numpy
is :func:`geo.store._values.utc_instants`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

#: Text form of timestamps in SQLite: UTC, fixed width, so strings sort like instants.
SQLITE_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def utc_text(utc: datetime) -> str:
    """A UTC datetime in :data:`SQLITE_TS_FORMAT`. ``isoformat`` gives the same text for
    years from 1000 on at a fifth of ``strftime``'s cost (every stored instant of a
    status event or an audit entry is rendered three times: row, hash, bind)."""
    if utc.year >= 1000:
        return utc.replace(tzinfo=None).isoformat(timespec="microseconds")
    return utc.strftime(SQLITE_TS_FORMAT)


#: An instant as callers give it: a datetime or pandas Timestamp (naive: UTC), a date, or
#: ISO text.
Instant = str | date | np.datetime64


def to_utc(value: Instant) -> datetime:
    """A timezone-aware UTC datetime from a datetime, Timestamp, date or ISO string.

    Naive values are taken as UTC: the store never guesses local time on write.

    A plain ``datetime`` (the common case: every status event and audit entry passes
    through here three times, for its row, its hash and its bind) is converted by the
    standard library, ~20 × faster than through a pandas Timestamp; it holds no
    nanoseconds, so the result is the same.
    """
    if type(value) is datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert("UTC").to_pydatetime()


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, always UTC: ``timestamptz`` on PostgreSQL, fixed-width ISO text on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(26))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or (not isinstance(value, str | datetime | date) and pd.isna(value)):
            return None
        utc = to_utc(value)
        if dialect.name == "sqlite":
            return utc_text(utc)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        return instant.astimezone(UTC)
