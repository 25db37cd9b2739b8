"""Photo evidence: before and after photos, checked against where and when they were taken.

A pure library (no store): the store, ingest, CLI and app call it.

* :mod:`geo.photos.read` — size, format sniffing, hostile-file checks, decoding.
* :mod:`geo.photos.exif` — checked capture time and GPS position from EXIF.
* :mod:`geo.photos.checks` — the flags (``photo_far``, ``photo_no_gps``, ...).
* :mod:`geo.photos.media` — content-addressed files, thumbnails, EXIF-free copies.
* :mod:`geo.photos.process` — one photo end to end; batches streamed through threads.
* :mod:`geo.photos.bundle` — ZIP field bundles, photo columns and cells.
* :mod:`geo.photos.synthetic` — small deterministic before/after sample photos.

Limits and the media folder come from :mod:`geo.settings` (``GEO_PHOTO_MAX_M``,
``GEO_PHOTO_MAX_BYTES``, ``GEO_PHOTO_MAX_PIXELS``, ``GEO_MEDIA_DIR``), read when used;
every function also takes them as keyword parameters whose ``None`` means "the setting".
"""

from __future__ import annotations

from geo.photos.bundle import (
    FieldBundle,
    PhotoColumn,
    open_bundle,
    parse_photo_cell,
    photo_columns,
    photo_link,
)
from geo.photos.checks import (
    FLAGS,
    PHASH_SAME_MAX_BITS,
    PhotoCheck,
    Role,
    check_photo,
    distance_m,
    is_reused,
    photo_role,
    same_picture,
)
from geo.photos.exif import LOCAL_ZONE, PhotoMeta, PhotoNote, read_metadata
from geo.photos.media import MediaStore, StoredMedia, make_thumbnail, stripped_copy
from geo.photos.process import (
    LoadedPhoto,
    PhotoInfo,
    PhotoOutcome,
    PhotoSource,
    ingest_photos,
    load_photo,
    store_photo,
)
from geo.photos.read import PhotoFormat, check_size, sniff_format

__all__ = [
    "FLAGS",
    "LOCAL_ZONE",
    "PHASH_SAME_MAX_BITS",
    "FieldBundle",
    "LoadedPhoto",
    "MediaStore",
    "PhotoCheck",
    "PhotoColumn",
    "PhotoFormat",
    "PhotoInfo",
    "PhotoMeta",
    "PhotoNote",
    "PhotoOutcome",
    "PhotoSource",
    "Role",
    "StoredMedia",
    "check_photo",
    "check_size",
    "distance_m",
    "ingest_photos",
    "is_reused",
    "load_photo",
    "make_thumbnail",
    "open_bundle",
    "parse_photo_cell",
    "photo_columns",
    "photo_link",
    "photo_role",
    "read_metadata",
    "same_picture",
    "sniff_format",
    "store_photo",
    "stripped_copy",
]
