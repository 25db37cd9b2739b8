"""The library stays lint-clean and type-checked (settings in pyproject.toml)."""

from __future__ import annotations

import ast
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


def _bound_names(tree: ast.Module) -> set[str]:
    """Names a module defines itself (functions, classes, assignments at any level)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def test_project_names_are_imported_under_their_own_names():
    """``from geo.x import NAME as _NAME`` (a private alias) makes a reader look up two names for one thing
    (geo.snapshot read ``_arrays`` for ``read_arrays``); a project name is renamed on
    import only when the module defines that name itself (a wrapper of the same name,
    like geo.services.figures' ``incident_points``)."""
    offenders = []
    for path in sorted([*(REPO / "geo").rglob("*.py"), *(REPO / "app_pages").glob("*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own = _bound_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("geo", "app_pages"):
                offenders += [
                    f"{path.relative_to(REPO)}:{node.lineno} {alias.name} as {alias.asname}"
                    for alias in node.names
                    if (alias.asname or "").startswith("_") and alias.name not in own
                ]
    assert offenders == []


#: A numpy-style section header: a title line, then a line of dashes.
_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}$", re.MULTILINE)


def _public_functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Module-level public functions of geo/'s public modules (geo/cli excluded)."""
    found = []
    for path in sorted((REPO / "geo").rglob("*.py")):
        parts = path.relative_to(REPO / "geo").parts
        if parts[0] == "cli" or any(p.startswith("_") and p != "__init__.py" for p in parts):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not (
                node.name.startswith("_")
                or any(getattr(d, "id", getattr(d, "attr", "")) == "overload" for d in node.decorator_list)
            ):
                found.append((f"{path.relative_to(REPO)}:{node.lineno} {node.name}", node))
    return found


def _sections(doc: str) -> dict[str, str]:
    headers = list(_SECTION.finditer(doc))
    if not headers:  # a one-line docstring: no section at all (reported, not a crash)
        return {}
    ends = [h.start() for h in headers[1:]] + [len(doc)]
    return {h[1]: doc[h.end() : end] for h, end in zip(headers, ends, strict=True)}


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [n for n in names if n not in ("self", "cls")]


def _documented(section: str) -> set[str]:
    """Names of a Parameters section's entries ("name : type" or "a, b : type" lines)."""
    return {
        name.strip().lstrip("*")
        for line in section.splitlines()
        if line.strip() and not line[0].isspace()
        for name in line.split(" : ")[0].split(",")
    }


def test_public_functions_document_parameters_and_returns():
    """Every public function of a public geo module has numpy-style "Parameters" (naming
    each parameter, and nothing else) and "Returns"/"Yields" sections, so the API stays
    documented as it grows (issue 10, item 6)."""
    offenders = []
    for where, node in _public_functions():
        sections = _sections(ast.get_docstring(node) or "")
        params = _parameters(node)
        problems = []
        if params and "Parameters" not in sections:
            problems.append("no Parameters section")
        elif params:
            documented = _documented(sections["Parameters"])
            if missing := [p for p in params if p not in documented]:
                problems.append(f"Parameters does not name {', '.join(missing)}")
            if unknown := sorted(documented - set(params)):
                problems.append(f"Parameters names {', '.join(unknown)}, not a parameter")
        if not {"Returns", "Yields"} & sections.keys():
            problems.append("no Returns (or Yields) section")
        if problems:
            offenders.append(f"{where}: {'; '.join(problems)}")
    assert offenders == [], "\n".join(offenders)
