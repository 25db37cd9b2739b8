"""``python -m benchmarks.mutation [--module M ...]``: mutation testing, one module at a time.

Mutation testing changes one small thing in the code (``<`` to ``<=``, a constant, a
``return`` value) and reruns the tests: a change no test notices is a *survivor*, a
wrong answer the suite would let through. The modules listed in :data:`MODULES` are the
ones where a wrong answer is silent (a point in the wrong ward, a date a day off, a
duplicate not recognised, a right not checked, a move the workflow forbids, an export
that drops a column); see ``docs/testing.md`` for the kill rates measured.

The run uses mutmut 3 (``pip install -e ".[mutation]"``), which imports the code once,
runs the selected tests to learn which test reaches which function, then forks one
child per mutant that runs only those tests. Each module gets its own scratch project
under ``benchmarks/_work/mutation/<module>/`` whose ``pyproject.toml`` carries the
module's ``[tool.mutmut]`` section, so that only the tests exercising it run: SQLite
only (``-m "not postgis and not browser and not web"``), no PostGIS, no browser. The
scratch project links ``geo``, ``tests`` and ``data`` to this checkout (mutmut copies
them into ``mutants/``) and ``shared`` to ``../shared`` so the shared data resolves.

It is not part of ``.ci/run``: a full run takes minutes, not seconds. mutmut is started
under ``nice -n 19`` (``--nice``) so that it only takes idle CPU on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "mutation"
#: Tests that need PostGIS, a browser or the network never run under mutation.
MARKERS = "not postgis and not browser and not web"
#: Address space each mutmut process (and every test child it forks) may map, in GiB.
#: The selected tests need under 2 GiB here; a mutant that sizes an array from a wrong
#: formula (``assign``'s ``ward_index`` 51: a 10 GiB grid) then gets numpy's
#: ``MemoryError`` (its test fails: killed) instead of swapping a small machine to death.
MEMORY_LIMIT_GIB = 4.0


@dataclass(frozen=True)
class Target:
    """One module under mutation: the files mutated and the tests that exercise them."""

    files: tuple[str, ...]
    tests: tuple[str, ...]
    #: mutmut mutant-name globs (``geo.store.batches.x_lookup_existing*``); empty = all.
    only: tuple[str, ...] = field(default=())
    #: Test node ids left out of the run (``--deselect``): tests that run the code in a
    #: subprocess of their own, so mutmut cannot tie them to a mutant and they only add
    #: minutes to the first, unmutated run (a scale test of memory, say).
    deselect: tuple[str, ...] = field(default=())


#: Module name (``--module``) → what to mutate and which tests to run.
MODULES: dict[str, Target] = {
    "workflow": Target(
        ("geo/store/workflow.py", "geo/store/_move_history.py", "geo/store/public_notes.py"),
        (
            "tests/store/test_store_workflow.py",
            "tests/store/test_chain_columns.py",  # the moves' history written a column at a time
            "tests/store/test_mutants_workflow.py",
            # the workflow code of issues 12-15: re-inspections (open_recurrence), the
            # after-photo rule (check_clear_photo, unverified_clearances), public notes
            "tests/places/test_store_places.py",
            "tests/photos/test_photos_store.py",
            "tests/open311/test_moderation.py",
            "tests/store/test_mutants_workflow_more.py",
        ),
    ),
    "assign": Target(
        ("geo/assign.py",),
        ("tests/test_assign.py", "tests/test_mutants_assign.py"),
    ),
    "dates": Target(
        ("geo/ingest/_dates.py", "geo/ingest/_dates_fixed.py"),
        (
            "tests/ingest/test_ingest_parsing.py",
            "tests/ingest/test_ingest_file_date.py",
            "tests/ingest/test_mutants_dates.py",
            "tests/ingest/test_mutants_dates_more.py",
        ),
        # `python -m geo ingest` in a subprocess: its 300 s limit ran out at load 35
        deselect=("tests/ingest/test_ingest_file_date.py::test_cli_date",),
    ),
    "identity": Target(
        ("geo/ingest/_identity.py", "geo/store/batches.py"),
        (
            "tests/ingest/test_ingest_identity.py",
            "tests/store/test_store_workflow.py",
            "tests/ingest/test_mutants_identity.py",
        ),
        only=("geo.ingest._identity.*", "geo.store.batches.x_lookup_existing*"),
        # 2 x 50,000 rows ingested in subprocesses that import benchmarks.steps
        deselect=("tests/ingest/test_ingest_identity.py::test_same_spot_ingest_memory_is_linear",),
    ),
    "auth": Target(
        ("geo/auth.py",),
        ("tests/test_auth.py", "tests/test_rights.py", "tests/test_mutants_auth.py"),
    ),
    "exports": Target(
        ("geo/exports.py",),
        (
            "tests/test_exports.py",
            "tests/test_mutants_exports.py",
            # the Open311 media_url of a stored after photo (issue 13)
            "tests/photos/test_photos_exports.py",
        ),
    ),
    "km": Target(
        ("geo/_sustain_km.py",),
        ("tests/test_sustain_km.py", "tests/test_mutants_km.py"),
        # the Kaplan–Meier estimator only; the spells and measures around it are not here
        only=("geo._sustain_km.x_km_curve*",),
    ),
}

_KILLED = {"killed", "timeout", "caught by type check"}
_RESULT = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+?)\s*$")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _table(name: str, values: dict[str, object]) -> str:
    return "\n".join([f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in values.items())])


def _existing(paths: tuple[str, ...]) -> list[str]:
    """The test files that exist (the ``test_mutants_*`` files come with the kills)."""
    return [p for p in paths if (REPO / p).exists()]


def stage(name: str, target: Target) -> Path:
    """A fresh scratch project for one module; returns its directory."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    base = dict(project["tool"]["mutmut"])
    where = WORK / name
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for link in ("geo", "tests", "data", "app_pages"):
        (where / link).symlink_to(REPO / link, target_is_directory=True)
    (where / "shared").symlink_to(REPO.parent / "shared", target_is_directory=True)
    base.update(
        only_mutate=list(target.files),
        pytest_add_cli_args_test_selection=_existing(target.tests),
        pytest_add_cli_args=[
            *base.get("pytest_add_cli_args", []),
            "-m",
            MARKERS,
            *(arg for test in target.deselect for arg in ("--deselect", test)),
        ],
    )
    text = "\n\n".join(
        [
            _table("tool.mutmut", base),
            _table("tool.pytest.ini_options", project["tool"]["pytest"]["ini_options"]),
        ]
    )
    (where / "pyproject.toml").write_text(text + "\n", encoding="utf-8")
    return where


