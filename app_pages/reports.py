"""Phản ánh của người dân / Residents' reports: moderation by the responsible ward.

Lists the pending reports of the officer's own wards (all wards for an admin), shows the
chosen one on a map with the open incidents of its type within 30 m, and accepts,
merges or rejects it through :mod:`geo.services.reports` (rights checked and audited
there). Residents' text is shown with ``st.text`` and in dataframes, never as markdown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages._auth import current_user
from app_pages._common import lang, store, t
from app_pages._safe import md_plain
from geo.errors import GeoError
from geo.i18n import status_label
from geo.open311.moderation_map import report_map
from geo.services import reports as moderation
from geo.store import PUBLIC_NOTE_CHARS
from geo.vocab import type_label

REASONS = ("reports.reason_not_order", "reports.reason_outside", "reports.reason_spam")
FLASH = "reports_flash"


def _label(row: dict[str, Any]) -> str:
    when = pd.Timestamp(row["received_at"]).tz_convert("Asia/Ho_Chi_Minh").strftime("%d/%m %H:%M")
    return f"#{row['id']} · {row['ward_code']} · {type_label(row['service_code'], lang())} · {when}"


def _details(row: dict[str, Any]) -> None:
    st.caption(f"{t('reports.received')}: {_label(row)}")
    st.caption(t("reports.description"))
    st.text(row["description"] or "—")
    st.caption(t("reports.address"))
    st.text(row["address"] or "—")
    if row["media_url"]:
        st.caption(t("reports.media"))
        st.text(row["media_url"])


def _nearby_table(nearby: pd.DataFrame) -> pd.DataFrame:
    """The nearby incidents in the page's language: the number to merge into, the status
    in words, the distance in whole metres (not the store's column names and codes)."""
    return pd.DataFrame(
        {
            t("reports.merge_into"): nearby["id"].astype(int),
            t("incident.status"): [status_label(str(s), lang()) for s in nearby["status"]],
            t("reports.distance"): nearby["distance_m"].astype(float).round(0).astype(int),
            t("incident.address"): nearby["address"].fillna(""),
        }
    )


def _nearby(row: dict[str, Any], user: Any) -> pd.DataFrame:
    nearby = moderation.duplicate_suggestions(store(), user, int(row["id"]))
    st.subheader(t("reports.nearby"))
    if nearby.empty:
        st.caption(t("reports.no_nearby"))
    else:
        st.dataframe(_nearby_table(nearby), hide_index=True, key="reports_nearby")
    if row["lat"] is not None and not pd.isna(row["lat"]):
        fmap = report_map(float(row["lat"]), float(row["long"]), _label(row), nearby, lang=lang())
        st_folium(fmap, key=f"report_map_{row['id']}", height=360, use_container_width=True,
                  returned_objects=[])
    return nearby


def _act(done: str, work: Any, **fmt: Any) -> None:
    try:
        result = work()
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    st.session_state[FLASH] = t(done, **fmt, incident=result if result is not None else fmt.get("incident"))
    st.rerun()


def _decide(row: dict[str, Any], user: Any, nearby: pd.DataFrame) -> None:
    report_id = int(row["id"])
    public = st.text_input(t("reports.public_note"), key="reports_public_note",
                           max_chars=PUBLIC_NOTE_CHARS, help=t("status.public_note_help")) or None
    accept, merge, reject = st.columns(3)
    if accept.button(t("reports.accept"), key="reports_accept", type="primary"):
        _act("reports.accepted", lambda: moderation.accept_report(store(), user, report_id, public),
             id=report_id)
    first = int(nearby["id"].iloc[0]) if not nearby.empty else 1
    target = merge.number_input(t("reports.merge_into"), min_value=1, step=1, value=first,
                                key="reports_merge_into")
    if merge.button(t("reports.merge"), key="reports_merge"):
        _act("reports.merged", lambda: moderation.merge_report(store(), user, report_id, int(target), public),
             id=report_id, incident=int(target))
    choice = reject.selectbox(t("reports.reason"), [*REASONS, "reports.reason_other"],
                              format_func=t, key="reports_reason")
    other = reject.text_input(t("reports.reason_other"), key="reports_reason_text")
    if reject.button(t("reports.reject"), key="reports_reject"):
        reason = other if choice == "reports.reason_other" else t(choice)
        _act("reports.rejected", lambda: moderation.reject_report(store(), user, report_id, reason),
             id=report_id)


def main() -> None:
    st.title(t("reports.title"))
    if FLASH in st.session_state:
        st.success(md_plain(st.session_state.pop(FLASH)))
    user = current_user()
    try:
        pending = moderation.list_reports(store(), user)
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    if pending.empty:
        st.info(t("reports.none"))
        return
    st.caption(t("reports.waiting", n=len(pending)))
    rows = {int(r["id"]): r for r in pending.to_dict("records")}
    chosen = st.selectbox(t("reports.pick"), list(rows), format_func=lambda i: _label(rows[i]),
                          key="reports_pick")
    row = rows[int(chosen)]
    _details(row)
    try:
        nearby = _nearby(row, user)
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    _decide(row, user, nearby)


main()
