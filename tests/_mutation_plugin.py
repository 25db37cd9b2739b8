"""pytest plugin for mutation runs: every test session starts as in a fresh interpreter.

mutmut 3 runs the unmutated tests once in its own process, then forks one child per
mutant. Module-level caches filled by that first run (the ward index of
:func:`geo.assign.ward_index`, ``lru_cache`` tables) would be inherited by every child,
so a mutant in the code that *builds* a cached value would never run and would survive
for a wrong reason. Clearing them at session start removes that blind spot.
"""

from __future__ import annotations

import sys
from typing import Any


def _clear_caches() -> None:
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "geo" or name.startswith("geo.")):
            continue
        for attr, value in list(vars(module).items()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
            elif attr.endswith("_CACHE") and isinstance(value, dict):
                value.clear()


def pytest_sessionstart(session: Any) -> None:
    _clear_caches()
