"""Small test photos with known EXIF, written by an independent writer (piexif).

The library reads EXIF with Pillow; these helpers write it with piexif (JPEG, PNG,
WebP through Pillow's ``exif=`` bytes; HEIC through pillow-heif), so a test does not
check the reader against itself. Positions at a known distance are computed in
EPSG:32648 with pyproj directly.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np
import piexif
import pillow_heif
from PIL import Image
from pyproj import Transformer

pillow_heif.register_heif_opener()

#: An incident in Hoàn Kiếm, and its report time (Hà Nội wall clock).
INCIDENT = (21.0285, 105.8542)
_TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
_TO_WGS = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)

PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heif": "HEIF"}


def point_at(lat: float, lon: float, *, east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
    """The WGS 84 point ``east_m``/``north_m`` metres away in UTM 48N (EPSG:32648)."""
    x, y = _TO_UTM.transform(lon, lat)
    out_lon, out_lat = _TO_WGS.transform(x + east_m, y + north_m)
    return out_lat, out_lon


def dms(degrees: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """EXIF degrees/minutes/seconds rationals, seconds to 1/100000 (0.3 mm)."""
    units = round(abs(degrees) * 3600 * 100_000)
    whole, rest = divmod(units, 3600 * 100_000)
    minutes, seconds = divmod(rest, 60 * 100_000)
    return (whole, 1), (minutes, 1), (seconds, 100_000)


def gps_ifd(lat: float, lon: float) -> dict[int, Any]:
    return {
        piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
        piexif.GPSIFD.GPSLatitude: dms(lat),
        piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
        piexif.GPSIFD.GPSLongitude: dms(lon),
    }


def exif_bytes(
    *,
    lat: float | None = None,
    lon: float | None = None,
    taken: str | None = None,
    offset: str | None = None,
    orientation: int | None = None,
    make: bytes | None = None,
    model: bytes | None = None,
    description: bytes | None = None,
    gps: Mapping[int, Any] | None = None,
    exif_tags: Mapping[int, Any] | None = None,
) -> bytes:
    """An EXIF block (``Exif\\0\\0`` + TIFF) with exactly the tags asked for."""
    zeroth: dict[int, Any] = {}
    if orientation is not None:
        zeroth[piexif.ImageIFD.Orientation] = orientation
    if make is not None:
        zeroth[piexif.ImageIFD.Make] = make
    if model is not None:
        zeroth[piexif.ImageIFD.Model] = model
    if description is not None:
        zeroth[piexif.ImageIFD.ImageDescription] = description
    sub: dict[int, Any] = dict(exif_tags or {})
    if taken is not None:
        sub[piexif.ExifIFD.DateTimeOriginal] = taken.encode()
    if offset is not None:
        sub[piexif.ExifIFD.OffsetTimeOriginal] = offset.encode()
    gps_tags: dict[int, Any] = dict(gps or {})
    if lat is not None and lon is not None:
        gps_tags.update(gps_ifd(lat, lon))
    return piexif.dump({"0th": zeroth, "Exif": sub, "GPS": gps_tags, "1st": {}, "thumbnail": None})


def pixels(size: tuple[int, int] = (64, 48), seed: int = 0, *, noise: bool = True) -> Image.Image:
    """A deterministic picture: a gradient, plus noise so compressed data has real volume."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width - 1, 1), y * 255 / max(height - 1, 1), (x + y) % 256], -1)
    if noise:
        base = base + np.random.default_rng(seed).normal(0, 40, base.shape)
    else:
        base = (base + seed * 37) % 256
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


def make_photo(
    fmt: str = "jpeg",
    *,
    size: tuple[int, int] = (64, 48),
    seed: int = 0,
    noise: bool = True,
    exif: bytes | None = None,
    xmp: bytes | None = None,
    image: Image.Image | None = None,
    quality: int = 90,
    **tags: Any,
) -> bytes:
    """A photo in ``fmt`` (jpeg, png, webp, heif) carrying the EXIF built from ``tags``.

    ``exif`` gives the raw block instead; with neither, the photo has no EXIF at all.
    """
    picture = image if image is not None else pixels(size, seed, noise=noise)
    block = exif if exif is not None else (exif_bytes(**tags) if tags else None)
    options: dict[str, Any] = {}
    if block is not None:
        options["exif"] = block
    if xmp is not None:
        options["xmp"] = xmp
    if fmt in ("jpeg", "webp", "heif"):
        options["quality"] = quality
    buffer = io.BytesIO()
    picture.save(buffer, PIL_FORMAT[fmt], **options)
    return buffer.getvalue()


def jpeg_with_segment(data: bytes, marker: int, payload: bytes) -> bytes:
    """Insert a JPEG segment (e.g. 0xFE comment) right after SOI."""
    length = (len(payload) + 2).to_bytes(2, "big")
    return data[:2] + bytes([0xFF, marker]) + length + payload + data[2:]


def zip_bytes(members: Mapping[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2025, 9, 1, 0, 0, 0)), data, compression)
    return buffer.getvalue()
