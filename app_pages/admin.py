"""Quản trị / Administration: accounts, the official ward layer, the audit log and
whether its hash chains hold.

Admins only: the page checks ``manage_users`` through :mod:`geo.services` (a refusal is
audited) and every action goes through a services function that checks its own right.
A new ward layer is checked and its report shown before the confirm button replaces the
layer in use (old versions are kept). User-supplied text reaches the page through
``st.dataframe`` or :func:`app_pages._safe.md_plain`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app_pages._auth import current_user
from app_pages._common import file_uploader, lang, num, store, t, wards
from app_pages._safe import md_plain
from geo import audit_codes, auth, boundary_checks, services, settings
from geo.crs import LOCAL_TZ
from geo.errors import GeoError
from geo.i18n import audit_details, audit_label

_FLASH = "admin_flash"
_LAYER = "admin_layer"  # {"key": (sha256, crs), "preview": BoundaryPreview | None, "error": str}
_CHAIN = "admin_chain"  # (checked at, [ChainState, …])
AUDIT_ROWS = 500
LAYER_TYPES = ["geojson", "json", "gpkg", "zip"]


def _error(exc: GeoError) -> None:
    st.error(md_plain(exc.message(lang())))


def _done(message: str) -> None:
    """Show ``message`` after the rerun that redraws the lists with the change."""
    st.session_state[_FLASH] = message
    st.rerun()


def _ward_options() -> dict[str, str]:
    layer = wards()
    return {str(c): f"{c} {n}" for c, n in zip(layer["code"], layer["name"], strict=True)}


def _role_label(role: str) -> str:
    return t(f"role.{role}")


# -- accounts ------------------------------------------------------------------------------


def _hanoi_times(values: pd.Series) -> pd.Series:
    """Stored instants (naive is UTC, as the store writes them) as Hà Nội reads a clock,
    dd/mm/yyyy HH:MM; blank where there is none (a key not revoked)."""
    local = pd.to_datetime(values, utc=True).dt.tz_convert(LOCAL_TZ)
    return local.dt.strftime("%d/%m/%Y %H:%M").fillna("")


def _labelled(frame: pd.DataFrame, columns: dict[str, str], times: tuple[str, ...] = ()) -> pd.DataFrame:
    """``frame``'s ``columns`` (store column → label key) under the page-language labels,
    in that order, with the ``times`` columns on the Hà Nội clock: officers read neither
    the store's column names nor UTC."""
    return pd.DataFrame(
        {
            t(key): _hanoi_times(frame[column]) if column in times else frame[column]
            for column, key in columns.items()
        }
    )


def _codes(value: Any) -> list[str]:
    return [c for c in str(value or "").split(",") if c]


def _accounts_table(users: pd.DataFrame, ward_names: dict[str, str]) -> pd.DataFrame:
    """The accounts as the page shows them: headers, roles and wards in the page's language
    and the creation time in Hà Nội, not the store's column names, role codes and UTC."""
    return pd.DataFrame(
        {
            t("admin.username"): users["username"].astype(str),
            t("admin.roles"): [", ".join(_role_label(r) for r in _codes(v)) for v in users["roles"]],
            t("admin.wards"): [", ".join(ward_names.get(w, w) for w in _codes(v)) for v in users["wards"]],
            t("admin.col_disabled"): users["disabled"].astype(bool),
            t("admin.col_password"): users["has_password"].astype(bool),
            t("admin.col_created"): _hanoi_times(users["created_at"]),
        }
    )


def _accounts(user: auth.User) -> None:
    try:
        users = services.list_users(store(), user)  # no password hashes
    except GeoError as exc:
        _error(exc)
        return
    st.subheader(t("admin.users"))
    ward_names = _ward_options()
    st.dataframe(_accounts_table(users, ward_names), hide_index=True, width="stretch")
    names = users["username"].astype(str).tolist()

    st.subheader(t("admin.add"))
    with st.form("admin_add", clear_on_submit=True):
        name = st.text_input(t("admin.username"), key="admin_add_name")
        password = st.text_input(
            t("admin.password", n=auth.MIN_PASSWORD_CHARS), type="password", key="admin_add_pw"
        )
        oidc = st.checkbox(t("admin.oidc_only"), key="admin_add_oidc")
        roles = st.multiselect(
            t("admin.roles"), list(auth.ROLES), format_func=_role_label, key="admin_add_roles",
            placeholder=t("common.choose"),
        )
        ward_list = st.multiselect(
            t("admin.wards"), list(ward_names), format_func=ward_names.__getitem__,
            key="admin_add_wards", placeholder=t("common.choose"),
        )
        if st.form_submit_button(t("admin.add_submit")):
            try:
                added = services.add_user(
                    store(), user, name, None if oidc else password, roles, ward_list
                )
            except GeoError as exc:
                _error(exc)
            else:
                _done(t("admin.added", user=added.username))

    if not names:
        return
    st.subheader(t("admin.account"))
    who = st.selectbox(t("admin.account"), names, key="admin_who")
    col_a, col_b = st.columns(2)
    for col, disabled, label, done in (
        (col_a, True, "admin.disable", "admin.disabled"),
        (col_b, False, "admin.enable", "admin.enabled"),
    ):
        if col.button(t(label), key=f"admin_{label}"):
            try:
                services.disable_user(store(), user, str(who), disabled=disabled)
            except GeoError as exc:
                _error(exc)
            else:
                _done(t(done, user=who))

    with st.form("admin_grant"):
        st.markdown(f"**{t('admin.grant')}**")
        roles = st.multiselect(
            t("admin.roles"), list(auth.ROLES), format_func=_role_label,
            key="admin_grant_roles", placeholder=t("common.choose"),
        )
        ward_list = st.multiselect(
            t("admin.wards"), list(ward_names), format_func=ward_names.__getitem__,
            key="admin_grant_wards", placeholder=t("common.choose"),
        )
        replace = st.checkbox(t("admin.grant_replace"), key="admin_grant_replace")
        if st.form_submit_button(t("admin.grant_submit")):
            try:
                services.grant(store(), user, str(who), roles, ward_list, replace=replace)
            except GeoError as exc:
                _error(exc)
            else:
                _done(t("admin.granted", user=who))


