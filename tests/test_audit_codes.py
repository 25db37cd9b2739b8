"""Every audit action and object type the code can write has a word in both languages.

The codes come from the writers, not from the label table: every row enters ``audit_log``
through :func:`geo.store._chain.append` or ``append_columns``, which refuse a code not
declared in :mod:`geo.audit_codes` (tested here on real stores, both backends), and every
code a writer in geo/ passes as a literal (``store.audit(…, "user_add", "user")``, the
``object_type=`` a refused check is recorded under) is found by reading the source and
must be declared. The labels are then checked for every declared code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from geo import audit_codes, i18n
from geo.store import _chain, queries
from geo.store._core import utcnow
from geo.store.reports import REPORT_STATES

REPO = Path(__file__).resolve().parents[1]

#: Calls whose ``object_type`` ends up in the audit entry of a refused attempt
#: (geo.services._rights.record_refusal), with the position of a positional object type.
_REFUSAL_CALLS = {"check": None, "record_refusal": None, "acting_user": None,
                  "open_checked_store": None, "viewing": 1, "_exporting": 2}  # fmt: skip


def _strings(node: ast.AST) -> set[str]:
    """The string constants in an argument (``"a" if x else "b"`` gives both; an
    f-string gives its literal parts, which then fail to be declared codes)."""
    return {c.value for c in ast.walk(node) if isinstance(c, ast.Constant) and isinstance(c.value, str)}


def _written_codes() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Literal actions and object types the writers in geo/ and app_pages/ pass, each with
    where it is passed."""
    actions: dict[str, set[str]] = {}
    objects: dict[str, set[str]] = {}
    files = [*(REPO / "geo").rglob("*.py"), *(REPO / "app_pages").glob("*.py")]
    for path in files:
        where = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            found: list[tuple[dict[str, set[str]], ast.AST]] = []
            if name == "audit" and len(node.args) >= 3:
                found += [(actions, node.args[1]), (objects, node.args[2])]
            if name == "update_user":  # store.users.update_user(..., action="user_…")
                found += [(actions, k.value) for k in node.keywords if k.arg == "action"]
            if name in _REFUSAL_CALLS:
                found += [(objects, k.value) for k in node.keywords if k.arg == "object_type"]
                at = _REFUSAL_CALLS[name]
                if at is not None and len(node.args) > at:
                    found.append((objects, node.args[at]))
            for table, arg in found:
                for code in _strings(arg):
                    table.setdefault(code, set()).add(f"{where}:{node.lineno}")
    return actions, objects


def test_every_code_a_writer_passes_is_declared():
    actions, objects = _written_codes()
    assert len(actions) > 30 and len(objects) > 25  # the scan still finds the writers
    # the one action built at run time: store.reports._moderated's f"report_{status}",
    # for every state a pending report is moderated to
    assert len(actions.pop("report_")) == 1
    moderated = {f"report_{state}" for state in REPORT_STATES if state != "pending"}
    assert moderated - audit_codes.ACTIONS == set()
    assert {a: w for a, w in actions.items() if a not in audit_codes.ACTIONS} == {}
    assert {o: w for o, w in objects.items() if o not in audit_codes.OBJECT_TYPES} == {}


def test_every_declared_code_has_a_word_in_both_languages():
    """A Vietnamese word unlike the code (officers must not read ``user_add``) and an
    English one; no label is left for a code nothing declares."""
    missing = []
    objects = audit_codes.OBJECT_TYPES | audit_codes.RETIRED_OBJECT_TYPES  # old rows still show words
    for kind, codes in (("action", audit_codes.ACTIONS), ("object", objects)):
        for code in sorted(codes):
            pair = i18n.LABELS.get(f"admin.{kind}.{code}")
            if pair is None or not all(text.strip() for text in pair) or pair[0] == code:
                missing.append((kind, code, pair))
            elif i18n.audit_label(kind, code, "vi") != pair[0] or i18n.audit_label(kind, code, "en") != pair[1]:
                missing.append((kind, code, "lookup"))
    assert missing == []
    stale = {
        key for key in i18n.LABELS
        if (key.startswith("admin.action.") and key.split(".", 2)[2] not in audit_codes.ACTIONS)
        or (key.startswith("admin.object.") and key.split(".", 2)[2] not in objects)
    }  # fmt: skip
    assert stale == set()


