"""Reading one uploaded photo safely: size, format, hostile content, then pixels.

The order matters. The size is checked before a byte is decoded (a 2 GB "photo" is
refused from its length alone); the format comes from the file's first bytes, never
from its name (a phone app may call a PNG ``.jpg``, an attacker may call HTML
``.jpg``); polyglots — an image that is also a web page, a PDF or a ZIP — are refused
before Pillow sees them; the pixel count is read from the header and capped before the
pixels are decoded (a 20 kB PNG can declare 400 million pixels); and decoding stops
with an error on a truncated file instead of inventing grey pixels
(``ImageFile.LOAD_TRUNCATED_IMAGES`` is left off).

Every refusal is a :class:`~geo.errors.IngestError` (or its
:class:`~geo.errors.LimitExceeded` for sizes) whose Vietnamese and English messages
name the file, so a field officer can tell which of a thousand photos was refused.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import IO, Literal

import pillow_heif
from PIL import ExifTags, Image, ImageOps

from geo.errors import GeoError, IngestError, LimitExceeded
from geo.safe_text import display_text
from geo.settings import photo_max_bytes, photo_max_pixels

pillow_heif.register_heif_opener()

PhotoFormat = Literal["jpeg", "png", "webp", "heif"]

#: File extension the media store gives each accepted format.
EXTENSIONS: dict[PhotoFormat, str] = {"jpeg": "jpg", "png": "png", "webp": "webp", "heif": "heic"}
#: The one Pillow plugin allowed to open each format (no guessing among all plugins).
_PIL_FORMATS: dict[PhotoFormat, str] = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heif": "HEIF"}

#: ISO-BMFF brands of HEIF stills: iPhones write ``heic`` (major) with ``mif1``.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1", b"miaf"}
_AVIF_BRANDS = {b"avif", b"avis"}

#: Markup that makes a browser (or an old one's content sniffing) treat bytes as a page
#: or run script: tags followed by a delimiter. Compressed image data is close to random
#: bytes, so a pattern can turn up by chance: a bare ``<svg`` in about one in seventy
#: thousand 2 MB JPEGs, ``<html``/``<body`` plus a delimiter in about one in half a
#: million, the longer tags practically never. Tags that are harmless without script
#: (``<head>``, ``<meta>``, ``<form>``) are left out; script in their attributes is
#: still found below.
_HTML_TAGS = re.compile(
    rb"<(?:(?:script|html|body|iframe|object|embed|style|title|!doctype)[\s/>]"
    rb"|svg\s+xmlns)",
    re.IGNORECASE,
)
#: Any other tag, searched for script in its attributes (``<img src=x onerror=...>``).
#: Two steps because one case-insensitive pattern without a literal start ("onerror",
#: "javascript:") costs 50–100 ms per 2 MB photo; anchored on ``<`` it costs a few.
_HTML_TAG = re.compile(rb"<[a-z][^<>\x00]{4,300}>", re.IGNORECASE)
_SCRIPT_ATTRIBUTE = re.compile(
    rb"\son(?:error|load|click|mouseover|focus)\s*=|javascript:", re.IGNORECASE
)


def label(name: str) -> str:
    """A file name as it may appear in a message: control and bidi characters made visible.

    Parameters
    ----------
    name : str
        A user-supplied name.

    Returns
    -------
    str
        Display-safe, at most 200 characters.
    """
    return display_text(name)[:200] or "?"


def check_size(size: int, name: str, *, max_bytes: int | None = None) -> None:
    """Refuse an empty file, or one over ``GEO_PHOTO_MAX_BYTES``, before reading it.

    Parameters
    ----------
    size : int
        The declared or actual size in bytes.
    name : str
        The photo's name in messages.
    max_bytes : int | None
        Size limit in bytes (default ``GEO_PHOTO_MAX_BYTES``).

    Returns
    -------
    None
        Raises :class:`~geo.errors.LimitExceeded` over the limit.
    """
    limit = photo_max_bytes() if max_bytes is None else max_bytes
    if size <= 0:
        raise IngestError(f"{label(name)}: tệp ảnh rỗng.", f"{label(name)}: the photo file is empty.")
    if size > limit:
        raise LimitExceeded(
            f"{label(name)}: ảnh {size:,} byte vượt giới hạn {limit:,} byte (GEO_PHOTO_MAX_BYTES).",
            f"{label(name)}: the photo's {size:,} bytes exceed the limit of {limit:,} bytes "
            "(GEO_PHOTO_MAX_BYTES).",
        )


def read_capped(stream: IO[bytes], name: str, *, max_bytes: int | None = None) -> bytes:
    """Read a whole photo stream, stopping one byte past the limit.

    A declared size (an upload's ``size``, a ZIP member's ``file_size``) should be
    checked with :func:`check_size` first; this read is the backstop for streams that
    lie or do not know their length, and never holds more than the limit plus one byte.

    Parameters
    ----------
    stream : IO[bytes]
        A binary stream.
    name : str
        The photo's name in messages.
    max_bytes : int | None
        Size limit in bytes (default ``GEO_PHOTO_MAX_BYTES``).

    Returns
    -------
    bytes
        What the stream held.
    """
    limit = photo_max_bytes() if max_bytes is None else max_bytes
    data = stream.read(limit + 1)
    check_size(len(data), name, max_bytes=limit)
    return data


def sniff_format(data: bytes, name: str) -> PhotoFormat:
    """JPEG, PNG, WebP or HEIF from the first bytes; anything else refused, saying what it is.

    Parameters
    ----------
    data : bytes
        The first bytes of the file.
    name : str
        The photo's name as shown in messages.

    Returns
    -------
    str or None
        ``jpeg``, ``png``, ``webp``, ``heif``, or None.
    """
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp":
        return _sniff_isobmff(data, name)
    kind = _other_kind(data)
    raise IngestError(
        f"{label(name)}: không nhận ảnh dạng {kind}; chỉ nhận JPEG, PNG, WebP, HEIC/HEIF.",
        f"{label(name)}: {kind} is not accepted; only JPEG, PNG, WebP and HEIC/HEIF photos are.",
    )


def _sniff_isobmff(data: bytes, name: str) -> PhotoFormat:
    """HEIF stills pass; AVIF and videos (MP4/MOV share the box format) are refused."""
    box_size = int.from_bytes(data[:4], "big")
    end = min(max(box_size, 16), 256, len(data))
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _HEIC_BRANDS or (data[8:12] in _GENERIC_HEIF_BRANDS and not brands & _AVIF_BRANDS):
        return "heif"
    kind = "AVIF" if brands & _AVIF_BRANDS else "video (MP4/MOV)"
    raise IngestError(
        f"{label(name)}: không nhận tệp dạng {kind}; chỉ nhận JPEG, PNG, WebP, HEIC/HEIF.",
        f"{label(name)}: {kind} is not accepted; only JPEG, PNG, WebP and HEIC/HEIF photos are.",
    )


def _other_kind(data: bytes) -> str:
    """A human name for a refused file's real type, for the message."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for prefix, kind in (
        (b"gif8", "GIF"),
        (b"bm", "BMP"),
        (b"ii*\x00", "TIFF/RAW"),
        (b"mm\x00*", "TIFF/RAW"),
        (b"%pdf", "PDF"),
        (b"pk\x03\x04", "ZIP"),
        (b"<svg", "SVG"),
        (b"<?xml", "XML/SVG"),
        (b"<", "HTML"),
    ):
        if head.startswith(prefix):
            return kind
    return "không rõ / unknown"


