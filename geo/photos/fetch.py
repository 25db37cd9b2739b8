"""Download KoboToolbox photo links, from allowed hosts only.

A field file's ``<question>_URL`` column holds a link to the form server's copy of a
photo. Ingest keeps the link and never fetches it: a server-side request to an address
that a file chose could reach anything the server can (an internal admin page, a cloud
metadata endpoint). ``python -m geo photos fetch --host HOST`` downloads them later,
on an operator's command, and only when:

* the link is plain ``http``/``https`` with no user name or password in it;
* its host (``host`` or ``host:port``, compared in lower case) is the ``--host`` given
  *and* is listed in ``GEO_PHOTO_FETCH_HOSTS``;
* the server answers with the photo itself: redirects are refused, not followed
  (a redirect could point anywhere), and the body is read up to
  ``GEO_PHOTO_MAX_BYTES`` and no further.

What comes back is checked like any other photo (:func:`geo.photos.load_photo`).
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

import requests

from geo import settings
from geo.errors import IngestError, InvalidArgument, LimitExceeded
from geo.photos.read import label

#: Seconds to wait for a connection or for the next bytes.
TIMEOUT_S = 30.0
_CHUNK = 256 * 1024


def link_host(url: str) -> str:
    """The ``host[:port]`` of an http(s) link, lower case; a bilingual refusal otherwise.

    Parameters
    ----------
    url : str
        The photo link.

    Returns
    -------
    str
        ``host`` or ``host:port``, lower case.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidArgument(
            f"Liên kết ảnh không hợp lệ (chỉ http/https): {label(url)!r}.",
            f"Not a valid photo link (http/https only): {label(url)!r}.",
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidArgument(
            f"Liên kết ảnh chứa tên đăng nhập hoặc mật khẩu: {label(url)!r}.",
            f"The photo link holds a user name or password: {label(url)!r}.",
        )
    host = parts.hostname.lower()
    return f"{host}:{port}" if port is not None else host


def check_allowed(url: str, host: str, allowed: Collection[str] | None = None) -> str:
    """Refuse a link whose host is not ``host`` or not in the allow-list; returns its host.

    Parameters
    ----------
    url
        The link.
    host
        The host the operator asked to fetch from (``--host``).
    allowed
        The allow-list (default ``GEO_PHOTO_FETCH_HOSTS``).

    Returns
    -------
    str
        The link's host.
    """
    hosts = {h.lower() for h in (settings.photo_fetch_hosts() if allowed is None else allowed)}
    asked = host.strip().lower()
    if asked not in hosts:
        shown = ", ".join(sorted(hosts)) or "(trống / empty)"
        raise InvalidArgument(
            f"Máy chủ {asked!r} không có trong GEO_PHOTO_FETCH_HOSTS ({shown}); không tải gì.",
            f"The host {asked!r} is not in GEO_PHOTO_FETCH_HOSTS ({shown}); nothing was fetched.",
        )
    found = link_host(url)
    if found != asked:
        raise InvalidArgument(
            f"Liên kết {label(url)!r} thuộc máy chủ {found!r}, không phải {asked!r}; không tải.",
            f"The link {label(url)!r} is on host {found!r}, not {asked!r}; not fetched.",
        )
    return found


def fetch_photo(
    url: str,
    *,
    host: str,
    token: str | None = None,
    allowed: Collection[str] | None = None,
    max_bytes: int | None = None,
    session: requests.Session | None = None,
) -> bytes:
    """The bytes at an allowed photo link (see the module docstring for the rules).

    Parameters
    ----------
    url : str
        The link.
    host : str
        The host the operator asked to fetch from.
    token : str | None
        The Kobo API token, sent as ``Authorization: Token``.
    allowed : Collection[str] | None
        The allow-list (default ``GEO_PHOTO_FETCH_HOSTS``).
    max_bytes : int | None
        Size limit in bytes (default ``GEO_PHOTO_MAX_BYTES``).
    session : requests.Session | None
        The HTTP session to use (tests pass their own).

    Raises
    ------
    InvalidArgument
        The link or its host is not allowed (nothing was requested).
    IngestError
        The server refused, redirected or failed.
    LimitExceeded
        The body is larger than ``GEO_PHOTO_MAX_BYTES``.

    Returns
    -------
    bytes
        The photo's bytes, at most the size limit.
    """
    check_allowed(url, host, allowed)
    limit = settings.photo_max_bytes() if max_bytes is None else max_bytes
    headers = {"Authorization": f"Token {token}"} if token else {}
    client = session or requests.Session()
    try:
        with client.get(url, headers=headers, timeout=TIMEOUT_S, allow_redirects=False, stream=True) as reply:
            if reply.status_code != 200:
                raise IngestError(
                    f"{label(url)}: máy chủ trả lời {reply.status_code} (không theo chuyển hướng).",
                    f"{label(url)}: the server answered {reply.status_code} (redirects are not followed).",
                )
            body = bytearray()
            for chunk in reply.iter_content(_CHUNK):
                body += chunk
                if len(body) > limit:
                    raise LimitExceeded(
                        f"{label(url)}: ảnh lớn hơn giới hạn {limit:,} byte (GEO_PHOTO_MAX_BYTES).",
                        f"{label(url)}: the photo is larger than the limit of {limit:,} bytes "
                        "(GEO_PHOTO_MAX_BYTES).",
                    )
    except requests.RequestException as exc:
        raise IngestError(
            f"{label(url)}: không tải được ({type(exc).__name__}).",
            f"{label(url)}: could not be fetched ({type(exc).__name__}).",
        ) from exc
    return bytes(body)
