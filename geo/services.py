"""The rights-checked entry points: the app and the CLI change the store only through these.

Each function takes the acting :class:`geo.auth.User` first, calls
:func:`geo.auth.require` before it reads or writes anything, and leaves an audit entry
(the store records ingests and status moves itself, inside the same transaction; user
and boundary changes are recorded here or in :mod:`geo.store.users`). A refused attempt
is recorded too (``action = "denied"``), so an administrator can see who tried what.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from geo import auth
from geo.auth import User
from geo.boundary_checks import check_boundary_layer
from geo.errors import AccessDenied, InvalidArgument, NotFound
from geo.store import IncidentFilter, queries, workflow
from geo.store import users as user_rows
from geo.store import wards as stored_wards

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.ingest import IngestOptions, IngestPreview, IngestResult
    from geo.store import IncidentDetail, Store

ANONYMOUS = "anonymous"

#: Columns of the public aggregate view: counts per ward, nothing about people or places.
PUBLIC_COLUMNS: tuple[str, ...] = (
    "ward_code", "ward_name", "open", "cleared", "new", "cleared_in_period",
    "median_days_to_clear", "overdue", "recurred",
)


def _name(actor: User | None) -> str:
    return actor.username if actor is not None else ANONYMOUS


def check(
    store: Store, actor: User | None, action: str, ward_code: str | None = None,
    *, object_type: str = "", object_id: Any = None,
) -> None:
    """:func:`geo.auth.require`, recording a refusal in the audit log before raising."""
    try:
        auth.require(actor, action, ward_code)
    except AccessDenied as exc:
        store.audit(
            _name(actor), "denied", object_type or action, object_id,
            {"action": action, "ward_code": ward_code, "reason": exc.message_en},
        )
        raise


# -- incidents ---------------------------------------------------------------------------


def _ward_of(store: Store, incident_id: int) -> str | None:
    code = queries.incident(store, int(incident_id)).incident.get("ward_code")
    return None if code is None or pd.isna(code) else str(code)


def change_status(
    store: Store, actor: User, incident_id: int, to_state: str, note: str | None = None,
    *, at: Any = None,
) -> dict[str, Any]:
    """Move one incident on; an officer only in their own wards. Audited by the store."""
    ward = _ward_of(store, incident_id)
    check(store, actor, "change_status", ward, object_type="incident", object_id=incident_id)
    return workflow.change_status(store, int(incident_id), to_state, actor=actor.username, note=note, at=at)


def record_recurrence(
    store: Store, actor: User, incident_id: int, note: str | None = None, *, at: Any = None
) -> int:
    """A cleared place violated again (a status change of the old incident): same rights."""
    ward = _ward_of(store, incident_id)
    check(store, actor, "change_status", ward, object_type="incident", object_id=incident_id)
    return workflow.record_recurrence(store, int(incident_id), actor=actor.username, note=note, at=at)


def incident_detail(store: Store, actor: User | None, incident_id: int) -> IncidentDetail:
    check(store, actor, "view", object_type="incident", object_id=incident_id)
    return queries.incident(store, int(incident_id))


def incidents(
    store: Store, actor: User | None, flt: IncidentFilter | None = None, *, limit: int | None = None
) -> gpd.GeoDataFrame:
    """Incidents with notes and addresses: signed-in users only (never the public view)."""
    check(store, actor, "view", object_type="incidents")
    return queries.incidents(store, flt, limit=limit)


def ward_stats(store: Store, actor: User | None, date_from: Any = None, date_to: Any = None) -> pd.DataFrame:
    """Per-ward aggregates. Anonymous visitors get them only when the public view is on."""
    action = "view" if actor is not None else "view_public"
    check(store, actor, action, object_type="ward_stats")
    return queries.ward_stats(store, date_from, date_to)


def public_ward_stats(
    store: Store, actor: User | None = None, date_from: Any = None, date_to: Any = None
) -> pd.DataFrame:
    """The public view: per-ward counts only — no notes, addresses, names or photos."""
    check(store, actor, "view_public", object_type="public_view")
    stats = queries.ward_stats(store, date_from, date_to)
    return stats[[c for c in PUBLIC_COLUMNS if c in stats.columns]].copy()


# -- ingest ------------------------------------------------------------------------------


def preview_upload(
    store: Store,
    actor: User,
    file: str | Path | bytes | IO[bytes],
    options: IngestOptions | None = None,
) -> IngestPreview:
    """Read and validate an upload (nothing stored): the upload page's first step.

    Without ``options.wards`` the points are assigned to the store's ward layer
    (:func:`active_wards`).
    """
    from dataclasses import replace

    from geo.ingest import IngestOptions, preview

    options = options or IngestOptions()
    check(store, actor, "upload", object_type="upload", object_id=options.file_name)
    if options.wards is None:
        options = replace(options, wards=active_wards(store))
    return preview(file, options, store=store)


def _check_status_updates(store: Store, actor: User, preview_: IngestPreview) -> None:
    """An upload that moves stored incidents is a status change: the same ward rule applies.

    New incidents are reports and are stored as given; rows that would move an incident
    already stored need ``change_status`` in that incident's ward.
    """
    updates = preview_.status_updates()
    if updates is None or updates.empty:
        return
    ids = sorted({int(i) for i in updates["incident_id"]})
    wards = stored_wards.of_incidents(store, ids)
    refused = [i for i in ids if not auth.can(actor, "change_status", wards.get(i))]
    if refused:
        shown = ", ".join(str(i) for i in refused[:10]) + (" …" if len(refused) > 10 else "")
        store.audit(
            actor.username, "denied", "upload", preview_.file_name,
            {"action": "change_status", "incidents": refused[:100], "count": len(refused)},
        )
        raise AccessDenied(
            f"{preview_.file_name}: tệp đổi trạng thái của {len(refused)} vụ việc đã lưu "
            f"(số {shown}) mà người dùng {actor.username!r} không có quyền đổi. Hãy bỏ cột "
            "trạng thái của các dòng đó, hoặc nhờ cán bộ phường phụ trách tải lên.",
            f"{preview_.file_name}: the file changes the status of {len(refused)} stored "
            f"incident(s) (no. {shown}) that user {actor.username!r} may not change. Remove "
            "the status of those rows, or ask the officer of that ward to upload it.",
        )


def commit_upload(store: Store, actor: User, preview_: IngestPreview) -> IngestResult:
    """Store a previewed upload as one batch (audited by the store as ``ingest``)."""
    from geo.ingest import refresh, write_batch

    check(store, actor, "upload", object_type="upload", object_id=preview_.file_name)
    refresh(preview_, store)  # what the commit will do, as of now
    _check_status_updates(store, actor, preview_)  # on exactly what will be written
    return write_batch(preview_, store, actor.username)


def ingest_file(
    store: Store,
    actor: User,
    path_or_bytes: str | Path | bytes | IO[bytes],
    options: IngestOptions | None = None,
) -> IngestResult:
    """Preview then (unless ``options.dry_run``) commit one file: what ``python -m geo
    ingest`` does."""
    from geo.ingest import IngestResult

    result = preview_upload(store, actor, path_or_bytes, options)
    if options is not None and options.dry_run:
        return IngestResult(result, None, dry_run=True)
    return commit_upload(store, actor, result)


# -- exports -----------------------------------------------------------------------------


def export(
    store: Store,
    actor: User,
    fmt: str,
    out: str | Path | None = None,
    flt: IncidentFilter | None = None,
    *,
    limit: int | None = None,
) -> Any:
    """Write (or return) an export of the filtered incidents; audited as ``export``.

    Delegates to :func:`geo.exports.export`; the format names are that module's.
    """
    from geo import exports

    check(store, actor, "export", object_type="export", object_id=fmt)
    result = exports.export(store, fmt, out, flt, limit=limit)
    filters = {**(flt or IncidentFilter()).describe(), "limit": str(limit)}
    store.audit(
        actor.username, "export", "incidents", fmt,
        {"out": None if out is None else str(out), "filters": filters},
    )
    return result


# -- boundaries, backup, audit -----------------------------------------------------------


def active_wards(store: Store) -> gpd.GeoDataFrame:
    """The ward layer in use: the store's current ward table, in :func:`load_boundaries`' shape.

    An imported official layer must win over the file, so the file
    (``GEO_BOUNDARIES`` or the committed default) only seeds an empty table, once.
    """
    layer = stored_wards.current(store)
    if layer.empty:
        from geo.boundaries import load_boundaries

        stored_wards.ensure(store, load_boundaries(), actor="system")  # a no-op if another got there
        layer = stored_wards.current(store)
    return _boundaries_shape(layer)


def _boundaries_shape(stored: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """:func:`geo.store.wards.current` (which adds ``valid_from``) with the columns and dtypes of a layer file."""
    import geopandas as gpd

    from geo.boundaries import COLUMNS

    out = stored.drop(columns=[c for c in stored.columns if c not in COLUMNS])
    for column in ("code", "name", "name_en", "kind", "osm_id"):
        # rebuilt from plain values: the text dtype pandas infers, as reading a file gives
        values = out[column].astype(object).where(out[column].notna(), None).tolist()
        out[column] = pd.Series(values, index=out.index)
    out["area_km2"] = pd.to_numeric(out["area_km2"], errors="coerce").astype(float)
    out["population"] = pd.to_numeric(out["population"], errors="coerce").astype("Int64")
    out = out.sort_values("code").reset_index(drop=True)[COLUMNS]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=stored.crs)


def replace_boundaries(
    store: Store,
    actor: User,
    layer: gpd.GeoDataFrame | str | Path,
    *,
    valid_from: Any = None,
    crs: Any = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Make a checked ward layer the one in use, keeping the old versions (admins only).

    Returns ``added``/``changed``/``retired`` counts and ``report`` (the check report).
    A layer that fails the checks is refused before anything is written. ``source`` names
    the layer in messages and the audit log (the upload's name rather than a temp path).
    """
    check(store, actor, "replace_boundaries", object_type="wards")
    candidate, report = check_boundary_layer(layer, crs=crs, source=source)
    _refuse_backdating(store, valid_from)
    counts = stored_wards.ensure(store, candidate, actor=actor.username, valid_from=valid_from)
    summary = {k: v for k, v in report.items() if k not in ("repairs", "overlap_pairs")}
    store.audit(
        actor.username, "boundaries_replace", "wards", None,
        {**counts, "wards": len(candidate), "report": summary},
    )
    return {**counts, "report": report}


