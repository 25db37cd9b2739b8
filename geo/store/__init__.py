"""Storage: one interface over an embedded SQLite file and PostgreSQL + PostGIS.

``open_store()`` opens ``GEO_DATABASE_URL`` (``postgresql://…`` or ``sqlite:///…``), or by
default ``data/hanoi_urban_order.sqlite``; the schema is created and migrated on first use.

A :class:`Store` is the small core (engine, transactions, schema, audit, backup, and the
backend chosen from the URL); the rest is by topic, as functions taking the store first:

- :mod:`geo.store.filters` — :class:`IncidentFilter`, the one incident filter, compiled to
  SQL conditions and to a snapshot's numpy mask;
- :mod:`geo.store.queries` — reads and aggregates (``queries.incidents(store, flt)``);
- :mod:`geo.store.batches` — ingest batches (``batches.commit_batch(store, …)``);
- :mod:`geo.store.wards` — ward layer versions and assignment (``wards.current(store)``);
- :mod:`geo.store.workflow` — status rules and moves (``workflow.change_status(store, …)``);
- :mod:`geo.store.public_notes` — the ward's public note on an incident (Open311);
- :mod:`geo.store.users` — accounts;
- :mod:`geo.store.chain` — checking the hash chains of the audit log and status history;
- :mod:`geo.store.logins` — failed sign-ins and sign-in locks (:mod:`geo.throttle`);
- :mod:`geo.store.sessions` — sessions and the setup token, kept as SHA-256 only;
- :mod:`geo.store.photos` — photo evidence attached to incidents (files in :mod:`geo.photos`);
- :mod:`geo.store.clearances` — figures of that evidence: the verified share, the report's pairs.

See ``docs/storage.md`` for the tables, the workflow and scaling out by ward code.
"""

from __future__ import annotations

from geo.crs import LOCAL_TZ
from geo.store import (
    batches,
    chain,
    clearances,
    filters,
    logins,
    photos,
    queries,
    sessions,
    users,
    wards,
    workflow,
)
from geo.store._core import DEFAULT_SQLITE, URL_ENV, Store, default_url
from geo.store.filters import IncidentFilter
from geo.store.public_notes import PUBLIC_NOTE_CHARS
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
    "LOCAL_TZ",
    "OPEN_STATES",
    "PUBLIC_NOTE_CHARS",
    "TRANSITIONS",
    "URL_ENV",
    "IncidentDetail",
    "IncidentFilter",
    "Store",
    "batches",
    "can_transition",
    "chain",
    "check_transition",
    "clearances",
    "default_url",
    "filters",
    "local_bound",
    "logins",
    "open_store",
    "photos",
    "queries",
    "sessions",
    "sla_days",
    "users",
    "wards",
    "workflow",
]


def open_store(url: str | None = None, *, rekey_duplicates: bool = False) -> Store:
    """Open (creating or migrating as needed) the store at ``url`` or ``GEO_DATABASE_URL``.

    Parameters
    ----------
    url
        ``sqlite:///path``, a bare file path, or ``postgresql://…``.
    rekey_duplicates
        Let the migration to schema 2 re-key incidents that share an identity key
        (default: refuse, naming how many; see ``docs/storage.md``, "Identity").

    Returns
    -------
    Store
        The open store (close it, or use it as a context manager).
    """
    from geo.store._core import _resolve_url

    return Store(_resolve_url(url), rekey_duplicates=rekey_duplicates)
