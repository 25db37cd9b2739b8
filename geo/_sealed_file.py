"""Cache files sealed with a magic tag and a SHA-256 of their body, written atomically.

The map's snapshot (:mod:`geo._snapshot_file`) and the kept Compare/Progress frames
(:mod:`geo._frame_file`) are caches: a torn, truncated or foreign file must read as
"none", never as data, and a write must never leave half a file where a reader looks.
One envelope serves both so that the rule cannot drift between them.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
import time
from pathlib import Path

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
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(magic)
            out.write(hashlib.sha256(body).digest())
            out.write(memoryview(body))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


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
