"""How a ``GEO_*`` variable's text becomes a typed value: :class:`Setting` and its parsers.

:mod:`geo.settings` is the list a deployer reads: every variable, documented in its one
docstring and declared as a :class:`Setting`, which reads it when called. This module is
the machinery under that list (reading the environment when asked, the parsers, the
bilingual error, the default as one would write it), kept apart so the list stays short
enough to read. A new variable goes in :mod:`geo.settings`; a new way of reading text (a
parser, imported there as ``parse.<name>``) goes here.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from geo.errors import GeoError, InvalidArgument

if TYPE_CHECKING:
    from geo.reinspect import Schedule

T = TypeVar("T")

#: The checkout; path defaults are inside it, and shown as ``<repo>`` in the docs.
REPO = Path(__file__).resolve().parents[1]


class Invalid(Exception):
    """A parser's reason for refusing a value; :meth:`Setting.__call__` adds name and value."""

    def __init__(self, reason_vi: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_vi = reason_vi
        self.reason_en = reason_en


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One ``GEO_*`` variable: name, documented type, default, parser, error class.

    Calling it reads the variable from the environment now, never at import (a test's
    ``monkeypatch.setenv`` is seen by the next call), and returns the parsed value of type
    ``T``, or ``default`` when the variable is unset or parses to None. A value that cannot
    be understood raises ``error`` (a :class:`~geo.errors.GeoError`, e.g.
    :class:`~geo.errors.LimitExceeded` for an upload limit), bilingual and naming the
    variable and the value. :mod:`geo.settings` declares each setting under the name its
    callers read it by, so ``settings.ingest_max_rows()`` is such a call, typed ``int``.

    ``parse`` gets the raw text of a variable that is set (possibly empty) and returns the
    value, or ``None`` for "use the default"; it raises :class:`Invalid` on a bad value.
    """

    name: str
    type_name: str
    default: T
    parse: Callable[[str], T | None]
    error: type[GeoError] = GeoError

    def __call__(self) -> T:
        """The current value, read from the environment now.

        Returns
        -------
        T
            The parsed value, or the default when the variable is unset (or parses to None).

        Raises
        ------
        geo.errors.GeoError
            The value cannot be understood: this setting's error class (e.g.
            :class:`~geo.errors.LimitExceeded`), naming the variable and the value.
        """
        raw = os.environ.get(self.name)
        if raw is None:
            return self.default
        try:
            value = self.parse(raw)
        except Invalid as bad:
            raise self.error(
                f"Biến môi trường {self.name}={raw!r} {bad.reason_vi}.",
                f"Environment variable {self.name}={raw!r} {bad.reason_en}.",
            ) from None
        return self.default if value is None else value

    def default_text(self) -> str:
        """The default as one would write it in the environment ("" when it is unset).

        Returns
        -------
        str
            The default, with ``<repo>`` for the checkout's path.
        """
        return env_text(self.default)


# -- parsers: one per way of reading text --------------------------------------------------


def text(raw: str) -> str | None:
    return raw or None


def path(raw: str) -> Path | None:
    return Path(raw) if raw else None


def on_words(raw: str) -> bool:
    return raw.strip().lower() in {"1", "true", "yes", "on", "có"}


def not_off_words(raw: str) -> bool:
    return raw.strip().lower() not in {"0", "false", "no", "off", ""}


def exactly_one(raw: str) -> bool:
    return raw == "1"


def minutes(raw: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        minutes = float(raw)
    except ValueError:
        raise Invalid("không phải số phút", "is not a number of minutes") from None
    if not math.isfinite(minutes):  # nan and inf made timedelta() raise a bare error
        raise Invalid("không phải số phút hữu hạn", "is not a finite number of minutes")
    if minutes <= 0:
        raise Invalid("phải lớn hơn 0 phút", "must be more than 0 minutes")
    return minutes


def count(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise Invalid("không phải số nguyên", "is not an integer") from None


def positive(raw: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise Invalid("không phải một số", "is not a number") from None
    if not 0 < value < math.inf:  # nan fails both comparisons
        raise Invalid("phải là một số hữu hạn lớn hơn 0", "must be a finite number above 0")
    return value


def type_list(raw: str) -> tuple[str, ...] | None:
    from geo.vocab import TYPE_CODES  # late, as in service_levels

    words = [w.strip() for w in raw.split(",") if w.strip()]
    if not words:
        return None
    if [w.lower() for w in words] == ["none"]:
        return ()
    unknown = [w for w in words if w not in TYPE_CODES]
    if unknown:
        raise Invalid(
            f"có loại không biết {', '.join(map(repr, unknown))} (các loại: {', '.join(TYPE_CODES)}; "
            "hoặc none)",
            f"names unknown types {', '.join(map(repr, unknown))} (types: {', '.join(TYPE_CODES)}; "
            "or none)",
        )
    return tuple(dict.fromkeys(words))


def hosts(raw: str) -> tuple[str, ...] | None:
    hosts = tuple(dict.fromkeys(h.strip().lower() for h in raw.split(",") if h.strip()))
    bad = [h for h in hosts if not re.fullmatch(r"[a-z0-9.-]+(:[0-9]{1,5})?", h)]
    if bad:
        raise Invalid(
            f"có mục không phải tên máy chủ: {', '.join(map(repr, bad))}",
            f"has entries that are not host names: {', '.join(map(repr, bad))}",
        )
    return hosts or None


def positive_count(raw: str) -> int | None:
    value = count(raw)
    if value is not None and value < 1:
        raise Invalid("phải từ 1 trở lên", "must be 1 or more")
    return value


def hours(raw: str) -> float | None:
    try:
        return minutes(raw)
    except Invalid:
        raise Invalid("không phải số giờ hữu hạn lớn hơn 0", "is not a finite number of hours above 0") from None


def service_levels(raw: str) -> dict[str, float] | None:
    from geo.vocab import TYPE_CODES  # late: pandas is not needed to read the others

    levels: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in raw.strip().split(","))):
        code, _, days = part.partition("=")
        code = code.strip()
        try:
            value = float(days)
        except ValueError:
            value = -1.0
        # nan fell back to the "other" level unseen, inf broke the next ingest: refused
        if code not in TYPE_CODES or not 0 < value < math.inf:
            raise Invalid(
                f"có mục {part!r} không hợp lệ (dạng loại=số_ngày, loại thuộc "
                f"{', '.join(TYPE_CODES)}, số ngày > 0)",
                f"has an invalid entry {part!r} (expected type=days with type in "
                f"{', '.join(TYPE_CODES)} and finite days > 0)",
            )
        levels[code] = value
    return levels or None


def metres(raw: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        metres = float(raw)
    except ValueError:
        raise Invalid("không phải số mét", "is not a number of metres") from None
    if not math.isfinite(metres) or metres <= 0:
        raise Invalid("phải là số mét hữu hạn lớn hơn 0", "must be a finite number of metres above 0")
    return metres


def schedule(raw: str) -> Schedule | None:
    from geo.reinspect import parse_schedule  # late: pandas is not needed to read the others

    if not raw.strip():
        return None
    try:
        return parse_schedule(raw)
    except InvalidArgument as bad:
        raise Invalid(f"không hợp lệ ({bad.message_vi})", f"is invalid ({bad.message_en})") from None


def names(raw: str) -> tuple[str, ...] | None:
    names = tuple(p.strip() for p in raw.split(",") if p.strip())
    return names or None


def rate(raw: str) -> str | None:
    from limits import parse_many  # late: only the Open311 server needs it

    raw = raw.strip()
    if not raw:
        return None
    try:
        parse_many(raw)
    except ValueError:
        raise Invalid(
            "không phải giới hạn tần suất (dạng 60/minute)", "is not a rate limit (such as 60/minute)"
        ) from None
    return raw


def env_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return f"{value:_}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={env_text(v)}" for k, v in value.items())
    return str(value).replace(str(REPO), "<repo>")