# -- ward layer ----------------------------------------------------------------------------


def _safe_name(name: str) -> str:
    """The upload's name as a plain file name (the extension tells the reader the format)."""
    stem, _, ext = name.rpartition(".")
    stem = re.sub(r"[^\w.-]+", "_", stem or "layer", flags=re.ASCII).strip("._")[:60] or "layer"
    ext = ext.lower() if ext.lower() in LAYER_TYPES else "geojson"
    return f"{stem}.{ext}"


def _hanoi_time(stored: str) -> str:
    """A stored instant (naive text is UTC, as the store writes it) as Hà Nội reads a clock."""
    if not stored:
        return "—"
    stamp = pd.Timestamp(stored)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def _with_file(data: bytes, name: str, work: Any) -> Any:
    """Run ``work(path)`` on the upload written to a private temporary directory."""
    with tempfile.TemporaryDirectory(prefix="geo-admin-") as tmp:
        path = Path(tmp) / _safe_name(name)
        path.write_bytes(data)
        return work(path)


def _show_report(report: dict[str, Any]) -> None:
    st.subheader(t("admin.report"))
    cols = st.columns(5)
    cols[0].metric(t("admin.r_count"), num(report["count"]))
    cols[1].metric(t("admin.r_invalid"), num(report["invalid"]))
    cols[2].metric(t("admin.r_overlaps"), num(report["overlaps_m2"], 1))
    cols[3].metric(t("admin.r_gaps"), num(report["gaps_m2"], 1))
    cols[4].metric(t("admin.r_matched"), f"{num(report['codes_matched'])}/{num(report['count'])}")
    if report["unmatched"]:
        st.caption(t("admin.r_unmatched"))
        st.dataframe(
            pd.DataFrame({t("admin.r_unmatched"): [str(n) for n in report["unmatched"]]}),
            hide_index=True,
        )


def _ward_layer(user: auth.User) -> None:
    total, retired, since = services.ward_layer_version(store())
    current = total - retired
    st.caption(t("admin.wards_current", n=current, since=_hanoi_time(since)))
    uploaded = file_uploader(t("admin.layer_file"), LAYER_TYPES, settings.ingest_max_bytes(),
                             key="admin_layer_file")
    crs = st.text_input(t("admin.layer_crs"), key="admin_layer_crs").strip() or None
    valid_from = st.date_input(t("admin.valid_from"), value=None, key="admin_valid_from",
                               format="DD/MM/YYYY")
    if uploaded is None:
        st.session_state.pop(_LAYER, None)
        return
    data = uploaded.getvalue()
    key = (hashlib.sha256(data).hexdigest(), crs)
    entry = st.session_state.get(_LAYER)
    if not isinstance(entry, dict) or entry.get("key") != key:
        entry = {"key": key, "preview": None, "error": None}
        try:
            entry["preview"] = _with_file(
                data, uploaded.name,
                lambda p: boundary_checks.preview_boundaries(p, crs=crs, source=uploaded.name),
            )
        except GeoError as exc:
            entry["error"] = exc
        st.session_state[_LAYER] = entry
    if entry["error"] is not None:
        _error(entry["error"])
        return
    checked = entry["preview"]
    _show_report(checked.report)
    if checked.refusal is not None:
        _error(checked.refusal)
        return
    if st.button(t("admin.confirm"), type="primary", key="admin_layer_confirm"):
        start = (
            pd.Timestamp(valid_from).tz_localize(LOCAL_TZ)
            if isinstance(valid_from, dt.date) else None
        )
        try:
            result = _with_file(
                data, uploaded.name,
                lambda p: services.replace_boundaries(
                    store(), user, p, valid_from=start, crs=crs, source=uploaded.name
                ),
            )
        except GeoError as exc:
            _error(exc)
            return
        st.session_state.pop(_LAYER, None)
        st.cache_data.clear()  # aggregates and maps keyed on the old layer
        _done(t("admin.replaced", **{k: result[k] for k in ("added", "changed", "retired")}))


# -- audit log -----------------------------------------------------------------------------


