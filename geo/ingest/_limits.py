"""Upload limits, in one small settings object that the environment can override.

An upload page open to many officers must refuse a 2 GB file or a 10 MB cell before it
reads it into memory; the CLI on a server may allow more. Environment variables (read
through :mod:`geo.settings`): ``GEO_INGEST_MAX_BYTES``, ``GEO_INGEST_MAX_ROWS``,
``GEO_INGEST_MAX_CELL_CHARS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo import settings
from geo.errors import LimitExceeded


@dataclass(frozen=True)
class IngestLimits:
    """Largest file (bytes), number of data rows and cell length (characters) accepted."""

    max_bytes: int = settings.INGEST_MAX_BYTES.default
    max_rows: int = settings.INGEST_MAX_ROWS.default
    max_cell_chars: int = settings.INGEST_MAX_CELL_CHARS.default

    @classmethod
    def from_env(cls, **overrides: int) -> IngestLimits:
        """Defaults, then environment variables, then explicit keyword overrides."""
        values = {
            "max_bytes": settings.ingest_max_bytes(),
            "max_rows": settings.ingest_max_rows(),
            "max_cell_chars": settings.ingest_max_cell_chars(),
        }
        values.update(overrides)
        return cls(**values)

    def check_bytes(self, size: int, file_name: str) -> None:
        if size > self.max_bytes:
            raise LimitExceeded(
                f"{file_name}: tệp {size:,} byte vượt giới hạn {self.max_bytes:,} byte.",
                f"{file_name}: the file's {size:,} bytes exceed the limit of "
                f"{self.max_bytes:,} bytes.",
            )

    def check_rows(self, rows: int, file_name: str) -> None:
        if rows > self.max_rows:
            raise LimitExceeded(
                f"{file_name}: tệp có {rows:,} dòng, vượt giới hạn {self.max_rows:,} dòng.",
                f"{file_name}: the file has {rows:,} rows, over the limit of "
                f"{self.max_rows:,} rows.",
            )

    def check_cell(self, length: int, file_name: str, row: int, column: str) -> None:
        if length > self.max_cell_chars:
            raise LimitExceeded(
                f"{file_name}: dòng {row}, cột {column!r} dài {length:,} ký tự, vượt giới hạn "
                f"{self.max_cell_chars:,}.",
                f"{file_name}: row {row}, column {column!r} is {length:,} characters long, "
                f"over the limit of {self.max_cell_chars:,}.",
            )
