"""Field files with photos: a ZIP holding one CSV/XLSX table and the images it names.

Field teams send a table whose photo column names image files, zipped together with
those images (KoboToolbox's "media attachments" export has the same shape). This
module reads such a bundle without extracting it: the archive's names and sizes are
checked first (:mod:`geo._zipsafe`, shared with zipped shapefiles), then the table
and each photo are read from their member streams one at a time.

It also recognises photo columns and splits photo cells:

* Columns named ``ảnh``, ``hình ảnh``, ``photo`` or ``image`` (any case, with or
  without diacritics, plural or followed by more words such as ``ảnh trước``,
  ``photo_after``), compared through :func:`geo.names.ascii_key`.
* KoboToolbox's pair ``<question>`` + ``<question>_URL``: the first holds the file
  name, the second a link to the server's copy. The link is kept (when it is an
  ``http(s)`` URL) and never fetched at ingest.
* A cell may name several files separated by spaces, ``;`` or ``,``. A file name
  that itself contains one of those separators is found only when it is the whole
  cell.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO
from urllib.parse import urlsplit

from geo._zipsafe import ZipLimits, checked_members, normalised_name, open_zip
from geo.errors import IngestError, LimitExceeded
from geo.names import ascii_key
from geo.photos.checks import Role
from geo.photos.process import PhotoSource
from geo.photos.read import label
from geo.safe_text import display_text

TABLE_SUFFIXES = (".csv", ".xlsx")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
#: Members that operating systems add to archives on their own; never data.
_SYSTEM_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
#: A bundle may unpack to this much (1,000 photos of 25 MB would be 25 GB; field bundles
#: measured in hundreds of MB). Photos do not compress, so the ratio limit only bites
#: on the table or on a crafted member.
DEFAULT_LIMITS = ZipLimits(max_unpacked=8 * 1024**3, max_ratio=200, max_members=50_000)
#: Largest table member read into memory (the ingest's own limits apply after that).
MAX_TABLE_BYTES = 512 * 1024 * 1024

#: Header keys (:func:`geo.names.ascii_key`) that name a photo column.
_PHOTO_STEMS = ("hinh_anh", "anh", "photo", "photos", "image", "images", "hinh")
#: Keys that start like a photo column but mean something else ("ảnh hưởng": influence).
_NOT_PHOTO = ("anh_huong",)
_AFTER_WORDS = {"sau", "after", "khac_phuc", "xu_ly", "nghiem_thu", "clearance"}
_BEFORE_WORDS = {"truoc", "before", "vi_pham", "phat_hien", "report"}
_SEPARATORS = str.maketrans({";": " ", ",": " "})


@dataclass(frozen=True)
class PhotoColumn:
    """A column naming photo files, the Kobo ``_URL`` column paired with it, and a role hint.

    ``role_hint`` is ``after`` or ``before`` when the header says so ("ảnh sau",
    "photo_before"); otherwise ``None`` and the role comes from the event (a report's
    photos are before photos, a clearance's are after photos).
    """

    column: str
    url_column: str | None = None
    role_hint: Role | None = None


def photo_columns(headers: Sequence[str]) -> list[PhotoColumn]:
    """The photo columns of a table, in header order.

    Parameters
    ----------
    headers : Sequence[str]
        The table's column names.

    Returns
    -------
    list of PhotoColumn
        In header order.
    """
    by_lower = {str(h).lower(): str(h) for h in headers}
    url_columns = {h for h in map(str, headers) if h.lower().endswith("_url") and h[:-4].lower() in by_lower}
    found = []
    for header in map(str, headers):
        if header in url_columns:
            continue
        url = by_lower.get(header.lower() + "_url")
        key = ascii_key(header.split("/")[-1])
        if url is not None or _is_photo_key(key):
            found.append(PhotoColumn(header, url, _role_hint(key)))
    return found


def _is_photo_key(key: str) -> bool:
    if not key or key.startswith(_NOT_PHOTO) or key.endswith("_url"):
        return False
    return any(key == stem or key.startswith(stem + "_") for stem in _PHOTO_STEMS)


def _role_hint(key: str) -> Role | None:
    padded = f"_{key}_"
    if any(f"_{word}_" in padded for word in _AFTER_WORDS):
        return "after"
    if any(f"_{word}_" in padded for word in _BEFORE_WORDS):
        return "before"
    return None


def parse_photo_cell(value: object, known: Collection[str] = ()) -> list[str]:
    """File names in one photo cell, in order, each once.

    Names are separated by whitespace, ``;`` or ``,``. When the whole stripped cell is
    one of ``known`` (the bundle's member names), it is taken as one name, so a file
    called ``IMG 001.jpg`` still works on its own.

    Parameters
    ----------
    value : object
        A cell's value.
    known : Collection[str]
        The bundle's member names.

    Returns
    -------
    list of str
        File names, in order, each once.
    """
    if value is None or (isinstance(value, float) and value != value):
        return []
    text = str(value).strip()
    if not text:
        return []
    if text in known:
        return [text]
    names: list[str] = []
    for part in text.translate(_SEPARATORS).split():
        if part not in names:
            names.append(part)
    return names


def photo_link(value: object) -> str | None:
    """A Kobo ``_URL`` cell as a link to keep, or ``None`` when it is not a plain http(s) URL.

    Only ``http`` and ``https`` with a host are kept: a ``javascript:`` or ``data:``
    "link" would run when clicked. The URL is never fetched.

    Parameters
    ----------
    value : object
        A cell's value.

    Returns
    -------
    str or None
        The link, or None when it is not a plain http(s) URL.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > 2000 or display_text(text) != text or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


class FieldBundle:
    """An open, checked field bundle. Use as a context manager; see :func:`open_bundle`.

    Attributes
    ----------
    label
        The bundle's display name, used in every message.
    table_name
        The one CSV/XLSX member.
    image_names
        Members whose names end like a photo (others can still be named by a cell; the
        photo reader then refuses them by content, with a reason).
    """

    def __init__(self, source: str | Path | IO[bytes], *, label: str, limits: ZipLimits) -> None:
        self.label = label
        self._zip = open_zip(source, label=label, error=IngestError)
        try:
            members = checked_members(self._zip, label=label, limits=limits, error=IngestError)
        except BaseException:
            self._zip.close()
            raise
        self._members = {m.filename: m for m in members if not m.is_dir() and not _is_system(m.filename)}
        tables = [n for n in self._members if n.lower().endswith(TABLE_SUFFIXES)]
        if len(tables) != 1:
            self._zip.close()
            raise IngestError(
                f"{label}: zip phải chứa đúng một bảng .csv hoặc .xlsx (có {len(tables)}).",
                f"{label}: the zip must hold exactly one .csv or .xlsx table (it holds {len(tables)}).",
            )
        self.table_name = tables[0]
        self.image_names = tuple(n for n in self._members if n.lower().endswith(IMAGE_SUFFIXES))
        self._exact = {_key(n): n for n in self._members}
        self._folded: dict[str, list[str]] = {}
        self._basenames: dict[str, list[str]] = {}
        for name in self._members:
            self._folded.setdefault(_key(name).casefold(), []).append(name)
            self._basenames.setdefault(PurePosixPath(_key(name)).name.casefold(), []).append(name)

    def __enter__(self) -> FieldBundle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def member_names(self) -> tuple[str, ...]:
        return tuple(self._members)

    def read_table(self, *, max_bytes: int = MAX_TABLE_BYTES) -> bytes:
        """The table member's bytes (refused over ``max_bytes`` before reading)."""
        info = self._members[self.table_name]
        if info.file_size > max_bytes:
            raise LimitExceeded(
                f"{self.label}: bảng {self.table_name!r} {info.file_size:,} byte vượt giới hạn {max_bytes:,}.",
                f"{self.label}: the table {self.table_name!r} is {info.file_size:,} bytes, over the "
                f"limit of {max_bytes:,}.",
            )
        with self._zip.open(info) as stream:  # zipfile stops at the declared size
            return stream.read()

    def resolve(self, cell_name: str) -> str:
        """The member a cell's file name refers to.

        Tried in order: the exact path (after NFC and ``\\`` → ``/``), the same path in
        any case, then the bare file name anywhere in the archive (Kobo cells hold bare
        names, the files sit in nested folders). Raises :class:`IngestError` when no
        member or more than one matches.
        """
        key = _key(cell_name)
        if key in self._exact:
            return self._exact[key]
        for candidates in (
            self._folded.get(key.casefold(), []),
            self._basenames.get(PurePosixPath(key).name.casefold(), []),
        ):
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                shown = ", ".join(repr(c) for c in candidates[:5])
                raise IngestError(
                    f"{self.label}: tên ảnh {label(cell_name)!r} khớp nhiều tệp trong zip: {shown}.",
                    f"{self.label}: the photo name {label(cell_name)!r} matches several files in the zip: {shown}.",
                )
        raise IngestError(
            f"{self.label}: không có ảnh {label(cell_name)!r} trong zip.",
            f"{self.label}: the photo {label(cell_name)!r} is not in the zip.",
        )

    def source(self, member: str) -> PhotoSource:
        """A lazily-opened photo source for one member (see :func:`geo.photos.process.ingest_photos`)."""
        info = self._members[member]
        return PhotoSource(
            name=f"{self.label}/{member}", size=info.file_size, open=lambda: self._zip.open(info)
        )

    def sources(self, members: Iterator[str] | Sequence[str]) -> Iterator[PhotoSource]:
        """Photo sources for members, in order (to feed :func:`~geo.photos.process.ingest_photos`)."""
        for member in members:
            yield self.source(member)


def open_bundle(
    source: str | Path | IO[bytes], *, label: str | None = None, limits: ZipLimits = DEFAULT_LIMITS
) -> FieldBundle:
    """Open and check a field bundle; raises :class:`IngestError` naming the bundle if unsafe.

    Refused: a file that is not a ZIP, unsafe member names (``../``, absolute or drive
    paths, control characters), duplicate or encrypted members, more than
    ``limits.max_members`` entries, a total or per-member size or compression ratio
    over ``limits`` (a zip bomb), and a bundle without exactly one CSV/XLSX table.

    Parameters
    ----------
    source : str | Path | IO[bytes]
        The ZIP: path, bytes stream.
    label : str | None
        Its name in messages (default: the path).
    limits : ZipLimits
        Name, size and ratio limits of the archive.

    Returns
    -------
    FieldBundle
        The open bundle (a context manager).
    """
    shown = label or (str(source) if isinstance(source, str | Path) else "zip")
    return FieldBundle(source, label=display_text(shown), limits=limits)


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", normalised_name(name.strip()))


def _is_system(name: str) -> bool:
    posix = normalised_name(name)
    base = PurePosixPath(posix).name
    return posix.startswith("__MACOSX/") or base.lower() in _SYSTEM_NAMES or base.startswith("._")
