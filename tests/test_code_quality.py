"""The library stays lint-clean and type-checked (settings in pyproject.toml)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, check=False
    )


def test_ruff_passes():
    result = _run("ruff", "check", "geo", "app_pages", "app.py", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_geo():
    result = _run("mypy", "geo")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_ingest():
    # The ingest package is held to --strict; the modules it imports are checked by the
    # test above, under the project's settings (their findings are not reported here).
    result = _run("mypy", "--strict", "--follow-imports=silent", "geo/ingest")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes_on_the_store():
    result = _run("mypy", "--strict", "--follow-imports=silent", "geo/store")
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_code_outside_the_backends_asks_which_database_it_talks_to():
    """SQLite/PostGIS differences live in the backend objects (geo/store/_backend.py):
    nothing else branches on the kind of database."""
    backends = {"_backend.py", "_sqlite.py", "_sqlite_bulk.py", "_postgis.py"}
    branch = re.compile(r"is_postgis|backend\.name\s*[!=]=|if [^\n]*backend\.name|startswith\(.postgres")
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "geo").rglob("*.py")
        if path.name not in backends and branch.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_pages_reach_the_store_only_through_the_services():
    """Reads and writes that need a right go through geo.services: a page imports from the
    store package only its value types and constants, never its topic modules."""
    store_module = re.compile(
        r"from geo\.store\.\w+ import|from geo\.store import [^\n]*\b(queries|workflow|batches|wards|users)\b"
        r"|import geo\.store\.|\b(queries|workflow|batches|stored_wards|user_rows)\.\w+\("
    )
    pages = [*(REPO / "app_pages").glob("*.py"), REPO / "app.py"]
    offenders = [
        f"{path.relative_to(REPO)}: {match.group(0)}"
        for path in pages
        for match in store_module.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_services_are_thin():
    """geo/services checks rights, calls the domain and audits: no SQL, and every import
    at the top of its module (cycles are broken by the module layout, not by hiding
    imports in functions)."""
    sql = re.compile(r"\bselect\(|\btext\(|exec_driver_sql|from sqlalchemy|import sqlalchemy")
    local_import = re.compile(r"^[ \t]+(from [\w.]+ import|import [\w.]+)", re.MULTILINE)
    offenders = []
    for path in (REPO / "geo" / "services").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: {m.group(0)}" for m in sql.finditer(text)]
        offenders += [f"{path.name}: {m.group(0).strip()}" for m in local_import.finditer(text)]
    assert offenders == []


def test_library_never_imports_streamlit():
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "geo").rglob("*.py")
        if "import streamlit" in path.read_text(encoding="utf-8")
        or "from streamlit" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
