"""Storage: one interface over an embedded SQLite file and PostgreSQL + PostGIS.

``open_store()`` opens ``GEO_DATABASE_URL`` (``postgresql://…`` or ``sqlite:///…``), or by
default ``data/hanoi_urban_order.sqlite``; the schema is created and migrated on first use.
See ``docs/storage.md`` for the tables, the workflow and scaling out by ward code.
"""

from __future__ import annotations

from geo.store._core import DEFAULT_SQLITE, URL_ENV, Store, default_url
from geo.store.queries import IncidentDetail, local_bound
from geo.store.workflow import (
    CLOSED_STATES,
    DEFAULT_SLA_DAYS,
    OPEN_STATES,
    TRANSITIONS,
    can_transition,
    check_transition,
    sla_days,
)

__all__ = [
    "CLOSED_STATES",
    "DEFAULT_SLA_DAYS",
    "DEFAULT_SQLITE",
    "OPEN_STATES",
    "TRANSITIONS",
    "URL_ENV",
    "IncidentDetail",
    "Store",
    "can_transition",
    "check_transition",
    "default_url",
    "local_bound",
    "open_store",
    "sla_days",
]


def open_store(url: str | None = None) -> Store:
    """Open (creating or migrating as needed) the store at ``url`` or ``GEO_DATABASE_URL``."""
    from geo.store._core import _resolve_url

    return Store(_resolve_url(url))
