"""Every ``GEO_*`` environment variable the project reads, in one place.

The app, the CLI and the tests are configured through environment variables only, so a
deployment (a systemd unit, a container, ``.ci/run``) sets them the same way everywhere.
Each one is read *when it is used*, never at import: a test changes one with
``monkeypatch.setenv`` and the next call sees it, and a long-running app picks up nothing
stale from the process that imported it. Each is a :class:`~geo._settings_parse.Setting`
declared below under the name it is read by, and calling it reads it
(``settings.database_url() -> str``, ``settings.ingest_max_rows() -> int``, ...); never
read one through ``os.environ`` (the parsers and the reading itself are in
:mod:`geo._settings_parse`). :data:`SETTINGS` lists them all, and the README's configuration
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
#
# Each is declared once, under the name its callers read it by: ``settings.user()`` calls
# the Setting, which reads GEO_USER now and returns its declared type (``str | None``).
# The two that callers read through a function below doing more than that keep an upper
# case name: SLA_DAYS (``sla_days`` returns a copy) and REINSPECT_DAYS
# (``reinspect_schedule`` fills in the default schedule).

database_url: Setting[str] = Setting(
    "GEO_DATABASE_URL", "str", f"sqlite:///{DEFAULT_SQLITE}", parse.text
)
boundaries: Setting[Path] = Setting(
    "GEO_BOUNDARIES", "path", REPO / "data" / "boundaries" / "hanoi_wards_2025.geojson", parse.path
)
streets: Setting[Path] = Setting(
    "GEO_STREETS", "path", REPO / "data" / "streets" / "hoan_kiem_streets_2019.geojson", parse.path
)
vendor_dir: Setting[Path] = Setting(
    "GEO_VENDOR_DIR", "path", REPO / "static" / "vendor", parse.path
)
overpass_url: Setting[str | None] = Setting("GEO_OVERPASS_URL", "str", None, parse.text)
seed_sample: Setting[bool] = Setting("GEO_SEED_SAMPLE", "bool", True, parse.not_off_words)
public_view: Setting[bool] = Setting("GEO_PUBLIC_VIEW", "bool", False, parse.on_words)
session_idle_minutes: Setting[float] = Setting(
    "GEO_SESSION_IDLE_MINUTES", "float", 30.0, parse.minutes, AccessDenied
)
session_max_hours: Setting[float] = Setting(
    "GEO_SESSION_MAX_HOURS", "float", 12.0, parse.hours, AccessDenied
)
login_delay_after: Setting[int] = Setting(
    "GEO_LOGIN_DELAY_AFTER", "int", 5, parse.positive_count, AccessDenied
)
login_lock_after: Setting[int] = Setting(
    "GEO_LOGIN_LOCK_AFTER", "int", 20, parse.positive_count, AccessDenied
)
login_window_minutes: Setting[float] = Setting(
    "GEO_LOGIN_WINDOW_MINUTES", "float", 15.0, parse.minutes, AccessDenied
)
login_lock_minutes: Setting[float] = Setting(
    "GEO_LOGIN_LOCK_MINUTES", "float", 15.0, parse.minutes, AccessDenied
)
ingest_max_bytes: Setting[int] = Setting(
    "GEO_INGEST_MAX_BYTES", "int", 512 * 1024 * 1024, parse.count, LimitExceeded
)
ingest_max_rows: Setting[int] = Setting(
    "GEO_INGEST_MAX_ROWS", "int", 2_000_000, parse.count, LimitExceeded
)
ingest_max_cell_chars: Setting[int] = Setting(
    "GEO_INGEST_MAX_CELL_CHARS", "int", 10_000, parse.count, LimitExceeded
)
ingest_max_columns: Setting[int] = Setting(
    "GEO_INGEST_MAX_COLUMNS", "int", 500, parse.count, LimitExceeded
)
SLA_DAYS: Setting[dict[str, float]] = Setting(
    "GEO_SLA_DAYS", "type=days list", {}, parse.service_levels, WorkflowError
)
photo_max_m: Setting[float] = Setting(
    "GEO_PHOTO_MAX_M", "float", 50.0, parse.positive, InvalidArgument
)
photo_max_bytes: Setting[int] = Setting(
    "GEO_PHOTO_MAX_BYTES", "int", 25 * 1024 * 1024, parse.positive_count, LimitExceeded
)
photo_max_pixels: Setting[int] = Setting(
    "GEO_PHOTO_MAX_PIXELS", "int", 80_000_000, parse.positive_count, LimitExceeded
)
media_dir: Setting[Path] = Setting("GEO_MEDIA_DIR", "path", REPO / "data" / "media", parse.path)
snapshot_dir: Setting[Path] = Setting(
    "GEO_SNAPSHOT_DIR", "path", REPO / "data" / "cache", parse.path
)
clear_needs_photo: Setting[tuple[str, ...]] = Setting(
    "GEO_CLEAR_NEEDS_PHOTO", "type list", ("awning", "sidewalk"), parse.type_list, WorkflowError
)
photo_fetch_hosts: Setting[tuple[str, ...]] = Setting(
    "GEO_PHOTO_FETCH_HOSTS", "host list", (), parse.hosts, InvalidArgument
)
public_media_url: Setting[str | None] = Setting("GEO_PUBLIC_MEDIA_URL", "str", None, parse.text)
place_radius_m: Setting[float] = Setting(
    "GEO_PLACE_RADIUS_M", "float", 15.0, parse.metres, InvalidArgument
)
REINSPECT_DAYS: Setting[Schedule | None] = Setting(
    "GEO_REINSPECT_DAYS", "schedule", None, parse.schedule, InvalidArgument
)
user: Setting[str | None] = Setting("GEO_USER", "str", None, parse.text)
serve_jurisdiction: Setting[str | None] = Setting("GEO_SERVE_JURISDICTION", "str", None, parse.text)
serve_allowed_origins: Setting[tuple[str, ...]] = Setting(
    "GEO_SERVE_ALLOWED_ORIGINS", "str list", (), parse.names
)
serve_rate_per_key: Setting[str] = Setting(
    "GEO_SERVE_RATE_PER_KEY", "rate", "1200/minute", parse.rate
)
serve_rate_per_address: Setting[str] = Setting(
    "GEO_SERVE_RATE_PER_ADDRESS", "rate", "120/minute", parse.rate
)
serve_trusted_proxies: Setting[tuple[str, ...]] = Setting(
    "GEO_SERVE_TRUSTED_PROXIES", "str list", (), parse.names
)
serve_max_body_bytes: Setting[int] = Setting(
    "GEO_SERVE_MAX_BODY_BYTES", "int", 65_536, parse.count, LimitExceeded
)
serve_max_attributes: Setting[int] = Setting(
    "GEO_SERVE_MAX_ATTRIBUTES", "int", 20, parse.count, LimitExceeded
)
#: Not named ``test_*``: pytest would collect it.
postgis_test_url: Setting[str | None] = Setting("GEO_TEST_POSTGIS_URL", "str", None, parse.text)
require_postgis: Setting[bool] = Setting("GEO_REQUIRE_POSTGIS", "bool", False, parse.exactly_one)

#: Every variable, in the order of the module docstring and the README table.
SETTINGS: tuple[Setting[Any], ...] = (
    database_url, boundaries, streets, vendor_dir, overpass_url, seed_sample, public_view,
    session_idle_minutes, session_max_hours, login_delay_after, login_lock_after,
    login_window_minutes, login_lock_minutes, ingest_max_bytes, ingest_max_rows,
    ingest_max_cell_chars, ingest_max_columns, SLA_DAYS, photo_max_m, photo_max_bytes,
    photo_max_pixels, media_dir, snapshot_dir, clear_needs_photo, photo_fetch_hosts,
    public_media_url, place_radius_m, REINSPECT_DAYS, user, serve_jurisdiction,
    serve_allowed_origins, serve_rate_per_key, serve_rate_per_address, serve_trusted_proxies,
    serve_max_body_bytes, serve_max_attributes, postgis_test_url, require_postgis,
)  # fmt: skip


# -- readers that do more than read one variable -------------------------------------------


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
    os.environ[database_url.name] = url


def sla_days() -> dict[str, float]:
    """The per-type overrides of ``GEO_SLA_DAYS`` only (the built-in levels are not here).

    Returns
    -------
    dict of str to float
        Type code -> days from report to deadline (empty when unset); a copy, so a
        caller's change never reaches the default every later call returns.

    Raises
    ------
    geo.errors.WorkflowError
        An entry is not ``type=days`` with a known type and finite days above 0.
    """
    return dict(SLA_DAYS())


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

    return REINSPECT_DAYS() or Schedule()


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
