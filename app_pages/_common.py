"""UI plumbing shared by the pages: language, the cached ward layer in use, URL-backed filters.

Only Streamlit glue lives here; every computation is in ``geo``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from app_pages._safe import md_plain
from geo import map_assets, services, settings
from geo.display_shapes import display_layer
from geo.errors import AssetError, GeoError
from geo.i18n import DEFAULT_LANG, LANGS, norm_lang, number, number_locale
from geo.i18n import t as _t
from geo.seed import ensure_seeded
from geo.store import IncidentFilter, Store, open_store


def lang() -> str:
    """The session's language; the sidebar switch in ``app.py`` sets it."""
    return norm_lang(st.session_state.get("lang", DEFAULT_LANG))


def t(key: str, **fmt: Any) -> str:
    """The label ``key`` in the page's language; numbers in ``fmt`` are written as that
    language writes them, ids marked ``{name:id}`` as given (:func:`geo.i18n.t`)."""
    return _t(key, lang(), **fmt)


def num(value: float, decimals: int = 0) -> str:
    """``value`` as the page's language writes numbers: 1.234,5 on a Vietnamese page,
    1,234.5 on an English one (:func:`geo.i18n.number`)."""
    return number(value, lang(), decimals)


def signed(value: int) -> str:
    """A change as :func:`num` writes it, with its sign ("+1.234", "-5", "0"); st.metric
    colours a delta by its leading "-"."""
    return ("+" if value > 0 else "") + num(value)


def chart(spec: Any) -> Any:
    """An Altair chart whose axes and tooltips write numbers in the page's language
    (Vega-Lite ``config.locale``): Vega's default is English, "1,000" on a Vietnamese page."""
    return spec.configure(locale={"number": number_locale(lang())})


def numbers(frame: Any, decimals: Mapping[str, int]) -> Any:
    """``frame`` for ``st.dataframe`` with the columns of ``decimals`` written as the page's
    language writes numbers (that many decimals; "–" for none). The values stay numbers, so
    the table still sorts by them: a pandas Styler's display text, which Streamlit shows
    when the column's ``column_config`` sets no ``format`` of its own (one would win)."""
    styler = frame.style
    for column, places in decimals.items():
        if column in frame.columns:
            styler = styler.format(
                lambda v, places=places: "–" if pd.isna(v) else num(v, places), subset=[column]
            )
    return styler


def init_lang() -> None:
    """Take the language from ``?lang=`` on the first run, then keep it in the URL."""
    if "lang" not in st.session_state:
        st.session_state["lang"] = norm_lang(st.query_params.get("lang"))


def language_switch() -> None:
    init_lang()
    st.sidebar.radio(
        _t("app.language", lang()),
        LANGS,
        key="lang",
        format_func=lambda code: _t(f"lang.{code}", code),
        horizontal=True,
    )
    if lang() == DEFAULT_LANG:
        st.query_params.pop("lang", None)
    else:
        st.query_params["lang"] = lang()


def map_files_notice() -> None:
    """Say, on every page, that the maps cannot be drawn (Leaflet's files are missing from
    the served folder and from ``GEO_VENDOR_DIR``): otherwise each map is a blank frame."""
    try:
        map_assets.require_served()
    except AssetError as exc:
        st.error(md_plain(exc.message(lang())))


@st.cache_data(show_spinner=False)
def _wards_cached(url: str, version: tuple[int, int, str]) -> gpd.GeoDataFrame:
    return services.active_wards(_store_cached(url))


def _layer_version() -> tuple[str, tuple[int, int, str]]:
    url = settings.database_url()
    opened = _store_cached(url)
    version = services.ward_layer_version(opened)
    if version[0] == 0:  # first start: seed the table, then key the cache by what it holds
        services.active_wards(opened)
        version = services.ward_layer_version(opened)
    return url, version


