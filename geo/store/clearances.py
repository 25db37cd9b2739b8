"""Figures of cleared incidents' photo evidence (issue 13), read from the ``photos`` and
``incidents`` tables: whether an after photo without any flag backs each clearance, the
share of such clearances per ward ("xử lý có ảnh xác thực" on Compare and the ward page),
and the before/after pairs a ward's report shows.

Apart from :mod:`geo.store.photos`, which writes and lists the photo rows themselves:
these are read-only figures over many incidents, and change for different reasons (what
counts as verified, how pairs are chosen).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from geo.crs import LOCAL_TZ
from geo.store._values import chunks, read_frame

if TYPE_CHECKING:
    from geo.store._core import Store
    from geo.store.filters import IncidentColumns

#: The incidents an after photo without any flag backs.
_CLEAN_AFTER_SQL = "SELECT DISTINCT incident_id FROM photos WHERE role = 'after' AND sha256 IS NOT NULL AND flags = ''"


def verified_clearances(store: Store, conn: Connection | None = None) -> pd.DataFrame:
    """Each cleared incident and whether an after photo without any flag backs it.

    The metric "xử lý có ảnh xác thực" (issue 13) is the mean of ``verified`` over the
    clearances a page counts.

    Parameters
    ----------
    store : Store
        The store.
    conn : Connection | None
        Read inside this connection's transaction (default: a read of its own).

    Returns
    -------
    pandas.DataFrame
        ``incident_id``, ``ward_code``, ``type``, ``cleared_at`` and ``verified`` (bool).
    """
    sql = (
        "SELECT i.id, i.ward_code, i.type, i.cleared_at, a.incident_id IS NOT NULL FROM incidents i "  # noqa: S608
        f"LEFT JOIN ({_CLEAN_AFTER_SQL}) a ON a.incident_id = i.id WHERE i.status = 'cleared'"
    )
    columns = ["incident_id", "ward_code", "type", "cleared_at", "verified"]
    frame = read_frame(store, sql, (), columns, instants=("cleared_at",), conn=conn)
    frame["verified"] = frame["verified"].astype(bool)
    return frame


def verified_share(
    store: Store,
    date_from: date | None = None,
    date_to: date | None = None,
    *,
    columns: IncidentColumns | None = None,
) -> pd.DataFrame:
    """Per ward, the share of clearances backed by an after photo with no flag.

    The metric "xử lý có ảnh xác thực" of Compare and the ward page (issue 13):
    clearances counted by their ``cleared_at`` Hà Nội day, ``date_from`` to ``date_to``
    inclusive (None: open-ended).

    Parameters
    ----------
    store : Store
        The store.
    date_from : date | None
        First Hà Nội day counted (None: open-ended).
    date_to : date | None
        Last Hà Nội day counted, inclusive (None: open-ended).
    columns : IncidentColumns | None
        The incidents as current arrays (the map's snapshot): the clearances are then
        taken from them and only the photos are read (half a million clearances at a
        million incidents took 2–3 s to read).

    Returns
    -------
    pandas.DataFrame
        ``ward_code``, ``cleared``, ``verified`` and ``share`` (NaN for a ward with no
        clearance in the period); incidents without a ward are left out.
    """
    clearances = verified_clearances(store) if columns is None else _clearances_of(store, columns)
    frame = _cleared_in(clearances, date_from, date_to)
    out = frame.groupby("ward_code").agg(cleared=("verified", "size"), verified=("verified", "sum")).reset_index()
    out["verified"] = out["verified"].astype("int64")
    out["share"] = out["verified"] / out["cleared"].where(out["cleared"] > 0)
    return out


def _clearances_of(store: Store, columns: IncidentColumns) -> pd.DataFrame:
    """:func:`verified_clearances` from the incidents' arrays and the photos table."""
    from geo.store.filters import (  # filters imports workflow, which imports us
        _instants,
        _isin,
        _texts,
    )

    with store.read() as conn:
        backed = store.backend.fetch_rows(conn, _CLEAN_AFTER_SQL)
    cleared = np.flatnonzero(_isin(columns, "status", ("cleared",)))
    ids = columns.ids[cleared]
    return pd.DataFrame(
        {
            "incident_id": ids,
            "ward_code": _texts(columns, "ward_code", cleared),
            "type": _texts(columns, "type", cleared),
            "cleared_at": _instants(columns, "cleared_at", cleared),
            "verified": np.isin(ids, np.asarray([r[0] for r in backed], dtype=np.int64)),
        }
    )


def _cleared_in(frame: pd.DataFrame, date_from: date | None, date_to: date | None) -> pd.DataFrame:
    """Rows of :func:`verified_clearances` with a ward, cleared within the Hà Nội days."""
    if frame.empty:
        return frame
    day = pd.to_datetime(frame["cleared_at"], utc=True).dt.tz_convert(LOCAL_TZ).dt.date
    keep = day.notna() & frame["ward_code"].notna()
    if date_from is not None:
        keep &= day >= date_from
    if date_to is not None:
        keep &= day <= date_to
    return frame[keep]


#: Columns of :func:`clearance_pairs`.
PAIR_COLUMNS: tuple[str, ...] = (
    "incident_id", "type", "street", "address", "cleared_at",
    "before_sha256", "before_flags", "before_taken_at", "after_sha256", "after_flags", "after_taken_at",
)  # fmt: skip


def clearance_pairs(
    store: Store, ward_code: str, date_from: date | None = None, date_to: date | None = None, *, limit: int = 6
) -> pd.DataFrame:
    """Before/after photo pairs of one ward's clearances in a period, for its report.

    Each cleared incident (cleared on a Hà Nội day in the period) with a stored before
    and after photo gives one pair: of each role the photo without flags if there is
    one, else the oldest. Pairs without any flag come first (the issue asks for those),
    then the latest clearances; flagged pairs only fill up to ``limit``, and keep their
    flags so the report can say them.

    Parameters
    ----------
    store : Store
        The store.
    ward_code : str
        The ward.
    date_from, date_to : date | None
        The period (Hà Nội days, inclusive; None: open).
    limit : int
        At most this many pairs.

    Returns
    -------
    pandas.DataFrame
        :data:`PAIR_COLUMNS`; flags comma-joined ("" for none).
    """
    inc, t = store.tables["incidents"], store.tables["photos"]
    columns = ["incident_id", "ward_code", "type", "street", "address", "cleared_at"]
    photo_rows: list[Any] = []
    with store.read() as conn:  # the ward's clearances only, once (ix_incidents_ward_code)
        mine = select(inc.c.id, inc.c.ward_code, inc.c.type, inc.c.street, inc.c.address, inc.c.cleared_at).where(
            inc.c.ward_code == str(ward_code), inc.c.status == "cleared"
        )
        incidents = _cleared_in(pd.DataFrame([tuple(r) for r in conn.execute(mine)], columns=columns), date_from, date_to)
        for chunk in chunks(sorted(int(i) for i in incidents["incident_id"])):
            stmt = select(t.c.incident_id, t.c.role, t.c.sha256, t.c.flags, t.c.taken_at, t.c.id).where(
                t.c.incident_id.in_(chunk), t.c.sha256.isnot(None)
            )
            photo_rows += conn.execute(stmt).all()
    photos = pd.DataFrame([tuple(r) for r in photo_rows], columns=["incident_id", "role", "sha256", "flags", "taken_at", "id"])
    if photos.empty:
        return pd.DataFrame(columns=list(PAIR_COLUMNS))
    photos["flagged"] = photos["flags"].fillna("") != ""
    best = photos.sort_values(["flagged", "id"]).drop_duplicates(["incident_id", "role"])
    sides = [
        best[best["role"] == role].set_index("incident_id")[["sha256", "flags", "taken_at"]].add_prefix(f"{role}_")
        for role in ("before", "after")
    ]
    incidents = incidents.drop(columns="ward_code")
    pairs = incidents.set_index("incident_id").join(sides[0], how="inner").join(sides[1], how="inner").reset_index()
    pairs["flagged"] = (pairs["before_flags"].fillna("") != "") | (pairs["after_flags"].fillna("") != "")
    pairs["cleared_at"] = pd.to_datetime(pairs["cleared_at"], utc=True)
    pairs = pairs.sort_values(["flagged", "cleared_at", "incident_id"], ascending=[True, False, True])
    return pairs.head(limit)[list(PAIR_COLUMNS)].reset_index(drop=True)
