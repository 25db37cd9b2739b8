"""First start: fill an empty store with the committed synthetic sample.

A new user who runs ``streamlit run app.py`` on a fresh clone should see a living map,
not an empty one. The sample goes through the normal ingest pipeline (so it is audited
as a batch like any upload) with ``source="sample"`` and actor ``system``. Every row is
labelled synthetic (see :mod:`geo.sample`). ``GEO_SEED_SAMPLE=0`` turns this off, e.g.
for a production store that must start empty.

Two processes starting at once (two app workers on one store) must not both seed it: the
check-then-ingest runs under a lock — a file lock beside a SQLite file, a session
advisory lock on PostgreSQL — and the check is repeated once the lock is held.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from geo import settings
from geo.store import Store

if TYPE_CHECKING:
    import geopandas as gpd

SEED_ENV = settings.seed_sample.name
SAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "incidents" / "sample_incidents.csv"
SAMPLE_SOURCE = "sample"
#: The sustained-order sample (:mod:`geo.sample_sustain`): places followed through time,
#: and their re-inspection results; seeded with the default sample only.
SUSTAIN_CSV = SAMPLE_CSV.with_name("sample_sustain.csv")
RECHECKS_CSV = SAMPLE_CSV.with_name("sample_rechecks.csv")
SUSTAIN_SOURCE = "sample_sustain"
SEED_ACTOR = "system"
_PG_LOCK_KEY = 7_244_017_011  # arbitrary, distinct from the store's migration lock

log = logging.getLogger(__name__)


def seeding_enabled() -> bool:
    """On unless ``GEO_SEED_SAMPLE`` is ``0``/``false``/``no``/``off``.

    Returns
    -------
    bool
        True when an empty store should be seeded with the sample.
    """
    return settings.seed_sample()


def store_is_empty(store: Store) -> bool:
    """No batch and no incident yet (two LIMIT 1 reads: cheap on a million rows).

    Parameters
    ----------
    store : Store
        The store to look at.

    Returns
    -------
    bool
        True when neither ``batches`` nor ``incidents`` has a row.
    """
    with store.read() as conn:
        for name in ("batches", "incidents"):
            table = store.tables[name]
            if conn.execute(select(table.c.id).limit(1)).first() is not None:
                return False
    return True


def ensure_seeded(
    store: Store, sample: str | Path | None = None, *, wards: gpd.GeoDataFrame | None = None
) -> bool:
    """Ingest the sample into ``store`` if it holds nothing yet; True when it did.

    With the default sample, the sustained-order sample and its re-inspection results
    follow (campaign and steady wards, Hàng Mã), so the new measures have something to
    show on a first start.

    A no-op (False) when seeding is off, the sample file is absent, or the store already
    holds a batch or an incident. ``wards`` is the layer to assign the points to (None:
    :func:`geo.boundaries.load_boundaries`).

    Parameters
    ----------
    store : Store
        The store to seed.
    sample : str or pathlib.Path or None
        The sample CSV (default :data:`SAMPLE_CSV`).
    wards : geopandas.GeoDataFrame or None
        The ward layer the points are assigned to.

    Returns
    -------
    bool
        True when this call ingested the sample.

    Raises
    ------
    geo.errors.IngestError
        The sample file cannot be read as an incident file.
    geo.errors.StorageError
        The store cannot be written.
    """
    if not seeding_enabled():
        return False
    path = Path(sample) if sample is not None else SAMPLE_CSV
    if not path.exists():
        log.warning("sample file %s is missing: the store starts empty", path)
        return False
    if not store_is_empty(store):
        return False
    from geo.ingest import IngestOptions, ingest

    with store.backend.exclusive_lock(store.engine, name="seed", key=_PG_LOCK_KEY):
        if not store_is_empty(store):  # another process seeded it while we waited
            return False
        ingest(path, store, IngestOptions(source=SAMPLE_SOURCE, wards=wards), actor=SEED_ACTOR)
        if sample is None and SUSTAIN_CSV.exists() and RECHECKS_CSV.exists():
            from geo.ingest.recheck import ingest_results

            ingest(SUSTAIN_CSV, store, IngestOptions(source=SUSTAIN_SOURCE, wards=wards), actor=SEED_ACTOR)
            ingest_results(store, RECHECKS_CSV, actor=SEED_ACTOR)
        if sample is None:  # the committed sample has a few before/after photos too
            from geo.sample_photos import attach_sample

            attach_sample(store, SAMPLE_SOURCE, actor=SEED_ACTOR)
    return True
