"""Every ``GEO_*`` environment variable the project reads, in one place.

The app, the CLI and the tests are configured through environment variables only, so a
deployment (a systemd unit, a container, ``.ci/run``) sets them the same way everywhere.
Each one is read *when it is used*, never at import: a test changes one with
``monkeypatch.setenv`` and the next call sees it, and a long-running app picks up nothing
stale from the process that imported it. Read them through the typed accessors below
(``settings.database_url() -> str``, ``settings.ingest_max_rows() -> int``, ...), never
through ``os.environ`` (the parsers and the reading itself are in
:mod:`geo._settings_parse`); :data:`SETTINGS` lists them all, and the README's configuration
table is rendered from it (``python -m geo.settings``; ``tests/test_settings.py`` checks
that the README, this docstring and :data:`SETTINGS` agree).

A value that cannot be understood raises the project's bilingual error naming the variable
and the value, of the class its callers already handle (an upload limit a
:class:`~geo.errors.LimitExceeded`, the idle time an :class:`~geo.errors.AccessDenied`, the
service levels a :class:`~geo.errors.WorkflowError`). The text forms accepted differ on
purpose and are spelled out per variable: a switch that exposes data (``GEO_PUBLIC_VIEW``)
is on only when clearly on, one that merely helps a first start (``GEO_SEED_SAMPLE``) is
off only when clearly off. ``<repo>`` below is the checkout (the folder holding ``geo/``).

GEO_DATABASE_URL : str
    The store: a SQLAlchemy URL, ``sqlite:///FILE`` or ``postgresql://user@host/db``
    (PostgreSQL 15+ with PostGIS 3), or a bare SQLite file path. An empty value counts as
    unset. Why: one switch moves the app and every CLI command from the embedded file to a
    shared server; whoever holds this URL can edit the data directly.
    Default is ``sqlite:///<repo>/data/hanoi_urban_order.sqlite``.
GEO_BOUNDARIES : path
    The ward layer an empty store is filled with on first use. Any format
    ``boundaries import`` reads; an empty value counts as unset. Why:
    after the first start the store keeps its own versioned ward table, so this only
    chooses where a fresh deployment starts; admins replace wards through
    ``boundaries import``.
    Default is ``<repo>/data/boundaries/hanoi_wards_2025.geojson``.
GEO_STREETS : path
    The street-centreline layer used to name the street of an incident. An empty value
    counts as unset. Why: the committed layer covers the Old Quarter only; a city-wide one
    built with ``streets build``/``streets fetch`` can be swapped in without a code change.
    Default is ``<repo>/data/streets/hoan_kiem_streets_2019.geojson``.
GEO_VENDOR_DIR : path
    Where ``assets fetch`` puts the pinned Leaflet files and where the maps load them
    from. An empty value counts as unset. Why: the maps must work with no CDN; a read-only
    installation can keep the files elsewhere.
    Default is ``<repo>/static/vendor``.
GEO_OVERPASS_URL : str
    The Overpass API base URL of the online ``streets fetch`` command (its
    ``--overpass-url`` wins). Unset or empty: osmnx's own default. Why: a local or mirror
    Overpass server spares the public one and works inside a closed network. (``boundaries
    fetch`` does not read it: it uses osmnx's setting as it stands.) Default is unset.
GEO_SEED_SAMPLE : bool
    Whether an empty store gets the committed synthetic sample on first start. Off for
    ``0``, ``false``, ``no``, ``off`` and the empty string (any case, spaces ignored);
    anything else is on. Why: a first visit should show a working map, but a production
    store must never receive synthetic incidents. Default is ``1``.
GEO_PUBLIC_VIEW : bool
    Whether anonymous visitors may see per-ward counts. On for ``1``, ``true``, ``yes``,
    ``on`` and ``có`` (any case, spaces ignored); anything else, or unset, is off. Why: it
    exposes data without a sign-in, so a typo must leave it off. Default is ``0``.
GEO_SESSION_IDLE_MINUTES : float
    Minutes a signed-in session may stay idle before it is signed out. A finite number
    above 0 (fractions such as ``0.5`` allowed); empty or spaces count as unset. Why: shared office
    computers; a short value for kiosks, a long one for a single officer's laptop.
    Default is ``30``.
GEO_SESSION_MAX_HOURS : float
    Hours a signed-in session lasts at most, however active, counted from the sign-in; the
    session cookie expires with it. A finite number above 0; empty or spaces count as unset.
    Why: a session id that leaks (a shared computer, a copied cookie) must stop working on
    its own; one working day covers a shift. Default is ``12``.
GEO_LOGIN_DELAY_AFTER : int
    Failed sign-ins for one user name, or from one client address, within
    ``GEO_LOGIN_WINDOW_MINUTES`` after which each further attempt must wait: 1 s after the
    first of them, doubling with every further failure (capped at the window). An integer
    of at least 1. Why: a person mistypes a few times; a guessing script is slowed to a
    crawl. Default is ``5``.
GEO_LOGIN_LOCK_AFTER : int
    Failed sign-ins for one user name, or from one client address, within the window after
    which sign-in is locked for ``GEO_LOGIN_LOCK_MINUTES`` (an admin lifts it with ``users
    unlock``). An integer of at least 1. Why: caps how many guesses an attacker gets per
    lock period whatever the delay. Default is ``20``.
GEO_LOGIN_WINDOW_MINUTES : float
    Minutes over which failed sign-ins are counted; older failures are forgotten. A finite
    number above 0. Why: a week of occasional typos must not add up to a lock.
    Default is ``15``.
GEO_LOGIN_LOCK_MINUTES : float
    Minutes a locked user name or client address stays locked. A finite number above 0.
    Why: a temporary lock stops guessing without locking an officer out for the day.
    Default is ``15``.
GEO_INGEST_MAX_BYTES : int
    Largest upload accepted, in bytes; an integer, ``_`` allowed as a separator. Empty or
    spaces count as unset. Why: the upload page is open to many officers and must refuse a
    huge file before reading it into memory; a server-side CLI may allow more.
    Default is ``536_870_912``.
GEO_INGEST_MAX_ROWS : int
    Most data rows accepted in one upload; an integer, ``_`` allowed. Empty or spaces count
    as unset. Why: bounds the memory and time of one batch, which is one transaction.
    Default is ``2_000_000``.
GEO_INGEST_MAX_CELL_CHARS : int
    Longest cell accepted, in characters; an integer, ``_`` allowed. Empty or spaces count
    as unset. Why: a 10 MB "note" is an attack or a broken export, never a field report;
    a row with a longer cell is rejected (``cell_too_long``), the rest of the file is read.
    Default is ``10_000``.
GEO_INGEST_MAX_COLUMNS : int
    Most columns accepted in one upload, counted on the header line before the file is
    parsed; an integer, ``_`` allowed. Empty or spaces count as unset. Why: a field sheet
    has a few dozen columns, and a 1 MB header of 100,000 columns took a minute and 1.7 GB
    to parse before any limit could refuse it. Default is ``500``.
GEO_SLA_DAYS : type=days list
    Days from report to deadline for the violation types named, as in
    ``parking=0.5,signboard=30``. Each type is a code of :data:`geo.vocab.TYPES` and each
    number is finite and above 0; types not named keep their built-in level (``docs/storage.md``).
    Empty or spaces count as unset. Why: the city can agree different deadlines with the
    wards without a code change. Default is unset.
GEO_PHOTO_MAX_M : float
    How far, in metres measured in EPSG:32648, a photo's EXIF GPS position may be from its
    incident before the photo is flagged ``photo_far``; a finite number above 0, ``_``
    allowed, empty or spaces count as unset. Why: a phone's GPS is good to 5–15 m in the
    open and 20–40 m in Hà Nội's narrow streets, so an honest photo of the spot stays
    inside 50 m. Default is ``50``.
GEO_PHOTO_MAX_BYTES : int
    Largest photo file accepted, in bytes, checked before any decoding; an integer above 0,
    ``_`` allowed, empty or spaces count as unset. Why: 25 MiB holds a 48 MP iPhone HEIC
    (5–8 MB) or a high-quality 48 MP JPEG (12–15 MB), and a larger file is refused before
    it costs memory. Default is ``26_214_400``.
GEO_PHOTO_MAX_PIXELS : int
    Largest width × height of a photo that is decoded; an integer above 0, ``_`` allowed,
    empty or spaces count as unset. Pillow's own decompression-bomb limit (about 89.5 MP)
    is kept as well: the lower of the two applies. Why: 80 MP holds a 64 MP phone sensor's
    full output, and a small file that would decode to gigabytes is refused unread.
    Default is ``80_000_000``.
GEO_MEDIA_DIR : path
    Where photos and their thumbnails are stored, each under its content hash (sha256), so
    a re-uploaded photo stores nothing new. An empty value counts as unset. Why: the media
    can be put on a larger or shared disk (``docs/storage.md``) without moving the store.
    Default is ``<repo>/data/media``.
GEO_SNAPSHOT_DIR : path
    Where the map's snapshot of the stored incidents (their filterable columns as Arrow
    arrays, one file per store) is kept between server starts. An empty value counts as
    unset. Why: a freshly started app then reads about 40 MB per million incidents from
    this file instead of a million rows from the store; the file is checked against the
    store's hash-chained audit log and schema version before use, so a stale or damaged
    one is ignored and rewritten, never trusted. Any writable folder will do; deleting it
    only costs the next start a full read. The Compare and Progress figures that depend
    only on the store's state and the day are kept there too (``geo/_frame_file.py``).
    Default is ``<repo>/data/cache``.
GEO_CLEAR_NEEDS_PHOTO : type list
    The violation types whose clearance needs an after photo, as ``awning,sidewalk``
    (type codes, comma-separated; ``none`` for no type). Each is a code of
    :data:`geo.vocab.TYPES`; empty or spaces count as unset. Moving an incident of these types to ``cleared`` without an after photo is
    refused; one imported as already cleared is kept and flagged ``cleared_unverified``.
    Why: a clearance nobody can see is a claim, and awnings and pavement encroachment are
    where a photo shows the change plainly. Default is ``awning,sidewalk``.
GEO_PHOTO_FETCH_HOSTS : host list
    The only hosts ``photos fetch`` may download KoboToolbox photo links from, as
    ``kf.kobotoolbox.org,kc.kobotoolbox.org`` (host or host:port, comma-separated, any
    case); empty or spaces count as unset. Why: a link comes from a field file, and the
    server must never request an address a file chose; unset, nothing is fetched.
    Default is unset.
GEO_PUBLIC_MEDIA_URL : str
    The public base URL under which the media folder's ``thumbs/`` is served, as
    ``https://city.example/media``; empty counts as unset. Open311's ``media_url`` and
    other public links to photo thumbnails are built on it. Why: thumbnails carry no
    EXIF, so they may be public, but only where the operator serves them; unset, no
    public photo link is given. Default is unset.
GEO_PLACE_RADIUS_M : float
    How far, in metres (EPSG:32648), a new incident may be from an existing place of the
    same violation type and ward to join it (issue 12); a finite number above 0, spaces
    stripped, empty counts as unset. Why: a shopfront or a stretch of sidewalk is reported
    from a few metres apart; a wider radius merges neighbours, a narrower one splits one
    spot into several places. Changing it changes only places made afterwards
    (``places rebuild`` applies it to the whole store). Default is ``15``.
GEO_REINSPECT_DAYS : schedule
    Days after a clearance at which a cleared place is checked again, per violation type,
    as in ``awning:7,30,90;sidewalk:3,14``: entries separated by ``;``, each ``type:days``
    with distinct whole days above 0 separated by ``,``; an entry without a type
    (``5,20,60``) replaces the default for the types not named. Empty or spaces count as
    unset (7, 30 and 90 days for every type). Why: some violations come back faster than
    others, and the wards agree their checking rounds with the city. Default is unset.
GEO_USER : str
    The account a CLI command acts as when ``--user`` is not given; unset or empty: the
    operating-system login. Why: a script run by one officer need not repeat ``--user``
    on every line; rights are still checked against that account. Default is unset.
GEO_SERVE_JURISDICTION : str
    The ``jurisdiction_id`` the Open311 server answers for (``python -m geo serve``).
    Unset or empty: the parameter is accepted and ignored; set: a request naming another
    jurisdiction gets a 404 in the GeoReport error format. Why: one server per city needs
    no id, but a client that sends one must not be told about another city's requests.
    Default is unset.
GEO_SERVE_ALLOWED_ORIGINS : str list
    Web origins (``https://app.example.vn``, comma-separated) whose pages may call the
    Open311 server from a browser (CORS). Unset or empty: no CORS header at all. Why: open
    CORS would let any web page post reports with a visitor's address and read the
    answers; a city adds its own front ends one by one. Default is unset.
GEO_SERVE_RATE_PER_KEY : rate
    Most POSTs one API key may make, as ``N/second``, ``N/minute`` or ``N/hour`` (the
    ``limits`` library's notation; several joined with ``;``). Why: a key belongs to an
    app that many residents use, so it gets more than one address, but a leaked key must
    not flood the wards' queue. Default is ``1200/minute``.
GEO_SERVE_RATE_PER_ADDRESS : rate
    Most requests (any endpoint) one client address may make, in the same notation. Why:
    bounds what one machine can cost the server whatever key it holds; behind a reverse
    proxy, name the proxy in ``GEO_SERVE_TRUSTED_PROXIES`` so each resident's own address
    is counted. Default is ``120/minute``.
GEO_SERVE_TRUSTED_PROXIES : str list
    Addresses of reverse proxies whose ``X-Forwarded-For`` header names the client
    (comma-separated; uvicorn's ``forwarded_allow_ips``). Unset or empty: the header is
    ignored. Why: trusting it from anyone would let a client pick the address its rate
    limit is counted against. Default is unset.
GEO_SERVE_MAX_BODY_BYTES : int
    Largest POST body the Open311 server reads, in bytes; an integer, ``_`` allowed. Empty
    or spaces count as unset. Why: a report is a few kilobytes of form fields, and the
    body is refused (413) before it is parsed. Default is ``65_536``.
GEO_SERVE_MAX_ATTRIBUTES : int
    Most ``attribute[...]`` fields one report may carry; an integer, ``_`` allowed. Empty or
    spaces count as unset. Why: the services define a handful; thousands of fields would
    cost parsing time and store space for nothing. Default is ``20``.
GEO_TEST_POSTGIS_URL : str
    Tests and benchmarks only: a PostgreSQL + PostGIS server on which the PostGIS tests
    create throwaway schemas (and the benchmarks throwaway databases). Unset or empty: those
    tests skip with a visible reason. Why: the suite must run on a laptop without a server
    and still cover PostGIS where one exists. Default is unset.
GEO_REQUIRE_POSTGIS : bool
    Tests only: exactly ``1`` turns the PostGIS skips into failures. Why: ``.ci/run`` sets
    it, so CI can never pass by silently skipping PostGIS. Default is ``0``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo import _settings_parse as parse
from geo._settings_parse import Setting
from geo.errors import AccessDenied, InvalidArgument, LimitExceeded, WorkflowError

if TYPE_CHECKING:
    from geo.reinspect import Schedule

#: The checkout; path defaults are inside it.
REPO = parse.REPO
DEFAULT_SQLITE = REPO / "data" / "hanoi_urban_order.sqlite"


# -- the variables -------------------------------------------------------------------------

DATABASE_URL: Setting[str] = Setting(
    "GEO_DATABASE_URL", "str", f"sqlite:///{DEFAULT_SQLITE}", parse.text
)
BOUNDARIES: Setting[Path] = Setting(
    "GEO_BOUNDARIES", "path", REPO / "data" / "boundaries" / "hanoi_wards_2025.geojson", parse.path
)
STREETS: Setting[Path] = Setting(
    "GEO_STREETS", "path", REPO / "data" / "streets" / "hoan_kiem_streets_2019.geojson", parse.path
)
VENDOR_DIR: Setting[Path] = Setting("GEO_VENDOR_DIR", "path", REPO / "static" / "vendor", parse.path)
OVERPASS_URL: Setting[str | None] = Setting("GEO_OVERPASS_URL", "str", None, parse.text)
SEED_SAMPLE: Setting[bool] = Setting("GEO_SEED_SAMPLE", "bool", True, parse.not_off_words)
PUBLIC_VIEW: Setting[bool] = Setting("GEO_PUBLIC_VIEW", "bool", False, parse.on_words)
SESSION_IDLE_MINUTES: Setting[float] = Setting(
    "GEO_SESSION_IDLE_MINUTES", "float", 30.0, parse.minutes, AccessDenied
)
SESSION_MAX_HOURS: Setting[float] = Setting(
    "GEO_SESSION_MAX_HOURS", "float", 12.0, parse.hours, AccessDenied
)
LOGIN_DELAY_AFTER: Setting[int] = Setting(
    "GEO_LOGIN_DELAY_AFTER", "int", 5, parse.positive_count, AccessDenied
)
LOGIN_LOCK_AFTER: Setting[int] = Setting(
    "GEO_LOGIN_LOCK_AFTER", "int", 20, parse.positive_count, AccessDenied
)
LOGIN_WINDOW_MINUTES: Setting[float] = Setting(
    "GEO_LOGIN_WINDOW_MINUTES", "float", 15.0, parse.minutes, AccessDenied
)
LOGIN_LOCK_MINUTES: Setting[float] = Setting(
    "GEO_LOGIN_LOCK_MINUTES", "float", 15.0, parse.minutes, AccessDenied
)
INGEST_MAX_BYTES: Setting[int] = Setting(
    "GEO_INGEST_MAX_BYTES", "int", 512 * 1024 * 1024, parse.count, LimitExceeded
)
INGEST_MAX_ROWS: Setting[int] = Setting(
    "GEO_INGEST_MAX_ROWS", "int", 2_000_000, parse.count, LimitExceeded
)
INGEST_MAX_CELL_CHARS: Setting[int] = Setting(
    "GEO_INGEST_MAX_CELL_CHARS", "int", 10_000, parse.count, LimitExceeded
)
INGEST_MAX_COLUMNS: Setting[int] = Setting(
    "GEO_INGEST_MAX_COLUMNS", "int", 500, parse.count, LimitExceeded
)
SLA_DAYS: Setting[dict[str, float]] = Setting(
    "GEO_SLA_DAYS", "type=days list", {}, parse.service_levels, WorkflowError
)
PHOTO_MAX_M: Setting[float] = Setting("GEO_PHOTO_MAX_M", "float", 50.0, parse.positive, InvalidArgument)
PHOTO_MAX_BYTES: Setting[int] = Setting(
    "GEO_PHOTO_MAX_BYTES", "int", 25 * 1024 * 1024, parse.positive_count, LimitExceeded
)
PHOTO_MAX_PIXELS: Setting[int] = Setting(
    "GEO_PHOTO_MAX_PIXELS", "int", 80_000_000, parse.positive_count, LimitExceeded
)
MEDIA_DIR: Setting[Path] = Setting("GEO_MEDIA_DIR", "path", REPO / "data" / "media", parse.path)
SNAPSHOT_DIR: Setting[Path] = Setting("GEO_SNAPSHOT_DIR", "path", REPO / "data" / "cache", parse.path)
PHOTO_FETCH_HOSTS: Setting[tuple[str, ...]] = Setting(
    "GEO_PHOTO_FETCH_HOSTS", "host list", (), parse.hosts, InvalidArgument
)
PUBLIC_MEDIA_URL: Setting[str | None] = Setting("GEO_PUBLIC_MEDIA_URL", "str", None, parse.text)
CLEAR_NEEDS_PHOTO: Setting[tuple[str, ...]] = Setting(
    "GEO_CLEAR_NEEDS_PHOTO", "type list", ("awning", "sidewalk"), parse.type_list, WorkflowError
)
PLACE_RADIUS_M: Setting[float] = Setting(
    "GEO_PLACE_RADIUS_M", "float", 15.0, parse.metres, InvalidArgument
)
REINSPECT_DAYS: Setting[Schedule | None] = Setting(
    "GEO_REINSPECT_DAYS", "schedule", None, parse.schedule, InvalidArgument
)
USER: Setting[str | None] = Setting("GEO_USER", "str", None, parse.text)
SERVE_JURISDICTION: Setting[str | None] = Setting("GEO_SERVE_JURISDICTION", "str", None, parse.text)
SERVE_ALLOWED_ORIGINS: Setting[tuple[str, ...]] = Setting(
    "GEO_SERVE_ALLOWED_ORIGINS", "str list", (), parse.names
)
SERVE_RATE_PER_KEY: Setting[str] = Setting("GEO_SERVE_RATE_PER_KEY", "rate", "1200/minute", parse.rate)
SERVE_RATE_PER_ADDRESS: Setting[str] = Setting(
    "GEO_SERVE_RATE_PER_ADDRESS", "rate", "120/minute", parse.rate
)
SERVE_TRUSTED_PROXIES: Setting[tuple[str, ...]] = Setting(
    "GEO_SERVE_TRUSTED_PROXIES", "str list", (), parse.names
)
SERVE_MAX_BODY_BYTES: Setting[int] = Setting(
    "GEO_SERVE_MAX_BODY_BYTES", "int", 65_536, parse.count, LimitExceeded
)
SERVE_MAX_ATTRIBUTES: Setting[int] = Setting(
    "GEO_SERVE_MAX_ATTRIBUTES", "int", 20, parse.count, LimitExceeded
)
TEST_POSTGIS_URL: Setting[str | None] = Setting("GEO_TEST_POSTGIS_URL", "str", None, parse.text)
REQUIRE_POSTGIS: Setting[bool] = Setting("GEO_REQUIRE_POSTGIS", "bool", False, parse.exactly_one)

#: Every variable, in the order of the module docstring and the README table.
SETTINGS: tuple[Setting[Any], ...] = (
    DATABASE_URL, BOUNDARIES, STREETS, VENDOR_DIR, OVERPASS_URL, SEED_SAMPLE, PUBLIC_VIEW,
    SESSION_IDLE_MINUTES, SESSION_MAX_HOURS, LOGIN_DELAY_AFTER, LOGIN_LOCK_AFTER,
    LOGIN_WINDOW_MINUTES, LOGIN_LOCK_MINUTES, INGEST_MAX_BYTES, INGEST_MAX_ROWS, INGEST_MAX_CELL_CHARS,
    INGEST_MAX_COLUMNS, SLA_DAYS, PHOTO_MAX_M, PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS, MEDIA_DIR,
    SNAPSHOT_DIR, CLEAR_NEEDS_PHOTO, PHOTO_FETCH_HOSTS, PUBLIC_MEDIA_URL, PLACE_RADIUS_M, REINSPECT_DAYS, USER,
    SERVE_JURISDICTION, SERVE_ALLOWED_ORIGINS, SERVE_RATE_PER_KEY, SERVE_RATE_PER_ADDRESS,
    SERVE_TRUSTED_PROXIES, SERVE_MAX_BODY_BYTES, SERVE_MAX_ATTRIBUTES, TEST_POSTGIS_URL,
    REQUIRE_POSTGIS,
)  # fmt: skip


# -- typed accessors -----------------------------------------------------------------------


def database_url() -> str:
    """``GEO_DATABASE_URL``: the store every command and the app open.

    Returns
    -------
    str
        The SQLAlchemy URL or SQLite file path (default: the checkout's SQLite file).
    """
    return DATABASE_URL.get()


def hand_down_database_url(url: str) -> None:
    """Set ``GEO_DATABASE_URL`` for the processes this one starts (``serve --workers``:
    each worker opens the store itself, from the environment it inherits).

    Parameters
    ----------
    url
        The store's URL.

    Returns
    -------
    None
        The variable is set in this process's environment.
    """
    os.environ[DATABASE_URL.name] = url


def boundaries() -> Path:
    """``GEO_BOUNDARIES``: the ward layer a fresh store starts from.

    Returns
    -------
    pathlib.Path
        The layer file (not checked to exist).
    """
    return BOUNDARIES.get()


def streets() -> Path:
    """``GEO_STREETS``: the street layer incidents are named from.

    Returns
    -------
    pathlib.Path
        The layer file (not checked to exist).
    """
    return STREETS.get()


def vendor_dir() -> Path:
    """``GEO_VENDOR_DIR``: where the offline Leaflet files live.

    Returns
    -------
    pathlib.Path
        The folder (it may not exist yet).
    """
    return VENDOR_DIR.get()


def overpass_url() -> str | None:
    """``GEO_OVERPASS_URL``: the Overpass server of ``streets fetch``.

    Returns
    -------
    str or None
        The base URL, or None for osmnx's default.
    """
    return OVERPASS_URL.get()


def seed_sample() -> bool:
    """``GEO_SEED_SAMPLE``: whether an empty store gets the synthetic sample.

    Returns
    -------
    bool
        True unless clearly off.
    """
    return SEED_SAMPLE.get()


def public_view() -> bool:
    """``GEO_PUBLIC_VIEW``: whether anonymous visitors see per-ward counts.

    Returns
    -------
    bool
        True only when clearly on.
    """
    return PUBLIC_VIEW.get()


def session_idle_minutes() -> float:
    """``GEO_SESSION_IDLE_MINUTES``: how long a session may stay idle.

    Returns
    -------
    float
        Minutes, finite and above 0.

    Raises
    ------
    geo.errors.AccessDenied
        The value is not a finite number above 0.
    """
    return SESSION_IDLE_MINUTES.get()


def session_max_hours() -> float:
    """``GEO_SESSION_MAX_HOURS``: the longest a session lasts, from sign-in.

    Returns
    -------
    float
        Hours, finite and above 0.

    Raises
    ------
    geo.errors.AccessDenied
        The value is not a finite number above 0.
    """
    return SESSION_MAX_HOURS.get()


def login_delay_after() -> int:
    """``GEO_LOGIN_DELAY_AFTER``: failures after which attempts must wait.

    Returns
    -------
    int
        A count of at least 1.

    Raises
    ------
    geo.errors.AccessDenied
        The value is not an integer of at least 1.
    """
    return LOGIN_DELAY_AFTER.get()


def login_lock_after() -> int:
    """``GEO_LOGIN_LOCK_AFTER``: failures after which sign-in is locked.

    Returns
    -------
    int
        A count of at least 1.

    Raises
    ------
    geo.errors.AccessDenied
        The value is not an integer of at least 1.
    """
    return LOGIN_LOCK_AFTER.get()


def login_window_minutes() -> float:
    """``GEO_LOGIN_WINDOW_MINUTES``: the span failures are counted over.

    Returns
    -------
    float
        Minutes, finite and above 0.

    Raises
    ------
    geo.errors.AccessDenied
        The value is not a finite number above 0.
    """
    return LOGIN_WINDOW_MINUTES.get()


def login_lock_minutes() -> float:
    """``GEO_LOGIN_LOCK_MINUTES``: how long a lock lasts.

    Returns
    -------
    float
        Minutes, finite and above 0.

    Raises
    ------
    geo.errors.AccessDenied
        The value is not a finite number above 0.
    """
    return LOGIN_LOCK_MINUTES.get()


def ingest_max_bytes() -> int:
    """``GEO_INGEST_MAX_BYTES``: the largest upload accepted.

    Returns
    -------
    int
        Bytes.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer.
    """
    return INGEST_MAX_BYTES.get()


def ingest_max_rows() -> int:
    """``GEO_INGEST_MAX_ROWS``: the most data rows in one upload.

    Returns
    -------
    int
        Rows.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer.
    """
    return INGEST_MAX_ROWS.get()


def ingest_max_cell_chars() -> int:
    """``GEO_INGEST_MAX_CELL_CHARS``: the longest cell accepted.

    Returns
    -------
    int
        Characters.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer.
    """
    return INGEST_MAX_CELL_CHARS.get()


def ingest_max_columns() -> int:
    """``GEO_INGEST_MAX_COLUMNS``: the most columns in one upload.

    Returns
    -------
    int
        Columns, counted on the header line.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer.
    """
    return INGEST_MAX_COLUMNS.get()


def sla_days() -> dict[str, float]:
    """The per-type overrides of ``GEO_SLA_DAYS`` only (the built-in levels are not here).

    Returns
    -------
    dict of str to float
        Type code -> days from report to deadline (a copy; empty when unset).

    Raises
    ------
    geo.errors.WorkflowError
        An entry is not ``type=days`` with a known type and finite days above 0.
    """
    return dict(SLA_DAYS.get())


def photo_max_m() -> float:
    """``GEO_PHOTO_MAX_M``: how far a photo may be from its incident before ``photo_far``.

    Returns
    -------
    float
        Metres, measured in EPSG:32648.

    Raises
    ------
    geo.errors.InvalidArgument
        The value is not a finite number above 0.
    """
    return PHOTO_MAX_M.get()


def photo_max_bytes() -> int:
    """``GEO_PHOTO_MAX_BYTES``: the largest photo file accepted.

    Returns
    -------
    int
        Bytes.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer above 0.
    """
    return PHOTO_MAX_BYTES.get()


def photo_max_pixels() -> int:
    """``GEO_PHOTO_MAX_PIXELS``: the largest width × height decoded.

    Returns
    -------
    int
        Pixels.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer above 0.
    """
    return PHOTO_MAX_PIXELS.get()


def media_dir() -> Path:
    """``GEO_MEDIA_DIR``: where photos and thumbnails are stored.

    Returns
    -------
    pathlib.Path
        The media folder.
    """
    return MEDIA_DIR.get()


def snapshot_dir() -> Path:
    """``GEO_SNAPSHOT_DIR``: where the map's incident snapshot is kept between starts.

    Returns
    -------
    pathlib.Path
        The folder (created when the first snapshot is written).
    """
    return SNAPSHOT_DIR.get()


def clear_needs_photo() -> tuple[str, ...]:
    """``GEO_CLEAR_NEEDS_PHOTO``: the types whose clearance needs an after photo.

    Returns
    -------
    tuple of str
        Type codes (empty for ``none``).

    Raises
    ------
    geo.errors.WorkflowError
        A name is not a type code.
    """
    return CLEAR_NEEDS_PHOTO.get()


def photo_fetch_hosts() -> tuple[str, ...]:
    """``GEO_PHOTO_FETCH_HOSTS``: the hosts ``photos fetch`` may download from.

    Returns
    -------
    tuple of str
        ``host`` or ``host:port``, lower case (empty: none).

    Raises
    ------
    geo.errors.InvalidArgument
        An entry is not a host name.
    """
    return PHOTO_FETCH_HOSTS.get()


def public_media_url() -> str | None:
    """``GEO_PUBLIC_MEDIA_URL``: where thumbnails are served publicly.

    Returns
    -------
    str or None
        The base URL, or None when unset.
    """
    return PUBLIC_MEDIA_URL.get()


def named_secret(name: str) -> str | None:
    """The value of an environment variable the operator names on the command line
    (``photos fetch --token-env VAR``), read now; None when unset or empty.

    Not a setting of the project: the name is the operator's choice, so a token never
    appears in a command line or a shell history.

    Parameters
    ----------
    name : str
        The variable's name.

    Returns
    -------
    str or None
        The value, or None.
    """
    return os.environ.get(name) or None


def place_radius_m() -> float:
    """``GEO_PLACE_RADIUS_M``: how far a new incident may be from a place to join it.

    Returns
    -------
    float
        Metres, measured in EPSG:32648.

    Raises
    ------
    geo.errors.InvalidArgument
        The value is not a finite number above 0.
    """
    return PLACE_RADIUS_M.get()


def reinspect_schedule() -> Schedule:
    """The re-inspection schedule (7, 30, 90 days for every type when unset).

    Returns
    -------
    geo.reinspect.Schedule
        ``GEO_REINSPECT_DAYS`` read (7, 30, 90 days when unset).

    Raises
    ------
    geo.errors.InvalidArgument
        The value is not a schedule of known types and distinct whole days above 0.
    """
    from geo.reinspect import Schedule  # late, as in parse.schedule

    return REINSPECT_DAYS.get() or Schedule()


def user() -> str | None:
    """``GEO_USER``: the account a CLI command acts as without ``--user``.

    Returns
    -------
    str or None
        The user name, or None (then the operating-system login is used).
    """
    return USER.get()


def serve_jurisdiction() -> str | None:
    """``GEO_SERVE_JURISDICTION``: the ``jurisdiction_id`` the Open311 server answers for.

    Returns
    -------
    str or None
        The id, or None (the parameter is then ignored).
    """
    return SERVE_JURISDICTION.get()


def serve_allowed_origins() -> tuple[str, ...]:
    """``GEO_SERVE_ALLOWED_ORIGINS``: origins allowed to call the server from a browser.

    Returns
    -------
    tuple of str
        The origins (empty: no CORS header).
    """
    return SERVE_ALLOWED_ORIGINS.get()


def serve_rate_per_key() -> str:
    """``GEO_SERVE_RATE_PER_KEY``: POSTs one API key may make.

    Returns
    -------
    str
        A rate in the ``limits`` notation (``1200/minute``).

    Raises
    ------
    geo.errors.GeoError
        The value is not a rate in that notation.
    """
    return SERVE_RATE_PER_KEY.get()


def serve_rate_per_address() -> str:
    """``GEO_SERVE_RATE_PER_ADDRESS``: requests one client address may make.

    Returns
    -------
    str
        A rate in the ``limits`` notation (``120/minute``).

    Raises
    ------
    geo.errors.GeoError
        The value is not a rate in that notation.
    """
    return SERVE_RATE_PER_ADDRESS.get()


def serve_trusted_proxies() -> tuple[str, ...]:
    """``GEO_SERVE_TRUSTED_PROXIES``: proxies whose ``X-Forwarded-For`` is believed.

    Returns
    -------
    tuple of str
        Their addresses (empty: the header is ignored).
    """
    return SERVE_TRUSTED_PROXIES.get()


def serve_max_body_bytes() -> int:
    """``GEO_SERVE_MAX_BODY_BYTES``: the largest POST body read.

    Returns
    -------
    int
        Bytes.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer.
    """
    return SERVE_MAX_BODY_BYTES.get()


def serve_max_attributes() -> int:
    """``GEO_SERVE_MAX_ATTRIBUTES``: the most attributes one report may carry.

    Returns
    -------
    int
        A count.

    Raises
    ------
    geo.errors.LimitExceeded
        The value is not an integer.
    """
    return SERVE_MAX_ATTRIBUTES.get()


def postgis_test_url() -> str | None:
    """``GEO_TEST_POSTGIS_URL`` (not named ``test_*``: pytest would collect it).

    Returns
    -------
    str or None
        The server URL for the PostGIS tests, or None (they skip).
    """
    return TEST_POSTGIS_URL.get()


def require_postgis() -> bool:
    """``GEO_REQUIRE_POSTGIS``: whether skipped PostGIS tests fail instead.

    Returns
    -------
    bool
        True only for exactly ``1``.
    """
    return REQUIRE_POSTGIS.get()


# -- documentation -------------------------------------------------------------------------

_ENTRY = re.compile(r"^(GEO_[A-Z_]+) : (.+)\n((?:    .*\n?)+)", re.MULTILINE)


def documented() -> dict[str, tuple[str, str]]:
    """``{name: (type, text)}`` of each entry of this module's docstring.

    Returns
    -------
    dict of str to tuple of (str, str)
        Variable name -> (documented type, its text with whitespace collapsed).
    """
    return {m[1]: (m[2].strip(), " ".join(m[3].split())) for m in _ENTRY.finditer(__doc__ or "")}


def markdown_table() -> str:
    """The README's configuration table: each variable, type, default and first sentence.

    Returns
    -------
    str
        The Markdown table, one row per :data:`SETTINGS` entry, in their order.
    """
    docs = documented()
    lines = ["| variable | type | default | what it sets |", "|---|---|---|---|"]
    for setting in SETTINGS:
        first = docs[setting.name][1].split(". ")[0].rstrip(".").replace("``", "`")
        shown = setting.default_text()
        default = f"`{shown}`" if shown else "unset"
        lines.append(f"| `{setting.name}` | {setting.type_name} | {default} | {first}. |")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - prints the README table
    print(markdown_table())
