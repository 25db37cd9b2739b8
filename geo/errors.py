"""Every error the project raises, in one place.

Each error carries a Vietnamese and an English message, because the officers who
read them work in Vietnamese and the maintainers often in English. They subclass
built-ins (ValueError, PermissionError, ...) so callers can catch them either way.
"""

from __future__ import annotations


class GeoError(Exception):
    """Base of the project's errors; ``str()`` gives "Vietnamese / English"."""

    def __init__(self, message_vi: str, message_en: str | None = None) -> None:
        self.message_vi = message_vi
        self.message_en = message_en if message_en is not None else message_vi
        super().__init__(self.bilingual)

    @property
    def bilingual(self) -> str:
        """"Vietnamese / English" (one text when both are the same): what ``str()`` shows."""
        if self.message_vi == self.message_en:
            return self.message_vi
        return f"{self.message_vi} / {self.message_en}"

    def message(self, lang: str = "vi") -> str:
        """The message in one language, for a page that shows the user's language only.

        Parameters
        ----------
        lang : str
            ``"vi"``; any other value gives the English message.

        Returns
        -------
        str
            The message.
        """
        return self.message_vi if lang == "vi" else self.message_en


class CRSError(GeoError, ValueError):
    """A layer has no CRS, or one we cannot use."""


class BoundaryError(GeoError, ValueError):
    """A boundary layer cannot be read or is unusable."""


class IngestError(GeoError, ValueError):
    """An incident file cannot be read at all (row-level problems are rejects, not errors)."""


class LimitExceeded(IngestError):
    """An upload is over a configured size, row or cell limit."""


class StorageError(GeoError, RuntimeError):
    """The store cannot be opened, migrated or written."""


class IdentityConflict(StorageError):
    """Another writer stored some of a batch's incidents after the batch was classified
    (the store's unique identity keys refused the second copy; nothing was written).
    :func:`geo.ingest.commit` classifies the upload again and retries."""


class MetricError(GeoError, ValueError):
    """An unknown metric, matrix value or density option was asked for."""


class InvalidArgument(GeoError, ValueError):
    """A command-line or URL value that cannot be understood (a date, a status, a type)."""


class NotFound(GeoError, LookupError):
    """An incident, user or ward that does not exist."""


class WorkflowError(GeoError, ValueError):
    """A status transition the workflow does not allow."""


class AccessDenied(GeoError, PermissionError):
    """The acting user's role or wards do not allow the action."""


class TooManyAttempts(AccessDenied):
    """Sign-in is throttled or locked after failed attempts (:mod:`geo.throttle`); the same
    words whether or not the name typed is an account."""


class NetworkUnavailable(GeoError, ConnectionError):
    """An online-only action (Overpass, npm) was asked for without a network."""


class AssetError(GeoError, OSError):
    """Map assets (Leaflet files) are missing, corrupt or unknown."""


class Open311Error(GeoError, ValueError):
    """A GeoReport v2 request the server refuses: ``status`` is the HTTP status (400, 403,
    404, 413, 429) and ``code`` the number in the spec's error list (the same);
    ``retry_after`` the seconds a rate-limited client should wait."""

    def __init__(
        self, status: int, message_vi: str, message_en: str | None = None,
        *, retry_after: int | None = None,
    ) -> None:
        super().__init__(message_vi, message_en)
        self.status = status
        self.code = status
        self.retry_after = retry_after
