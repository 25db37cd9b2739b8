"""The photo file store: originals by content, thumbnails, and metadata-free copies.

Layout under ``GEO_MEDIA_DIR`` (default ``data/media/``, git-ignored)::

    originals/ab/<sha256>.<jpg|png|webp|heic>   the uploaded bytes, unchanged
    thumbs/ab/<sha256>.jpg                       ≤ 480 px JPEG, made once at ingest
    public/ab/<sha256>.<jpg|png|webp>            EXIF-free copy, made on first view

Files are named by the sha256 of the original's bytes, so uploading the same photo
again (or attaching it to a second incident) stores nothing new. The two-character
fan-out keeps directories small at a hundred thousand photos.

Every file is written to a temporary name in its final directory and renamed into
place, so a crash or kill leaves either no file or a whole one, never half of one.
Files are not flushed to disk one by one (an ``fsync`` cost 50 ms here, more than
decoding the photo): :meth:`MediaStore.sync` flushes everything written since the
last call, and the caller calls it once before committing the rows that refer to
the files. Leftover temporary files of a killed process are removed by
:meth:`MediaStore.remove_stale_temp`.

Originals keep their metadata (GPS included) for users with the ``manage`` right.
Anyone else, and the public view, gets :func:`stripped_copy`: pixels re-encoded from
scratch, which drops EXIF, XMP, comments and anything appended to the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from geo.errors import NotFound, StorageError
from geo.photos.read import EXTENSIONS, PhotoFormat, decode_oriented, open_image
from geo.settings import media_dir

#: Longest side of a thumbnail, in pixels.
THUMB_MAX_SIDE = 480
THUMB_QUALITY = 80
#: Longest side of the EXIF-free copy shown without the ``manage`` right: enough for
#: a full-screen view, a quarter of the bytes of a 12 MP original.
PUBLIC_MAX_SIDE = 2048
PUBLIC_QUALITY = 88
#: The public copy of a HEIC is a JPEG: only Safari shows HEIC.
_PUBLIC_FORMAT: dict[PhotoFormat, str] = {"jpeg": "jpeg", "heif": "jpeg", "png": "png", "webp": "webp"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MEDIA_NAME = re.compile(r"^[0-9a-f]{64}\.(jpg|png|webp|heic)$")
_TEMP_SUFFIX = ".part"


def thumbnail_url(base_url: str, sha256: str) -> str:
    """The public URL of a photo's thumbnail when the media folder is served at ``base_url``
    (thumbnails carry no metadata, so they are the copy that may be public).

    Parameters
    ----------
    base_url : str
        Where the media folder is served publicly.
    sha256 : str
        The photo's content hash (hex).

    Returns
    -------
    str
        ``<base_url>/thumbs/<ab>/<sha256>.jpg``.
    """
    if not _SHA256.match(sha256):
        raise NotFound(f"Mã ảnh không hợp lệ: {sha256[:80]!r}.", f"Invalid photo id: {sha256[:80]!r}.")
    return f"{base_url.rstrip('/')}/thumbs/{sha256[:2]}/{sha256}.jpg"


def make_thumbnail(upright: Image.Image) -> bytes:
    """A JPEG of at most :data:`THUMB_MAX_SIDE` px from an upright decoded photo, with no metadata.

    Transparency is flattened onto white (JPEG has none). Nothing of the source's
    ``info`` (EXIF, XMP, ICC, comments) is written.

    Parameters
    ----------
    upright : Image.Image
        The decoded, upright photo.

    Returns
    -------
    bytes
        The JPEG.
    """
    image = _flatten(upright)
    if max(image.size) > THUMB_MAX_SIDE:
        image = image.copy()
        image.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
    return _encode(image, "jpeg", quality=THUMB_QUALITY)


def stripped_copy(
    data: bytes,
    name: str,
    *,
    max_side: int | None = PUBLIC_MAX_SIDE,
    max_pixels: int | None = None,
) -> tuple[bytes, str]:
    """The photo re-encoded without any metadata, upright, at most ``max_side`` px.

    Returns ``(bytes, extension)``: JPEG for JPEG and HEIC sources, PNG and WebP for
    those. Re-encoding from pixels rather than deleting EXIF segments also drops XMP
    (which can hold GPS too), comments and any data appended after the image. The
    colour profile is kept so colours do not shift; the orientation is applied to the
    pixels, since the tag that said it is gone.

    Parameters
    ----------
    data : bytes
        The photo file's bytes.
    name : str
        The photo's name in messages.
    max_side : int | None
        Longest side in pixels (None: full size).
    max_pixels : int | None
        Pixel cap (default ``GEO_PHOTO_MAX_PIXELS``).

    Returns
    -------
    tuple of (bytes, str)
        The encoded copy and its extension.
    """
    image, fmt = open_image(data, name, max_pixels=max_pixels)
    icc = image.info.get("icc_profile")
    upright = decode_oriented(image, name, max_side=max_side)
    out_format = _PUBLIC_FORMAT[fmt]
    if out_format == "jpeg":
        upright = _flatten(upright)
    encoded = _encode(upright, out_format, quality=PUBLIC_QUALITY, icc=icc)
    return encoded, "jpg" if out_format == "jpeg" else out_format


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encode(image: Image.Image, fmt: str, *, quality: int, icc: bytes | None = None) -> bytes:
    """Encode with exactly the metadata given, whatever the source image carried.

    ``info`` is emptied because some Pillow versions fall back to it when saving
    (PNG's EXIF, JPEG's XMP); the one installed here reads only the save options.
    """
    clean = image.copy()
    clean.info = {}
    options: dict[str, object] = {} if fmt == "png" else {"quality": quality}
    if isinstance(icc, bytes) and icc:
        options["icc_profile"] = icc
    buffer = io.BytesIO()
    clean.save(buffer, format=fmt.upper(), **options)
    return buffer.getvalue()


@dataclass(frozen=True)
class StoredMedia:
    """Where one photo's files are, and whether this call wrote the original."""

    sha256: str
    original: Path
    thumbnail: Path
    created: bool


