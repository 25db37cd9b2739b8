"""Photo evidence in the map page's details panel: before and after side by side.

Images are the stored thumbnails (≤ 480 px, no metadata), read through
:func:`geo.services.photos.photo_file` and handed to ``st.image`` as bytes, so the app
serves them itself (no link to any other host, nothing loaded on the map). Each photo's
capture time, distance and flags are shown as plain text (``st.caption`` of escaped
text): nothing from a photo's EXIF is rendered as markdown or HTML.

The add-photos form is drawn only for users who may add some role here; the service
checks the right again (``before``: ``upload``; ``after``: ``change_status`` in the ward).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from app_pages._auth import current_user
from app_pages._common import file_uploader, lang, t
from app_pages._safe import md_plain
from geo import auth, settings
from geo.errors import GeoError
from geo.photos import PhotoSource
from geo.services import photos as photo_services
from geo.store import LOCAL_TZ

if TYPE_CHECKING:
    from geo.evidence import PhotoResult
    from geo.store import Store

#: Suffixes the uploaders accept (the photo reader checks the content regardless).
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "heic", "heif"]
_FLASH = "photos_flash"


def photo_panel(store: Store, incident_id: int, ward_code: Any) -> None:
    """Before and after photos of one incident, then the add-photos form."""
    try:
        shown = photo_services.incident_photos(store, current_user(), incident_id)
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    st.caption(t("photos.title"))
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)
    stored = shown[shown["sha256"].notna()]
    columns = st.columns(2)
    for column, role in zip(columns, ("before", "after"), strict=True):
        with column:
            st.markdown(f"**{t('photos.' + role)}**")
            mine = stored[stored["role"] == role]
            if mine.empty:
                st.caption(t("photos.none"))
            for _, photo in mine.iterrows():
                _one_photo(store, photo)
    _add_form(store, incident_id, ward_code)


def _one_photo(store: Store, photo: pd.Series) -> None:
    try:
        thumb = photo_services.photo_file(store, current_user(), str(photo["sha256"]))
    except GeoError as exc:
        st.caption(md_plain(exc.message(lang())))
        return
    st.image(thumb.read_bytes(), width="stretch")
    st.caption(md_plain(describe(photo)))


def describe(photo: pd.Series | dict[str, Any]) -> str:
    """Capture time, distance and flags of one photo, in the session's language."""
    parts = []
    taken = photo.get("taken_at")
    if taken is None or pd.isna(taken):
        parts.append(t("photos.no_time"))
    else:
        when = pd.Timestamp(taken)
        when = when.tz_localize("UTC") if when.tzinfo is None else when
        parts.append(t("photos.taken_at", when=when.tz_convert(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")))
    distance = photo.get("distance_m")
    if distance is not None and not pd.isna(distance):
        parts.append(t("photos.distance", m=round(float(distance))))
    flags = [f for f in str(photo.get("flags") or "").split(",") if f]
    parts += [t("photos.flag." + f) for f in flags] or [t("photos.ok")]
    return " · ".join(parts)


def allowed_roles(ward_code: Any) -> list[str]:
    """The roles the signed-in user may add photos of, here."""
    user = current_user()
    ward = None if ward_code is None or pd.isna(ward_code) else str(ward_code)
    return [r for r, right in photo_services.RIGHT_BY_ROLE.items() if user is not None and auth.can(user, right, ward)]


def _add_form(store: Store, incident_id: int, ward_code: Any) -> None:
    roles = allowed_roles(ward_code)
    if not roles:
        return
    with st.form(f"photos_form_{incident_id}", clear_on_submit=True):
        st.caption(t("photos.add"))
        # labels resolved now (a format_func may be called outside the run, without the language)
        labels = {r: t("photos.role." + r) for r in roles}
        role = st.radio(t("photos.role"), roles, format_func=labels.__getitem__, horizontal=True,
                        key=f"photos_role_{incident_id}")  # fmt: skip
        files = file_uploader(t("photos.files"), PHOTO_TYPES, settings.photo_max_bytes(),
                              key=f"photos_files_{incident_id}", multiple=True)
        submitted = st.form_submit_button(t("photos.submit"))
    if not submitted or not files:
        return
    results = add_uploaded(store, incident_id, files, role)
    if results is not None:
        st.rerun()


def add_uploaded(store: Store, incident_id: int, files: list[Any], role: str) -> list[PhotoResult] | None:
    """Attach uploaded files; refusals shown with their reasons, a summary flashed.

    Returns None when the service refused the whole request (shown as an error).
    """
    user = current_user()
    if user is None:
        return None
    sources = [PhotoSource.from_bytes(f.name, f.getvalue()) for f in files]
    try:
        results = photo_services.add_photos(store, user, incident_id, sources, role=role)
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return None
    refused = [
        t("photos.refused", name=r.name, reason=(r.reason_en if lang() == "en" else r.reason_vi) or "")
        for r in results if not r.accepted
    ]  # fmt: skip
    message = t("photos.added", n=sum(r.accepted for r in results))
    st.session_state[_FLASH] = "  \n".join([md_plain(message), *map(md_plain, refused)])
    st.cache_data.clear()
    return results
