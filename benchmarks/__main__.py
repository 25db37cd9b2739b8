"""``python -m benchmarks``: run every step at every size and write ``benchmarks/RESULTS.md``."""

from __future__ import annotations

import argparse
import calendar
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.report import render, summary_lines
from benchmarks.scale import BATCH_ROWS, run_scale, write_outputs
from benchmarks.steps import REPO, RESULT_PREFIX
from geo import settings

HERE = Path(__file__).resolve().parent
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_SEED = 2025
#: Files whose change makes a cached synthetic CSV stale.
_DATA_INPUTS = (
    REPO / "geo" / "sample.py",
    REPO / "data" / "boundaries" / "hanoi_wards_2025.geojson",
    REPO / "data" / "streets" / "hoan_kiem_streets_2019.geojson",
)


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--sizes", type=_sizes, help="comma-separated N (default 10000,100000,1000000)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="one repetition; N=10000 unless --sizes"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--postgis",
        default=settings.postgis_test_url(),
        help="PostgreSQL+PostGIS server URL (default GEO_TEST_POSTGIS_URL); a throwaway "
        "database is created on it per size and dropped afterwards",
    )
    parser.add_argument("--workdir", type=Path, default=HERE / "_work", help="data and stores")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--fresh", action="store_true", help="regenerate the synthetic files")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the SQLite ingest at the largest N"
    )
    parser.add_argument(
        "--scale-sqlite-only",
        action="store_true",
        help=f"N above {BATCH_ROWS:,} (batches of {BATCH_ROWS:,} into one store): SQLite only",
    )
    parser.add_argument(
        "--scale-postgis-only",
        action="store_true",
        help="N above 1,000,000: PostGIS only (the SQLite curve is kept; writes SCALE_POSTGIS.md "
        "and scale_postgis.png)",
    )
    parser.add_argument(
        "--scale-stop-at",
        type=lambda text: calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M")),
        help="city-scale curve: start no batch that would end after this UTC time "
        "(YYYY-MM-DDTHH:MM); the partial curve is reported",
    )
    args = parser.parse_args(argv)
    if args.scale_postgis_only and (args.scale_sqlite_only or not args.postgis):
        # it would fill no store, after its baseline, and write an empty SCALE_POSTGIS.md
        parser.error("--scale-postgis-only needs a PostGIS server (--postgis or GEO_TEST_POSTGIS_URL) "
                     "and excludes --scale-sqlite-only")
    if not args.sizes:
        args.sizes = [10_000] if args.quick else list(DEFAULT_SIZES)
    args.repeats = 1 if args.quick else 3
    return args


def run_step(name: str, params: dict[str, Any], log: Path) -> dict[str, Any]:
    """Run one step in a fresh interpreter; its stderr goes to ``log``."""
    cmd = [sys.executable, "-m", "benchmarks.steps", name, json.dumps(params)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    started = time.perf_counter()
    with log.open("a", encoding="utf-8") as err:
        err.write(f"\n=== {name} {json.dumps(params)}\n")
        err.flush()
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err, text=True, check=False
        )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
    return {
        "error": f"exit {proc.returncode}: " + " | ".join(tail),
        "wall_s": time.perf_counter() - started,
    }


def _data_key(n: int, seed: int) -> str:
    digest = hashlib.sha256(f"{n}:{seed}".encode())
    for path in _DATA_INPUTS:
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()[:12]


def ensure_data(
    n: int, seed: int, workdir: Path, log: Path, fresh: bool
) -> tuple[Path, dict[str, Any]]:
    """The synthetic CSV for (n, seed); regenerated when its inputs changed or on --fresh."""
    csv = workdir / f"incidents_{n}_{seed}.csv"
    meta = csv.with_suffix(".json")
    key = _data_key(n, seed)
    if not fresh and csv.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("key") == key:
            return csv, {**info, "cached": True}
    info = run_step("generate", {"n": n, "seed": seed, "out": str(csv)}, log)
    info["key"] = key
    if "error" not in info:
        meta.write_text(json.dumps(info))
    return csv, {**info, "cached": False}


def _fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


