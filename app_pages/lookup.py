"""Tra cứu phản ánh / Look up a report: by request number or token, without signing in.

Shows what ``GET requests/{id}`` and ``GET tokens/{token}`` tell a resident (status,
the ward's notes, the responsible ward, dates), never personal data. Text is shown with
``st.text``, never as markdown. ``?q=`` in the URL fills the box (a link in a reply).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import streamlit as st

from app_pages._common import lang, store, t
from geo.services import reports as moderation
from geo.vocab import type_label


def _when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%d/%m/%Y %H:%M") if value else "—"


def _show(found: dict[str, Any]) -> None:
    if "report_status" in found:
        st.caption(t("lookup.report_status"))
        st.text(t(f"lookup.{found['report_status']}"))
    if found.get("service_request_id"):
        st.caption(t("lookup.request"))
        st.text(f"{found['service_request_id']} · {type_label(found['service_code'], lang())}")
        st.caption(t("lookup.status"))
        st.text(t(f"lookup.{found['status']}"))
        st.caption(t("lookup.ward"))
        st.text(found.get("agency_responsible") or "—")
        st.caption(f"{t('lookup.requested')} · {t('lookup.updated')} · {t('lookup.expected')}")
        st.text(" · ".join(_when(found.get(k)) for k in
                           ("requested_datetime", "updated_datetime", "expected_datetime")))
    if found.get("status_notes"):
        st.caption(t("lookup.notes"))
        st.text(found["status_notes"])


def main() -> None:
    st.title(t("lookup.title"))
    if "lookup_q" not in st.session_state:
        st.session_state["lookup_q"] = st.query_params.get("q", "")
    text = st.text_input(t("lookup.input"), key="lookup_q", max_chars=64)
    if not text.strip():
        return
    found = moderation.public_lookup(store(), text)
    if found is None:
        st.warning(t("lookup.none"))
        return
    _show(found)


main()
