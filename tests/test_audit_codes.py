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
    for kind, codes in (("action", audit_codes.ACTIONS), ("object", audit_codes.OBJECT_TYPES)):
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
        or (key.startswith("admin.object.") and key.split(".", 2)[2] not in audit_codes.OBJECT_TYPES)
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