def _limit_memory(gib: float) -> None:
    """In the child before exec: cap its address space (inherited by mutmut's forks)."""
    if gib > 0:
        limit = int(gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _mutmut(
    where: Path, *args: str, nice: int, memory_gib: float = MEMORY_LIMIT_GIB
) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "mutmut"
    cmd = [str(exe), *args]
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    return subprocess.run(
        cmd,
        cwd=where,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: _limit_memory(memory_gib),
    )


def _env() -> dict[str, str]:
    """No PostGIS, no database of the caller's, and only the mutated copy importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEO_TEST_POSTGIS_URL", "GEO_REQUIRE_POSTGIS")}
    env.pop("GEO_REQUIRE_POSTGIS", None)
    env.pop("GEO_DATABASE_URL", None)
    env["PYTHONPATH"] = ""
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _matches(mutant: str, only: tuple[str, ...]) -> bool:
    from fnmatch import fnmatchcase

    return not only or any(fnmatchcase(mutant, pattern) for pattern in only)


def run_module(
    name: str, target: Target, *, nice: int, children: int, memory_gib: float = MEMORY_LIMIT_GIB
) -> dict[str, object]:
    """Run mutmut on one module; returns the tally, the survivors and their diffs."""
    where = stage(name, target)
    started = time.monotonic()
    cpu_before = _children_cpu()
    args = ("run", "--max-children", str(children), *target.only)
    ran = _mutmut(where, *args, nice=nice, memory_gib=memory_gib)
    seconds = round(time.monotonic() - started, 1)
    # CPU time of mutmut and its forks: on an idle 2-core machine the run takes about
    # half of it as wall time, whatever the load was while it was measured.
    cpu_seconds = round(_children_cpu() - cpu_before, 1)
    (where / "run.log").write_text(ran.stdout + ran.stderr, encoding="utf-8")
    run: dict[str, object] = {"seconds": seconds, "cpu_seconds": cpu_seconds, "mutmut_exit": ran.returncode}
    return summarise(name, target, run)


def _diffs(where: Path, target: Target, mutants: list[str]) -> dict[str, str]:
    """Each mutant against its original function, read from the mutated copy (one
    ``mutmut show`` per survivor costs a Python start each)."""
    import ast
    import difflib

    sources: dict[str, str] = {}
    for file in target.files:
        text = (where / "mutants" / file).read_text(encoding="utf-8")
        # lines split once: ast.get_source_segment splits the whole file on every call,
        # minutes for a module of a few thousand mutants (sustain.py)
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and "__mutmut_" in node.name
            ):
                module = file.removesuffix(".py").replace("/", ".")
                body = lines[node.lineno - 1 : node.end_lineno]
                sources[f"{module}.{node.name}"] = "\n".join(body)
    out = {}
    for mutant in mutants:
        original = sources.get(mutant.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "")
        changed = difflib.unified_diff(
            original.splitlines()[1:], sources.get(mutant, "").splitlines()[1:], lineterm="", n=0
        )
        out[mutant] = "\n".join(
            line for line in changed if line[:1] in "+-" and line[:3] not in ("+++", "---")
        )
    return out


def _run_tests(where: Path) -> list[str]:
    """The test files mutmut ran (the scratch project's selection)."""
    config = tomllib.loads((where / "pyproject.toml").read_text(encoding="utf-8"))
    return list(config["tool"]["mutmut"]["pytest_add_cli_args_test_selection"])


def summarise(name: str, target: Target, run: dict[str, object]) -> dict[str, object]:
    """Tally the results mutmut stored for ``name`` (also of a run stopped part way)."""
    where = WORK / name
    listed = _mutmut(where, "results", "--all", "true", nice=0).stdout
    statuses = {
        m["name"]: m["status"]
        for m in (_RESULT.match(line) for line in listed.splitlines())
        if m and _matches(m["name"], target.only)
    }
    checked = {k: s for k, s in statuses.items() if s != "not checked"}
    # a tally after a --recheck keeps what the added tests killed
    before = where / "summary.json"
    rechecks = (
        json.loads(before.read_text(encoding="utf-8")).get("rechecks", [])
        if before.exists()
        else []
    )
    for kill in (k for r in rechecks for k in r["killed"]):
        if checked.get(kill) not in (None, *_KILLED):
            checked[kill] = "killed"
    survivors = sorted(k for k, s in checked.items() if s not in _KILLED)
    diffs = _diffs(where, target, survivors)
    killed = len(checked) - len(survivors)
    summary: dict[str, object] = {
        "module": name,
        "files": list(target.files),
        "tests": _run_tests(where),
        "total": len(checked),
        "not_checked": len(statuses) - len(checked),
        "killed": killed,
        "timeouts": sum(s == "timeout" for s in checked.values()),
        "rate": round(killed / len(checked), 4) if checked else None,
        **run,
        "load": os.getloadavg(),
        "survivors": {k: checked[k] for k in survivors},
        "diffs": diffs,
        "rechecks": rechecks,
    }
    (where / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def _changed(where: Path, test: str) -> bool:
    """Whether a test file differs from the copy the last run (or recheck) used."""
    copy = where / "mutants" / test
    return not copy.exists() or copy.read_bytes() != (REPO / test).read_bytes()


def recheck(
    name: str, target: Target, *, nice: int, memory_gib: float = MEMORY_LIMIT_GIB
) -> dict[str, object]:
    """Run the survivors of the last run of ``name`` against the tests added since.

    A test file counts as added when the run did not select it or when it changed since
    that run (tests added to an existing ``test_mutants_*`` file); only tests that were
    added, not weakened, make this equal to a new run.

    Adding tests can only kill more mutants, so a survivor the added tests kill counts as
    killed without rerunning the whole module: each survivor runs, in the mutated copy
    of the last run (``MUTANT_UNDER_TEST`` picks it), only the test files that were not
    part of that run.
    """
    where = WORK / name
    summary = json.loads((where / "summary.json").read_text(encoding="utf-8"))
    added = [t for t in _existing(target.tests) if t not in summary["tests"] or _changed(where, t)]
    if not added:
        return summary
    shutil.copytree(REPO / "tests", where / "mutants" / "tests", dirs_exist_ok=True)
    cmd = [sys.executable, "-m", "benchmarks.mutation", "--worker", *added]
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    started, cpu_before = time.monotonic(), _children_cpu()
    # the worker imports the mutated copy (cwd first on sys.path), this checkout after it
    env = {**_env(), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        cmd,
        cwd=where / "mutants",
        env=env,
        input=json.dumps(list(summary["survivors"])),
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: _limit_memory(memory_gib),
    )
    (where / "recheck.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:  # the added tests must pass on the code that was mutated
        raise SystemExit(f"{name}: recheck failed (see {where / 'recheck.log'})")
    codes = json.loads(proc.stdout.strip().splitlines()[-1])
    killed_now = {k: c for k, c in codes.items() if c not in (0, 5)}  # 5: no test collected
    summary["survivors"] = {k: v for k, v in summary["survivors"].items() if k not in killed_now}
    summary["diffs"] = {k: v for k, v in summary["diffs"].items() if k not in killed_now}
    summary["killed"] += len(killed_now)
    summary["rate"] = round(summary["killed"] / summary["total"], 4)
    summary.setdefault("rechecks", []).append(
        {
            "tests": added,
            "killed": sorted(killed_now),
            "seconds": round(time.monotonic() - started, 1),
            "cpu_seconds": round(_children_cpu() - cpu_before, 1),
            "load": os.getloadavg(),
        }
    )
    (where / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def worker(tests: list[str]) -> int:
    """``--worker``: in ``mutants/``, run ``tests`` once per mutant named on stdin.

    Imported once, forked per mutant (as mutmut does): ``MUTANT_UNDER_TEST`` makes the
    mutated copy's trampolines call that mutant. The first run has no mutant and must pass.
    Prints a JSON object mutant → pytest exit code as the last line.
    """
    import pytest

    import geo.store  # noqa: F401  (the heavy imports, shared by every fork)

    mutants = json.loads(sys.stdin.read())
    args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "tests._mutation_plugin", "-m", MARKERS]

    def run(mutant: str) -> int:
        pid = os.fork()
        if pid == 0:
            os.environ["MUTANT_UNDER_TEST"] = mutant
            code = int(pytest.main([*args, *tests]))
            sys.stdout.flush()
            os._exit(code)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    if run("") != 0:
        print("the added tests fail without a mutant", file=sys.stderr)
        return 1
    codes = {m: run(m) for m in mutants}
    print(json.dumps(codes))
    return 0


def report(summary: dict[str, object], *, diffs: bool) -> str:
    total, killed = summary["total"], summary["killed"]
    unchecked = f", {summary['not_checked']} not checked" if summary.get("not_checked") else ""
    rate = summary["rate"]
    head = (
        f"{summary['module']}: {killed}/{total} killed"
        + (f" ({100 * rate:.1f}%)" if isinstance(rate, float) else "")
        + unchecked
        + f" in {summary['seconds']} s wall, {summary['cpu_seconds']} s CPU"
        + f" (mutmut exit {summary['mutmut_exit']})"
    )
    lines = [head]
    survivors = summary["survivors"]
    assert isinstance(survivors, dict)
    for mutant, status in survivors.items():
        lines.append(f"  {status}: {mutant}")
        if diffs:
            diff = summary["diffs"]
            assert isinstance(diff, dict)
            lines.extend("    " + line for line in diff[mutant].splitlines())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation", description=__doc__)
    parser.add_argument(
        "--module", action="append", choices=sorted(MODULES), help="repeatable; default: all"
    )
    parser.add_argument("--nice", type=int, default=19, help="niceness of mutmut (0: none)")
    parser.add_argument("--children", type=int, default=2, help="mutants run at once")
    parser.add_argument(
        "--memory-limit",
        type=float,
        default=MEMORY_LIMIT_GIB,
        help="address space per mutmut process and test child, GiB (0: none)",
    )
    parser.add_argument("--diffs", action="store_true", help="print each survivor's diff")
    parser.add_argument(
        "--tally",
        action="store_true",
        help="no new run: count what the last (possibly interrupted) run stored",
    )
    parser.add_argument(
        "--recheck",
        action="store_true",
        help="no new run: test the last run's survivors against the test files added since",
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    summaries = []
    for name in args.module or list(MODULES):
        if args.tally:
            summary = summarise(
                name, MODULES[name], {"seconds": None, "cpu_seconds": None, "mutmut_exit": None}
            )
        elif args.recheck:
            summary = recheck(name, MODULES[name], nice=args.nice, memory_gib=args.memory_limit)
        else:
            summary = run_module(
                name,
                MODULES[name],
                nice=args.nice,
                children=args.children,
                memory_gib=args.memory_limit,
            )
        print(report(summary, diffs=args.diffs), flush=True)
        summaries.append(summary)
    bad = [s for s in summaries if s["mutmut_exit"] not in (0, None) or not s["total"]]
    for s in bad:
        print(f"{s['module']}: mutmut failed; see {WORK / str(s['module']) / 'run.log'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