def check_polyglot(data: bytes, name: str) -> None:
    """Refuse a valid image that is also an HTML page, a PDF or a ZIP archive.

    Such files pass an image check and then act as something else where they are
    served or downloaded: markup hidden in a comment or EXIF field runs as a page if
    a browser sniffs it, and a ZIP appended after the image (found by its central
    directory at the end, as every unzip tool finds it) survives as a second payload.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The photo's name in messages.

    Returns
    -------
    None
        Raises :class:`~geo.errors.IngestError` for a polyglot.
    """
    kind = None
    if _has_html(data):
        kind = "HTML"
    elif b"%PDF-" in data[:1024]:
        kind = "PDF"
    elif _is_zip(data):
        kind = "ZIP"
    if kind is not None:
        raise IngestError(
            f"{label(name)}: ảnh đồng thời là tệp {kind} (tệp đa dạng/polyglot), bị từ chối.",
            f"{label(name)}: the image is also a {kind} file (a polyglot) and is refused.",
        )


def _has_html(data: bytes) -> bool:
    if _HTML_TAGS.search(data):
        return True
    return any(_SCRIPT_ATTRIBUTE.search(tag.group()) for tag in _HTML_TAG.finditer(data))


def _is_zip(data: bytes) -> bool:
    buffer = io.BytesIO(data)
    if not zipfile.is_zipfile(buffer):
        return False
    try:
        with zipfile.ZipFile(buffer) as archive:
            return bool(archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return False


def open_image(
    data: bytes, name: str, *, max_pixels: int | None = None
) -> tuple[Image.Image, PhotoFormat]:
    """Sniff, check and open a photo without decoding its pixels.

    Returns the lazily-decoding Pillow image and its format. The pixel cap is the
    lower of ``GEO_PHOTO_MAX_PIXELS`` and Pillow's own ``MAX_IMAGE_PIXELS`` (Pillow's
    decompression-bomb error above twice its limit is kept too).

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The photo's name in messages.
    max_pixels : int | None
        Pixel cap (default ``GEO_PHOTO_MAX_PIXELS``).

    Returns
    -------
    tuple of (Image, str)
        The opened image and its format.
    """
    fmt = sniff_format(data, name)
    check_polyglot(data, name)
    cap = min(photo_max_pixels() if max_pixels is None else max_pixels, _pillow_cap())
    try:
        image = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(name, _bomb_pixels(exc), cap) from exc
    except Exception as exc:  # Pillow's plugins raise many types on malformed headers
        raise _undecodable(name, exc) from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        raise _undecodable(name, ValueError(f"size {width}×{height}"))
    if width * height > cap:
        raise _too_many_pixels(name, f"{width:,}×{height:,}", cap)
    return image, fmt


def _pillow_cap() -> int:
    limit = Image.MAX_IMAGE_PIXELS
    return int(limit) if limit else 2**62


def decode_oriented(image: Image.Image, name: str, *, max_side: int | None) -> Image.Image:
    """Decode the first frame, upright per its EXIF orientation, at most ``max_side`` px.

    JPEGs are decoded at a reduced DCT scale (``draft``) when only a small copy is
    wanted: a 12 MP photo decoded at 1/8 scale costs a third of a full decode and
    1/64 of the memory. The result is RGB, or RGBA when the photo has transparency.

    Parameters
    ----------
    image : Image.Image
        The opened (not yet decoded) image.
    name : str
        The photo's name in messages.
    max_side : int | None
        Longest side in pixels (None: full size).

    Returns
    -------
    PIL.Image.Image
        Decoded and upright.
    """
    try:
        # Only JPEG: its draft decodes the same data at a coarser DCT scale. HEIF's draft
        # would swap in an embedded thumbnail, which a crafted file can make show
        # something other than the photo.
        if max_side is not None and image.format == "JPEG":
            image.draft("RGB", _fit(image.size, max_side))
        image.load()
        upright = _upright(image)
        mode = "RGBA" if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info else "RGB"
        converted = upright.convert(mode)
        if max_side is not None:
            converted.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=None)
    except GeoError:
        raise
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(name, _bomb_pixels(exc), _pillow_cap()) from exc
    except Exception as exc:  # truncated data (OSError), corrupt scans, bad palettes, ...
        raise _undecodable(name, exc) from exc
    return converted


