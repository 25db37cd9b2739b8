"""The upload page's ZIP bundles: one table and its photos (issue 13).

A bundle is first read as a dry run (:func:`geo.services.photos.ingest_bundle` with
``dry_run``): the archive's names and sizes, the table and every photo's declared size
are checked before any photo is decoded, and the table's preview is shown like a plain
file's. The store button then runs the real ingest, which reads and checks each photo
and writes the table's batch with the photos of stored incidents in one transaction.
Every photo, named or not, is listed with its outcome; names, reasons and flags reach
the page through ``st.dataframe`` only (never markdown).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app_pages._common import lang, store, t, wards
from app_pages._safe import md_plain
from geo import auth
from geo.errors import GeoError
from geo.field_bundles import BundlePhoto, BundleResult
from geo.ingest import IngestOptions, IngestPreview
from geo.services import photos as photo_services

_STATE = "upload_bundle_state"


def _result(user: auth.User, data: bytes, name: str) -> dict[str, Any]:
    """The dry run of this bundle for this user, computed once per upload."""
    key = (hashlib.sha256(data).hexdigest(), user.username)
    entry = st.session_state.get(_STATE)
    if isinstance(entry, dict) and entry.get("key") == key:
        return entry
    options = IngestOptions(file_name=name, wards=wards(), dry_run=True)
    entry = {"key": key, "planned": photo_services.ingest_bundle(store(), user, data, options), "done": None}
    st.session_state[_STATE] = entry
    return entry


def _outcome(photo: BundlePhoto, planned: bool) -> str:
    if planned and photo.outcome == "accepted":
        return t("upload.photo.planned")
    return t(f"upload.photo.{photo.outcome}")


def _flags(photo: BundlePhoto) -> str:
    return ", ".join(t(f"photos.flag.{f}") for f in photo.flags)


def _photo_table(result: BundleResult, planned: bool) -> None:
    counts = result.counts()
    key = "upload.photos_planned" if planned else "upload.photos_count"
    st.subheader(t("upload.photos"))
    st.text(t(key, total=len(result.photos), **counts))
    photos = result.photos
    english = lang() == "en"
    st.dataframe(
        pd.DataFrame(
            {
                t("upload.photo.name"): [p.name for p in photos],
                t("upload.row"): pd.array([p.row for p in photos], dtype="Int64"),
                t("upload.photo.column"): [p.column or "" for p in photos],
                t("upload.photo.incident"): pd.array([p.incident_id for p in photos], dtype="Int64"),
                t("upload.photo.role"): [t(f"photos.role.{p.role}") if p.role else "" for p in photos],
                t("upload.outcome"): [_outcome(p, planned) for p in photos],
                t("upload.photo.flags"): [_flags(p) for p in photos],
                t("upload.reason"): [(p.reason_en if english else p.reason_vi) or "" for p in photos],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def show_bundle(user: auth.User, data: bytes, name: str, show_table: Callable[[IngestPreview], None]) -> None:
    """The bundle's checks, its photos, and the store button (then what was stored)."""
    try:
        entry = _result(user, data, name)
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    done: BundleResult | None = entry["done"]
    if done is not None:
        st.success(
            t(
                "upload.bundle_committed",
                batch=done.ingest.batch_id,
                accepted=done.ingest.preview.counts()["accepted"],
                updates=done.ingest.preview.n_status_updates,
                photos=done.counts()["accepted"],
            )
        )
        _photo_table(done, planned=False)
        return
    planned: BundleResult = entry["planned"]
    if planned.ingest.preview.rows.empty:
        st.warning(t("upload.empty"))
    else:
        show_table(planned.ingest.preview)
    _photo_table(planned, planned=True)
    if st.button(t("upload.commit"), type="primary", key="upload_commit"):
        try:
            entry["done"] = photo_services.ingest_bundle(
                store(), user, data, IngestOptions(file_name=name, wards=wards())
            )
        except GeoError as exc:
            st.error(md_plain(exc.message(lang())))
            return
        st.cache_data.clear()  # the other pages' cached aggregates now miss this batch
        st.rerun()
