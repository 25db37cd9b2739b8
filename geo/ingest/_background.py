"""One call in a second thread: the ingest overlaps its numpy/pyarrow/shapely stages,
which release the GIL, on the two cores of a small server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``fn(*args, **kwargs)`` in its own thread; :meth:`result` waits and returns it (or
    raises what it raised). The thread ends with the call, whatever the caller does.

    Parameters
    ----------
    fn : callable
        The work; its arguments follow.
    """

    def __init__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn(*args, **kwargs)
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="geo-ingest", daemon=True)
        self._thread.start()

    def result(self) -> T:
        """Wait for the call.

        Returns
        -------
        object
            What the call returned (what it raised is raised here).
        """
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set: the call returned