def wards() -> gpd.GeoDataFrame:
    """The ward layer in use: the store's current ward table (seeded once from
    ``GEO_BOUNDARIES`` or the committed default), cached per ward-table version so an
    administrator's replacement shows at once."""
    return _wards_cached(*_layer_version())


@st.cache_data(show_spinner=False)
def _display_cached(url: str, version: tuple[int, int, str]) -> gpd.GeoDataFrame:
    return display_layer(_wards_cached(url, version))


def display_wards() -> gpd.GeoDataFrame:
    """The ward layer in use, simplified for drawing city-wide maps
    (:func:`geo.display_shapes.display_layer`); never for figures or assignment."""
    return _display_cached(*_layer_version())


@st.cache_resource(show_spinner=False)
def _store_cached(url: str) -> Store:
    return open_store(url or None)


@st.cache_resource(show_spinner=False)
def _seeded(url: str) -> bool:
    """First start: an empty store gets the committed sample (``GEO_SEED_SAMPLE=0``: off)."""
    try:
        return ensure_seeded(_store_cached(url), wards=wards())
    except GeoError as exc:  # the app still opens; the map shows the wards only
        print(f"seeding skipped: {exc.message_en}", file=sys.stderr)
        return False


_SEED_CHECKED: set[str] = set()  # store URLs this process has seeded or found seeded


def store() -> Store:
    """The incident store of ``GEO_DATABASE_URL`` (or the default), opened once per URL."""
    url = settings.database_url()
    opened = _store_cached(url)
    if url not in _SEED_CHECKED:
        with st.spinner(t("app.seeding")):  # a few seconds, once, on a fresh store
            _seeded(url)
        _SEED_CHECKED.add(url)
    return opened


