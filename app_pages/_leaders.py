"""UI glue for the leaders' pages (compare, progress, ward): URL-backed widgets, cached reads.

Each page keeps its own widget keys and URL parameters, so that ``?ward=00070`` on the
ward page is not taken for the map page's ward filter. Every read goes through
:mod:`geo.services` (the ``view`` right) and is cached by store URL, user and arguments;
pages never hold incidents beyond what they draw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from app_pages._auth import current_user
from app_pages._common import num, store, wards
from geo import services, settings
from geo.auth import User
from geo.crs import LOCAL_TZ
from geo.density import snapshot_metres
from geo.services import photos as photo_services
from geo.snapshot import IncidentSnapshot
from geo.store import IncidentFilter

#: Cached reads live this long (seconds); uploads and status changes show up after it.
TTL_S = 300
#: The labels of a chart's time axis, by the tick's unit: numbers only, in the app's
#: day/month order. Vega's default names the months in English ("July", "Aug 03") even on
#: a Vietnamese page, and writes month before day.
DATE_AXIS: dict[str, str] = {
    "year": "%Y", "quarter": "%m/%Y", "month": "%m/%Y", "week": "%d/%m", "date": "%d/%m",
    "hours": "%H:%M", "minutes": "%H:%M", "seconds": "%H:%M:%S", "milliseconds": "%H:%M:%S",
}  # fmt: skip


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


# --- cached reads -------------------------------------------------------------------------
# Every read goes through geo.services, which checks the ``view`` right. The key of each
# cache holds the store URL (tests with different stores do not mix) and the user, so a
# cached figure is handed only to someone the service has already let read it, and a
# right taken away applies at the next run rather than after the TTL.


@dataclass(frozen=True)
class Reader:
    """Who reads which store: the first argument of every cached read below."""

    url: str
    user: User | None


def reader() -> Reader:
    """This run's store URL and signed-in user."""
    return Reader(settings.database_url(), current_user())