def test_a_code_retired_before_this_version_shows_as_itself():
    """Rows written by an older version under a code since retired stay readable."""
    assert i18n.audit_label("action", "old_code_x", "vi") == "old_code_x"
    assert i18n.audit_label("object", None, "en") == ""


def _audit_rows(store) -> int:
    return len(queries.audit_log(store))


@pytest.mark.parametrize(
    ("action", "object_type", "refused"),
    [("user_addd", "user", "action 'user_addd'"), ("user_add", "usr", "object type 'usr'")],
)
def test_an_undeclared_code_is_refused_before_anything_is_written(store, action, object_type, refused):
    before = _audit_rows(store)
    with pytest.raises(ValueError, match=refused):
        store.audit("tester", action, object_type, "x", {})
    with pytest.raises(ValueError, match=refused):  # inside a caller's transaction: all rolled back
        store.write(lambda conn: (store.audit("tester", "backup", "store", None, {}, conn=conn),
                                  store.audit("tester", action, object_type, None, {}, conn=conn)))
    assert _audit_rows(store) == before
    store.audit("tester", "user_add", "user", "x", {})
    assert _audit_rows(store) == before + 1


def test_rows_appended_a_column_at_a_time_are_checked_too(store):
    """The status moves of a large ingest go through ``append_columns``: the same rule."""
    before = _audit_rows(store)
    columns = {"at": _chain.Constant(_chain.instant_text(utcnow())), "actor": _chain.Constant("t"),
               "action": ["status", "statuz"], "object_type": _chain.Constant("incident"),
               "object_id": ["1", "2"], "details": [None, None]}  # fmt: skip
    with pytest.raises(ValueError, match="action 'statuz'"):
        store.write(lambda conn: _chain.append_columns(store, conn, "audit_log", columns, 2))
    assert _audit_rows(store) == before
    with pytest.raises(ValueError, match="object type 'x'"):  # a constant column
        store.write(lambda conn: _chain.append_columns(
            store, conn, "audit_log", {**columns, "action": ["status"] * 2, "object_type": _chain.Constant("x")}, 2))
    assert _audit_rows(store) == before
    _chain_ok = store.write(lambda conn: _chain.append_columns(
        store, conn, "audit_log", {**columns, "action": _chain.Constant("status")}, 2))
    assert len(_chain_ok) == 2 and _audit_rows(store) == before + 2


# -- the keys of an entry's details ----------------------------------------------------------

#: Calls that take an entry's details as the keyword ``details`` (they pass it to ``audit``).
_DETAIL_CALLS = {"audit", "update_user", "record_failure"}


