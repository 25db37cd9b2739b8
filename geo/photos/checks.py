"""Flags that tell a reviewer how far a photo's own metadata supports it as evidence.

Pure functions over plain values (no store, no files): the caller passes the
incident's position and report time, the hashes of photos already attached to
*other* incidents, and the perceptual hashes of the incident's *before* photos.

Flags (each a string, in this order when several apply):

``photo_no_gps`` / ``photo_no_time``
    The photo does not say where or when it was taken (or said it in a way that was
    dropped as invalid, see :mod:`geo.photos.exif`). Not a rejection: messaging apps
    strip metadata all the time.
``photo_far``
    Its GPS is more than ``GEO_PHOTO_MAX_M`` (default 50 m) from the incident,
    measured in metres in EPSG:32648 (UTM 48N). The distance is returned either way.
``photo_before_report``
    An *after* photo taken before the incident was even reported: it cannot show
    the clearance.
``photo_future``
    Taken later than now, beyond :data:`CLOCK_SKEW` of tolerance for phone and server
    clocks: the camera's clock (or its metadata) is wrong.
``photo_reused``
    The same bytes (sha256) are already attached to another incident.
``after_same_as_before``
    An *after* photo whose perceptual hash is within :data:`PHASH_SAME_MAX_BITS` of
    a before photo of the same incident: nearly the same picture, so it does not
    show a change.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

import imagehash
from pyproj import Transformer

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.errors import InvalidArgument
from geo.photos.exif import LOCAL_ZONE, PhotoMeta
from geo.settings import photo_max_m

Role = Literal["before", "after"]

PHOTO_NO_GPS = "photo_no_gps"
PHOTO_NO_TIME = "photo_no_time"
PHOTO_FAR = "photo_far"
PHOTO_BEFORE_REPORT = "photo_before_report"
PHOTO_FUTURE = "photo_future"
PHOTO_REUSED = "photo_reused"
AFTER_SAME_AS_BEFORE = "after_same_as_before"
#: Every flag, in the order :func:`check_photo` reports them.
FLAGS = (
    PHOTO_NO_GPS,
    PHOTO_NO_TIME,
    PHOTO_FAR,
    PHOTO_BEFORE_REPORT,
    PHOTO_FUTURE,
    PHOTO_REUSED,
    AFTER_SAME_AS_BEFORE,
)

#: Perceptual hashes (``imagehash.phash``, 64 bits, of the upright ≤480 px copy) that
#: differ in at most this many bits are "nearly the same picture". Measured on a
#: synthetic street scene: re-encoding at JPEG quality 40, halving the size or +15 %
#: brightness differ by 0–2 bits, cropping 5–10 % or padding as a screenshot 6–8 bits;
#: the same spot with the stall removed 16–20 bits, an unrelated scene about 32.
PHASH_SAME_MAX_BITS = 8
#: How far in the future a capture time may be before ``photo_future``: phones set
#: their clocks from the network, but a few minutes of drift are common.
CLOCK_SKEW = timedelta(minutes=10)

#: Which role a photo plays, from the event it was taken with.
ROLE_BY_EVENT: dict[str, Role] = {
    "report": "before",
    "clearance": "after",
    "reinspection": "after",
}


@dataclass(frozen=True)
class PhotoCheck:
    """The flags that apply to one photo, and its distance to the incident (metres)."""

    flags: tuple[str, ...]
    distance_m: float | None


def photo_role(event: str) -> Role:
    """``before`` for a photo taken with a report; ``after`` with a clearance or re-inspection.

    Parameters
    ----------
    event : str
        ``report``, ``clearance`` or ``reinspection``.

    Returns
    -------
    str
        ``before`` or ``after``.
    """
    try:
        return ROLE_BY_EVENT[event]
    except KeyError:
        known = ", ".join(ROLE_BY_EVENT)
        raise InvalidArgument(
            f"Không rõ ảnh đi kèm sự kiện {event!r}; chỉ có: {known}.",
            f"Unknown photo event {event!r}; known events: {known}.",
        ) from None


@lru_cache(maxsize=1)
def _to_metric() -> Transformer:
    return Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres between two WGS 84 points, measured in EPSG:32648 (UTM 48N).

    Parameters
    ----------
    lat1 : float
        First point's latitude (WGS 84).
    lon1 : float
        First point's longitude.
    lat2 : float
        Second point's latitude.
    lon2 : float
        Second point's longitude.

    Returns
    -------
    float
        Metres.
    """
    (x1, x2), (y1, y2) = _to_metric().transform([lon1, lon2], [lat1, lat2])
    return float(((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5)


def is_reused(sha256: str, attached_elsewhere: Collection[str] | Callable[[str], bool]) -> bool:
    """True when the same bytes are already attached to another incident.

    ``attached_elsewhere`` is either the set of sha256 hashes attached to other
    incidents or a callable answering that question for one hash (a store lookup).

    Parameters
    ----------
    sha256 : str
        The photo's content hash (hex).
    attached_elsewhere : Collection[str] | Callable[[str], bool]
        Hashes attached to other incidents, or a lookup answering for one hash.

    Returns
    -------
    bool
        True when attached elsewhere.
    """
    if callable(attached_elsewhere):
        return bool(attached_elsewhere(sha256))
    return sha256 in attached_elsewhere


def phash_distance(a: str, b: str) -> int:
    """Number of differing bits between two hex perceptual hashes.

    Parameters
    ----------
    a : str
        A hex perceptual hash.
    b : str
        Another hex perceptual hash.

    Returns
    -------
    int
        Differing bits (0–64).
    """
    return int(imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b))


def same_picture(a: str, b: str, *, max_bits: int = PHASH_SAME_MAX_BITS) -> bool:
    """True when two perceptual hashes say "nearly the same picture".

    Parameters
    ----------
    a : str
        A hex perceptual hash.
    b : str
        Another hex perceptual hash.
    max_bits : int
        Most differing bits still counted as the same picture.

    Returns
    -------
    bool
        True within ``max_bits``.
    """
    return phash_distance(a, b) <= max_bits


def check_photo(
    meta: PhotoMeta,
    *,
    role: Role,
    incident_lat: float | None,
    incident_lon: float | None,
    reported_at: datetime | None,
    sha256: str | None = None,
    phash: str | None = None,
    attached_elsewhere: Collection[str] | Callable[[str], bool] = (),
    before_phashes: Iterable[str] = (),
    now: datetime | None = None,
    max_m: float | None = None,
) -> PhotoCheck:
    """Every flag that applies to one photo of one incident.

    Parameters
    ----------
    meta
        The photo's checked metadata (:func:`geo.photos.exif.read_metadata`).
    role
        ``before`` or ``after`` (:func:`photo_role`).
    incident_lat, incident_lon, reported_at
        The incident's WGS 84 position and report time. A naive ``reported_at`` is
        taken as Asia/Ho_Chi_Minh time, like EXIF times without an offset.
    sha256, attached_elsewhere
        The photo's content hash and the hashes on other incidents (or a lookup).
    phash, before_phashes
        The photo's perceptual hash and those of the incident's before photos; only
        used for an ``after`` photo.
    now
        The current time (default: the clock), for ``photo_future``.
    max_m
        Distance limit in metres (default ``GEO_PHOTO_MAX_M``).

    Returns
    -------
    PhotoCheck
        The flags raised, in :data:`FLAGS` order, and the distance in metres.
    """
    flags: list[str] = []
    distance = _distance(meta, incident_lat, incident_lon)
    if not meta.has_gps:
        flags.append(PHOTO_NO_GPS)
    if meta.taken_at is None:
        flags.append(PHOTO_NO_TIME)
    limit = photo_max_m() if max_m is None else max_m
    if distance is not None and distance > limit:
        flags.append(PHOTO_FAR)
    flags += _time_flags(meta.taken_at, role, reported_at, now)
    if sha256 is not None and is_reused(sha256, attached_elsewhere):
        flags.append(PHOTO_REUSED)
    if role == "after" and phash is not None and any(
        same_picture(phash, before) for before in before_phashes
    ):
        flags.append(AFTER_SAME_AS_BEFORE)
    return PhotoCheck(flags=tuple(flags), distance_m=distance)


def _distance(meta: PhotoMeta, lat: float | None, lon: float | None) -> float | None:
    if meta.lat is None or meta.lon is None or lat is None or lon is None:
        return None
    return distance_m(meta.lat, meta.lon, lat, lon)


def _time_flags(
    taken_at: datetime | None, role: Role, reported_at: datetime | None, now: datetime | None
) -> list[str]:
    if taken_at is None:
        return []
    flags = []
    if role == "after" and reported_at is not None and taken_at < _aware(reported_at):
        flags.append(PHOTO_BEFORE_REPORT)
    current = _aware(now) if now is not None else datetime.now(LOCAL_ZONE)
    if taken_at > current + CLOCK_SKEW:
        flags.append(PHOTO_FUTURE)
    return flags


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_ZONE)
