"""The four photo settings, each read from the environment by one small function.

Every function of :mod:`geo.photos` takes these as plain keyword parameters whose
``None`` default means "ask the reader here", so a caller (or a test) can pass a value
without touching the environment, and a central settings module can later replace
these readers without changing any signature.

``GEO_PHOTO_MAX_M``
    How far (metres, EPSG:32648) a photo's GPS may be from its incident before it is
    flagged ``photo_far``. 50 m: a phone's GPS is good to 5–15 m in the open and
    20–40 m in Hà Nội's narrow streets; an honest photo of the spot stays inside.
``GEO_PHOTO_MAX_BYTES``
    Largest photo file accepted, checked before any decoding. 25 MiB holds a 48 MP
    iPhone HEIC (about 5–8 MB) or a high-quality 48 MP JPEG (12–15 MB).
``GEO_PHOTO_MAX_PIXELS``
    Largest width × height decoded. 80 MP holds a 64 MP phone sensor's full output and
    stays under Pillow's own limit (``Image.MAX_IMAGE_PIXELS``, about 89.5 MP), which is
    kept as well: the lower of the two applies.
``GEO_MEDIA_DIR``
    Where photos are stored by content (``data/media/`` of the checkout, git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

from geo.errors import InvalidArgument

REPO_ROOT = Path(__file__).resolve().parents[2]

MAX_M_ENV = "GEO_PHOTO_MAX_M"
MAX_BYTES_ENV = "GEO_PHOTO_MAX_BYTES"
MAX_PIXELS_ENV = "GEO_PHOTO_MAX_PIXELS"
MEDIA_DIR_ENV = "GEO_MEDIA_DIR"

DEFAULT_MAX_M = 50.0
DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS = 80_000_000
DEFAULT_MEDIA_DIR = REPO_ROOT / "data" / "media"


def _positive(env: str, default: float) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise InvalidArgument(
            f"Biến môi trường {env}={raw!r} phải là một số dương.",
            f"Environment variable {env}={raw!r} must be a positive number.",
        )
    return value


def photo_max_m() -> float:
    """``GEO_PHOTO_MAX_M`` in metres (default 50)."""
    return _positive(MAX_M_ENV, DEFAULT_MAX_M)


def photo_max_bytes() -> int:
    """``GEO_PHOTO_MAX_BYTES`` (default 25 MiB)."""
    return int(_positive(MAX_BYTES_ENV, DEFAULT_MAX_BYTES))


def photo_max_pixels() -> int:
    """``GEO_PHOTO_MAX_PIXELS`` (default 80 million)."""
    return int(_positive(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS))


def media_dir() -> Path:
    """``GEO_MEDIA_DIR`` (default ``data/media/`` in the checkout)."""
    raw = os.environ.get(MEDIA_DIR_ENV, "").strip()
    return Path(raw) if raw else DEFAULT_MEDIA_DIR
