"""Upload limits, in one small settings object that the environment can override.

An upload page open to many officers must refuse a 2 GB file before it reads it into
memory; the CLI on a server may allow more. Each file-wide limit is checked before the
work it bounds: the size before the file is read, the columns on the header line before
it is parsed, the rows of an Excel sheet while it is streamed. A cell over the length
limit rejects its row only (``cell_too_long``). Environment variables (read through
:mod:`geo.settings`): ``GEO_INGEST_MAX_BYTES``, ``GEO_INGEST_MAX_ROWS``,
``GEO_INGEST_MAX_CELL_CHARS``, ``GEO_INGEST_MAX_COLUMNS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo import settings
from geo.errors import LimitExceeded


@dataclass(frozen=True)
class IngestLimits:
    """Largest file (bytes), number of data rows and of columns, and cell length
    (characters) accepted."""

    max_bytes: int = settings.ingest_max_bytes.default
    max_rows: int = settings.ingest_max_rows.default
    max_cell_chars: int = settings.ingest_max_cell_chars.default
    max_columns: int = settings.ingest_max_columns.default

    @classmethod
    def from_env(cls, **overrides: int) -> IngestLimits:
        """Defaults, then environment variables, then explicit keyword overrides."""
        values = {
            "max_bytes": settings.ingest_max_bytes(),
            "max_rows": settings.ingest_max_rows(),
            "max_cell_chars": settings.ingest_max_cell_chars(),
            "max_columns": settings.ingest_max_columns(),
        }
        values.update(overrides)
        return cls(**values)

    def check_bytes(self, size: int, file_name: str, *, stopped: bool = False) -> None:
        """Refuse a file of ``size`` bytes over the limit (``stopped``: the reader stopped
        after ``size`` bytes, so the file has more than the limit)."""
        if size > self.max_bytes:
            if stopped:
                raise LimitExceeded(
                    f"{file_name}: tệp lớn hơn giới hạn {self.max_bytes:,} byte.",
                    f"{file_name}: the file is larger than the limit of {self.max_bytes:,} bytes.",
                )
            raise LimitExceeded(
                f"{file_name}: tệp {size:,} byte vượt giới hạn {self.max_bytes:,} byte.",
                f"{file_name}: the file's {size:,} bytes exceed the limit of "
                f"{self.max_bytes:,} bytes.",
            )

    def check_rows(self, rows: int, file_name: str, *, stopped: bool = False) -> None:
        """Refuse ``rows`` data rows over the limit (``stopped``: the reader stopped at the
        first row over it, so the file has more than the limit)."""
        if rows > self.max_rows:
            if stopped:
                raise LimitExceeded(
                    f"{file_name}: tệp có hơn {self.max_rows:,} dòng, vượt giới hạn.",
                    f"{file_name}: the file has more than {self.max_rows:,} rows, the limit.",
                )
            raise LimitExceeded(
                f"{file_name}: tệp có {rows:,} dòng, vượt giới hạn {self.max_rows:,} dòng.",
                f"{file_name}: the file has {rows:,} rows, over the limit of "
                f"{self.max_rows:,} rows.",
            )

    def check_columns(self, columns: int, file_name: str, *, empty_at_end: int = 0) -> None:
        """Refuse a header of ``columns`` cells over the limit; ``empty_at_end`` of them
        without a name (a spreadsheet's blank columns, exported) are pointed out."""
        if columns > self.max_columns:
            hint_vi = hint_en = ""
            if empty_at_end:
                hint_vi = (f" {empty_at_end:,} cột cuối không có tiêu đề: hãy xoá các cột trống "
                           "trong bảng tính rồi xuất lại.")
                hint_en = (f" The last {empty_at_end:,} have no header: delete the empty "
                           "columns in the spreadsheet and export again.")
            raise LimitExceeded(
                f"{file_name}: dòng tiêu đề có {columns:,} cột, vượt giới hạn "
                f"{self.max_columns:,} cột (GEO_INGEST_MAX_COLUMNS).{hint_vi}",
                f"{file_name}: the header has {columns:,} columns, over the limit of "
                f"{self.max_columns:,} columns (GEO_INGEST_MAX_COLUMNS).{hint_en}",
            )
