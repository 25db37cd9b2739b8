"""The status-change form of the map page's details panel.

Drawn only for users :func:`geo.auth.can` allows for the incident's ward — but that is a
courtesy: :func:`geo.services.change_status` checks the right again and refuses whatever
the form would let through. After a change the page reruns, so the status history above
the form (and the marker colours) show the new state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from app_pages._auth import current_user
from app_pages._common import file_uploader, lang, t
from app_pages._photos import PHOTO_TYPES, add_uploaded
from app_pages._safe import md_plain
from geo import auth, services, settings
from geo.errors import GeoError
from geo.i18n import status_label
from geo.store import PUBLIC_NOTE_CHARS, TRANSITIONS

if TYPE_CHECKING:
    from geo.store import Store

_FLASH = "status_flash"
MAX_NOTE_CHARS = 1000


def status_form(store: Store, incident_id: int, current: str, ward_code: Any) -> None:
    """The next workflow steps for this incident, when the signed-in user may take them."""
    ward = None if ward_code is None or pd.isna(ward_code) else str(ward_code)
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)
    user = current_user()
    if user is None or not auth.can(user, "change_status", ward):
        return
    options = list(TRANSITIONS.get(current, ()))
    if not options:
        st.caption(t("status.final"))
        return
    labels = {code: status_label(code, lang()) for code in TRANSITIONS}
    select_key = f"status_to_{incident_id}"
    # On the run a submit starts, the widget state holds the move the user chose; if the
    # incident moved on meanwhile that choice may no longer be offered, and the service
    # (not the form) must say why it refuses it.
    chosen = st.session_state.get(select_key)
    with st.form(f"status_form_{incident_id}"):
        st.caption(t("status.form_title"))
        offered = st.selectbox(
            t("status.to"), options, format_func=labels.__getitem__, key=select_key
        )
        note = st.text_input(
            t("status.note"), key=f"status_note_{incident_id}", max_chars=MAX_NOTE_CHARS
        )
        public_note = st.text_input(
            t("status.public_note"), key=f"status_public_note_{incident_id}",
            max_chars=PUBLIC_NOTE_CHARS, help=t("status.public_note_help"),
        )
        photos = file_uploader(
            t("photos.after_with_status"), PHOTO_TYPES, settings.photo_max_bytes(),
            key=f"status_photos_{incident_id}", multiple=True,
        )
        submitted = st.form_submit_button(t("status.submit"))
    to_state = chosen if chosen in labels else offered
    if not submitted or to_state is None:
        return
    if photos and add_uploaded(store, incident_id, photos, "after") is None:
        return  # refused as a whole (shown); the status is not changed either
    try:
        if to_state == "recurred":  # a cleared place violated again: a new incident opens
            new_id = services.record_recurrence(store, user, incident_id, note or None)
            message = t("status.recurred", new=new_id)
        else:
            services.change_status(store, user, incident_id, to_state, note or None,
                                   public_note=public_note or None)
            message = t("status.done", id=incident_id, status=status_label(to_state, lang()))
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    st.session_state[_FLASH] = message
    st.cache_data.clear()  # leaders' pages cache aggregates by store URL
    st.rerun()