def displayed_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as shown: swapped when the EXIF orientation turns the photo 90°.

    Parameters
    ----------
    image : Image.Image
        The opened (not yet decoded) image.

    Returns
    -------
    tuple of int
        (width, height) as displayed.
    """
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # unreadable EXIF: the pixels are shown as stored (see _upright)
        orientation = 1
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size ``thumbnail`` will produce: ``draft`` then picks the coarsest scale above it."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; an unreadable orientation leaves the pixels as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a corrupt EXIF block must not make a photo unreadable
        return image


def _bomb_pixels(exc: Exception) -> str | None:
    """The pixel count Pillow's decompression-bomb message states, formatted."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    return f"{int(match.group(1)):,}" if match else None


def _too_many_pixels(name: str, size: str | None, cap: int) -> LimitExceeded:
    shown = f"{size} điểm ảnh" if size else "quá nhiều điểm ảnh"
    shown_en = f"{size} pixels" if size else "too many pixels"
    return LimitExceeded(
        f"{label(name)}: ảnh có {shown}, vượt giới hạn {cap:,} điểm ảnh (có thể là bom giải nén).",
        f"{label(name)}: the image has {shown_en}, over the limit of {cap:,} pixels "
        "(a possible decompression bomb).",
    )


def _undecodable(name: str, exc: BaseException) -> IngestError:
    reason = display_text(str(exc))[:200] or type(exc).__name__
    return IngestError(
        f"{label(name)}: ảnh hỏng hoặc bị cắt cụt, không giải mã được ({reason}).",
        f"{label(name)}: the image is corrupt or truncated and cannot be decoded ({reason}).",
    )
