"""UI glue for the leaders' pages (compare, progress, ward): URL-backed widgets, cached reads.

Each page keeps its own widget keys and URL parameters, so that ``?ward=00070`` on the
ward page is not taken for the map page's ward filter. Every read is cached by store URL
and arguments; pages never hold incidents beyond what they draw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from app_pages._common import store, wards
from geo import settings
from geo.store import IncidentFilter, queries

#: Cached reads live this long (seconds); uploads and status changes show up after it.
TTL_S = 300


def parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def url_widget_state(key: str, param: str, default: Any, parse: Callable[[str | None], Any]) -> None:
    """Seed ``st.session_state[key]`` from ``?param=`` whenever the widget has no state
    (an unknown value falls back to ``default``).

    Streamlit drops a widget's state once a run has not drawn it, so the state is absent
    exactly when the page is entered: on the session's first run, and again after an
    in-app switch (``st.switch_page``/``st.page_link`` with query parameters), whose URL
    must then win over what the page showed on an earlier visit.
    """
    if key in st.session_state:
        return
    value = parse(st.query_params.get(param))
    st.session_state[key] = default if value is None else value


def write_url(params: dict[str, Any]) -> None:
    """Mirror widget values into the URL (empty values removed)."""
    for param, value in params.items():
        if value is None or value == "" or value is False:
            st.query_params.pop(param, None)
        elif isinstance(value, dt.date):
            st.query_params[param] = value.isoformat()
        else:
            st.query_params[param] = str(value)


def choice(options: Iterable[str]) -> Callable[[str | None], str | None]:
    allowed = set(options)
    return lambda text: text if text in allowed else None


def integer(lo: int, hi: int) -> Callable[[str | None], int | None]:
    def parse(text: str | None) -> int | None:
        try:
            value = int(text) if text else None
        except ValueError:
            return None
        return value if value is not None and lo <= value <= hi else None

    return parse


def ward_layer() -> gpd.GeoDataFrame:
    return wards()


# --- in-app navigation to the ward page ---------------------------------------------------

#: The ward page as ``app.py`` registers it (relative to ``app.py``): ``st.switch_page`` and
#: ``st.page_link`` need a page of the router, and only they keep the signed-in session
#: (a plain ``<a href>`` reloads the app in a new one).
WARD_PAGE = "app_pages/ward.py"
#: What a choropleth returns from ``st_folium``: only a click changes it, so panning and
#: zooming do not rerun the page.
CLICK_OBJECTS = ["last_active_drawing"]


def clicked_ward(state: dict[str, Any] | None, codes: Iterable[str]) -> str | None:
    """The code of the ward polygon clicked on a ``geo.choropleth`` map (None before a click
    or for anything that is not one of ``codes``)."""
    drawing = (state or {}).get("last_active_drawing") or {}
    properties = drawing.get("properties") if isinstance(drawing, dict) else None
    code = str((properties or {}).get("code") or "")
    return code if code and code in set(codes) else None


def open_ward_page(code: str) -> None:
    """Switch to the ward page for ``code`` in this session (stops the current run)."""
    st.switch_page(WARD_PAGE, query_params={"ward": code})


def ward_page_link(code: str, name: str, label: str) -> None:
    """A link to the ward page for ``code`` that keeps the session (``st.page_link``)."""
    from app_pages._safe import md_plain

    st.page_link(
        WARD_PAGE, label=f"{label}: {md_plain(name)}", icon=":material/location_city:",
        query_params={"ward": code},
    )


# --- cached reads (keyed by store URL so tests with different stores do not mix) -------


@st.cache_data(ttl=TTL_S, show_spinner=False)
def ward_metrics(url: str, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    from geo.metrics import load_ward_metrics

    return pd.DataFrame(load_ward_metrics(store(), ward_layer(), date_from, date_to))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def ward_stats(url: str, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    return pd.DataFrame(queries.ward_stats(store(), date_from, date_to))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def week_counts(url: str) -> pd.DataFrame:
    return pd.DataFrame(queries.week_counts(store()))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def street_stats(url: str, date_from: dt.date | None, date_to: dt.date | None, ward: str | None) -> pd.DataFrame:
    return pd.DataFrame(queries.street_stats(store(), date_from, date_to, wards=[ward] if ward else None))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def progress(url: str, level: str, key: str | None, freq: str, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    return pd.DataFrame(queries.progress(store(), level, key, freq, date_from, date_to))


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def points(url: str, date_from: dt.date | None, date_to: dt.date | None, statuses: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    from geo.density import incident_points

    flt = IncidentFilter.from_choices(statuses=statuses, date_from=date_from, date_to=date_to)
    return incident_points(store(), flt)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def ward_incidents(url: str, code: str, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    frame = queries.incidents(store(), IncidentFilter(wards=(code,), date_from=date_from, date_to=date_to))
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))


def store_url() -> str:
    """The store's URL, the key of the cached reads above."""
    return settings.database_url()
