"""Stage 1, read: the file's bytes, within the limits, as a table of text with column roles."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pyproj import CRS

from geo.crs import parse_crs
from geo.errors import IngestError
from geo.ingest._columns import ColumnMapping, recognise_columns
from geo.ingest._identity import default_source
from geo.ingest._limits import IngestLimits
from geo.ingest._options import IngestOptions
from geo.ingest._readers import parse_table
from geo.ingest._table import RawTable

#: What :func:`geo.ingest.preview` accepts as a file.
FileInput = str | Path | bytes | IO[bytes]


@dataclass(frozen=True)
class ReadFile:
    """One file as read: its identity, its rows as text and what each column holds."""

    name: str
    sha256: str
    size: int
    table: RawTable
    mapping: ColumnMapping
    #: The namespace of the file's ids (``--source``, else derived from the name).
    source: str
    #: The CRS stated with ``--crs`` (None: not stated).
    crs: CRS | None


def read_file(file: FileInput, options: IngestOptions) -> ReadFile:
    """Read ``file`` as :func:`geo.ingest.preview` needs it.

    Parameters
    ----------
    file : str, Path, bytes or binary file object
        The upload or the path given to the CLI.
    options : IngestOptions
        ``file_name``, ``sheet``, ``crs``, ``source`` and ``limits`` are used here.

    Returns
    -------
    ReadFile
        The table of text with the roles of its columns and the file's hash and size.

    Raises
    ------
    IngestError
        The file cannot be read or parsed (a :class:`~geo.errors.LimitExceeded` when it
        is over a limit, a :class:`~geo.errors.CRSError` for an unknown ``crs``).
    """
    data, name = _read_bytes(file, options.file_name)
    limits = options.limits or IngestLimits.from_env()
    limits.check_bytes(len(data), name)  # before hashing or parsing a file too large
    sha256 = hashlib.sha256(data).hexdigest()
    stated_crs = parse_crs(options.crs, source="--crs") if options.crs is not None else None
    table = parse_table(data, name, sheet=options.sheet, limits=limits)
    frame = table.frame
    mapping = recognise_columns(list(frame.columns), frame.head(50))
    source = options.source or default_source(name, kobo=mapping.kobo)
    # The bytes (200 MB at a million rows) are not kept past this function.
    return ReadFile(name, sha256, len(data), table, mapping, source, stated_crs)


def _read_bytes(file: FileInput, file_name: str | None) -> tuple[bytes, str]:
    """(the file's bytes, the name to show): ``file_name`` wins over the file's own."""
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file), file_name or "upload"
    if isinstance(file, str | Path):
        path = Path(file)
        try:
            return path.read_bytes(), file_name or path.name
        except OSError as exc:
            raise IngestError(
                f"Không đọc được tệp {path}: {exc.strerror}",
                f"Cannot read the file {path}: {exc.strerror}",
            ) from exc
    data = file.read()
    name = file_name or getattr(file, "name", None) or "upload"
    return bytes(data), Path(str(name)).name
