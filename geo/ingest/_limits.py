"""Upload limits, in one small settings object that the environment can override.

An upload page open to many officers must refuse a 2 GB file or a 10 MB cell before it
reads it into memory; the CLI on a server may allow more. Environment variables:
``GEO_INGEST_MAX_BYTES``, ``GEO_INGEST_MAX_ROWS``, ``GEO_INGEST_MAX_CELL_CHARS``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from geo.errors import LimitExceeded


@dataclass(frozen=True)
class IngestLimits:
    """Largest file (bytes), number of data rows and cell length (characters) accepted."""

    max_bytes: int = 512 * 1024 * 1024
    max_rows: int = 2_000_000
    max_cell_chars: int = 10_000

    @classmethod
    def from_env(cls, **overrides: int) -> IngestLimits:
        """Defaults, then environment variables, then explicit keyword overrides."""
        values: dict[str, int] = {}
        for field, env in (
            ("max_bytes", "GEO_INGEST_MAX_BYTES"),
            ("max_rows", "GEO_INGEST_MAX_ROWS"),
            ("max_cell_chars", "GEO_INGEST_MAX_CELL_CHARS"),
        ):
            raw = os.environ.get(env, "").strip()
            if raw:
                try:
                    values[field] = int(raw.replace("_", ""))
                except ValueError as exc:
                    raise LimitExceeded(
                        f"Biến môi trường {env}={raw!r} không phải số nguyên.",
                        f"Environment variable {env}={raw!r} is not an integer.",
                    ) from exc
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
