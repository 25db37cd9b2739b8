"""Tải lên / Upload: a field team's file → preview → validation summary → commit.

Three kinds of file: an incident table (CSV/XLSX), a ZIP bundle of a table and its
photos (:mod:`app_pages._upload_bundle`), and a re-inspection results file
(:mod:`app_pages._upload_recheck`; detected by its header, or chosen).

Nothing is stored before the commit button: the preview is :func:`geo.services.preview_upload`
(which checks the ``upload`` right), the commit :func:`geo.services.commit_upload`. Every
string from the file reaches the page through ``st.dataframe``/``st.text`` (never markdown
or HTML), and the rejected-rows download is formula-neutralised.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_pages._auth import current_user
from app_pages._common import file_uploader, lang, num, store, t, wards
from app_pages._safe import md_plain
from app_pages._upload_bundle import show_bundle
from app_pages._upload_recheck import show_results
from geo import auth, services, settings
from geo.errors import GeoError
from geo.field_bundles import is_bundle
from geo.i18n import LABELS, status_label, type_label
from geo.ingest import FLAGS, REASONS, IngestOptions, IngestPreview
from geo.ingest import codes as ingest_codes
from geo.ingest.recheck import looks_like_results_file
from geo.maps import ward_map
from geo.safe_text import display_text
from geo.store import LOCAL_TZ

#: session key → {"key": (sha256, sheet, user, file date), "preview": IngestPreview,
#: "batch": int | None}
_STATE = "upload_state"
FIRST_ROWS = 10
MAX_SELECTED_WARDS = 20
#: The file kinds of the kind selector (``ingest --kind``); a ZIP is always a bundle.
KINDS = ("auto", "incidents", "recheck")


def _stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", name.rsplit(".", 1)[0], flags=re.ASCII).strip("._")
    return stem[:60] or "upload"


def _preview(
    user: auth.User, data: bytes, name: str, sheet: str | None, file_date: dt.date | None
) -> dict[str, Any]:
    """The preview of this file (sheet, file date) for this user, computed once per upload."""
    digest = hashlib.sha256(data).hexdigest()
    key = (digest, sheet, user.username, file_date)
    entry = st.session_state.get(_STATE)
    if isinstance(entry, dict) and entry.get("key") == key:
        return entry
    options = IngestOptions(file_name=name, sheet=sheet, wards=wards(), file_date=file_date)
    result = services.preview_upload(store(), user, data, options)
    entry = {"key": key, "preview": result, "batch": None}
    st.session_state[_STATE] = entry
    return entry


def _dated_preview(
    user: auth.User, data: bytes, name: str, sheet: str | None
) -> tuple[dict[str, Any], str | None]:
    """(the preview, the session key of the whole file's report date or None).

    A file (sheet) without a date column is previewed with a report date for the whole
    file: many ward sheets are dated once, in their title or name. It defaults to today
    in Hà Nội; rows that take it are flagged ``date_from_file``.
    """
    date_key = "upload_date_" + hashlib.sha256(f"{sheet}".encode() + data).hexdigest()[:16]
    entry = _preview(user, data, name, sheet, st.session_state.get(date_key))
    if entry["preview"].mapping.get("reported_at") is not None:
        return entry, None
    if st.session_state.get(date_key) is None:
        st.session_state[date_key] = _today()
        entry = _preview(user, data, name, sheet, st.session_state[date_key])
    return entry, date_key


def _today() -> dt.date:
    return pd.Timestamp.now(tz=LOCAL_TZ).date()


def _file_date_input(key: str) -> None:
    """"Ngày phát hiện cho cả tệp": its value is read from the session on the next run."""
    st.date_input(
        t("upload.file_date"),
        key=key,
        min_value=dt.date(2000, 1, 1),
        max_value=_today(),
        format="DD/MM/YYYY",
        help=t("upload.file_date_help"),
    )


def _message(row: pd.Series) -> str:
    return str(row["message_en"] if lang() == "en" else row["message_vi"])


def _local(value: Any) -> str:
    stamp = pd.Timestamp(value) if value is not None else pd.NaT
    if pd.isna(stamp):
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def _ward_names(codes: pd.Series) -> list[str]:
    """The wards' names for the rows' codes (an officer knows wards by name); blank for none."""
    layer = wards()
    names = dict(zip(layer["code"].astype(str), layer["name"].astype(str), strict=True))
    return ["" if pd.isna(c) else names.get(str(c), str(c)) for c in codes]


def _outcome(code: str) -> str:
    return t(f"upload.{code}") if code in ("accepted", "duplicate", "rejected") else code


def _reason(code: Any) -> str:
    text = REASONS.get(str(code))
    if text is None:
        return "" if code is None or pd.isna(code) else str(code)
    return text[1] if lang() == "en" else text[0]


def _flags(value: Any) -> str:
    codes = [c for c in str(value or "").replace(";", ",").split(",") if c.strip()]
    return ", ".join(t(f"upload.flag.{c.strip()}") if c.strip() in FLAGS else c for c in codes)


#: geo.ingest codes that are not key-shaped → the last part of their label key
def _code_label(kind: str, code: str) -> str:
    """The page-language label of an ingest code (``how``, coordinate or date format).

    The codes stay codes in storage and in the CLI's JSON; only the page shows words. The
    codes and their label keys are declared once (:mod:`geo.ingest.codes`), each labelled
    (tests/ingest/test_ingest_codes.py); a code from an older stored row without one is
    shown as itself rather than breaking the preview.
    """
    key = ingest_codes.label_key(kind, code)
    return t(key) if key is not None and key in LABELS else code


def _counts_table(counts: dict[str, int], label_key: str, label: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {t(label_key): [label(k) for k in counts], t("upload.rows"): list(counts.values())}
    )


def _show_preview(p: IngestPreview) -> None:
    st.subheader(t("upload.preview"))
    # st.text: the file name and encoding come from the upload and must not be markdown
    st.text(
        t(
            "upload.file_info",
            name=display_text(p.file_name + (f" [{p.sheet}]" if p.sheet else "")),
            format=p.file_format.upper(),
            encoding=p.encoding or "-",
            rows=len(p.rows),
        )
    )
    col_map, col_formats = st.columns([3, 2])
    with col_map:
        st.caption(t("upload.columns"))
        columns = p.columns
        st.dataframe(
            pd.DataFrame(
                {
                    t("upload.col.column"): columns["column"].astype(str),
                    t("upload.col.role"): [t(f"upload.role.{r}") for r in columns["role"]],
                    t("upload.col.how"): [_code_label("how", str(h)) for h in columns["how"]],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    with col_formats:
        st.caption(t("upload.coord_formats"))
        st.dataframe(
            _counts_table(p.coordinate_formats, "upload.format", lambda c: _code_label("coord_format", c)),
            hide_index=True,
            width="stretch",
        )
        st.caption(t("upload.date_formats"))
        st.dataframe(
            _counts_table(p.date_formats, "upload.format", lambda c: _code_label("date_format", c)),
            hide_index=True,
            width="stretch",
        )
    st.caption(t("upload.first_rows"))
    first = p.first_rows(FIRST_ROWS)
    st.dataframe(
        pd.DataFrame(
            {
                t("upload.row"): first["row"].astype(int),
                t("upload.outcome"): [_outcome(str(v)) for v in first["outcome"]],
                t("incident.type"): [
                    type_label(str(v), lang()) if pd.notna(v) else "" for v in first["type"]
                ],
                t("incident.status"): [
                    status_label(str(v), lang()) if pd.notna(v) else "" for v in first["status"]
                ],
                t("incident.reported_at"): [_local(v) for v in first["reported_at"]],
                t("upload.role.lat"): first["lat"],
                t("upload.role.lon"): first["lon"],
                t("filter.wards"): _ward_names(first["ward_code"]),
                t("incident.street"): first["street"],
                t("upload.flag"): [_flags(v) for v in first["flags"]],
                t("upload.message"): [_message(r) for _, r in first.iterrows()],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    with st.expander(t("upload.raw_rows")):
        st.dataframe(p.original.head(FIRST_ROWS), hide_index=True, width="stretch")


def _show_summary(p: IngestPreview) -> None:
    st.subheader(t("upload.summary"))
    counts = p.counts()
    cols = st.columns(4)
    cols[0].metric(t("upload.accepted"), num(counts["accepted"]))
    cols[1].metric(t("upload.duplicate"), num(counts["duplicate"]))
    cols[2].metric(t("upload.rejected"), num(counts["rejected"]))
    cols[3].metric(t("upload.updates"), num(p.n_status_updates))

    col_flags, col_reasons = st.columns(2)
    with col_flags:
        st.caption(t("upload.flags"))
        # only the flags that occur, each as words with its count beside it: a table of
        # every flag code with a long description pushed the counts out of sight
        flags = {f: n for f, n in p.flag_counts().items() if n}
        if flags:
            st.dataframe(
                _counts_table(flags, "upload.flag", lambda f: t(f"upload.flag.{f}")),
                hide_index=True,
                width="stretch",
            )
        else:
            st.caption(t("upload.no_flags"))
    with col_reasons:
        reasons = p.reason_counts()
        if reasons:
            st.caption(t("upload.reasons"))
            st.dataframe(
                _counts_table(reasons, "upload.reason", _reason),
                hide_index=True,
                width="stretch",
            )

    rows = p.rows
    rejected = rows[rows["outcome"] == "rejected"]
    if len(rejected):
        st.caption(t("upload.rejected_rows"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("upload.row"): rejected["row"].astype(int),
                    t("upload.reason"): [_reason(v) for v in rejected["reason"]],
                    t("upload.message"): [_message(r) for _, r in rejected.iterrows()],
                }
            ),
            hide_index=True,
            width="stretch",
        )
        user = current_user()  # read now: the download runs the builder later
        if services.offered(user, "rejected_rows"):
            st.download_button(
                t("upload.download_rejects"),
                data=lambda: services.rejected_rows_file(store(), user, p),
                file_name=f"{_stem(p.file_name)}_rejected.csv",
                mime="text/csv",
                key="upload_rejects",
                on_click="ignore",
            )
    duplicate = rows[rows["outcome"] == "duplicate"]
    if len(duplicate):
        st.caption(t("upload.duplicate_rows"))
        st.dataframe(
            pd.DataFrame(
                {
                    t("upload.row"): duplicate["row"].astype(int),
                    t("upload.dup_incident"): duplicate["duplicate_of_incident"],
                    t("upload.dup_row"): duplicate["duplicate_of_row"],
                    t("upload.updates"): [
                        status_label(str(v), lang()) if pd.notna(v) else ""
                        for v in duplicate["update_to"]
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
        )


def _show_map(p: IngestPreview) -> None:
    accepted = p.rows[(p.rows["outcome"] == "accepted") & p.rows["lat"].notna()]
    if accepted.empty:
        return
    st.caption(t("upload.map") + " — " + t("upload.map_caption"))
    points = pd.DataFrame(
        {
            "id": accepted["row"].astype(int).to_numpy(),
            "type": accepted["type"].to_numpy(),
            "status": accepted["status"].to_numpy(),
            "lat": accepted["lat"].astype(float).to_numpy(),
            "lon": accepted["lon"].astype(float).to_numpy(),
            "address": accepted["address"].to_numpy() if "address" in accepted else None,
            "street": accepted["street"].to_numpy(),
        }
    )
    layer = wards()
    codes = sorted({str(c) for c in accepted["ward_code"].dropna()})
    selected = codes if len(codes) <= MAX_SELECTED_WARDS else []
    fmap = ward_map(layer, points, lang=lang(), selected=selected)
    st_folium(fmap, key="upload_map", height=380, use_container_width=True, returned_objects=[])


def _kind_choice() -> str:
    """The file kind chosen (``ingest --kind``); the labels are the options, so the
    widget's value is plain text in the page's language (keyed by it)."""
    labels = [t(f"upload.kind.{k}") for k in KINDS]
    chosen = st.radio(t("upload.kind"), labels, horizontal=True, key=f"upload_kind_{lang()}")
    return KINDS[labels.index(chosen)] if chosen in labels else "auto"


def _show_table(p: IngestPreview) -> None:
    """A bundle's table, shown like a plain file's (its store button is the bundle's)."""
    _show_preview(p)
    _show_summary(p)


def _commit(user: auth.User, entry: dict[str, Any]) -> None:
    p: IngestPreview = entry["preview"]
    if entry["batch"] is not None:
        return
    if st.button(t("upload.commit"), type="primary", key="upload_commit"):
        try:
            result = services.commit_upload(store(), user, p)
        except GeoError as exc:
            st.error(md_plain(exc.message(lang())))
            return
        entry["batch"] = result.batch_id
        entry["done"] = {
            "accepted": result.preview.counts()["accepted"],
            "updates": result.preview.n_status_updates,
        }
        st.cache_data.clear()  # the other pages' cached aggregates now miss this batch
        st.rerun()


def main() -> None:
    st.title(t("upload.title"))
    user = current_user()
    if user is None or not auth.can(user, "upload"):
        st.info(t("upload.no_right"))
        return
    st.caption(t("upload.caption"))
    kind = _kind_choice()
    uploaded = file_uploader(t("upload.file"), ["csv", "txt", "xlsx", "zip"], settings.ingest_max_bytes(),
                             key="upload_file")
    if uploaded is None:
        st.session_state.pop(_STATE, None)
        return
    data = uploaded.getvalue()
    if is_bundle(uploaded.name):
        show_bundle(user, data, uploaded.name, _show_table)
        return
    if kind == "recheck" or (kind == "auto" and looks_like_results_file(uploaded.name, data)):
        show_results(user, data, uploaded.name)
        return
    sheet_key = "upload_sheet_" + hashlib.sha256(data).hexdigest()[:16]
    try:
        entry, date_key = _dated_preview(user, data, uploaded.name, st.session_state.get(sheet_key))
    except GeoError as exc:
        st.error(md_plain(exc.message(lang())))
        return
    p: IngestPreview = entry["preview"]
    if len(p.sheets) > 1:
        st.selectbox(
            t("upload.sheet"),
            p.sheets,
            index=p.sheets.index(p.sheet) if p.sheet in p.sheets else 0,
            key=sheet_key,
        )
    if date_key is not None:
        _file_date_input(date_key)
    if entry["batch"] is not None:
        done = entry.get("done", {})
        st.success(
            t(
                "upload.committed",
                batch=entry["batch"],
                accepted=done.get("accepted", 0),
                updates=done.get("updates", 0),
            )
        )
    if p.rows.empty:
        st.warning(t("upload.empty"))
        return
    _show_preview(p)
    _show_summary(p)
    _show_map(p)
    _commit(user, entry)


main()
