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
import mmap
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol

import numpy as np

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


#: Body bytes :func:`read_sealed` reads at a time; a second thread hashes each while the
#: next is read. A body up to this size is read and hashed in one piece, in one thread.
READ_CHUNK_BYTES = 16 << 20


def read_sealed(path: Path, magic: bytes) -> memoryview | None:
    """The body of a sealed file, without a copy; None when missing, foreign or altered.

    Nothing of the body is returned before its last byte has been hashed and the digest
    compared; the bytes returned are the ones hashed (memory of their own, read once).

    Why it reads and hashes in two threads: the first map page of a 10M store reads an
    800 MB snapshot file, and reading it (0.4-0.5 s, mostly the kernel's copy into fresh
    pages) and then hashing it (SHA-256 here: about 1.3 GB/s, 0.6 s) one after the other
    was about a fifth of that page. Both let go of the GIL, so :func:`_read_hashed`
    hashes each chunk while the next is read and the wait is about the longer of the two.
    The memory is :func:`_fresh_memory`'s (a ``bytearray`` is zero-filled in Python
    first, one more pass over the 800 MB).
    """
    head = len(magic) + _DIGEST
    try:
        with path.open("rb", buffering=0) as handle:
            size = os.fstat(handle.fileno()).st_size
            stored = _read_exactly(handle, head)
            if size <= head or stored is None or not stored.startswith(magic):
                return None
            body = _fresh_memory(size - head)
            digest = _read_hashed(handle, body)
    except OSError:
        return None
    if digest is None or digest != stored[len(magic) :]:
        return None
    return body


def _fresh_memory(size: int) -> memoryview:
    """``size`` writable bytes of this process's own (anonymous) memory, for a file's body.

    One private anonymous mapping whose pages the kernel puts in place at once
    (``MAP_POPULATE``), not one page fault at a time, and which does not ask for
    transparent huge pages (``numpy.empty`` does, with ``madvise``, on a block this
    large; ``MADV_NOHUGEPAGE`` also keeps ``khugepaged`` from merging it later). Why: the
    fresh pages a read lands in are most of its cost. Here (THP and its ``defrag`` on
    ``madvise``, a page cache filling most of the 24 GB) reading the 800 MB of a 10M
    snapshot file into ``numpy.empty`` took 2.4-5.0 s, into this mapping 1.3-2.3 s
    (benchmarks/RESULTS.md, "page27, session 27"). The bytes are the process's own, not
    a view of the file: what is returned is what was hashed, whatever happens to the file.
    """
    if not hasattr(mmap, "MAP_ANONYMOUS"):  # no POSIX mappings (Windows): plain memory
        return np.empty(size, dtype=np.uint8).data
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0))
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        memory.madvise(mmap.MADV_NOHUGEPAGE)
    return memoryview(memory)


def _read_exactly(handle: io.FileIO, size: int) -> bytes | None:
    """The next ``size`` bytes of ``handle``; None when it ends before."""
    data = b""
    while len(data) < size and (more := handle.read(size - len(data))):
        data += more
    return data if len(data) == size else None


def _read_hashed(handle: io.FileIO, into: memoryview) -> bytes | None:
    """Fill ``into`` from ``handle`` up to its end and return the SHA-256 of what was read;
    None when the file ends before ``into`` is full or goes on after it (a file that
    changed length since its size was taken is not the one measured).

    Above :data:`READ_CHUNK_BYTES`, chunk ``i`` is hashed by a worker thread while chunk
    ``i + 1`` is read; the digest is updated in file order, one chunk at a time, so it
    is the digest of the whole body, as :func:`write_sealed` computed it.
    """
    digest, size, pos = hashlib.sha256(), len(into), 0
    if size <= READ_CHUNK_BYTES:
        while pos < size and (n := handle.readinto(into[pos:])):
            pos += n
        digest.update(into[:pos])
    else:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sealed-hash") as pool:
            hashing: Future[None] | None = None
            while pos < size and (n := handle.readinto(into[pos : pos + READ_CHUNK_BYTES])):
                if hashing is not None:
                    hashing.result()
                hashing = pool.submit(digest.update, into[pos : pos + n])
                pos += n
            if hashing is not None:
                hashing.result()
    if pos != size or handle.read(1):
        return None
    return digest.digest()


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
