"""Streamlit entry point: a thin router. Pages live in ``app_pages/``, logic in ``geo/``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import streamlit as st

from app_pages._auth import sign_in_forms, signed_in_user
from app_pages._common import language_switch, map_files_notice, t
from geo.auth import User, can

HERE = Path(__file__).resolve().parent

#: (page file, title key, icon, url path); a page appears once its file exists.
PAGES = (
    ("app_pages/map.py", "nav.map", ":material/map:", "map"),
    ("app_pages/upload.py", "nav.upload", ":material/upload_file:", "upload"),
    ("app_pages/compare.py", "nav.compare", ":material/leaderboard:", "compare"),
    ("app_pages/progress.py", "nav.progress", ":material/trending_up:", "progress"),
    ("app_pages/ward.py", "nav.ward", ":material/location_city:", "ward"),
    ("app_pages/reports.py", "nav.reports", ":material/campaign:", "reports"),
    ("app_pages/reinspect.py", "nav.reinspect", ":material/fact_check:", "reinspect"),
    ("app_pages/admin.py", "nav.admin", ":material/admin_panel_settings:", "admin"),
    ("app_pages/lookup.py", "nav.lookup", ":material/search:", "lookup"),
)
#: Pages anyone may open without signing in (a resident following a report).
PUBLIC_PAGES = frozenset({"lookup"})
#: url path -> the right a signed-in user needs to see the page in the menu. The page stays
#: routable (hidden, not removed) and refuses by itself: geo.services enforces the rights.
MENU_RIGHT = {"upload": "upload", "admin": "manage_users", "reports": "moderate_reports"}


def _may_see(user: User, right: str) -> bool:
    """Whether the page belongs in the user's menu (a ward-scoped right: in any own ward)."""
    return can(user, right) or any(can(user, right, ward) for ward in user.wards)


def _visibility(user: User | None, url: str) -> Literal["visible", "hidden"]:
    right = MENU_RIGHT.get(url)
    return "hidden" if user is not None and right and not _may_see(user, right) else "visible"


st.set_page_config(page_title="Hanoi urban order", page_icon="🗺️", layout="wide")
language_switch()
map_files_notice()  # before the sign-in: whoever installs it sees it first
st.sidebar.caption(t("app.title"))
user = signed_in_user(forms=False)  # the forms come below, once the page is known
pages = [
    st.Page(
        str(HERE / path), title=t(key), icon=icon, default=(i == 0),
        url_path="" if i == 0 else url,  # the default page answers at "/" (and see below)
        visibility=_visibility(user, url),
    )
    for i, (path, key, icon, url) in enumerate(PAGES)
    if (HERE / path).exists()
]


def _to_first_page() -> None:
    """``/map`` (typed, bookmarked, or guessed from ``/compare`` and the rest) opens the
    map, which Streamlit serves at ``/`` only: without this page the address showed
    Streamlit's English "Page not found". The address becomes ``/`` with its query, and
    the menu marks the map. Every value of a repeated key is kept (``to_dict`` keeps the
    last only, so a shared link of two wards would open on one)."""
    st.switch_page(pages[0], query_params={key: st.query_params.get_all(key) for key in st.query_params})


# the first page's own name as a hidden page: a default page answers at "/" alone
pages.append(st.Page(_to_first_page, title=t(PAGES[0][1]), url_path=PAGES[0][3], visibility="hidden"))
# navigation is declared even when signed out, so a shared link's page survives the sign-in
page = st.navigation(pages, position="sidebar" if user is not None else "hidden")
if user is None:
    if page.url_path not in PUBLIC_PAGES:
        sign_in_forms()  # the sign-in / first-admin form
        st.stop()
    # a resident following a report sees that page alone; staff find the form behind this
    st.sidebar.page_link(pages[0], label=t("auth.title"), icon=":material/login:")
page.run()
