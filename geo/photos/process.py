"""One photo from bytes to stored files and plain facts; many photos streamed through.

:func:`load_photo` does all the reading of one photo (checks, one reduced decode,
metadata, thumbnail, perceptual hash) without touching the disk;
:func:`store_photo` then writes it. Nothing is stored for a photo that fails any
check, so a refusal never leaves half a photo behind.

:func:`ingest_photos` runs a batch: each photo is read from its source only when a
worker is about to need it, and at most ``2 × workers`` photos are held at once, so
a ZIP of a thousand 2 MB photos needs tens of megabytes, not gigabytes. Pillow, zlib
and hashlib release the GIL while they work, so threads use both cores without the
cost of shipping photos to other processes.
"""

from __future__ import annotations

import hashlib
import io
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import imagehash

from geo.errors import GeoError
from geo.photos.exif import PhotoMeta, read_metadata
from geo.photos.media import THUMB_MAX_SIDE, MediaStore, StoredMedia, make_thumbnail
from geo.photos.read import (
    PhotoFormat,
    check_size,
    decode_oriented,
    displayed_size,
    label,
    open_image,
    read_capped,
)


@dataclass(frozen=True)
class PhotoInfo:
    """The plain facts of one accepted photo, small enough to keep for a whole batch.

    ``width`` and ``height`` are as displayed (after the EXIF orientation); ``name``
    is the display-safe file name it arrived under; ``phash`` is the hex perceptual
    hash of its upright thumbnail-sized copy.
    """

    name: str
    sha256: str
    format: PhotoFormat
    size_bytes: int
    width: int
    height: int
    meta: PhotoMeta
    phash: str


@dataclass(frozen=True)
class LoadedPhoto:
    """An accepted photo's facts with its bytes and its thumbnail's bytes, ready to store."""

    info: PhotoInfo
    data: bytes = field(repr=False)
    thumbnail: bytes = field(repr=False)


@dataclass(frozen=True)
class PhotoSource:
    """A photo not read yet: its name, declared size and how to open it."""

    name: str
    size: int
    open: Callable[[], IO[bytes]]

    @classmethod
    def from_path(cls, path: str | Path) -> PhotoSource:
        """A photo file on disk (the CLI's case); its size is read now, its bytes later."""
        file = Path(path)
        return cls(name=file.name, size=file.stat().st_size, open=lambda: file.open("rb"))

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> PhotoSource:
        """An upload already in memory (the app's case)."""
        return cls(name=name, size=len(data), open=lambda: io.BytesIO(data))


@dataclass(frozen=True)
class PhotoOutcome:
    """One photo of a batch: stored (``info`` and ``media``) or refused (``error``).

    Holds no image bytes, so a caller may keep every outcome of a large batch.
    """

    name: str
    info: PhotoInfo | None = None
    media: StoredMedia | None = None
    error: GeoError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def load_photo(
    data: bytes, name: str, *, max_bytes: int | None = None, max_pixels: int | None = None
) -> LoadedPhoto:
    """Check and read one photo: size, format, polyglots, pixel cap, decode, metadata.

    Raises :class:`~geo.errors.IngestError` (or :class:`~geo.errors.LimitExceeded`)
    with a bilingual message naming ``name`` when the photo is refused.

    Parameters
    ----------
    data : bytes
        The photo file's bytes.
    name : str
        The photo's name in messages.
    max_bytes : int | None
        Size limit in bytes (default ``GEO_PHOTO_MAX_BYTES``).
    max_pixels : int | None
        Pixel cap (default ``GEO_PHOTO_MAX_PIXELS``).

    Returns
    -------
    LoadedPhoto
        The facts, the bytes and the thumbnail.
    """
    check_size(len(data), name, max_bytes=max_bytes)
    image, fmt = open_image(data, name, max_pixels=max_pixels)
    upright = decode_oriented(image, name, max_side=THUMB_MAX_SIDE)
    meta = read_metadata(image, name)
    width, height = displayed_size(image)
    info = PhotoInfo(
        name=label(name),
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        size_bytes=len(data),
        width=width,
        height=height,
        meta=meta,
        phash=str(imagehash.phash(upright)),
    )
    return LoadedPhoto(info=info, data=data, thumbnail=make_thumbnail(upright))


def store_photo(photo: LoadedPhoto, media: MediaStore) -> StoredMedia:
    """Write an accepted photo's original and thumbnail (nothing new if stored before).

    Parameters
    ----------
    photo : LoadedPhoto
        A loaded, accepted photo.
    media : MediaStore
        The media folder.

    Returns
    -------
    StoredMedia
        Where the files are.
    """
    return media.put(photo.data, photo.info.format, photo.thumbnail, sha256=photo.info.sha256)


def read_source(source: PhotoSource, *, max_bytes: int | None = None) -> bytes:
    """A source's bytes: its declared size is checked first, then the read is capped.

    Parameters
    ----------
    source : PhotoSource
        The photo to read.
    max_bytes : int | None
        Size limit in bytes (default ``GEO_PHOTO_MAX_BYTES``).

    Returns
    -------
    bytes
        The source's bytes.
    """
    check_size(source.size, source.name, max_bytes=max_bytes)
    with source.open() as stream:
        return read_capped(stream, source.name, max_bytes=max_bytes)


def ingest_photos(
    sources: Iterable[PhotoSource],
    media: MediaStore,
    *,
    workers: int = 2,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
) -> Iterator[PhotoOutcome]:
    """Load and store each photo, yielding outcomes in the order of ``sources``.

    A refused photo yields an outcome with ``error`` and stores nothing; the others
    go on. The files are flushed to disk (:meth:`MediaStore.sync`) before the last
    outcome is yielded, so a caller that commits after the loop refers only to
    durable files.

    Parameters
    ----------
    sources : Iterable[PhotoSource]
        The photos, read only when a worker needs them.
    media : MediaStore
        The media folder (default ``GEO_MEDIA_DIR``).
    workers : int
        Threads decoding at once.
    max_bytes : int | None
        Size limit in bytes (default ``GEO_PHOTO_MAX_BYTES``).
    max_pixels : int | None
        Pixel cap (default ``GEO_PHOTO_MAX_PIXELS``).

    Returns
    -------
    PhotoOutcome
        One per source, in order.
    """

    def run(source: PhotoSource) -> PhotoOutcome:
        try:
            photo = load_photo(
                read_source(source, max_bytes=max_bytes),
                source.name,
                max_bytes=max_bytes,
                max_pixels=max_pixels,
            )
            stored = store_photo(photo, media)
            return PhotoOutcome(name=photo.info.name, info=photo.info, media=stored)
        except GeoError as exc:
            return PhotoOutcome(name=label(source.name), error=exc)

    pending: deque[Future[PhotoOutcome]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="photo") as pool:
        for source in sources:
            if len(pending) >= 2 * max(1, workers):
                yield pending.popleft().result()
            pending.append(pool.submit(run, source))
        while len(pending) > 1:
            yield pending.popleft().result()
        last = pending.popleft().result() if pending else None
    media.sync()
    if last is not None:
        yield last
