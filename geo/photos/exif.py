"""What a photo's own metadata says about where and when it was taken.

Read with Pillow's EXIF reader, then distrusted: every value is checked for type and
range, and a value that fails is *dropped with a note* rather than refusing the photo.
A photo without usable metadata is still evidence (messaging apps strip EXIF all the
time); the checks in :mod:`geo.photos.checks` then flag it ``photo_no_gps`` or
``photo_no_time`` instead of trusting a forged or broken value.

Time zones
    EXIF ``DateTimeOriginal`` is a wall-clock time with no zone. Phones since about
    2018 also write ``OffsetTimeOriginal`` (``+07:00``), which is used when present
    and valid. When it is absent the time is **assumed to be Asia/Ho_Chi_Minh
    (UTC+07:00)**, the zone every field team of the project works in, and
    :attr:`PhotoMeta.zone_assumed` says so. A phone left on another zone without the
    offset tag is off by whole hours; the before/after checks compare across days, so
    this rarely matters, and the flag tells a reviewer when it might.
    When neither ``DateTimeOriginal`` nor ``DateTimeDigitized`` is usable, the GPS
    date and time stamps (UTC by definition) are used.

Nothing here is rendered: values are plain numbers, aware datetimes and text passed
through :func:`geo.safe_text.display_text` and cut to a short length.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from PIL import ExifTags, Image

from geo.photos.read import label
from geo.safe_text import display_text

#: The zone assumed for EXIF times that carry no offset (see the module docstring).
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
#: EXIF blocks larger than this are ignored whole. A JPEG's APP1 segment cannot exceed
#: 64 KiB, so no camera writes more; PNG, WebP and HEIF containers could carry megabytes
#: of crafted IFDs for the parser to chew on.
MAX_EXIF_BYTES = 64 * 1024
#: Camera text kept (make and model); longer text is cut.
MAX_TEXT_CHARS = 80
#: Years outside this range are not a clock setting but garbage.
YEAR_RANGE = (1990, 2100)

TimeSource = Literal["exif_original", "exif_digitized", "gps"]

_DATETIME = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})[:\-](\d{2})[:\-](\d{2})$")
_GPS = ExifTags.GPS
_TAG = ExifTags.Base


@dataclass(frozen=True)
class PhotoNote:
    """A metadata problem that did not refuse the photo; ``code`` is stable for the UI."""

    code: str
    message_vi: str
    message_en: str

    @property
    def bilingual(self) -> str:
        return f"{self.message_vi} / {self.message_en}"


@dataclass(frozen=True)
class PhotoMeta:
    """Where and when a photo says it was taken, as checked plain values.

    Attributes
    ----------
    taken_at
        Timezone-aware capture time, or ``None`` when the photo does not say.
    taken_at_source
        Which tag gave ``taken_at``.
    zone_assumed
        True when the tag had no offset and Asia/Ho_Chi_Minh was assumed.
    lat, lon
        WGS 84 degrees from the GPS tags, both or neither.
    camera
        "Make Model", display-safe, at most :data:`MAX_TEXT_CHARS` characters.
    notes
        What was wrong with the metadata that was dropped.
    """

    taken_at: datetime | None = None
    taken_at_source: TimeSource | None = None
    zone_assumed: bool = False
    lat: float | None = None
    lon: float | None = None
    camera: str | None = None
    notes: tuple[PhotoNote, ...] = ()

    @property
    def has_gps(self) -> bool:
        return self.lat is not None and self.lon is not None


class _Dropped(ValueError):
    """A metadata value that fails its check; becomes a :class:`PhotoNote`."""

    def __init__(self, note: PhotoNote) -> None:
        super().__init__(note.message_en)
        self.note = note


def read_metadata(image: Image.Image, name: str) -> PhotoMeta:
    """The checked capture time, GPS position and camera of an opened photo.

    Never raises for bad metadata: the values that fail are dropped and explained in
    :attr:`PhotoMeta.notes`. Call it after the pixels were decoded, since a PNG may
    keep its ``eXIf`` chunk after the image data.

    Parameters
    ----------
    image : Image.Image
        The opened (not yet decoded) image.
    name : str
        The photo's name in notes.

    Returns
    -------
    PhotoMeta
        Checked capture time, position, camera and notes.
    """
    raw = image.info.get("exif")
    if isinstance(raw, bytes) and len(raw) > MAX_EXIF_BYTES:
        return PhotoMeta(notes=(_note("exif_too_large", name, len(raw)),))
    if isinstance(raw, bytes) and raw and not _tiff_header_ok(raw):
        return PhotoMeta(notes=(_note("exif_unreadable", name, "TIFF header"),))
    try:
        exif = image.getexif()
        exif_ifd = dict(exif.get_ifd(ExifTags.IFD.Exif))
        gps_ifd = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
        base = dict(exif)
    except Exception as exc:  # Pillow's IFD parser raises many types on crafted blocks
        return PhotoMeta(notes=(_note("exif_unreadable", name, exc),))
    notes: list[PhotoNote] = []
    taken_at, source, assumed = _taken_at(exif_ifd, gps_ifd, name, notes)
    lat, lon = _position(gps_ifd, name, notes)
    return PhotoMeta(
        taken_at=taken_at,
        taken_at_source=source,
        zone_assumed=assumed,
        lat=lat,
        lon=lon,
        camera=_camera(base),
        notes=tuple(notes),
    )


def _tiff_header_ok(raw: bytes) -> bool:
    """True when the block starts like TIFF and its first IFD lies inside it.

    Pillow silently reads a block with a broken header as empty; this check turns
    that into a note a reviewer can see.
    """
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    orders: dict[bytes, Literal["little", "big"]] = {b"II*\x00": "little", b"MM\x00*": "big"}
    order = orders.get(tiff[:4])
    if order is None:
        return False
    return 8 <= int.from_bytes(tiff[4:8], order) < len(tiff)


# ------------------------------------------------------------------------------ time


def _taken_at(
    exif_ifd: Mapping[int, Any], gps_ifd: Mapping[int, Any], name: str, notes: list[PhotoNote]
) -> tuple[datetime | None, TimeSource | None, bool]:
    candidates: tuple[tuple[TimeSource, int, int], ...] = (
        ("exif_original", _TAG.DateTimeOriginal, _TAG.OffsetTimeOriginal),
        ("exif_digitized", _TAG.DateTimeDigitized, _TAG.OffsetTimeDigitized),
    )
    for source, time_tag, offset_tag in candidates:
        if time_tag not in exif_ifd:
            continue
        try:
            parsed = parse_exif_datetime(exif_ifd[time_tag], exif_ifd.get(offset_tag), name)
        except _Dropped as dropped:
            notes.append(dropped.note)
            continue
        if parsed is not None:
            return parsed[0], source, parsed[1]
    try:
        gps_time = _gps_datetime(gps_ifd, name)
    except _Dropped as dropped:
        notes.append(dropped.note)
        gps_time = None
    return (gps_time, "gps", False) if gps_time is not None else (None, None, False)


def parse_exif_datetime(value: Any, offset: Any, name: str = "") -> tuple[datetime, bool] | None:
    """An EXIF ``YYYY:MM:DD HH:MM:SS`` (plus optional ``±HH:MM`` offset) as an aware datetime.

    Returns ``(when, zone_assumed)``, or ``None`` for the blank values cameras write
    when their clock is unset (``0000:00:00 00:00:00``, spaces). Raises ``_Dropped``
    (a ``ValueError``) for text that is neither a time nor blank.

    Parameters
    ----------
    value : Any
        The EXIF date/time text.
    offset : Any
        The matching ``OffsetTime*`` tag's value, if any.
    name : str
        The photo's name in notes.

    Returns
    -------
    tuple or None
        (aware datetime, whether the zone was assumed), or None when absent or invalid.
    """
    text = _text(value)
    if not text.strip(" :0-"):
        return None
    match = _DATETIME.match(text)
    try:
        if not match:
            raise ValueError(text)
        parts = [int(p) for p in match.groups()]
        if not YEAR_RANGE[0] <= parts[0] <= YEAR_RANGE[1]:
            raise ValueError(text)
        naive = datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
    except ValueError as exc:
        raise _Dropped(_note("exif_time_invalid", name, text)) from exc
    zone = _offset(offset)
    if zone is None:
        return naive.replace(tzinfo=LOCAL_ZONE), True
    return naive.replace(tzinfo=zone), False


def _offset(value: Any) -> timezone | None:
    """``+07:00`` as a timezone; absent or malformed offsets give ``None`` (zone assumed)."""
    if value is None:
        return None
    match = _OFFSET.match(_text(value))
    if not match:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) >= 60:
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _gps_datetime(gps_ifd: Mapping[int, Any], name: str) -> datetime | None:
    if _GPS.GPSDateStamp not in gps_ifd or _GPS.GPSTimeStamp not in gps_ifd:
        return None
    date_text = _text(gps_ifd[_GPS.GPSDateStamp])
    try:
        match = _DATE.match(date_text)
        hms = _numbers(gps_ifd[_GPS.GPSTimeStamp])
        if not match or len(hms) != 3:
            raise ValueError(date_text)
        year, month, day = (int(p) for p in match.groups())
        hour, minute, second = hms
        if not YEAR_RANGE[0] <= year <= YEAR_RANGE[1] or not (
            0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 61
        ):
            raise ValueError(date_text)
        midnight = datetime(year, month, day, tzinfo=UTC)
    except (ValueError, TypeError, OverflowError, ZeroDivisionError) as exc:
        raise _Dropped(_note("exif_time_invalid", name, date_text)) from exc
    return midnight + timedelta(hours=hour, minutes=minute, seconds=second)


# -------------------------------------------------------------------------- position


def _position(
    gps_ifd: Mapping[int, Any], name: str, notes: list[PhotoNote]
) -> tuple[float | None, float | None]:
    if _GPS.GPSLatitude not in gps_ifd and _GPS.GPSLongitude not in gps_ifd:
        return None, None
    try:
        lat = _coordinate(gps_ifd, _GPS.GPSLatitude, _GPS.GPSLatitudeRef, "NS", 90.0, name)
        lon = _coordinate(gps_ifd, _GPS.GPSLongitude, _GPS.GPSLongitudeRef, "EW", 180.0, name)
    except _Dropped as dropped:
        notes.append(dropped.note)
        return None, None
    if lat == 0.0 and lon == 0.0:  # "null island": a receiver with no fix writing zeros
        notes.append(_note("exif_gps_zero", name))
        return None, None
    return lat, lon


def _coordinate(
    gps_ifd: Mapping[int, Any], value_tag: int, ref_tag: int, refs: str, limit: float, name: str
) -> float:
    ref = _text(gps_ifd.get(ref_tag, "")).strip().upper()
    if ref not in refs or len(ref) != 1:
        raise _Dropped(_note("exif_gps_ref_invalid", name, ref or "—"))
    try:
        parts = _numbers(gps_ifd.get(value_tag))
    except (ValueError, TypeError, OverflowError, ZeroDivisionError):
        parts = []
    if not 1 <= len(parts) <= 3 or any(not math.isfinite(p) or p < 0 for p in parts):
        raise _Dropped(_note("exif_gps_invalid", name))
    if any(p >= 60 for p in parts[1:]):
        raise _Dropped(_note("exif_gps_invalid", name))
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    if degrees > limit:
        raise _Dropped(_note("exif_gps_invalid", name))
    return -degrees if ref in "SW" else degrees


def _numbers(value: Any) -> list[float]:
    """EXIF rationals (Pillow's ``IFDRational``, ``(num, den)`` pairs or numbers) as floats."""
    if value is None:
        return []
    items = value if isinstance(value, tuple | list) else (value,)
    out = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            out.append(float(item[0]) / float(item[1]))
        else:
            out.append(float(item))
    return out


# ----------------------------------------------------------------------------- text


def _camera(base: Mapping[int, Any]) -> str | None:
    make = _clean(base.get(_TAG.Make))
    model = _clean(base.get(_TAG.Model))
    if model and make and model.lower().startswith(make.lower()):
        make = ""
    text = " ".join(part for part in (make, model) if part)
    return text[:MAX_TEXT_CHARS] or None


def _clean(value: Any) -> str:
    return " ".join(display_text(_text(value)[: MAX_TEXT_CHARS * 2]).split())


def _text(value: Any) -> str:
    """An EXIF ASCII value as ``str``: bytes decoded leniently, NULs and padding dropped."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).replace("\x00", "").strip()


_NOTES = {
    "exif_too_large": (
        "khối EXIF {0:,} byte quá lớn, bỏ qua toàn bộ siêu dữ liệu",
        "the {0:,}-byte EXIF block is too large; all metadata ignored",
    ),
    "exif_unreadable": (
        "không đọc được EXIF ({0}), bỏ qua siêu dữ liệu",
        "the EXIF block cannot be read ({0}); metadata ignored",
    ),
    "exif_time_invalid": (
        "thời điểm chụp trong EXIF không hợp lệ ({0!r}), bỏ qua",
        "the EXIF capture time is invalid ({0!r}); ignored",
    ),
    "exif_gps_ref_invalid": (
        "hướng GPS trong EXIF không phải N/S/E/W ({0!r}), bỏ qua vị trí",
        "the EXIF GPS reference is not N/S/E/W ({0!r}); position ignored",
    ),
    "exif_gps_invalid": (
        "toạ độ GPS trong EXIF không hợp lệ, bỏ qua vị trí",
        "the EXIF GPS coordinates are invalid; position ignored",
    ),
    "exif_gps_zero": (
        "toạ độ GPS trong EXIF là 0,0 (máy chưa bắt được vệ tinh), bỏ qua vị trí",
        "the EXIF GPS position is 0,0 (no satellite fix); position ignored",
    ),
}


def _note(code: str, name: str, *args: Any) -> PhotoNote:
    shown = [display_text(str(a))[:40] if isinstance(a, str | BaseException) else a for a in args]
    vi, en = _NOTES[code]
    return PhotoNote(code, f"{label(name)}: {vi.format(*shown)}.", f"{label(name)}: {en.format(*shown)}.")
