"""Small, deterministic before/after photos with known EXIF, for samples and demos.

A drawn street scene (sky, shop fronts, pavement, road): the *before* photo has a
stall with an awning on the pavement, the *after* photo is the same scene without
it. The two differ enough that ``after_same_as_before`` does not fire, and each is a
few kilobytes. The same arguments always give the same bytes (same Pillow/libjpeg),
so samples can be regenerated and compared.

EXIF is written with Pillow's own writer (GPS, ``DateTimeOriginal`` with
``OffsetTimeOriginal``), so the sample generator needs no extra dependency.
"""

from __future__ import annotations

import io
import random
from datetime import datetime

from PIL import ExifTags, Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

from geo.photos.checks import Role
from geo.photos.exif import LOCAL_ZONE

SIZE = (320, 240)
QUALITY = 80


def sample_photo(
    role: Role,
    *,
    lat: float | None,
    lon: float | None,
    taken_at: datetime | None,
    seed: int = 0,
    camera: str = "geo sample",
) -> bytes:
    """A JPEG of a street scene with the stall (``before``) or without it (``after``).

    ``seed`` picks the scene (colours and stall position); before and after photos
    with the same seed show the same street. ``lat``/``lon`` go into the GPS tags and
    ``taken_at`` into ``DateTimeOriginal`` with its offset (a naive time is taken as
    Asia/Ho_Chi_Minh); ``None`` leaves the tag out.

    Parameters
    ----------
    role : Role
        ``before`` or ``after``.
    lat : float | None
        Latitude for the GPS tags (None: no GPS).
    lon : float | None
        Longitude for the GPS tags.
    taken_at : datetime | None
        Capture time (None: no time tag).
    seed : int
        Which scene.
    camera : str
        The Make/Model text written.

    Returns
    -------
    bytes
        The JPEG.
    """
    image = _scene(seed, with_stall=role == "before")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY, exif=_exif(lat, lon, taken_at, camera))
    return buffer.getvalue()


def _scene(seed: int, *, with_stall: bool) -> Image.Image:
    rng = random.Random(seed)
    width, height = SIZE
    image = Image.new("RGB", SIZE, (170, 200, 225))
    draw = ImageDraw.Draw(image)
    x = 0
    while x < width:
        shop = rng.randint(36, 64)
        colour = (rng.randint(120, 230), rng.randint(90, 210), rng.randint(70, 190))
        draw.rectangle((x, rng.randint(30, 70), x + shop - 3, 150), fill=colour)
        draw.rectangle((x + 8, 110, x + shop - 11, 150), fill=(60, 50, 45))
        x += shop
    draw.rectangle((0, 150, width, 180), fill=(185, 180, 170))  # pavement
    draw.rectangle((0, 180, width, height), fill=(80, 80, 86))  # road
    for dash in range(0, width, 40):
        draw.rectangle((dash, 208, dash + 20, 212), fill=(235, 235, 235))
    if with_stall:
        left = rng.randint(30, 130)
        # Light tarp under a dark-blue awning: it must differ in brightness, not only in
        # hue, since the perceptual hash looks at a grey copy.
        draw.rectangle((left, 110, left + 160, 200), fill=(240, 240, 235))
        draw.polygon([(left - 15, 112), (left + 175, 112), (left + 80, 70)], fill=(30, 50, 150))
        draw.rectangle((left + 10, 140, left + 150, 152), fill=(200, 40, 40))
    return image


def _exif(lat: float | None, lon: float | None, taken_at: datetime | None, camera: str) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = camera
    if taken_at is not None:
        aware = taken_at if taken_at.tzinfo is not None else taken_at.replace(tzinfo=LOCAL_ZONE)
        offset = aware.strftime("%z")
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        sub[ExifTags.Base.DateTimeOriginal] = aware.strftime("%Y:%m:%d %H:%M:%S")
        sub[ExifTags.Base.OffsetTimeOriginal] = f"{offset[:3]}:{offset[3:]}"
    if lat is not None and lon is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = _dms(abs(lat))
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = _dms(abs(lon))
    return exif


def _dms(degrees: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees as EXIF degrees/minutes/seconds, seconds to 1/10000 (about 3 mm)."""
    units = round(degrees * 3600 * 10_000)  # whole 1/10000 arc-seconds: no 60.0000 seconds
    whole, rest = divmod(units, 3600 * 10_000)
    minutes, seconds = divmod(rest, 60 * 10_000)
    return IFDRational(whole, 1), IFDRational(minutes, 1), IFDRational(seconds, 10_000)