def upload_limit_mb(max_bytes: int) -> int:
    """The ``max_upload_size`` (MB) for an uploader whose files the project caps at ``max_bytes``.

    Why: Streamlit refuses a larger file itself, in English, before the project sees it; so the
    widget's cap follows the project's setting (a deployer's lower ``GEO_*_MAX_BYTES`` shows in the
    widget), rounded up so a file the project accepts is never refused by the widget (the project's
    own bilingual check refuses what lies between). It never exceeds ``server.maxUploadSize``, which
    the server enforces whatever the widget says.
    """
    mib = 1024 * 1024
    wanted = max(1, -(-max_bytes // mib))
    return min(wanted, int(st.get_option("server.maxUploadSize")))


#: Streamlit writes its own cap under every uploader, in English and rounded to whole
#: units ("1GB per file" for the project's 512 MB); hidden here, and :func:`file_uploader`
#: writes the cap the widget enforces in the page's language.
_UPLOADER_CSS = '<style>[data-testid="stFileUploaderDropzoneInstructions"]{display:none}</style>'


def file_uploader(label: str, types: Iterable[str], max_bytes: int, *, key: str, multiple: bool = False) -> Any:
    """``st.file_uploader`` capped at ``max_bytes`` (:func:`upload_limit_mb`), with the cap
    and the accepted types said in the page's language under it instead of Streamlit's
    English "1GB per file • CSV, …", which also misstated the 512 MB cap."""
    kinds = [str(k) for k in types]
    mb = upload_limit_mb(max_bytes)
    st.html(_UPLOADER_CSS)
    files = st.file_uploader(label, type=kinds, key=key, accept_multiple_files=multiple, max_upload_size=mb)
    st.caption(t("common.upload_limit", mb=mb, types=", ".join(k.upper() for k in kinds)))
    return files


# --- filters shared through the URL ---------------------------------------------------


#: filter widget key -> (URL parameter, keyword of IncidentFilter.from_choices)
_FIELDS = {
    "f_wards": ("ward", "wards"),
    "f_types": ("type", "types"),
    "f_statuses": ("status", "statuses"),
    "f_from": ("from", "date_from"),
    "f_to": ("to", "date_to"),
    "f_street": ("street", "street"),
    "f_overdue": ("overdue", "overdue"),
}
_LISTS = {"f_wards", "f_types", "f_statuses"}
_DATES = {"f_from", "f_to"}


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def filter_state_from_url(params: Mapping[str, list[str]], valid: Mapping[str, set[str]]) -> dict[str, Any]:
    """The filter widgets' values a shared link asks for (unknown codes and bad dates dropped).

    Parameters
    ----------
    params
        URL parameter → its values (``?ward=a&ward=b`` → ``{"ward": ["a", "b"]}``).
    valid
        Widget key → the codes it offers (``f_wards``, ``f_types``, ``f_statuses``).

    Returns
    -------
    dict
        Widget key → value, for every filter widget.
    """
    state: dict[str, Any] = {}
    for key, (param, _) in _FIELDS.items():
        values = list(params.get(param, []))
        last = values[-1] if values else None
        if key in _LISTS:
            state[key] = list(dict.fromkeys(v for v in values if v in valid.get(key, set())))
        elif key in _DATES:
            state[key] = _parse_date(last)
        elif key == "f_overdue":
            state[key] = last in {"1", "true", "yes"}
        else:
            state[key] = last or ""
    return state


def filter_from_state(state: Mapping[str, Any], street_names: Iterable[str]) -> IncidentFilter:
    """The :class:`IncidentFilter` of the filter widgets' values (nothing picked: any).

    Parameters
    ----------
    state
        Widget key → value (``st.session_state``, or :func:`filter_state_from_url`'s).
    street_names
        The stored street names a typed street is looked up in.

    Returns
    -------
    IncidentFilter
        What the map shows.
    """
    picked = {field: state[key] for key, (_, field) in _FIELDS.items()}
    return IncidentFilter.from_choices(**picked, street_names=street_names)


def _restore_filters(valid: dict[str, set[str]]) -> None:
    """On a session's first run, seed the filter widgets from the URL."""
    if st.session_state.get("_filters_restored"):
        return
    st.session_state["_filters_restored"] = True
    qp = st.query_params
    params = {param: qp.get_all(param) for param, _ in _FIELDS.values()}
    for key, value in filter_state_from_url(params, valid).items():
        st.session_state[key] = value


def _write_filters() -> None:
    for key, (param, _) in _FIELDS.items():
        value = st.session_state.get(key)
        if not value:
            st.query_params.pop(param, None)
        elif key in _LISTS:
            st.query_params[param] = list(value)
        elif key in _DATES:
            st.query_params[param] = value.isoformat()
        elif key == "f_overdue":
            st.query_params[param] = "1"
        else:
            st.query_params[param] = str(value)


def sidebar_filters(
    ward_names: dict[str, str], types: dict[str, str], statuses: dict[str, str], street_names: Iterable[str]
) -> IncidentFilter:
    """The sidebar filters, restored from and written back to ``st.query_params``.

    The first three arguments map codes to display labels (already in the session's
    language); ``street_names`` are the stored names a typed street is looked up in.
    """
    choices = {"f_wards": ward_names, "f_types": types, "f_statuses": statuses}
    _restore_filters({key: set(labels) for key, labels in choices.items()})
    sb = st.sidebar
    sb.header(t("filter.header"))
    titles = {"f_wards": "filter.wards", "f_types": "filter.types", "f_statuses": "filter.statuses"}
    for key, labels in choices.items():
        sb.multiselect(
            t(titles[key]),
            list(labels),
            key=key,
            format_func=labels.__getitem__,
            placeholder=t("common.choose"),
        )
    col_a, col_b = sb.columns(2)
    col_a.date_input(t("filter.date_from"), key="f_from", format="DD/MM/YYYY")
    col_b.date_input(t("filter.date_to"), key="f_to", format="DD/MM/YYYY")
    sb.text_input(t("filter.street"), key="f_street")
    sb.checkbox(t("filter.overdue"), key="f_overdue")
    _write_filters()
    return filter_from_state(st.session_state, street_names)
