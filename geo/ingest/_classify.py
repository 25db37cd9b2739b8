"""Accepted or duplicate: the rows not rejected, matched with each other and the store.

The identity rule (docs/storage.md, "Identity"): a row with a source id is the incident
with that id in its source; a row without one is the incident without an id that has
its fingerprint. Inside a file (one source) a row's identity is therefore its id, or else
its fingerprint among the rows without an id; against the store the same rule is
:func:`geo.store.batches.lookup_existing`. The first row of each identity in the file is
its anchor; later ones are repeats and name it. An anchor matching a stored incident is
a duplicate naming that incident. A later status that the
workflow allows moves the incident on: a stored one through a status update, a new one
by storing it directly in its latest state. Python loops run over repeats and status
changes only; everything else is numpy over the whole file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo.ingest._result import OUTCOMES
from geo.ingest._text import STR, coded_column, str_codes, str_column
from geo.store import batches

if TYPE_CHECKING:
    from geo.ingest._result import IngestPreview
    from geo.store import Store

Ints = NDArray[np.int64]
Flags = NDArray[np.bool_]
Texts = NDArray[np.object_]
#: :class:`_Moves` keeps each row's outcome as its position in :data:`OUTCOMES`.
ACCEPTED, DUPLICATE, REJECTED = range(3)


def store_marker(store: Store | None) -> tuple[str, tuple[int, ...]] | None:
    """Which store, and :func:`~geo.store.batches.change_marker` now.

    Parameters
    ----------
    store : Store, optional
        The store.

    Returns
    -------
    tuple or None
        (the store's URL, its change marker); None without a store.
    """
    return (str(store.url), batches.change_marker(store)) if store is not None else None


def refresh(result: IngestPreview, store: Store) -> None:
    """:func:`classify` ``result`` again if ``store`` may have changed since.

    The preview's lookup of every key stands while the store's
    :func:`~geo.store.batches.change_marker` has not moved, so an upload previewed and
    committed with nothing written in between is classified once.

    Parameters
    ----------
    result : IngestPreview
        A preview, classified against some store or none.
    store : Store
        The store the rows are about to be written to.
    """
    if result.store_checked and store_marker(store) == result.store_marker:
        return  # nothing written since these rows were classified against this store
    classify(result, store)


def classify(result: IngestPreview, store: Store | None = None) -> None:
    """Decide accepted / duplicate for the rows not rejected (in place on ``result.rows``).

    Parameters
    ----------
    result : IngestPreview
        The preview; its ``rows`` gain ``duplicate_of_incident``, ``duplicate_of_row``,
        ``update_incident``, ``update_to`` and ``update_at`` and their final ``outcome``,
        ``status``, ``cleared_at`` and ``flags``.
    store : Store, optional
        The store to match against; None: only repeats inside the file are found.
    """
    # Taken before the lookup: a write during it shows in the next marker.
    result.store_marker = store_marker(store)
    result.store_checked = store is not None
    rows = result.rows
    live = (rows["outcome"] != "rejected").to_numpy()
    anchor_of, repeat = _anchors(rows, live)
    anchors = live & ~repeat
    stored_id, stored_status = _stored(rows, anchors, store)
    moves = _Moves.start(rows, live)
    moves.stored_anchors(anchors & (stored_id >= 0), stored_id, stored_status)
    moves.repeats(repeat, anchor_of, stored_id)
    moves.write(rows)


def _anchors(rows: pd.DataFrame, live: Flags) -> tuple[NDArray[np.intp], Flags]:
    """(the anchor of each live row, the live rows that repeat it).

    The anchor of an incident seen on several rows is its earliest-dated row (file order
    among equal dates): the incident as first reported, which its later rows move on.
    Ids and fingerprints get separate codes: a row without an id never repeats a row
    with one, whatever their fingerprints (as in the store's lookup)."""
    n = len(rows)
    has_id = rows["source_id"].notna().to_numpy()
    id_codes, id_uniques = pd.factorize(rows["source_id"])
    key = id_codes.astype(np.int64)
    if not has_id.all():  # fingerprints matter only where there is no id
        fp_codes, _ = pd.factorize(rows["fingerprint"][~has_id])
        key[~has_id] = len(id_uniques) + fp_codes
    live_idx = np.flatnonzero(live)
    reported = _naive_utc(rows["reported_at"])
    live_idx = live_idx[np.argsort(reported[live_idx], kind="stable")]
    _, first, inverse = np.unique(key[live_idx], return_index=True, return_inverse=True)
    anchor_of = np.arange(n)
    anchor_of[live_idx] = live_idx[first[inverse]]
    repeat: Flags = live & (anchor_of != np.arange(n))
    return anchor_of, repeat


def _stored(rows: pd.DataFrame, anchors: Flags, store: Store | None) -> tuple[Ints, Texts]:
    """(stored incident id or -1, its status) of each anchor that is a stored incident
    (:func:`~geo.store.batches.lookup_existing` applies the identity rule)."""
    n = len(rows)
    stored_id = np.full(n, -1, dtype=np.int64)
    stored_status = np.full(n, None, dtype=object)
    if store is None or not anchors.any():
        return stored_id, stored_status
    found = batches.lookup_existing(store, rows.loc[anchors, ["source", "source_id", "fingerprint"]])
    if not len(found):
        return stored_id, stored_status
    pos = rows.index.get_indexer(pd.Index(found["row"].to_numpy()))
    stored_id[pos] = found["id"].to_numpy(dtype=np.int64)
    stored_status[pos] = found["status"].to_numpy(dtype=object)
    return stored_id, stored_status


@dataclass
class _Moves:
    """The per-row decisions being made, as numpy arrays (written back by :meth:`write`)."""

    #: Codes into :data:`OUTCOMES`.
    outcome: NDArray[np.int8]
    dup_incident: Ints
    dup_row: Ints
    update_incident: Ints
    #: For a row that moves an incident new in this file: the row number of its anchor.
    update_row: Ints
    update_to: Texts
    update_at: NDArray[np.datetime64]
    #: The order the moves were decided in, which is the order they must be applied in.
    update_seq: Ints
    status: Texts
    cleared_at: NDArray[np.datetime64]
    reported_at: NDArray[np.datetime64]
    status_given: Flags
    row_numbers: NDArray[Any]
    #: The status each anchor ends in, as the rows after it move it on.
    state: Texts
    decided: int = 0

    @classmethod
    def start(cls, rows: pd.DataFrame, live: Flags) -> _Moves:
        n = len(rows)
        status = rows["status"].to_numpy(dtype=object, copy=True)
        return cls(
            outcome=np.where(live, ACCEPTED, REJECTED).astype(np.int8),
            dup_incident=np.full(n, -1, dtype=np.int64),
            dup_row=np.full(n, -1, dtype=np.int64),
            update_incident=np.full(n, -1, dtype=np.int64),
            update_row=np.full(n, -1, dtype=np.int64),
            update_to=np.full(n, None, dtype=object),
            update_at=np.full(n, np.datetime64("NaT", "ns")),
            update_seq=np.full(n, -1, dtype=np.int64),
            status=status,
            cleared_at=_naive_utc(rows["cleared_at"]),
            reported_at=_naive_utc(rows["reported_at"]),
            status_given=rows["status_given"].to_numpy(dtype=bool),
            row_numbers=rows["row"].to_numpy(),
            state=status.copy(),
        )

    def _update(self, i: int, incident: int) -> None:
        """Row ``i`` moves stored incident ``incident`` to the row's status."""
        self.update_incident[i], self.update_to[i] = incident, self.status[i]
        self.update_at[i] = self.cleared_at[i]
        self.update_seq[i], self.decided = self.decided, self.decided + 1

    def _update_new(self, i: int, anchor: int) -> None:
        """Row ``i`` moves the incident first written on row ``anchor`` (new in this file)
        on to the row's status, at the row's date (its clearing date for ``cleared`` when
        the file gives one): the incident is stored in its first state and each later
        status is a move, so its whole history is kept."""
        self.update_row[i], self.update_to[i] = self.row_numbers[anchor], self.status[i]
        dated = self.status[i] == "cleared" and not np.isnat(self.cleared_at[i])
        self.update_at[i] = self.cleared_at[i] if dated else self.reported_at[i]
        self.update_seq[i], self.decided = self.decided, self.decided + 1

    def stored_anchors(self, matched: Flags, stored_id: Ints, stored_status: Texts) -> None:
        """Anchors stored already: duplicates, maybe moving the stored incident on."""
        from geo.store.workflow import can_transition

        self.outcome[matched] = DUPLICATE
        self.dup_incident[matched] = stored_id[matched]
        self.state = np.where(matched, stored_status, self.status).astype(object)
        status = self.status
        for i in np.flatnonzero(matched & self.status_given & (status != stored_status)):
            if can_transition(str(stored_status[i]), str(status[i])):
                self._update(int(i), int(stored_id[i]))
                self.state[i] = status[i]

    def repeats(self, repeat: Flags, anchor_of: NDArray[np.intp], stored_id: Ints) -> None:
        """Repeats inside the file, in date order (file order among equal dates); the
        loop runs over the repeated rows only."""
        from geo.store.workflow import can_transition

        status, state = self.status, self.state
        rows = np.flatnonzero(repeat)
        dated = (status[rows] == "cleared") & ~np.isnat(self.cleared_at[rows])
        when = np.where(dated, self.cleared_at[rows], self.reported_at[rows])
        for i in rows[np.argsort(when, kind="stable")]:
            a = int(anchor_of[i])
            self.outcome[i] = DUPLICATE
            if stored_id[a] >= 0:
                self.dup_incident[i] = stored_id[a]
            else:
                self.dup_row[i] = self.row_numbers[a]
            if not self.status_given[i] or status[i] == state[a]:
                continue
            if not can_transition(str(state[a]), str(status[i])):
                continue
            if stored_id[a] >= 0:
                self._update(int(i), int(stored_id[a]))
            else:
                self._update_new(int(i), a)
            state[a] = status[i]

    def write(self, rows: pd.DataFrame) -> None:
        """The decisions into ``rows``' columns."""
        index = rows.index
        rows["outcome"] = coded_column(self.outcome, list(OUTCOMES), index)
        rows["duplicate_of_incident"] = _nullable_int(self.dup_incident)
        rows["duplicate_of_row"] = _nullable_int(self.dup_row)
        rows["update_incident"] = _nullable_int(self.update_incident)
        rows["update_row"] = _nullable_int(self.update_row)
        rows["update_seq"] = _nullable_int(self.update_seq)
        rows["update_to"] = self.update_to
        rows["update_at"] = pd.Series(self.update_at, index=index).dt.tz_localize("UTC")
        rows["status"] = _status_column(rows["status"], self.status, index)
        rows["cleared_at"] = pd.Series(self.cleared_at, index=index).dt.tz_localize("UTC")
        # Flags describe what will be stored: only accepted rows keep them.
        not_accepted = self.outcome != ACCEPTED
        if _flags_by_codes(rows, not_accepted):
            return
        if not_accepted.any():
            rows.loc[not_accepted, "flags"] = ""
        _flag_unverified(rows, ~not_accepted)


def _status_column(column: pd.Series, status: Texts, index: pd.Index) -> NDArray[Any] | pd.Series:
    """``str_column(status)``: the statuses are never changed by the moves (a move is a
    row's own status written to ``update_to``), so a column that is that text column
    already is kept, not made again from a million objects."""
    if column.dtype == STR and 0 < column.nunique() <= 4096 and column.index.equals(index):
        return column
    return str_column(status, index)


def _flags_by_codes(rows: pd.DataFrame, not_accepted: Flags) -> bool:
    """The flags' last two rules (none on a row not accepted; ``cleared_unverified``
    added, once, to a new incident stored as cleared without the photo its type needs:
    :func:`_flag_unverified`) decided per distinct flags text, not per row: the column
    is a few dozen texts a million times, so the rows keep codes and the column is made
    once (the string test, the copies and the setitem of every marked row cost about
    0.15 s per million rows). False, and nothing done, when the column is not a text
    column without missing values (the rules are then applied row by row).

    Returns
    -------
    bool
        Whether the flags were written.
    """
    from geo.store.workflow import CLEARED_UNVERIFIED, unverified_clearances

    flags = rows["flags"]
    if flags.dtype != STR or flags.hasnans:
        return False
    codes, uniques = pd.factorize(flags)
    texts = [str(u) for u in uniques]
    blank, marked = len(texts), len(texts) + 1
    labels = [*texts, "", *(f"{t}," if t else "" for t in texts)]
    # the marked text of code k is labels[marked + k] + CLEARED_UNVERIFIED
    labels[marked:] = [f"{t}{CLEARED_UNVERIFIED}" for t in labels[marked:]]
    has_flag = np.array([CLEARED_UNVERIFIED in t for t in texts] + [False], dtype=bool)
    mark = ~not_accepted & unverified_clearances(rows["type"], rows["status"]).to_numpy(dtype=bool)
    mark &= ~has_flag[codes]  # (a preview classified again keeps the one flag)
    out = np.where(not_accepted, blank, np.where(mark, marked + codes, codes))
    rows["flags"] = str_codes(out, labels, rows.index)
    return True


def _flag_unverified(rows: pd.DataFrame, accepted: Flags) -> None:
    """New incidents stored as already cleared without the after photo their type needs
    keep their status and get ``cleared_unverified`` (issue 13; a *move* to cleared is
    refused instead, by the workflow)."""
    from geo.store.workflow import CLEARED_UNVERIFIED, unverified_clearances

    mark = accepted & unverified_clearances(rows["type"], rows["status"]).to_numpy(dtype=bool)
    mark &= ~rows["flags"].astype(str).str.contains(CLEARED_UNVERIFIED, regex=False).to_numpy()
    if mark.any():  # (a preview classified again keeps the one flag)
        flags = rows.loc[mark, "flags"].astype(str)
        rows.loc[mark, "flags"] = flags.where(flags == "", flags + ",") + CLEARED_UNVERIFIED


def _nullable_int(values: Ints) -> pd.arrays.IntegerArray:
    """Int64 column from an int array where negative means missing."""
    return pd.arrays.IntegerArray(np.where(values >= 0, values, 0).astype("int64"), values < 0)


def _naive_utc(stamps: pd.Series) -> NDArray[np.datetime64]:
    """datetime64[ns] (UTC, zone dropped) — numpy arrays of aware Timestamps are objects."""
    return np.array(
        pd.to_datetime(stamps, utc=True).dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    )
