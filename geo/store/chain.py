"""Checking the hash chains of the audit log and the status history.

Every row of ``audit_log`` and ``status_events`` carries the SHA-256 of the row before it
and of its own content (:mod:`geo.store._chain`). :func:`verify` walks each table in id
order, recomputes every hash and names the first row that does not match:

- a row whose content was changed (with the guards dropped, or in the file itself) does
  not match its stored hash;
- a row removed, or inserted between two others, breaks the link of the row after it;
- a hash recomputed by the forger for his row breaks the link of the next row.

What a chain cannot show alone is rows cut off at the end, or a whole chain rewritten
from the forged row on: compare the head (last id and hash, reported here) with one
recorded elsewhere earlier, for instance in the output of a scheduled
``python -m geo audit verify --json``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from geo.store import _chain
from geo.store._schema import APPEND_ONLY

if TYPE_CHECKING:
    from geo.store._core import Store

__all__ = ["ChainBreak", "ChainState", "verify", "verify_table"]


@dataclass(frozen=True)
class ChainBreak:
    """The first row of a chain whose stored hash is not the one recomputed.

    Attributes
    ----------
    id
        The row's id.
    previous_id
        The id of the row before it in the chain (None: it is the first row).
    expected, found
        The hash recomputed from the previous row's hash and this row's content, and the
        one stored.
    """

    id: int
    previous_id: int | None
    expected: str
    found: str

    @property
    def gap(self) -> tuple[int, int] | None:
        """The ids missing between the previous row and this one, if any (first, last)."""
        start = 1 if self.previous_id is None else self.previous_id + 1
        return (start, self.id - 1) if self.id > start else None


@dataclass(frozen=True)
class ChainState:
    """What :func:`verify` found in one table.

    Attributes
    ----------
    table
        ``audit_log`` or ``status_events``.
    rows
        Rows walked.
    mismatched
        Rows whose stored hash differs from the recomputed one.
    first_break
        The first of them, or None when the chain is intact.
    head_id, head_hash
        The last row's id and stored hash (None for an empty table): record them to
        notice later if rows are cut off at the end.
    """

    table: str
    rows: int
    mismatched: int
    first_break: ChainBreak | None
    head_id: int | None
    head_hash: str | None

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def message(self, lang: str = "vi") -> str:
        """One line saying whether the chain holds, or where it breaks."""
        vi, en = self._messages()
        return vi if lang == "vi" else en

    @property
    def bilingual(self) -> str:
        vi, en = self._messages()
        return f"{vi} / {en}"

    def _messages(self) -> tuple[str, str]:
        head = f"#{self.head_id} {self.head_hash[:16]}…" if self.head_hash else "—"
        if self.first_break is None:
            return (
                f"{self.table}: {self.rows} dòng, chuỗi băm nguyên vẹn (cuối: {head}).",
                f"{self.table}: {self.rows} rows, hash chain intact (head: {head}).",
            )
        b = self.first_break
        gap_vi = gap_en = ""
        if b.gap is not None:
            gap_vi = f"; thiếu các id {b.gap[0]}–{b.gap[1]} ngay trước nó"
            gap_en = f"; ids {b.gap[0]}–{b.gap[1]} just before it are missing"
        return (
            f"{self.table}: chuỗi băm hỏng từ dòng id {b.id} (dòng bị sửa, hoặc dòng trước "
            f"nó bị xoá, chèn hay sửa{gap_vi}): băm đúng {b.expected[:16]}…, băm lưu "
            f"{b.found[:16]}…; {self.mismatched}/{self.rows} dòng không khớp.",
            f"{self.table}: hash chain broken at row id {b.id} (the row was altered, or a "
            f"row before it removed, inserted or altered{gap_en}): expected "
            f"{b.expected[:16]}…, found {b.found[:16]}…; {self.mismatched} of {self.rows} "
            "rows do not match.",
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


def verify_table(store: Store, table: str) -> ChainState:
    """Walk one chained table in id order and recompute every hash.

    Each row is checked against the *stored* hash of the row before it, so a forged row
    is named by itself and the rows after it still check out.

    Parameters
    ----------
    store
        The store.
    table
        ``audit_log`` or ``status_events``.

    Returns
    -------
    ChainState
        The table's state: intact, or the first row that breaks it.
    """
    sha256 = hashlib.sha256
    prev = _chain.genesis(table)
    previous_id: int | None = None
    rows = mismatched = 0
    first: ChainBreak | None = None
    head_hash: str | None = None
    with store.read() as conn:
        for run in _chain.read_rows(store, conn, table):
            for row_id, content, found in zip(run.ids, run.contents, run.hashes, strict=True):
                digest = sha256(prev + content).digest()
                expected = digest.hex()
                if found == expected:
                    prev = digest
                else:
                    mismatched += 1
                    if first is None:
                        first = ChainBreak(row_id, previous_id, expected, str(found or ""))
                    prev = _chain.as_digest(found)
                previous_id, head_hash = row_id, found
            rows += len(run.ids)
    return ChainState(table, rows, mismatched, first, previous_id, head_hash)


def verify(store: Store) -> list[ChainState]:
    """:func:`verify_table` for every chained table (``status_events``, ``audit_log``).

    Parameters
    ----------
    store
        The store whose history is checked.

    Returns
    -------
    list of ChainState
        One per table, in that order; all ``ok`` when nothing was tampered with.
    """
    return [verify_table(store, table) for table in APPEND_ONLY]