def _dict_keys(expr: ast.AST, scope: ast.AST, seen: frozenset[str] = frozenset()) -> set[str]:
    """The string keys of the dict literals in ``expr``, following a name to the dicts
    assigned to it in ``scope`` (``details = {…}``, ``details["k"] = …``)."""
    keys: set[str] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.Dict):
            keys |= {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
        elif isinstance(node, ast.Name) and node.id not in seen:
            for bound in ast.walk(scope):
                if isinstance(bound, ast.Assign | ast.AnnAssign) and bound.value is not None:
                    targets = bound.targets if isinstance(bound, ast.Assign) else [bound.target]
                    if any(isinstance(t, ast.Name) and t.id == node.id for t in targets):
                        keys |= _dict_keys(bound.value, scope, seen | {node.id})
                    keys |= {
                        t.slice.value for t in targets
                        if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                        and t.value.id == node.id and isinstance(t.slice, ast.Constant)
                    }  # fmt: skip
    return keys


def _written_detail_keys() -> dict[str, set[str]]:
    """The keys of the details the writers in geo/ and app_pages/ record, each with where:
    the fifth argument or ``details=`` of ``audit`` (and of the calls that hand their
    ``details`` to it), and the ``"details"`` of the rows given to the chain directly."""
    found: dict[str, set[str]] = {}
    for path in [*(REPO / "geo").rglob("*.py"), *(REPO / "app_pages").glob("*.py")]:
        where = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
            for node in ast.walk(scope):
                given: list[ast.AST] = []
                if isinstance(node, ast.Call):
                    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                    if name in _DETAIL_CALLS:
                        given += [k.value for k in node.keywords if k.arg == "details"]
                        if name == "audit" and len(node.args) >= 5:
                            given.append(node.args[4])
                elif isinstance(node, ast.Dict):
                    given += [v for k, v in zip(node.keys, node.values, strict=True)
                              if isinstance(k, ast.Constant) and k.value == "details"]  # fmt: skip
                for expr in given:
                    for key in _dict_keys(expr, scope):
                        found.setdefault(key, set()).add(f"{where}:{node.lineno}")
    return found


def test_every_details_key_a_writer_records_is_declared():
    """A writer that records a new key (``{"file_name": …, "new_key": …}``) fails here until
    the key is declared in geo.audit_codes.DETAIL_KEYS (and labelled, below)."""
    written = _written_detail_keys()
    # the scan still finds the writers: a status move, an ingest, a refusal, a grant's "before"
    assert {"from", "to", "note", "file_name", "sha256", "ward_code", "reason", "before", "public_note"} <= set(written)
    assert len(written) > 50
    assert {k: w for k, w in written.items() if k not in audit_codes.DETAIL_KEYS} == {}


def test_the_details_nested_in_an_entry_are_declared_too():
    """An export's filters are IncidentFilter's fields (and the row limit); a ward layer's
    report is the check report without its long lists (services.boundaries)."""
    from dataclasses import fields

    from geo._boundary_shape import BoundaryReport
    from geo.store import IncidentFilter

    nested = {f.name for f in fields(IncidentFilter)} | {"limit"}
    nested |= set(BoundaryReport("layer.geojson").as_dict()) - {"repairs", "overlap_pairs"}
    assert nested - audit_codes.DETAIL_KEYS == set()


def _all_keys(details: object) -> set[str]:
    if not isinstance(details, dict):
        return set()
    keys = set(details)
    for key, value in details.items():
        if key != "kinds":  # a layer's geometry kinds, keyed by what they count
            keys |= _all_keys(value)
    return keys


def test_every_details_key_of_a_real_store_reads_as_a_word(sample_store_url):
    """The entries of a store that ingested the sample (its counts with flag_<flag> keys,
    the ward layer) show no key as itself, in either language."""
    from geo.store import open_store

    store = open_store(sample_store_url)
    try:
        log = queries.audit_log(store)
    finally:
        store.close()
    keys = set().union(*(_all_keys(d) for d in log["details"]))
    assert {"counts", "file_name", "flag_outside"} <= keys
    for lang in i18n.LANGS:
        unread = {k for k in keys if i18n.audit_details({k: 1}, lang).startswith(f"{k}:")}
        assert unread == set(), lang
    assert {k for k in keys if not k.startswith("flag_")} - audit_codes.DETAIL_KEYS == set()


def test_every_details_key_has_a_word_in_both_languages():
    missing = []
    for key in sorted(audit_codes.DETAIL_KEYS):
        pair = i18n.LABELS.get(f"admin.detail.{key}")
        if pair is None or not all(text.strip() for text in pair) or pair[0] == key:
            missing.append((key, pair))
    assert missing == []
    stale = {
        key.split(".", 2)[2] for key in i18n.LABELS
        if key.startswith("admin.detail.") and key.split(".", 2)[2] not in audit_codes.DETAIL_KEYS
    }  # fmt: skip
    assert stale == {"flag"}  # the word before an ingest's flag_<flag> counts


def test_details_read_in_the_pages_language_and_old_rows_still_read():
    """Keys as words, yes/no, numbers (1.234 / 1,234), states, roles and UTC instants on
    the Hà Nội clock in the page's language; nested details in brackets; a key an older
    version wrote and nothing declares shows as stored; JSON text is read too."""
    details = {"from": "reported", "to": "cleared", "at": "2026-03-01T17:30:00+00:00",
               "note": None, "batch_id": 12345, "radius_m": 25.0, "password": False,
               "counts": {"accepted": 1200, "flag_outside": 3}, "roles": "admin,viewer",
               "old_key": "x"}  # fmt: skip
    assert i18n.audit_details(details, "vi") == (
        "Từ: Mới phát hiện (chưa xử lý); Sang: Đã xử lý; Lúc: 02/03/2026 00:30; Ghi chú: —; "
        "Lô nhập: 12.345; Bán kính (m): 25; Có mật khẩu: không; "
        "Kết quả các dòng: (Hợp lệ: 1.200; Dòng có cờ «ngoài mọi phường, xã»: 3); "
        "Vai trò: Quản trị, Lãnh đạo (chỉ xem); old_key: x"
    )
    assert i18n.audit_details(details, "en") == (
        "From: Reported (open); To: Cleared; At: 02/03/2026 00:30; Note: —; "
        "Batch: 12,345; Radius (m): 25; Has a password: no; "
        "Row outcomes: (Accepted: 1,200; Rows flagged «outside every ward»: 3); "
        "Roles: Administrator, Viewer (read only); old_key: x"
    )
    assert i18n.audit_details('{"overlaps_m2": 1234.5}', "vi") == "Chồng lấn (m²): 1.234,5"
    assert i18n.audit_details(None, "vi") == "" and i18n.audit_details({}, "en") == ""


# -- a retired object type: old rows read, new rows cannot carry it ----------------------------


def test_no_writer_passes_a_retired_object_type_and_the_two_reports_have_their_own():
    """``report`` covered a ward report's export and a resident's report; writers now pass
    ``ward_report`` and ``resident_report``, and nothing writes ``report``."""
    _actions, objects = _written_codes()
    assert set(objects) & audit_codes.RETIRED_OBJECT_TYPES == set()
    assert {"ward_report", "resident_report"} <= set(objects)
    assert audit_codes.RETIRED_OBJECT_TYPES.isdisjoint(audit_codes.OBJECT_TYPES)
    labels = {i18n.audit_label("object", code, "vi") for code in ("ward_report", "resident_report", "report")}
    assert len(labels) == 3


def test_old_report_rows_still_read_and_show_what_they_were_about(store, monkeypatch):
    """Rows an older version wrote under ``report`` stay as stored (the chains still hold)
    and show as the ward report or the resident's report they were about, told apart by
    their action (and a refusal's right); a new row under ``report`` is refused."""
    from geo.store import chain

    rows = [  # (action, details) as the older version wrote them, all under "report"
        ("export", {"ward": "00070", "from": "None", "to": "None"}),
        ("denied", {"action": "export", "ward_code": None, "reason": "no right"}),
        ("report_received", {"ward_code": "00070", "service_code": "lan_chiem"}),
        ("report_rejected", {"incident_id": None, "reason": "trùng"}),
        ("report_erase_personal", {}),
        ("denied", {"action": "moderate_reports", "ward_code": "00070", "reason": "no right"}),
    ]
    with monkeypatch.context() as older:  # the older version declared "report"
        older.setattr(audit_codes, "OBJECT_TYPES", audit_codes.OBJECT_TYPES | {"report"})
        for action, details in rows:
            store.audit("old_version", action, "report", "7", details)
    with pytest.raises(ValueError, match="object type 'report'"):
        store.audit("tester", "export", "report", "pdf", {})
    log = queries.audit_log(store)
    old = log[log["actor"] == "old_version"].sort_values("id")
    assert old["object_type"].tolist() == ["report"] * len(rows)  # never rewritten
    assert all(state.ok for state in chain.verify(store))
    meant = [audit_codes.meant(a, o, d) for a, o, d in zip(old["action"], old["object_type"], old["details"], strict=True)]
    assert meant == ["ward_report", "ward_report"] + ["resident_report"] * 4
    assert [i18n.audit_label("object", m, "vi") for m in meant[1:3]] == ["báo cáo phường, xã", "phản ánh của người dân"]
    assert audit_codes.meant("login", "user", {}) == "user"  # any other type as stored