def _refuse_backdating(store: Store, valid_from: Any) -> None:
    """A version cannot start before the one it replaces (its ``valid_to`` would precede
    its ``valid_from``); without ``valid_from`` the new layer starts now."""
    if valid_from is None:
        return
    stored = stored_wards.current(store)
    if stored.empty:
        return
    start = pd.Timestamp(valid_from)
    start = start.tz_localize("UTC") if start.tzinfo is None else start
    latest = pd.to_datetime(stored["valid_from"], utc=True).max()
    if start < latest:
        raise InvalidArgument(
            f"Ngày áp dụng {start.date()} sớm hơn phiên bản ranh giới đang dùng (từ "
            f"{latest.date()}); chọn ngày muộn hơn hoặc bỏ trống để áp dụng từ bây giờ.",
            f"The valid-from date {start.date()} is before the ward layer in use (from "
            f"{latest.date()}); choose a later date, or none to apply it from now.",
        )


def backup(store: Store, actor: User, out: str | Path) -> Path:
    check(store, actor, "backup", object_type="store")
    return store.backup(out, actor=actor.username)


def audit_log(store: Store, actor: User, limit: int | None = None) -> pd.DataFrame:
    check(store, actor, "view_audit", object_type="audit_log")
    return queries.audit_log(store, limit)


