"""Rate limits per API key and per client address, with the ``limits`` library.

A moving window per key (POSTs) and per address (every request), configured by
``GEO_SERVE_RATE_PER_KEY`` and ``GEO_SERVE_RATE_PER_ADDRESS``. The counters live in
the server process's memory: one uvicorn worker per store is the deployment the README
describes; several workers would each count on their own (use a shared ``limits``
storage then).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from geo import settings
from geo.errors import Open311Error


class _SweptStorage(MemoryStorage):
    """``limits``' memory storage, its expiry sweep run by the callers at most once a second.

    The stock storage starts a new timer thread whenever its 10 ms sweep timer has ended,
    which under a steady load is once per request: measured here, starting it cost more
    than the rest of a POST's checks together. The counts are unchanged: a moving window
    compares the entries' times itself; the sweep only frees memory.
    """

    def __init__(self) -> None:
        super().__init__()
        self._swept = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # the stock (name-mangled) hook
        now = time.monotonic()
        if now - self._swept >= 1.0:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


@dataclass
class RateLimits:
    """Counters of one server; the configured rates are read when it is made."""

    per_key: list[RateLimitItem] = field(
        default_factory=lambda: list(parse_many(settings.serve_rate_per_key()))
    )
    per_address: list[RateLimitItem] = field(
        default_factory=lambda: list(parse_many(settings.serve_rate_per_address()))
    )

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(_SweptStorage())

    def _hit(self, items: list[RateLimitItem], kind: str, who: str) -> None:
        for item in items:
            if not self._limiter.hit(item, kind, who):
                reset = self._limiter.get_window_stats(item, kind, who).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                raise Open311Error(
                    429,
                    f"Quá nhiều yêu cầu ({item}); hãy thử lại sau {wait} giây.",
                    f"Too many requests ({item}); try again in {wait} s.",
                    retry_after=wait,
                )

    def address(self, address: str) -> None:
        """Count one request from ``address``; a 429 error when over its rate."""
        self._hit(self.per_address, "address", address)

    def key(self, key_id: int) -> None:
        """Count one POST with key ``key_id``; a 429 error when over its rate."""
        self._hit(self.per_key, "key", str(key_id))
