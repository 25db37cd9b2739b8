"""Cache files sealed with a magic tag and a SHA-256 of their body, written atomically.

The map's snapshot (:mod:`geo._snapshot_file`) and the kept Compare/Progress frames
(:mod:`geo._frame_file`) are caches: a torn, truncated or foreign file must read as
"none", never as data, and a write must never leave half a file where a reader looks.
One envelope serves both so that the rule cannot drift between them.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

_DIGEST = 32  # SHA-256


def write_sealed(path: Path, magic: bytes, body: bytes | memoryview) -> None:
    """Write ``magic + sha256(body) + body`` to ``path`` through a temporary file.

    Raises
    ------
    OSError
        When the folder or the file cannot be written (the caller treats that as a
        missing cache, not as an error of the app).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(magic)
            out.write(hashlib.sha256(body).digest())
            out.write(memoryview(body))
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


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