# -- users -------------------------------------------------------------------------------


def load_user(store: Store, username: str) -> User | None:
    """The account as a :class:`User` (re-read on every request, so a disable bites at once)."""
    row = user_rows.get_user(store, username)
    return User.from_row(row) if row is not None else None


def needs_first_admin(store: Store) -> bool:
    return user_rows.count_users(store) == 0


def create_first_admin(store: Store, username: str, password: str) -> User:
    """First start only: with no account at all, create an admin. There is no default password."""
    name = auth.check_username(username)
    digest = auth.hash_password(password)
    user_rows.insert_user(
        store, username=name, password_hash=digest, roles="admin", wards="", actor=name,
        only_if_empty=True,
    )
    user = load_user(store, name)
    assert user is not None
    return user


def authenticate(store: Store, username: str, password: str) -> User:
    """The signed-in user, or one vague bilingual refusal (which name or password was wrong
    is not revealed; an unknown name costs as long as a wrong password)."""
    name = str(username or "").strip()
    row = user_rows.get_user(store, name) if name else None
    if row is None:
        auth.dummy_verify(password)
        ok = False
    else:
        ok = auth.verify_password(row.get("password_hash"), password)
    if not ok:
        store.audit(name[:100] or ANONYMOUS, "login_failed", "user", name[:100] or None, {})
        raise AccessDenied(
            "Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."
        )
    assert row is not None
    user = User.from_row(row)
    if user.disabled:
        store.audit(user.username, "login_failed", "user", user.username, {"disabled": True})
        raise AccessDenied(
            f"Tài khoản {user.username!r} đã bị khoá.", f"The account {user.username!r} is disabled."
        )
    if auth.needs_rehash(row["password_hash"]):
        user_rows.update_user(
            store, user.username, {"password_hash": auth.hash_password(password)},
            actor=user.username, action="user_rehash",
        )
    store.audit(user.username, "login", "user", user.username, {})
    return user


def sign_in_oidc(store: Store, identity: str) -> User:
    """Map an OIDC identity (e-mail) to a local account; there must be one, enabled."""
    name = str(identity or "").strip()
    user = load_user(store, name) if name else None
    if user is None or user.disabled:
        store.audit(name[:100] or ANONYMOUS, "login_failed", "user", name[:100] or None, {"oidc": True})
        raise AccessDenied(
            f"Tài khoản {name!r} chưa được cấp hoặc đã bị khoá; hãy nhờ quản trị viên thêm "
            "bằng 'python -m geo users add'.",
            f"No enabled account {name!r}; ask an administrator to add it with "
            "'python -m geo users add'.",
        )
    store.audit(user.username, "login", "user", user.username, {"oidc": True})
    return user