def _chain_state(user: auth.User) -> None:
    """Whether the hash chains hold, checked once per session (walking a million rows
    takes seconds) and again on request."""
    st.subheader(t("admin.chain"))
    st.caption(t("admin.chain_help"))
    again = st.button(t("admin.chain_again"), key="admin_chain_again")
    checked = st.session_state.get(_CHAIN)
    if again or checked is None:
        try:
            checked = (pd.Timestamp.now(tz=LOCAL_TZ), services.audit_verify(store(), user))
        except GeoError as exc:
            _error(exc)
            return
        st.session_state[_CHAIN] = checked
    at, states = checked
    st.caption(t("admin.chain_checked", at=at.strftime("%H:%M:%S")))
    for state in states:
        (st.success if state.ok else st.error)(md_plain(state.message(lang())))


#: audit_log columns → label keys, in the order shown
_AUDIT_COLUMNS = {
    "id": "admin.col_id", "at": "admin.col_at", "actor": "admin.col_actor",
    "action": "admin.col_action", "object_type": "admin.col_object_type",
    "object_id": "admin.col_object_id", "details": "admin.col_details",
}  # fmt: skip
#: list_api_keys columns → label keys (never the id: names identify keys to people)
_KEY_COLUMNS = {
    "name": "admin.col_key_name", "prefix": "admin.col_prefix", "created_at": "admin.col_created",
    "created_by": "admin.col_created_by", "revoked_at": "admin.col_revoked",
}  # fmt: skip


def _audit(user: auth.User) -> None:
    _chain_state(user)
    try:
        log = services.audit_log(store(), user, AUDIT_ROWS)
    except GeoError as exc:
        _error(exc)
        return
    st.caption(t("admin.audit_caption", n=len(log)))
    st.dataframe(_labelled(_audit_shown(log), _AUDIT_COLUMNS, times=("at",)), hide_index=True, width="stretch")


def _audit_shown(log: pd.DataFrame) -> pd.DataFrame:
    """The audit log as officers read it: actions and object types as words in the page's
    language (:func:`geo.i18n.audit_label`), not the stored codes, details as labelled text
    in that language (:func:`geo.i18n.audit_details`), not JSON with English keys, and no
    object id as blank."""
    shown = log.copy()
    actions = log["action"] if "action" in log else pd.Series(None, index=log.index)
    if {"action", "object_type", "details"} <= set(shown.columns):  # an old row's retired type
        shown["object_type"] = [audit_codes.meant(*row) for row in zip(
            shown["action"], shown["object_type"], shown["details"], strict=True)]  # fmt: skip
    for column, kind in (("action", "action"), ("object_type", "object")):
        if column in shown:
            shown[column] = shown[column].map(lambda code, kind=kind: audit_label(kind, code, lang()))
    if "object_id" in shown:  # an entry about no one object: blank, not the grid's "None"
        shown["object_id"] = shown["object_id"].astype(object).where(shown["object_id"].notna(), "")
    if "details" in shown:  # keys as words, values as the page's language writes them
        shown["details"] = [audit_details(v, lang(), action=a) for v, a in zip(log["details"], actions, strict=True)]
    return shown


def _api_keys(user: auth.User) -> None:
    """Open311 API keys: issue (the secret shown once), list, revoke."""
    from geo.services import reports as moderation

    with st.form("apikey_add", clear_on_submit=True):
        name = st.text_input(t("admin.apikey_name"), key="apikey_name")
        if st.form_submit_button(t("admin.apikey_add")):
            try:
                secret = moderation.add_api_key(store(), user, name)
            except GeoError as exc:
                _error(exc)
            else:
                st.success(md_plain(t("admin.apikey_made", name=name)))
                st.code(secret, language=None)
    keys = moderation.list_api_keys(store(), user)
    st.dataframe(
        _labelled(keys, _KEY_COLUMNS, times=("created_at", "revoked_at")),
        hide_index=True, width="stretch", key="apikey_table",
    )
    active = keys.loc[keys["revoked_at"].isna(), "name"].tolist()
    if active:
        chosen = st.selectbox(t("admin.apikey_revoke"), active, key="apikey_revoke_pick")
        if st.button(t("admin.apikey_revoke"), key="apikey_revoke"):
            try:
                moderation.revoke_api_key(store(), user, chosen)
            except GeoError as exc:
                _error(exc)
            else:
                _done(t("admin.apikey_revoked", name=chosen))


def main() -> None:
    st.title(t("admin.title"))
    user = current_user()
    try:
        services.check(store(), user, "manage_users", object_type="admin_page")
    except GeoError as exc:
        _error(exc)
        return
    assert user is not None  # check() refuses the signed-out
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(md_plain(flash))
    users_tab, wards_tab, audit_tab, keys_tab = st.tabs(
        [t("admin.tab_users"), t("admin.tab_wards"), t("admin.tab_audit"), t("admin.tab_apikeys")]
    )
    with users_tab:
        _accounts(user)
    with wards_tab:
        _ward_layer(user)
    with audit_tab:
        _audit(user)
    with keys_tab:
        _api_keys(user)


main()
