"""Checks that make an uploaded ZIP archive safe to read member by member.

Shared by zipped shapefiles (:mod:`geo.boundaries`) and photo field bundles
(:mod:`geo.photos.bundle`). Archives are never extracted to disk, so member names are
only ever lookup keys; they are still refused when they could mean something outside
the archive (``../``, absolute or drive paths), because a later step or a person
unzipping the upload by hand could trust them. Sizes are checked from the central
directory *before* any byte is decompressed: a zip bomb is refused, not inflated.
The declared sizes cannot be used to smuggle more data: :mod:`zipfile` stops
inflating a member at its declared size and checks its CRC at the end.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from geo.errors import GeoError

#: Characters that have no business in a member name (C0/C1 controls, DEL).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class ZipLimits:
    """How much an archive may unpack to, and how well it may compress.

    ``max_ratio`` applies to the whole archive and to every member of at least
    ``ratio_floor`` bytes: one bomb hidden among a thousand incompressible JPEGs would
    pass a whole-archive ratio, and a tiny member's ratio means nothing (a 2 KB text
    file of spaces compresses 100:1 and harms no one).
    """

    max_unpacked: int
    max_ratio: float = 200
    max_members: int = 50_000
    ratio_floor: int = 1024 * 1024


def open_zip(source: str | Path | IO[bytes], *, label: str, error: type[GeoError]) -> zipfile.ZipFile:
    """Open ``source`` as a ZIP, turning zipfile's English-only errors into ``error``."""
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise error(f"{label}: tệp zip hỏng ({exc}).", f"{label}: corrupt zip file ({exc}).") from exc


def normalised_name(name: str) -> str:
    """The member name with Windows separators turned into ``/``."""
    return name.replace("\\", "/")


def unsafe_name(name: str) -> bool:
    """True for a member name that points outside the archive or hides control characters.

    Backslashes count as separators (archives made on Windows use them), so
    ``..\\..\\x`` is caught as well as ``../../x``.
    """
    posix = normalised_name(name)
    return (
        posix.startswith("/")
        or ":" in posix
        or ".." in posix.split("/")
        or bool(_CONTROL.search(posix))
    )


def checked_members(
    archive: zipfile.ZipFile, *, label: str, limits: ZipLimits, error: type[GeoError]
) -> list[zipfile.ZipInfo]:
    """The archive's members once count, names, encryption and sizes are all acceptable.

    Raises ``error`` (a :class:`~geo.errors.GeoError` subclass chosen by the caller) with
    a bilingual message naming ``label`` and, where there is one, the member.
    """
    members = archive.infolist()
    _check_count(members, label, limits, error)
    _check_names(members, label, error)
    _check_sizes(members, label, limits, error)
    return members


def _check_count(
    members: list[zipfile.ZipInfo], label: str, limits: ZipLimits, error: type[GeoError]
) -> None:
    if len(members) > limits.max_members:
        raise error(
            f"{label}: tệp zip có {len(members):,} mục, vượt giới hạn {limits.max_members:,}.",
            f"{label}: the zip holds {len(members):,} entries, over the limit of "
            f"{limits.max_members:,}.",
        )


def _check_names(members: list[zipfile.ZipInfo], label: str, error: type[GeoError]) -> None:
    seen: set[str] = set()
    for member in members:
        name = member.filename
        if unsafe_name(name):
            raise error(
                f"{label}: đường dẫn không an toàn trong zip: {name!r}.",
                f"{label}: unsafe path inside the zip: {name!r}.",
            )
        key = normalised_name(name)
        if key in seen:  # two members under one name: which one a reader gets is arbitrary
            raise error(
                f"{label}: tên {name!r} xuất hiện hai lần trong zip.",
                f"{label}: the name {name!r} appears twice inside the zip.",
            )
        seen.add(key)
        if member.flag_bits & 0x1:
            raise error(
                f"{label}: {name!r} trong zip được mã hoá (có mật khẩu); hãy nén lại không mật khẩu.",
                f"{label}: {name!r} inside the zip is encrypted; zip it again without a password.",
            )


def _check_sizes(
    members: list[zipfile.ZipInfo], label: str, limits: ZipLimits, error: type[GeoError]
) -> None:
    unpacked = sum(m.file_size for m in members)
    packed = max(sum(m.compress_size for m in members), 1)
    if unpacked > limits.max_unpacked or unpacked / packed > limits.max_ratio:
        raise error(
            f"{label}: tệp zip giải nén quá lớn ({unpacked} byte) — có thể là zip bomb.",
            f"{label}: the zip would unpack to {unpacked} bytes — refused as a possible zip bomb.",
        )
    for member in members:
        if member.file_size < limits.ratio_floor:
            continue
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > limits.max_ratio:
            raise error(
                f"{label}: {member.filename!r} trong zip nén bất thường ({ratio:,.0f}:1) — "
                "có thể là zip bomb.",
                f"{label}: {member.filename!r} inside the zip compresses {ratio:,.0f}:1 — "
                "refused as a possible zip bomb.",
            )