class PostgisDatabase:
    """A throwaway database on the given server, with PostGIS, dropped on exit."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.server = make_url(url).set(drivername="postgresql")
        self.name = f"geo_bench_{uuid.uuid4().hex[:8]}"

    def _admin(self) -> Any:
        import psycopg

        dsn = self.server.render_as_string(hide_password=False)
        return psycopg.connect(dsn, autocommit=True)

    def __enter__(self) -> str:
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        url = self.server.set(database=self.name).render_as_string(hide_password=False)
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return url

    def __exit__(self, *exc: object) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def run_size(n: int, args: argparse.Namespace, log: Path) -> dict[str, Any]:
    work = args.workdir
    say = lambda text: print(f"[N={n:,}] {text}", flush=True)  # noqa: E731
    out: dict[str, Any] = {"n": n}
    csv, out["data"] = ensure_data(n, args.seed, work, log, args.fresh)
    say(f"data {'(cached) ' if out['data'].get('cached') else ''}{csv.name}")
    if "error" in out["data"]:
        return out

    baseline_db = work / f"baseline_{n}.sqlite"
    _fresh_sqlite(baseline_db)
    out["baseline"] = run_step("baseline_ingest", {"csv": str(csv), "db": str(baseline_db)}, log)
    say(f"baseline ingest {out['baseline'].get('seconds', 0):.2f} s")

    store_url = _fresh_sqlite(work / f"store_{n}.sqlite")
    params: dict[str, Any] = {"csv": str(csv), "url": store_url}
    out["ingest_sqlite"] = run_step("ingest", params, log)
    say(f"ingest sqlite {out['ingest_sqlite'].get('seconds', 0):.2f} s")
    if args.profile and n == max(args.sizes) and "error" not in out["ingest_sqlite"]:
        # a separate run: cProfile's overhead must not touch the measured one
        prof = work / f"ingest_{n}.prof"
        profiled_url = _fresh_sqlite(work / f"store_{n}_profiled.sqlite")
        run_step("ingest", {"csv": str(csv), "url": profiled_url, "profile": str(prof)}, log)
        if prof.exists():
            out["ingest_profile"] = _profile_top(prof)
        _fresh_sqlite(work / f"store_{n}_profiled.sqlite")  # removes it
        say("ingest profiled")

    if args.postgis:
        try:
            with PostgisDatabase(args.postgis) as pg_url:
                out["ingest_postgis"] = run_step("ingest", {"csv": str(csv), "url": pg_url}, log)
        except Exception as exc:  # a server problem is a result, not a crash of the suite
            out["ingest_postgis"] = {"error": f"{type(exc).__name__}: {exc}"}
        say(f"ingest postgis {out['ingest_postgis'].get('seconds', 0):.2f} s")

    same_spot = {"n": n, "workdir": str(work)}
    spot_url = _fresh_sqlite(work / f"same_spot_{n}.sqlite")
    out["same_spot_sqlite"] = run_step("ingest_same_spot", {**same_spot, "url": spot_url}, log)
    _fresh_sqlite(work / f"same_spot_{n}.sqlite")  # removes it
    say(f"same spot sqlite {out['same_spot_sqlite'].get('seconds', 0):.2f} s")
    if args.postgis:
        try:
            with PostgisDatabase(args.postgis) as pg_url:
                out["same_spot_postgis"] = run_step("ingest_same_spot", {**same_spot, "url": pg_url}, log)
        except Exception as exc:  # a server problem is a result, not a crash of the suite
            out["same_spot_postgis"] = {"error": f"{type(exc).__name__}: {exc}"}
        say(f"same spot postgis {out['same_spot_postgis'].get('seconds', 0):.2f} s")

    out["assign"] = run_step("assign", {"csv": str(csv), "repeats": args.repeats}, log)
    say(
        f"assign {out['assign'].get('project_s', 0):.3f} s vs sjoin {out['assign'].get('sjoin_s', 0):.3f} s"
    )

    if "error" in out["ingest_sqlite"]:
        return out
    out["payload"] = run_step("payload", {"url": store_url}, log)
    say(
        "payload "
        + ", ".join(f"{k} {v['bytes']:,} B" for k, v in out["payload"].get("views", {}).items())
    )
    out["rerun"] = run_step("rerun", {"url": store_url}, log)
    say(f"rerun {out['rerun'].get('seconds', 0):.2f} s")
    return out


def _profile_top(path: Path, limit: int = 25) -> str:
    import io
    import pstats

    buf = io.StringIO()
    stats = pstats.Stats(str(path), stream=buf)
    stats.strip_dirs().sort_stats("cumulative").print_stats(limit)
    lines = buf.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    log = args.workdir / "steps.log"
    log.write_text("", encoding="utf-8")
    started = time.perf_counter()
    for n in (n for n in args.sizes if n > BATCH_ROWS):  # the city-scale curve: its own report
        written = write_outputs(run_scale(n, args, log, run_step, ensure_data), args.workdir)
        print("wrote " + ", ".join(str(p) for p in written))
    if not (regular := [n for n in args.sizes if n <= BATCH_ROWS]):
        return 0
    sizes = [run_size(n, args, log) for n in regular]
    results = {
        "sizes": sizes,
        "seed": args.seed,
        "quick": args.quick,
        "postgis": bool(args.postgis),
        "total_s": time.perf_counter() - started,
    }
    (args.workdir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    args.out.write_text(render(results), encoding="utf-8")
    print("\n".join(summary_lines(results)))
    print(f"wrote {args.out} ({results['total_s']:.0f} s); step logs in {log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