@st.cache_data(ttl=TTL_S, show_spinner=False)
def ward_metrics(who: Reader, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    """Figures not kept on disk (the first view after a change) are summed over the map's
    snapshot, not scanned in SQL (0.1–0.5 s instead of 4.5–5.7 s per read at 1M incidents)."""
    return pd.DataFrame(
        services.ward_metrics(store(), who.user, ward_layer(), date_from, date_to, snapshot=snapshot)
    )


@st.cache_data(ttl=TTL_S, show_spinner=False)
def verified_share(who: Reader, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    """Per ward: clearances, those backed by an after photo with no flag, and the share
    (clearances from the map's snapshot when not kept on disk; see :func:`ward_metrics`)."""
    return pd.DataFrame(photo_services.verified_share(store(), who.user, date_from, date_to, snapshot=snapshot))


def share_text(verified: int, cleared: int) -> str:
    """"42% (21/50)" as the page's language writes numbers ("1.021/2.050" in Vietnamese),
    or "—" without any clearance."""
    return f"{num(100 * verified / cleared)}% ({num(verified)}/{num(cleared)})" if cleared else "—"


@st.cache_data(ttl=TTL_S, show_spinner=False)
def ward_stats(who: Reader, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    """As :func:`ward_metrics`: summed over the map's snapshot when not kept on disk."""
    return pd.DataFrame(services.ward_stats(store(), who.user, date_from, date_to, snapshot=snapshot))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def week_counts(who: Reader) -> pd.DataFrame:
    """Counted over the map's snapshot when not kept on disk (see :func:`ward_metrics`)."""
    return pd.DataFrame(services.week_counts(store(), who.user, snapshot=snapshot))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def street_stats(who: Reader, date_from: dt.date | None, date_to: dt.date | None, ward: str | None) -> pd.DataFrame:
    wards = (ward,) if ward else None
    return pd.DataFrame(services.street_stats(store(), who.user, date_from, date_to, wards, snapshot=snapshot))


@st.cache_data(ttl=TTL_S, show_spinner=False)
def progress(
    who: Reader, level: str, key: str | None, freq: str, date_from: dt.date | None, date_to: dt.date | None
) -> pd.DataFrame:
    """Counted over the map's snapshot when not kept on disk (see :func:`ward_metrics`)."""
    return pd.DataFrame(services.progress(store(), who.user, level, key, freq, date_from, date_to, snapshot=snapshot))


@st.cache_resource(show_spinner=False)
def _snapshots() -> dict[str, IncidentSnapshot]:
    """The latest snapshot per store URL, shared by every session (snapshots are immutable)."""
    return {}


def snapshot() -> IncidentSnapshot:
    """The store's incidents as arrays, for the map and Compare's density.

    A filter change then costs an array mask, a write a small patch: never a full read.
    Shared by every session, but read through the service, so each run checks that the
    session's user may see incidents before it is handed out.
    """
    held = _snapshots()
    current = services.incident_snapshot(store(), current_user(), held.get(store().url))
    held[store().url] = current
    return current


def points(
    date_from: dt.date | None, date_to: dt.date | None, statuses: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates for Compare's density, ``(lon, lat, x, y)``: from the map's snapshot (an
    array mask, not a read of a million rows at the first Compare after a start), with
    its stored EPSG:32648 metres, which the grid counts instead of projecting again."""
    flt = IncidentFilter.from_choices(statuses=statuses, date_from=date_from, date_to=date_to)
    return snapshot_metres(snapshot(), flt)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def ward_incidents(who: Reader, code: str, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    flt = IncidentFilter(wards=(code,), date_from=date_from, date_to=date_to)
    frame = services.incidents(store(), who.user, flt)
    return pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def sustain(who: Reader, by: str, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    """The sustained-order measures over clearances from ``date_from`` to ``date_to``
    (Hà Nội days, both included)."""
    start, end = _instants(date_from, date_to)
    return pd.DataFrame(
        services.sustain_measures(store(), who.user, by=by, date_from=start, date_to=end, snapshot=snapshot)
    )


def _instants(date_from: dt.date | None, date_to: dt.date | None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Hà Nội days from ``date_from`` to ``date_to`` (both included) as [start, end) instants."""
    start = None if date_from is None else pd.Timestamp(date_from).tz_localize(LOCAL_TZ)
    end = None if date_to is None else pd.Timestamp(date_to + dt.timedelta(days=1)).tz_localize(LOCAL_TZ)
    return start, end


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def survival(who: Reader, ward: str, date_from: dt.date | None, date_to: dt.date | None) -> pd.DataFrame:
    """The ward's and the city's survival curves of the clearances in the window."""
    start, end = _instants(date_from, date_to)
    return pd.DataFrame(services.survival_curves(store(), who.user, ward, date_from=start, date_to=end))


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def chronic(who: Reader, ward: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ward's places with two or more recurrences: incidents and timeline events."""
    return services.chronic_timelines(store(), who.user, ward)


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def place_states(who: Reader, ward: str | None) -> pd.DataFrame:
    """Every place (of one ward, or all) with its state now, for the map's place layer."""
    return pd.DataFrame(services.place_states(store(), who.user, ward=ward))


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def place_timelines(who: Reader, ward: str | None, place_ids: tuple[int, ...]) -> pd.DataFrame:
    """The timelines of the places the map draws (of one ward's store rows, or all)."""
    return pd.DataFrame(services.place_timelines(store(), who.user, ward=ward, place_ids=place_ids))


@st.cache_data(ttl=TTL_S, show_spinner=False, max_entries=8)
def recurrences(who: Reader, freq: str, ward: str | None, street: str | None) -> pd.DataFrame:
    """Recurrences per Hà Nội day or week (``period``, ``recurrences``)."""
    return pd.DataFrame(services.recurrence_counts(store(), who.user, freq, ward=ward, street=street))