class MediaStore:
    """Content-addressed photo files under one root directory (see the module docstring)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else media_dir()
        self._unsynced: list[Path] = []

    # ------------------------------------------------------------------ paths

    def original_path(self, sha256: str, fmt: PhotoFormat) -> Path:
        return self._path("originals", sha256, EXTENSIONS[fmt])

    def thumbnail_path(self, sha256: str) -> Path:
        return self._path("thumbs", sha256, "jpg")

    def _path(self, area: str, sha256: str, ext: str) -> Path:
        if not _SHA256.match(sha256):  # the hash may come from a URL: never a path
            raise NotFound(
                f"Mã ảnh không hợp lệ: {sha256[:80]!r}.", f"Invalid photo id: {sha256[:80]!r}."
            )
        return self.root / area / sha256[:2] / f"{sha256}.{ext}"

    def find_original(self, sha256: str) -> Path:
        """The stored original of ``sha256`` whatever its format; :class:`NotFound` if none."""
        for fmt in EXTENSIONS:
            path = self.original_path(sha256, fmt)
            if path.exists():
                return path
        raise NotFound(
            f"Không có ảnh {sha256} trong kho ảnh {self.root}.",
            f"No photo {sha256} in the media store {self.root}.",
        )

    # ---------------------------------------------------------------- writing

    def put(self, data: bytes, fmt: PhotoFormat, thumbnail: bytes, *, sha256: str | None = None) -> StoredMedia:
        """Store an original and its thumbnail; a no-op for bytes stored before.

        The original goes in first and the thumbnail second, so a crash in between
        leaves an original without thumbnail, which the next ``put`` of the same
        bytes completes (both are checked).
        """
        digest = sha256 or hashlib.sha256(data).hexdigest()
        original = self.original_path(digest, fmt)
        thumb = self.thumbnail_path(digest)
        created = not original.exists()
        if created:
            self._write(original, data)
        if not thumb.exists():
            self._write(thumb, thumbnail)
        return StoredMedia(sha256=digest, original=original, thumbnail=thumb, created=created)

    def public_copy(self, sha256: str, *, max_pixels: int | None = None) -> Path:
        """The EXIF-free copy of a stored photo, made on first request and kept."""
        original = self.find_original(sha256)
        for ext in ("jpg", "png", "webp"):
            existing = self._path("public", sha256, ext)
            if existing.exists():
                return existing
        data = self.read_original(sha256)
        encoded, ext = stripped_copy(data, original.name, max_pixels=max_pixels)
        path = self._path("public", sha256, ext)
        self._write(path, encoded)
        self.sync()
        return path

    def read_original(self, sha256: str) -> bytes:
        """The original's bytes, checked against their hash (a changed file is an error)."""
        path = self.find_original(sha256)
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StorageError(
                f"{path}: nội dung ảnh không khớp mã sha256 (tệp bị sửa hoặc hỏng).",
                f"{path}: the photo's content does not match its sha256 (changed or corrupt).",
            )
        return data

    def _write(self, path: Path, data: bytes) -> None:
        """Write to a temporary file beside ``path`` and rename it into place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TEMP_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._unsynced.append(path)

    def sync(self) -> None:
        """Flush every file written since the last call, and their directories, to disk."""
        directories = {path.parent for path in self._unsynced}
        for path in self._unsynced:
            _fsync(path)
        for directory in directories:
            _fsync(directory)
        self._unsynced.clear()

    def archive(self, out: str | Path) -> Path:
        """Write the originals and thumbnails to one tar file (``python -m geo backup``).

        Files are immutable once renamed into place, so the archive is consistent
        without a lock: take it *after* the store's copy, and every photo a row of that
        copy refers to is in it (a photo's files are flushed before its row commits).
        EXIF-free public copies are left out: they are made again on first view.
        """
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=_TEMP_SUFFIX)
        os.close(fd)
        try:
            with tarfile.open(temp, "w") as tar:
                for area in ("originals", "thumbs"):
                    for path in sorted((self.root / area).glob("??/*")):
                        if _MEDIA_NAME.match(path.name):
                            tar.add(path, arcname=path.relative_to(self.root).as_posix(), recursive=False)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target

    def restore(self, archive: str | Path) -> int:
        """Put the files of :meth:`archive`'s tar back under this root; returns how many.

        Only members named like the store's own files (``originals|thumbs/ab/<sha256>.ext``)
        are extracted, with tarfile's ``data`` filter; anything else is refused by name.
        """
        restored = 0
        with tarfile.open(archive, "r") as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                ok = (len(parts) == 3 and parts[0] in ("originals", "thumbs") and member.isfile()
                      and _MEDIA_NAME.match(parts[2]) and parts[1] == parts[2][:2])  # fmt: skip
                if not ok:
                    raise StorageError(
                        f"{archive}: mục lạ trong bản sao lưu ảnh: {member.name[:120]!r}.",
                        f"{archive}: unexpected member in the media backup: {member.name[:120]!r}.",
                    )
                tar.extract(member, self.root, filter="data")
                restored += 1
        return restored

    def remove_stale_temp(self, older_than_s: float = 3600.0) -> int:
        """Delete temporary files left by a killed writer; returns how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for temp in self.root.glob(f"*/??/.*{_TEMP_SUFFIX}"):
            if temp.stat().st_mtime < cutoff:
                temp.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
