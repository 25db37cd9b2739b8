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
    limits = options.limits or IngestLimits.from_env()
    data, name = _read_bytes(file, options.file_name, limits)
    sha256 = hashlib.sha256(data).hexdigest()
    stated_crs = parse_crs(options.crs, source="--crs") if options.crs is not None else None
    table = parse_table(data, name, sheet=options.sheet, limits=limits)
    frame = table.frame
    mapping = recognise_columns(list(frame.columns), frame.head(50))
    source = options.source or default_source(name, kobo=mapping.kobo)
    # The bytes (200 MB at a million rows) are not kept past this function.
    return ReadFile(name, sha256, len(data), table, mapping, source, stated_crs)


def _read_bytes(file: FileInput, file_name: str | None, limits: IngestLimits) -> tuple[bytes, str]:
    """(the file's bytes, the name to show): ``file_name`` wins over the file's own.

    The size is checked before the bytes are read: a path by its size on disk, a file
    object by reading one byte more than the limit at most (bytes given are in memory
    already). A 600 MB file is refused without being read.
    """
    if isinstance(file, bytes | bytearray | memoryview):
        name = file_name or "upload"
        limits.check_bytes(len(file), name)
        return bytes(file), name
    if isinstance(file, str | Path):
        path = Path(file)
        name = file_name or path.name
        try:
            size = path.stat().st_size
            limits.check_bytes(size, name)
            with path.open("rb") as handle:
                return _read_within(handle, name, limits, size), name
        except OSError as exc:
            raise IngestError(
                f"Không đọc được tệp {path}: {exc.strerror}",
                f"Cannot read the file {path}: {exc.strerror}",
            ) from exc
    name = Path(str(file_name or getattr(file, "name", None) or "upload")).name
    return _read_within(file, name, limits), name


#: A stream of unknown size is read in pieces of this many bytes.
_READ_PIECE = 4 << 20


def _read_within(handle: IO[bytes], name: str, limits: IngestLimits, size: int | None = None) -> bytes:
    """At most one byte more than the size limit (a path that grew since its size was
    checked, a stream of unknown size), refused if over it.

    Never ``read(limit + 1)`` at once: that allocates the whole limit (512 MB by default)
    whatever the file's size. A path's checked ``size`` is read in one piece (one byte
    more shows whether it grew); anything else in pieces of :data:`_READ_PIECE`.
    """
    cap = limits.max_bytes + 1
    data = handle.read(min(cap, size + 1)) if size is not None else b""
    if size is None or len(data) > size:  # a stream, or a file that grew: read on, in pieces
        pieces = [data]
        total = len(data)
        while total < cap and (piece := handle.read(min(_READ_PIECE, cap - total))):
            pieces.append(piece)
            total += len(piece)
        data = b"".join(pieces)
    if len(data) > limits.max_bytes:
        limits.check_bytes(len(data), name, stopped=True)
    return bytes(data)
