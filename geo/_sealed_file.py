"""Cache files sealed with a magic tag and a SHA-256 of their body, written atomically.

The map's snapshot (:mod:`geo._snapshot_file`) and the kept Compare/Progress frames
(:mod:`geo._frame_file`) are caches: a torn, truncated or foreign file must read as
"none", never as data, and a write must never leave half a file where a reader looks.
One envelope serves both so that the rule cannot drift between them.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

_DIGEST = 32  # SHA-256

#: A temporary file of a target older than this belongs to no live writer (a write of
#: hundreds of MB takes seconds) but to one that died before its rename (a restart's
#: SIGKILL runs no ``finally``); the next write of the target removes it.
STALE_TEMP_S = 3600


def write_sealed(path: Path, magic: bytes, body: bytes | memoryview) -> None:
    """Write ``magic + sha256(body) + body`` to ``path`` through a temporary file.

    Raises
    ------
    OSError
        When the folder or the file cannot be written (the caller treats that as a
        missing cache, not as an error of the app).
    """
    write_sealed_from(path, magic, lambda out: out.write(memoryview(body)))


class Sink(Protocol):
    """Where :func:`write_sealed_from`'s ``produce`` writes the body."""

    def write(self, data: bytes | memoryview, /) -> int: ...


def write_sealed_from(path: Path, magic: bytes, produce: Callable[[Sink], object]) -> None:
    """:func:`write_sealed` of the body ``produce`` writes to the stream it is given.

    The body is hashed as it passes to the temporary file and its digest written into
    the place kept for it once it is complete, so it never exists whole in memory: the
    snapshot file of 10M incidents is about 800 MB, and the ingest that brings it up to
    date built it in a buffer beside the arrays it was made from (benchmarks/RESULTS.md,
    "Ingest's file update in bounded memory, session 25"). The bytes are those
    :func:`write_sealed` writes for the same body. An error of ``produce`` reaches the
    caller and leaves no file (the temporary one is removed, the old file stays).

    Raises
    ------
    OSError
        As :func:`write_sealed`; and whatever ``produce`` raises.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(magic)
            out.write(bytes(_DIGEST))  # the digest's place until the body is written
            sink = _Hashing(out)
            produce(sink)
            out.seek(len(magic))
            out.write(sink.digest.digest())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


class _Hashing:
    """A writable stream that hashes what it passes on to ``out``; its positions count
    from its first byte, so a writer that aligns to its own offsets (Arrow's IPC file
    writer does) lays out the body as it would in a buffer of its own."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.written = 0
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data).cast("B")
        self.digest.update(view)
        self.out.write(view)
        self.written += len(view)
        return len(view)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        self.out.flush()

    def writable(self) -> bool:
        return True

    def close(self) -> None:  # the temporary file is closed by write_sealed_from, after the digest
        self.closed = True


def _remove_stale_temps(path: Path) -> None:
    """Remove the temporary files of ``path`` (see :func:`write_sealed`) older than
    :data:`STALE_TEMP_S`, each left by a writer that died: each would stay for good."""
    cutoff = time.time() - STALE_TEMP_S
    for temp in path.parent.glob(f"{glob.escape(path.name)}*.tmp"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
        except OSError:  # removed by another writer meanwhile, or not ours to remove
            continue


def read_sealed(path: Path, magic: bytes) -> memoryview | None:
    """The body of a sealed file, without a copy; None when missing, foreign or altered."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(magic) + _DIGEST
    if len(data) <= head or not data.startswith(magic):
        return None
    body = memoryview(data)[head:]
    if hashlib.sha256(body).digest() != data[len(magic) : head]:
        return None
    return body


#: Bytes hashed at a time by :func:`opened_sealed` (the file itself is never read whole).
CHUNK_BYTES = 8 << 20


@contextmanager
def opened_sealed(path: Path, magic: bytes) -> Iterator[Body | None]:
    """The body of a sealed file as an open file whose offsets count from the body's first
    byte, checked as :func:`read_sealed` checks it but hashed :data:`CHUNK_BYTES` at a
    time; None when missing, foreign or altered.

    For a reader that needs only part of the body at once: the ingest's update of the
    snapshot file reads it a column at a time instead of holding the whole file beside
    the new one. The file stays open, so later reads see the bytes that were hashed:
    every writer here replaces a file by renaming a new one over it, never in place.
    """
    try:
        handle = path.open("rb")
    except OSError:
        yield None
        return
    with handle:
        yield Body(handle, len(magic) + _DIGEST) if _sealed(handle, magic) else None


def _sealed(handle: io.BufferedReader, magic: bytes) -> bool:
    """The open file starts with ``magic`` and the SHA-256 of the rest, and has a rest."""
    head = handle.read(len(magic) + _DIGEST)
    if len(head) < len(magic) + _DIGEST or not head.startswith(magic):
        return False
    digest, size = hashlib.sha256(), 0
    buffer = bytearray(CHUNK_BYTES)
    while n := handle.readinto(buffer):
        digest.update(memoryview(buffer)[:n])
        size += n
    return size > 0 and digest.digest() == head[len(magic) :]


class Body:
    """The part of an open file after its ``head`` bytes, as a readable, seekable stream
    (what Arrow's readers take)."""

    def __init__(self, handle: BinaryIO, head: int) -> None:
        self.handle = handle
        self.head = head
        self.closed = False
        handle.seek(head)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            offset += self.head
        return self.handle.seek(offset, whence) - self.head

    def tell(self) -> int:
        return self.handle.tell() - self.head

    def read(self, size: int = -1) -> bytes:
        return self.handle.read(size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:  # the file is closed by opened_sealed
        self.closed = True
