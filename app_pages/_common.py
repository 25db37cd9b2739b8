"""UI plumbing shared by the pages: language, the cached ward layer in use, URL-backed filters.

Only Streamlit glue lives here; every computation is in ``geo``.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import streamlit as st

from geo import settings
from geo.i18n import DEFAULT_LANG, LANGS, norm_lang
from geo.i18n import t as _t

if TYPE_CHECKING:
    from geo.store import Store


def lang() -> str:
    """The session's language; the sidebar switch in ``app.py`` sets it."""
    return norm_lang(st.session_state.get("lang", DEFAULT_LANG))


def t(key: str, **fmt: Any) -> str:
    return _t(key, lang(), **fmt)


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


@st.cache_data(show_spinner=False)
def _wards_cached(url: str, version: tuple[int, int, str]) -> gpd.GeoDataFrame:
    from geo import services

    return services.active_wards(_store_cached(url))


def wards() -> gpd.GeoDataFrame:
    """The ward layer in use: the store's current ward table (seeded once from
    ``GEO_BOUNDARIES`` or the committed default), cached per ward-table version so an
    administrator's replacement shows at once."""
    from geo import services
    from geo.store import wards as stored_wards

    url = settings.database_url()
    opened = _store_cached(url)
    version = stored_wards.version(opened)
    if version[0] == 0:  # first start: seed the table, then key the cache by what it holds
        services.active_wards(opened)
        version = stored_wards.version(opened)
    return _wards_cached(url, version)


@st.cache_resource(show_spinner=False)
def _store_cached(url: str) -> Store:
    from geo.store import open_store

    return open_store(url or None)


@st.cache_resource(show_spinner=False)
def _seeded(url: str) -> bool:
    """First start: an empty store gets the committed sample (``GEO_SEED_SAMPLE=0``: off)."""
    from geo.errors import GeoError
    from geo.seed import ensure_seeded

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


# --- filters shared through the URL ---------------------------------------------------


@dataclass
class Filters:
    wards: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    street: str = ""
    overdue: bool = False


#: session-state key -> URL parameter
_PARAMS = {
    "f_wards": "ward",
    "f_types": "type",
    "f_statuses": "status",
    "f_from": "from",
    "f_to": "to",
    "f_street": "street",
    "f_overdue": "overdue",
}
_LISTS = {"f_wards", "f_types", "f_statuses"}
_DATES = {"f_from", "f_to"}


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _restore_filters(valid: dict[str, set[str]]) -> None:
    """On a session's first run, seed the filter widgets from the URL (unknown values dropped)."""
    if st.session_state.get("_filters_restored"):
        return
    st.session_state["_filters_restored"] = True
    qp = st.query_params
    for key, param in _PARAMS.items():
        if key in _LISTS:
            values = [v for v in qp.get_all(param) if v in valid.get(key, set())]
            st.session_state[key] = list(dict.fromkeys(values))
        elif key in _DATES:
            st.session_state[key] = _parse_date(qp.get(param))
        elif key == "f_overdue":
            st.session_state[key] = qp.get(param) in {"1", "true", "yes"}
        else:
            st.session_state[key] = qp.get(param) or ""


def _write_filters() -> None:
    for key, param in _PARAMS.items():
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
    ward_names: dict[str, str], types: dict[str, str], statuses: dict[str, str]
) -> Filters:
    """The sidebar filters, restored from and written back to ``st.query_params``.

    Arguments map codes to display labels (already in the session's language).
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
    ss = st.session_state
    return Filters(
        wards=list(ss["f_wards"]),
        types=list(ss["f_types"]),
        statuses=list(ss["f_statuses"]),
        date_from=ss["f_from"],
        date_to=ss["f_to"],
        street=str(ss["f_street"] or "").strip(),
        overdue=bool(ss["f_overdue"]),
    )