def _checked_grants(roles: Iterable[str], wards: Iterable[str]) -> tuple[list[str], list[str]]:
    role_list = auth.check_roles(roles)
    ward_list = auth.check_wards(wards)
    if "officer" in role_list and not ward_list:
        raise AccessDenied(
            "Cán bộ phường (officer) cần ít nhất một phường, xã (--ward).",
            "An officer needs at least one ward (--ward).",
        )
    return role_list, ward_list


def add_user(
    store: Store,
    actor: User,
    username: str,
    password: str | None,
    roles: Iterable[str],
    wards: Iterable[str] = (),
) -> User:
    """Add an account. ``password=None`` makes an OIDC-only account (no local sign-in)."""
    check(store, actor, "manage_users", object_type="user", object_id=username)
    name = auth.check_username(username)
    role_list, ward_list = _checked_grants(roles, wards)
    digest = auth.hash_password(password) if password is not None else None
    user_rows.insert_user(
        store, username=name, password_hash=digest, roles=",".join(role_list),
        wards=",".join(ward_list), actor=actor.username,
    )
    user = load_user(store, name)
    assert user is not None
    return user


def list_users(store: Store, actor: User) -> pd.DataFrame:
    check(store, actor, "manage_users", object_type="users")
    return user_rows.list_users(store)


def _refuse_last_admin(store: Store, username: str) -> None:
    if user_rows.active_admins(store) == [username]:
        raise AccessDenied(
            f"{username!r} là quản trị viên cuối cùng còn hoạt động; hãy cấp quyền quản trị cho "
            "người khác trước.",
            f"{username!r} is the last active administrator; make someone else an admin first.",
        )


def disable_user(store: Store, actor: User, username: str, *, disabled: bool = True) -> None:
    """Disable (or re-enable) an account; the last active admin cannot be disabled."""
    check(store, actor, "manage_users", object_type="user", object_id=username)
    if disabled:
        _refuse_last_admin(store, username)
    user_rows.update_user(
        store, username, {"disabled": disabled}, actor=actor.username,
        action="user_disable" if disabled else "user_enable",
    )


def set_password(
    store: Store, actor: User, username: str, new_password: str, *, old_password: str | None = None
) -> None:
    """An admin sets anyone's password; a user changes their own with the current one."""
    if actor.username == username and not actor.is_admin:
        row = user_rows.get_user(store, username)
        if row is None or not auth.verify_password(row.get("password_hash"), old_password or ""):
            store.audit(actor.username, "denied", "user", username, {"action": "passwd"})
            raise AccessDenied("Mật khẩu hiện tại không đúng.", "The current password is wrong.")
    else:
        check(store, actor, "manage_users", object_type="user", object_id=username)
    digest = auth.hash_password(new_password)
    user_rows.update_user(store, username, {"password_hash": digest}, actor=actor.username, action="user_passwd")


def grant(
    store: Store,
    actor: User,
    username: str,
    roles: Iterable[str] = (),
    wards: Iterable[str] = (),
    *,
    replace: bool = False,
) -> User:
    """Add roles and wards to an account (``replace``: set exactly these)."""
    check(store, actor, "manage_users", object_type="user", object_id=username)
    current = load_user(store, username)
    if current is None:
        raise NotFound(f"Không có tài khoản {username!r}.", f"There is no account {username!r}.")
    new_roles = list(roles) if replace else [*current.roles, *roles]
    new_wards = list(wards) if replace else [*current.wards, *wards]
    role_list, ward_list = _checked_grants(new_roles, new_wards)
    if "admin" in current.roles and "admin" not in role_list:
        _refuse_last_admin(store, username)
    user_rows.update_user(
        store, username, {"roles": ",".join(role_list), "wards": ",".join(ward_list)},
        actor=actor.username, action="user_grant",
        details={"roles": role_list, "wards": ward_list,
                 "before": {"roles": sorted(current.roles), "wards": sorted(current.wards)}},
    )
    user = load_user(store, username)
    assert user is not None
    return user


def revoke(
    store: Store, actor: User, username: str, roles: Iterable[str] = (), wards: Iterable[str] = ()
) -> User:
    """Take roles or wards away from an account."""
    check(store, actor, "manage_users", object_type="user", object_id=username)
    current = load_user(store, username)
    if current is None:
        raise NotFound(f"Không có tài khoản {username!r}.", f"There is no account {username!r}.")
    drop_roles = set(auth.split_codes(roles))
    drop_wards = set(auth.check_wards(wards)) if wards else set()
    return grant(
        store, actor, username,
        roles=sorted(current.roles - drop_roles), wards=sorted(current.wards - drop_wards),
        replace=True,
    )
