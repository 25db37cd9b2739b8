"""Every role × action, through the service functions the app and the CLI call.

The expected matrix is written out here by hand (not read from ``geo.auth.RIGHTS``), so a
change to the rights in the code that is not also made here fails.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from geo import services
from geo.auth import User
from geo.errors import AccessDenied, WorkflowError
from geo.ingest import IngestOptions, preview
from geo.store import IncidentFilter, batches, queries
from geo.store import wards as stored_wards
from tests._incidents import incident_frame, make_store

LANG, HOAN_KIEM = "00199", "00070"

#: The reads the map and the leaders' pages make: every signed-in role may make them.
READS = {
    "view", "ward_stats", "street_stats", "week_counts", "progress", "ward_metrics",
    "density_points", "ward_report", "incidents", "snapshot", "map_view",
}
#: Who may do what. officer_lang is an officer of Láng (00199), officer_hk of Hoàn Kiếm.
#: The files the pages offer that take data away (ward report, league table, density
#: grid) need the export right; the rejected rows of one's own upload need upload.
DOWNLOADS = {"download_report", "download_league", "download_density"}
EXPECTED: dict[str, set[str]] = {
    "anonymous": set(),
    "viewer": READS | DOWNLOADS | {"export"},
    "field": READS | {"upload", "download_rejects"},
    "officer_lang": READS | DOWNLOADS | {"export", "upload", "download_rejects", "status_lang"},
    "officer_hk": READS | DOWNLOADS | {
        "export", "upload", "download_rejects", "status_hk", "recurrence_hk",
    },
    "admin": READS | DOWNLOADS | {
        "export", "upload", "download_rejects", "status_lang", "status_hk", "recurrence_hk",
        "status_no_ward", "manage_users", "list_users", "grant", "replace_boundaries", "backup",
        "audit", "audit_verify",
    },
    "disabled_admin": set(),
}
ACTIONS = (
    *sorted(READS), "export", *sorted(DOWNLOADS), "upload", "download_rejects", "status_lang",
    "status_hk", "recurrence_hk", "status_no_ward", "manage_users", "list_users", "grant",
    "replace_boundaries", "backup", "audit", "audit_verify",
)
_counter = itertools.count(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory, wards):
    """One store with the known incidents and one account per role."""
    tmp = tmp_path_factory.mktemp("rights")
    store = make_store(tmp / "store.sqlite", wards)
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    actors: dict[str, User | None] = {"anonymous": None, "admin": boss}
    for name, roles, ward_list in (
        ("viewer", ["viewer"], []),
        ("field", ["field"], []),
        ("officer_lang", ["officer"], ["Láng"]),
        ("officer_hk", ["officer"], [HOAN_KIEM]),
        ("disabled_admin", ["admin"], []),
    ):
        actors[name] = services.add_user(store, boss, name, f"pw-{name}-0123456789", roles, ward_list)
    services.disable_user(store, boss, "disabled_admin")
    actors["disabled_admin"] = services.load_user(store, "disabled_admin")
    yield store, actors, tmp
    store.close()


def _new_incident(store: Any, ward: str | None, status: str = "reported") -> int:
    """A fresh incident in ``ward`` (through the store's batch path), so every attempt
    has something to move."""
    n = next(_counter)
    lat, lon = {LANG: (21.0128, 105.8106), HOAN_KIEM: (21.0365, 105.8490)}.get(
        ward or "", (21.5, 105.2)
    )
    frame = incident_frame(
        [("parking", status, lat, lon, ward, "", f"addr {n}", "2025-08-01T03:00Z")],
        source=f"rights{n}",
    )
    batches.commit_batch(store,
        {"file_name": f"r{n}.csv", "sha256": f"{n:064d}", "source": f"rights{n}"},
        frame, pd.DataFrame(columns=["incident_id", "to_status", "at", "note"]), actor="test",
    )
    return int(queries.incidents(store, limit=None)["id"].max())


def _csv(n: int) -> bytes:
    return (
        "ma,vi_do,kinh_do,loai,ngay,dia_chi\n"
        f"U{n},21.0130,105.8110,đỗ xe trái phép,2025-09-0{1 + n % 9},Số {n} Láng\n"
    ).encode()


def _do(action: str, store: Any, actor: User | None, tmp: Path, wards: Any) -> Callable[[], Any]:
    n = next(_counter)
    if action == "view":
        return lambda: services.incident_detail(store, actor, 1)
    if action == "ward_stats":
        return lambda: services.ward_stats(store, actor)
    reads: dict[str, Callable[[], Any]] = {
        "street_stats": lambda: services.street_stats(store, actor),
        "week_counts": lambda: services.week_counts(store, actor),
        "progress": lambda: services.progress(store, actor, "ward", HOAN_KIEM, "W"),
        "ward_metrics": lambda: services.ward_metrics(store, actor, wards),
        "density_points": lambda: services.incident_points(store, actor, IncidentFilter(wards=(HOAN_KIEM,))),
        "ward_report": lambda: services.ward_report(store, actor, wards, HOAN_KIEM),
        "incidents": lambda: services.incidents(store, actor, IncidentFilter(statuses=("reported",))),
        "snapshot": lambda: services.incident_snapshot(store, actor),
        "map_view": lambda: services.map_view(store, actor, IncidentFilter(), marker_limit=10),
    }
    if action in reads:
        return reads[action]
    if action == "export":
        return lambda: services.export(store, actor, "csv", tmp / f"e{n}.csv")  # type: ignore[arg-type]
    if action == "download_report":
        return lambda: services.ward_report_file(store, actor, wards, HOAN_KIEM, None, None, "png")
    if action == "download_league":
        table = pd.DataFrame({"code": [HOAN_KIEM], "=cmd": ["=1+1"]})
        return lambda: services.league_file(store, actor, table, "csv")
    if action == "download_density":
        return lambda: services.density_file(store, actor, np.array([105.849]), np.array([21.0365]), 500)
    if action == "download_rejects":
        p = preview(_csv(n) + b"X1,abc,105.8,x,2025-09-01,y\n", IngestOptions(file_name=f"r{n}.csv", wards=wards))
        return lambda: services.rejected_rows_file(store, actor, p)
    if action == "upload":
        return lambda: services.ingest_file(
            store, actor, _csv(n),
            IngestOptions(file_name=f"u{n}.csv", wards=wards),
        )
    if action in {"status_lang", "status_hk", "status_no_ward"}:
        ward = {"status_lang": LANG, "status_hk": HOAN_KIEM, "status_no_ward": None}[action]
        incident = _new_incident(store, ward)
        return lambda: services.change_status(store, actor, incident, "cleared", "xong")  # type: ignore[arg-type]
    if action == "recurrence_hk":
        incident = _new_incident(store, HOAN_KIEM, "cleared")
        return lambda: services.record_recurrence(store, actor, incident, "lại lấn chiếm")  # type: ignore[arg-type]
    if action == "manage_users":
        return lambda: services.add_user(
            store, actor, f"new{n}", "another-long-password", ["viewer"]  # type: ignore[arg-type]
        )
    if action == "list_users":
        return lambda: services.list_users(store, actor)  # type: ignore[arg-type]
    if action == "grant":
        return lambda: services.grant(store, actor, "viewer", ["viewer"])  # type: ignore[arg-type]
    if action == "replace_boundaries":
        return lambda: services.replace_boundaries(store, actor, wards)  # type: ignore[arg-type]
    if action == "backup":
        return lambda: services.backup(store, actor, tmp / f"b{n}.sqlite")  # type: ignore[arg-type]
    if action == "audit":
        return lambda: services.audit_log(store, actor, 10)  # type: ignore[arg-type]
    if action == "audit_verify":
        return lambda: services.audit_verify(store, actor)  # type: ignore[arg-type]
    raise AssertionError(action)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", list(EXPECTED))
def test_role_action_matrix(world, wards, who, action):
    store, actors, tmp = world
    actor = actors[who]
    call = _do(action, store, actor, tmp, wards)
    denied_before = (queries.audit_log(store)["action"] == "denied").sum()
    if action in EXPECTED[who]:
        call()
    else:
        with pytest.raises(AccessDenied) as info:
            call()
        assert " / " in str(info.value)  # Vietnamese / English
        log = queries.audit_log(store)
        assert (log["action"] == "denied").sum() == denied_before + 1
        assert log.iloc[0]["actor"] == (actor.username if actor else "anonymous")


def test_field_cannot_change_a_status(world):
    store, actors, _ = world
    incident = _new_incident(store, LANG)
    with pytest.raises(AccessDenied, match="field"):
        services.change_status(store, actors["field"], incident, "verified", "thử")
    assert queries.incident(store, incident).incident["status"] == "reported"
    assert len(queries.incident(store, incident).history) == 1


def test_officer_of_lang_cannot_clear_hoan_kiem(world):
    store, actors, _ = world
    incident = _new_incident(store, HOAN_KIEM)
    with pytest.raises(AccessDenied) as info:
        services.change_status(store, actors["officer_lang"], incident, "cleared", "đã dọn")
    message = str(info.value)
    assert LANG in message and HOAN_KIEM in message and "officer_lang" in message
    assert queries.incident(store, incident).incident["status"] == "reported"
    entry = queries.audit_log(store, 1).iloc[0]
    assert (entry["actor"], entry["action"], entry["object_id"]) == ("officer_lang", "denied", str(incident))
    # ...while the Hoàn Kiếm officer can, and the change is audited with who and what
    services.change_status(store, actors["officer_hk"], incident, "cleared", "đã dọn")
    assert queries.incident(store, incident).incident["status"] == "cleared"
    entry = queries.audit_log(store, 1).iloc[0]
    assert (entry["actor"], entry["action"], entry["object_id"]) == ("officer_hk", "status", str(incident))
    assert entry["details"]["to"] == "cleared"


def test_viewer_cannot_upload_and_nothing_is_stored(world, wards):
    store, actors, _ = world
    before = store.row_counts()
    with pytest.raises(AccessDenied, match="viewer"):
        services.ingest_file(
            store, actors["viewer"], _csv(999),
            IngestOptions(file_name="v.csv", wards=wards),
        )
    after = store.row_counts()
    assert after["incidents"] == before["incidents"]
    assert after["batches"] == before["batches"]


#: What each action the admin takes writes to the audit log (reads write nothing).
AUDITED = {
    "export": ["export"], "upload": ["ingest"], "status_lang": ["status"],
    "status_hk": ["status"], "status_no_ward": ["status"],
    "recurrence_hk": ["recurrence", "status"],  # the old incident moves, the repeat is new
    "manage_users": ["user_add"], "grant": ["user_grant"],
    "replace_boundaries": ["boundaries_replace"], "backup": ["backup", "backup_media"],  # the store, then its photos (issue 13)
    "download_report": ["export"], "download_league": ["export"], "download_density": ["export"],
}  # fmt: skip


def _done(action: str, result: Any, store: Any) -> None:
    """The action's effect, checked on its answer and on the store."""
    if action in {"status_lang", "status_hk", "status_no_ward"}:
        assert result["to"] == "cleared" and result["from"] == "reported"
        assert queries.incident(store, result["id"]).incident["status"] == "cleared"
    elif action == "recurrence_hk":
        repeat = queries.incident(store, result).incident
        assert repeat["status"] == "reported" and repeat["recurrence_of"] is not None
        assert queries.incident(store, repeat["recurrence_of"]).incident["status"] == "recurred"
    elif action == "upload":
        assert result.summary()["accepted"] == 1 and result.batch_id is not None
    elif action in {"export", "backup"}:
        assert Path(result).is_file() and Path(result).stat().st_size > 0
    elif action in {"manage_users", "grant"}:
        assert services.load_user(store, result.username).roles == frozenset({"viewer"})
    elif action == "list_users":
        assert {"boss", "viewer", "field"} <= set(result["username"])
    elif action == "download_report":
        assert result.startswith(b"\x89PNG")
    elif action == "download_league":
        assert result.decode("utf-8-sig").splitlines() == ["code,'=cmd", "00070,'=1+1"]
    elif action == "download_density":
        assert result[:4] in (b"II*\x00", b"MM\x00*")  # a TIFF
    elif action == "download_rejects":
        assert result.decode("utf-8-sig").count("bad_coordinates") == 1
    elif action == "audit":
        assert len(result) == 10
    elif action == "view":
        assert result.incident["id"] == 1
    elif action in {"ward_stats", "ward_metrics"}:
        assert len(result) == 126  # one row per ward of the layer
    elif action == "incidents":
        assert len(result) > 0 and set(result["status"]) == {"reported"}
    elif action == "replace_boundaries":
        assert set(result) >= {"added", "changed", "retired"}
    else:  # the other reads: an answer with something in it
        assert result is not None


def test_admin_can_do_everything(world, wards):
    """Every action succeeds for the admin, has its effect, and is audited as itself
    (never as a refusal)."""
    store, actors, tmp = world
    for action in ACTIONS:
        call = _do(action, store, actors["admin"], tmp, wards)
        before = len(queries.audit_log(store))
        result = call()
        log = queries.audit_log(store)
        mine = log.iloc[: len(log) - before]
        mine = mine[mine["actor"] == "boss"]
        assert sorted(mine["action"]) == AUDITED.get(action, []), action
        _done(action, result, store)


def _status_file(source_id: str, status: str) -> bytes:
    return (
        "ma,vi_do,kinh_do,loai,ngay,trang_thai\n"
        f"{source_id},21.0366,105.8491,lấn chiếm vỉa hè,2025-09-02,{status}\n"
    ).encode()


def test_upload_that_clears_a_stored_incident_needs_the_ward_right(world, wards):
    """A file's status column is a status change too: the upload path cannot bypass it."""
    store, actors, _ = world
    services.ingest_file(
        store, actors["officer_hk"], _status_file("HK-1", "chưa xử lý"),
        IngestOptions(file_name="hk.csv", wards=wards, source="hk_team"),
    )
    stored = queries.incidents(store, limit=None)
    incident = int(stored.loc[stored["source_id"] == "HK-1", "id"].iloc[0])
    for who in ("field", "officer_lang"):
        with pytest.raises(AccessDenied, match=str(incident)):
            services.ingest_file(
                store, actors[who], _status_file("HK-1", "đã xử lý"),
                IngestOptions(file_name="hk2.csv", wards=wards, source="hk_team"),
            )
        assert queries.incident(store, incident).incident["status"] == "reported"
    services.ingest_file(
        store, actors["officer_hk"], _status_file("HK-1", "đã xử lý"),
        IngestOptions(file_name="hk3.csv", wards=wards, source="hk_team"),
    )
    assert queries.incident(store, incident).incident["status"] == "cleared"


@pytest.mark.parametrize("who", ["admin", "officer_hk"])
def test_no_right_moves_an_incident_backwards(world, wards, who):
    """Having every right (admin) or the ward's right (officer) does not make a backward
    move allowed (docs/storage.md "Workflow": never back): the service refuses
    ``cleared → reported`` and ``cleared → in_progress`` with the workflow's bilingual
    message, and an upload saying "chưa xử lý" leaves the cleared incident cleared."""
    store, actors, _ = world
    actor = actors[who]
    incident = _new_incident(store, HOAN_KIEM)
    services.change_status(store, actor, incident, "cleared", "xong")
    for back in ("reported", "in_progress", "verified"):
        with pytest.raises(WorkflowError) as info:
            services.change_status(store, actor, incident, back, "mở lại")
        assert "không thể chuyển" in str(info.value) and "cannot move" in str(info.value)
    detail = queries.incident(store, incident)
    assert detail.incident["status"] == "cleared"
    assert detail.history["to_status"].tolist() == ["reported", "cleared"]
    # the same move through a file's status column
    source = f"back_{who}"
    services.ingest_file(store, actor, _status_file("B-1", "đã xử lý"),
                         IngestOptions(file_name="b1.csv", wards=wards, source=source))
    reopened = services.ingest_file(store, actor, _status_file("B-1", "chưa xử lý"),
                                    IngestOptions(file_name="b2.csv", wards=wards, source=source))
    assert (reopened.summary()["duplicate"], reopened.summary()["status_updates"]) == (1, 0)
    stored = queries.incidents(store, limit=None)
    row = stored.loc[(stored["source"] == source) & (stored["source_id"] == "B-1")].iloc[0]
    assert row["status"] == "cleared"
    assert queries.incident(store, int(row["id"])).history["to_status"].tolist() == ["cleared"]


def test_anonymous_public_view_only_when_switched_on(world, monkeypatch):
    store, _, _ = world
    monkeypatch.delenv("GEO_PUBLIC_VIEW", raising=False)
    with pytest.raises(AccessDenied):
        services.public_ward_stats(store, None)
    monkeypatch.setenv("GEO_PUBLIC_VIEW", "1")
    stats = services.public_ward_stats(store, None)
    assert len(stats) == 126
    assert set(stats.columns) <= set(services.PUBLIC_COLUMNS)
    assert not {"note", "address", "street", "actor"} & set(stats.columns)
    # the public flag opens the aggregates, not the incidents
    with pytest.raises(AccessDenied):
        services.incidents(store, None)
    with pytest.raises(AccessDenied):
        services.incident_detail(store, None, 1)


def test_disabling_takes_effect_on_the_next_request(world):
    store, actors, _ = world
    boss = actors["admin"]
    services.add_user(store, boss, "temp_officer", "temp-officer-password", ["officer"], [LANG])
    incident = _new_incident(store, LANG)
    services.disable_user(store, boss, "temp_officer")
    fresh = services.load_user(store, "temp_officer")
    with pytest.raises(AccessDenied, match="temp_officer"):
        services.change_status(store, fresh, incident, "verified")  # type: ignore[arg-type]


def test_the_three_named_rules_on_both_backends(store, wards):
    """Field cannot change a status; Láng's officer cannot clear Hoàn Kiếm; a viewer cannot
    upload — on SQLite and on PostGIS (``store`` is parametrised in conftest)."""
    stored_wards.ensure(store, wards)
    batches.commit_batch(store,
        {"file_name": "k.csv", "sha256": "0" * 64, "source": "test"}, incident_frame(),
        pd.DataFrame(columns=["incident_id", "to_status", "at", "note"]), actor="test",
    )
    stored = queries.incidents(store, limit=None)
    hk = int(stored.loc[(stored["ward_code"] == HOAN_KIEM) & (stored["status"] == "reported"), "id"].iloc[0])
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    field = services.add_user(store, boss, "field", "field-password-1", ["field"])
    lang = services.add_user(store, boss, "lang", "lang-password-12", ["officer"], [LANG])
    viewer = services.add_user(store, boss, "viewer", "viewer-password-1", ["viewer"])
    with pytest.raises(AccessDenied):
        services.change_status(store, field, hk, "verified")
    with pytest.raises(AccessDenied):
        services.change_status(store, lang, hk, "cleared")
    with pytest.raises(AccessDenied):
        services.ingest_file(store, viewer, _csv(1), IngestOptions(file_name="v.csv", wards=wards))
    assert queries.incident(store, hk).incident["status"] == "reported"
    assert store.row_counts()["batches"] == 1
    denied = queries.audit_log(store)
    assert list(denied.loc[denied["action"] == "denied", "actor"])[::-1] == ["field", "lang", "viewer"]
    services.change_status(store, boss, hk, "cleared", "admin can")
    assert queries.incident(store, hk).incident["status"] == "cleared"


def test_a_refusal_is_recorded_in_both_languages_and_read_in_the_pages(store, wards):
    """The audit entry of a refused upload keeps the refusal as the user read it in both
    languages (``reason`` English, as older entries have it; ``reason_vi`` Vietnamese), and
    the administration page's details read it in the page's language; an entry written
    before (English only) still reads, as stored. On SQLite and PostGIS."""
    from geo import i18n

    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    viewer = services.add_user(store, boss, "viewer", "viewer-password-1", ["viewer"])
    with pytest.raises(AccessDenied) as refused:
        services.ingest_file(store, viewer, _csv(1), IngestOptions(file_name="v.csv", wards=wards))
    entry = queries.audit_log(store, 1).iloc[0]
    assert (entry["actor"], entry["action"], entry["object_type"]) == ("viewer", "denied", "upload")
    details = entry["details"]
    assert (details["reason"], details["reason_vi"]) == (refused.value.message_en, refused.value.message_vi)
    assert details["reason_vi"] != details["reason"] and "viewer" in details["reason_vi"]
    vi, en = i18n.audit_details(details, "vi"), i18n.audit_details(details, "en")
    assert f"Lý do: {details['reason_vi']}" in vi and details["reason"] not in vi
    assert f"Reason: {details['reason']}" in en and details["reason_vi"] not in en
    old = {"action": "upload", "ward_code": None, "reason": "User 'x' may not upload."}
    assert "Lý do: User 'x' may not upload." in i18n.audit_details(old, "vi")
