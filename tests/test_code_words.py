"""Rights, session-end reasons, re-inspection results and violation types read as words in
both languages in the audit log, never as their codes.

The administration page's audit log showed a refusal's right as ``change_status`` and a
session's end as ``expired``. The codes stay codes in the store; their words are declared
next to them (:data:`geo.auth.ACTIONS`, :data:`geo.sessions.END_REASONS`). The codes are
taken from those declarations, which the code cannot bypass (``auth.can`` refuses an
undeclared right, the store an undeclared end reason), and from the source of the callers
that end sessions, so a new code without words fails here.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from geo import auth, i18n, sessions
from geo.store import sessions as session_rows

REPO = Path(__file__).resolve().parents[1]


def _words_missing(codes, label) -> list[tuple[str, str, str]]:
    """Codes whose words are blank, the code itself, or the same in both languages."""
    missing = []
    for code in codes:
        vi, en = label(code, "vi"), label(code, "en")
        if not vi.strip() or not en.strip() or code in (vi, en) or vi == en:
            missing.append((code, vi, en))
    return missing


def test_every_right_has_words_in_both_languages():
    assert len(auth.ACTIONS) >= 10  # the declaration is read
    assert _words_missing(auth.ACTIONS, i18n.right_label) == []
    with pytest.raises(ValueError, match="unknown action"):  # no right outside the declaration
        auth.can(auth.User("x", frozenset({"admin"})), "incident.move")
    assert i18n.right_label("retired_right", "en") == "retired_right"  # an old entry reads


def _end_reasons_in_source() -> dict[str, str]:
    """Each session-end code the source passes as ``reason=`` to the store's ``end`` or
    ``end_for_user``: a literal, or the literals a name is tested ``in`` before the call."""
    found: dict[str, str] = {}
    for path in (REPO / "geo").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for scope in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            tested: dict[str, set[str]] = {}
            for node in ast.walk(scope):
                if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and \
                        isinstance(node.ops[0], ast.In) and isinstance(node.comparators[0], ast.Set | ast.Tuple):
                    tested[node.left.id] = {e.value for e in node.comparators[0].elts if isinstance(e, ast.Constant)}
            for node in ast.walk(scope):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name not in ("end", "end_for_user"):
                    continue
                for kw in node.keywords:
                    where = f"{path.relative_to(REPO).as_posix()}:{node.lineno}"
                    if kw.arg == "reason" and isinstance(kw.value, ast.Constant):
                        found[kw.value.value] = where
                    elif kw.arg == "reason" and isinstance(kw.value, ast.Name):
                        found |= dict.fromkeys(tested.get(kw.value.id, {f"<unknown {kw.value.id}>"}), where)
    return found


def test_every_session_end_reason_has_words_in_both_languages():
    in_source = _end_reasons_in_source()
    # the scan finds the sign-out, the idle and expired ends, and the disable
    assert {"sign_out", "idle", "expired", "disabled"} <= set(in_source)
    assert set(in_source) <= set(sessions.END_REASONS), in_source
    assert _words_missing(sessions.END_REASONS, i18n.session_end_label) == []


def test_the_store_refuses_an_undeclared_end_reason(store):
    """The declaration is the only way in, on SQLite and PostGIS: an end with another code
    is refused before anything is written."""
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ValueError, match="END_REASONS"):
        session_rows.end(store, "0" * 64, reason="timeout", actor="x", now=now)
    assert session_rows.end(store, "0" * 64, reason="sign_out", actor="x", now=now) is False  # none open


def test_an_entrys_codes_read_as_words_in_each_language():
    """A refusal's right and a session's end are words of the page's language; another
    entry's free-text reason is shown as written, even when it looks like a code."""
    refusal = {"action": "change_status", "ward_code": "00070", "reason": "No.", "reason_vi": "Không."}
    assert i18n.audit_details(refusal, "vi", action="denied").startswith("Quyền cần có: đổi trạng thái vụ việc;")
    assert i18n.audit_details(refusal, "en", action="denied").startswith("Right needed: change an incident's status;")
    assert i18n.audit_details({"reason": "expired"}, "vi", action="session_end") == "Lý do: hết thời hạn tối đa của phiên"
    assert i18n.audit_details({"reason": "idle"}, "en", action="session_end") == "Reason: idle too long"
    assert i18n.audit_details({"reason": "expired"}, "en", action="report_rejected") == "Reason: expired"


def test_an_inspections_result_and_a_violation_type_read_as_words():
    """A re-inspection's ``result`` (stored ``clear`` / ``violation``) and the violation
    types an export's filters or a resident's report name are words too; the codes come
    from their declarations (geo.reinspect.Result less the never-stored ``bad_result``,
    geo.vocab.TYPE_CODES)."""
    from typing import get_args

    from geo import reinspect, vocab

    results = set(get_args(reinspect.Result)) - {"bad_result"}
    assert results == {"clear", "violation"}
    for lang in i18n.LANGS:
        for key, codes in (("result", results), ("types", vocab.TYPE_CODES), ("service_code", vocab.TYPE_CODES)):
            for code in codes:
                word = i18n.audit_details({key: code}, lang).split(": ", 1)[1]
                assert word.strip() and word != code, (lang, key, code)
    assert i18n.audit_details({"filters": {"types": ["parking", "sidewalk"]}}, "en") == (
        "Filters: (Types: Illegal parking, Sidewalk / roadway encroachment)"
    )
    assert i18n.audit_details({"result": "clear"}, "vi") == "Kết quả: Còn thông thoáng"
    assert i18n.audit_details({"result": "violation"}, "en") == "Result: Violation again"
