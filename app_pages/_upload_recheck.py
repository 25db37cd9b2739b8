"""The upload page's re-inspection results files (issue 12; ``ingest --kind recheck``).

A results file is decided first as a dry run (:func:`geo.services.ingest_results`),
which also checks the rights on every place a ``violation`` row reopens; the page shows
the accepted, duplicate and rejected counts, each reject reason in plain words with
its code, and the rejected rows by number, each with its message in the page's language
(the column it is about and the value read there). The store button stores the accepted rows
in one batch. File strings reach the page through ``st.dataframe``/``st.text`` only.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from app_pages._common import lang, num, store, t
from app_pages._safe import md_plain
from geo import auth, services
from geo.errors import GeoError
from geo.ingest import IngestOptions
from geo.ingest.recheck import RecheckResult

_STATE = "upload_recheck_state"


def _decided(user: auth.User, data: bytes, name: str) -> dict[str, Any]:
    key = (hashlib.sha256(data).hexdigest(), user.username)
    entry = st.session_state.get(_STATE)
    if isinstance(entry, dict) and entry.get("key") == key:
        return entry
    options = IngestOptions(file_name=name, dry_run=True)
    entry = {"key": key, "decided": services.ingest_results(store(), user, data, options), "done": None}
    st.session_state[_STATE] = entry
    return entry


def _reason(code: str) -> str:
    return t(f"upload.recheck.{code}")


def _show(result: RecheckResult) -> None:
    st.subheader(t("upload.recheck_title"))
    st.text(f"{result.file} · {t('upload.rows')}: {result.rows}")
    cols = st.columns(5)
    cols[0].metric(t("upload.accepted"), num(result.accepted))
    cols[1].metric(t("upload.duplicate"), num(result.duplicate))
    cols[2].metric(t("upload.rejected"), num(result.rejected))
    cols[3].metric(t("upload.recheck_clear"), num(result.clear))
    cols[4].metric(t("upload.recheck_violation"), num(result.violation))
    if result.reasons:
        st.caption(t("upload.reasons"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("upload.reason"): list(result.reasons),
                    t("upload.message"): [_reason(c) for c in result.reasons],
                    t("upload.rows"): list(result.reasons.values()),
                }
            ),
            hide_index=True,
            width="stretch",
        )
        rejected = result.rejected_rows()
        st.caption(t("upload.rejected_rows"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("upload.row"): [n for n, _ in rejected],
                    t("upload.reason"): [c for _, c in rejected],
                    t("upload.message"): [en if lang() == "en" else vi for vi, en in result.messages],
                }
            ),
            hide_index=True,
            width="stretch",
        )


def show_results(user: auth.User, data: bytes, name: str) -> None:
    """A results file's decisions and the store button (then the stored batch)."""
    try:
        entry = _decided(user, data, name)
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    done: RecheckResult | None = entry["done"]
    if done is not None:
        counts = {"accepted": done.accepted, "clear": done.clear, "violation": done.violation}
        st.success(t("upload.recheck_committed", batch=done.batch_id, **counts))
        _show(done)
        return
    decided: RecheckResult = entry["decided"]
    _show(decided)
    if decided.accepted and st.button(t("upload.commit"), type="primary", key="upload_commit"):
        try:
            entry["done"] = services.ingest_results(store(), user, data, IngestOptions(file_name=name))
        except GeoError as exc:
            st.error(md_plain(exc.message(lang())))
            return
        st.cache_data.clear()
        st.rerun()
