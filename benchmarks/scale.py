"""The city-scale curve: N incidents in one store, written as batches of a million.

``python -m benchmarks --sizes 10000000`` (not part of CI: about an hour on 2 cores) takes
this path for every N above :data:`BATCH_ROWS`. A multi-year, city-wide deployment does
not ingest ten million rows at once: it receives them a file at a time, and what matters
is whether the tenth file costs what the first did. So the store is filled by
N / :data:`BATCH_ROWS` ingests of one-million-row files (seeds ``seed``, ``seed + 1``, …:
distinct ids, distinct sources), each in a fresh process, and after chosen batches the map
page is measured on what is stored (first page, filter reruns). Each step's wall time,
CPU time (the step process's ``RUSAGE_CHILDREN``) and the load average around it are
kept, because the 2 cores here are shared and wall time alone says little.

Results go to ``<workdir>/scale_<N>.json``, a Markdown table to ``benchmarks/SCALE.md``
and the log-log plot (time and memory against N) to ``benchmarks/scale.png``; NOTES.md
links both, so RESULTS.md does too.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: Rows per batch file of the city-scale run.
BATCH_ROWS = 1_000_000
#: After these batch numbers (1-based) the map page is measured on the store. The pages
#: after 2, 5 and 10 each follow a page one batch earlier, and the pages after 4 and 9 follow
#: pages 2 and 4 batches earlier. Each starts, as a deployment's first page after an upload
#: does, from the snapshot file the page before it left, which every ingest since brought up
#: to date (:mod:`geo._snapshot_batch`; a batch's time includes that).
PAGE_AFTER = (1, 2, 4, 5, 9, 10)

#: Address-space cap of the page step's process (inherited from this one while it runs).
PAGE_CAP_BYTES = 10 * 1024**3

Step = Callable[[str, dict[str, Any], Path], dict[str, Any]]


def _cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measured(run_step: Step, name: str, params: dict[str, Any], log: Path) -> dict[str, Any]:
    """``run_step`` with the step's CPU time and the load average before and after."""
    load, cpu = os.getloadavg()[0], _cpu_s()
    out = run_step(name, params, log)
    out["cpu_s"] = round(_cpu_s() - cpu, 2)
    out["load"] = [round(load, 1), round(os.getloadavg()[0], 1)]
    return out


@contextmanager
def memory_cap(limit: int) -> Iterator[None]:
    """Lower this process's address-space limit while a child is started (children
    inherit it); the old limit comes back afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    capped = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (capped, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def store_bytes(path: Path) -> int:
    """The store file with its write-ahead log (what the disk holds for it)."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def run_scale(
    n: int, args: argparse.Namespace, log: Path, run_step: Step, ensure_data: Callable[..., Any]
) -> dict[str, Any]:
    """Fill one SQLite store (and a PostGIS database, with ``--postgis``) with ``n``
    incidents, :data:`BATCH_ROWS` at a time; measure every batch and the page after
    :data:`PAGE_AFTER` batches."""
    batches = -(-n // BATCH_ROWS)
    say = lambda text: print(f"[N={n:,}] {text}", flush=True)  # noqa: E731

    def files() -> Iterator[Path]:
        """Each batch's file, generated (or found cached) just before it is ingested."""
        for k in range(batches):
            csv, info = ensure_data(BATCH_ROWS, args.seed + k, args.workdir, log, args.fresh)
            if "error" in info:
                raise RuntimeError(f"batch file {k + 1}: {info['error']}")
            yield csv

    out: dict[str, Any] = {"n": n, "scale": True, "batch_rows": BATCH_ROWS}
    batch_files = files()
    first = next(batch_files)
    base_db = args.workdir / "scale_baseline.sqlite"
    base_db.unlink(missing_ok=True)
    out["baseline"] = measured(
        run_step, "baseline_ingest", {"csv": str(first), "db": str(base_db)}, log
    )
    base_db.unlink(missing_ok=True)
    say(f"baseline {out['baseline'].get('seconds', 0):.1f} s, {out['baseline']['cpu_s']} CPU s")
    used: list[Path] = []  # the files, as the SQLite run generates them one by one
    every = (used.append(csv) or csv for csv in itertools.chain([first], batch_files))
    stop_at = getattr(args, "scale_stop_at", None)
    if not getattr(args, "scale_postgis_only", False):
        out["sqlite"] = _fill(
            every, batches, args.workdir / f"scale_{n}.sqlite", None, run_step, log, say, stop_at
        )
        every = iter(used)  # PostGIS takes the same files, already generated
    if args.postgis and not args.scale_sqlite_only:
        from benchmarks.__main__ import PostgisDatabase

        with PostgisDatabase(args.postgis) as url:
            out["postgis"] = _fill(every, batches, None, url, run_step, log, say, stop_at)
    return out


def _fill(
    files: Iterable[Path],
    batches: int,
    path: Path | None,
    url: str | None,
    run_step: Step,
    log: Path,
    say: Callable[[str], None],
    stop_at: float | None = None,
) -> list[dict[str, Any]]:
    """Ingest the files one after the other into one store; one record per batch.

    With ``stop_at`` (epoch seconds) no batch is started that would, by the last one's
    wall time, end after it: the page is then measured on the last stored batch and the
    partial curve reported (a session deadline must not lose the batches measured)."""
    if path is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    assert url is not None
    kind = "sqlite" if path is not None else "postgis"
    records = []
    snapshots = log.parent / f"snapshots_{kind}"  # the pages' GEO_SNAPSHOT_DIR, this fill's only
    shutil.rmtree(snapshots, ignore_errors=True)
    before = os.environ.get("GEO_SNAPSHOT_DIR")
    os.environ["GEO_SNAPSHOT_DIR"] = str(snapshots)  # the steps' processes inherit it
    try:
        for k, csv in enumerate(files, start=1):
            step = measured(run_step, "ingest", {"csv": str(csv), "url": url}, log)
            record: dict[str, Any] = {"batch": k, "ingest": step}
            if path is not None:
                record["store_bytes"] = store_bytes(path)
            say(
                f"{kind} batch {k}: {step.get('seconds', 0):.1f} s, {step['cpu_s']} CPU s, "
                f"peak {step.get('peak_rss_mb', 0):.0f} MB, load {step['load']}"
                + (
                    f", stored {step.get('stored')}"
                    if "stored" in step
                    else f", {step.get('error')}"
                )
            )
            wall = step.get("wall_s", step.get("seconds", 0))
            stopping = stop_at is not None and k < batches and time.time() + 1.3 * wall + 60 > stop_at
            if k in PAGE_AFTER or k == batches or stopping:
                with memory_cap(PAGE_CAP_BYTES):  # a runaway page must not take the machine
                    record["rerun"] = measured(run_step, "rerun", {"url": url}, log)
                rerun = record["rerun"]
                say(
                    f"{kind} page after batch {k}: first {rerun.get('first_run_s', 0):.1f} s, "
                    f"slowest rerun {rerun.get('seconds', 0):.2f} s, peak {rerun.get('peak_rss_mb', 0):.0f} MB"
                )
            records.append(record)
            if "error" in step:
                break
            if stopping:
                say(f"stopping after batch {k} of {batches}: the next would end after --scale-stop-at")
                break
    finally:
        if before is None:
            os.environ.pop("GEO_SNAPSHOT_DIR", None)
        else:
            os.environ["GEO_SNAPSHOT_DIR"] = before
        shutil.rmtree(snapshots, ignore_errors=True)
        if path is not None:  # ~5 GB at ten million: never left behind
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    return records


# --------------------------------------------------------------------------- report


def _rows(records: list[dict[str, Any]], batch_rows: int) -> list[dict[str, Any]]:
    first = (records[0]["ingest"].get("seconds") or 0) if records else 0
    first_cpu = (records[0]["ingest"].get("cpu_s") or 0) if records else 0
    rows = []
    for rec in records:
        ingest, rerun = rec["ingest"], rec.get("rerun") or {}
        rows.append({
            "n": rec["batch"] * batch_rows,
            "seconds": ingest.get("seconds"),
            "cpu_s": ingest.get("cpu_s"),
            "ratio": (ingest.get("seconds") or 0) / first if first else None,
            "cpu_ratio": (ingest.get("cpu_s") or 0) / first_cpu if first_cpu else None,
            "peak_mb": ingest.get("peak_rss_mb"),
            "load": ingest.get("load"),
            "stored": ingest.get("stored"),
            "bytes": rec.get("store_bytes"),
            "first_page_s": rerun.get("first_run_s"),
            "rerun_s": rerun.get("seconds"),
            "page_peak_mb": rerun.get("peak_rss_mb"),
            "page_cpu_s": rerun.get("cpu_s"),
        })  # fmt: skip
    return rows


def _f(value: Any, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    """SCALE.md: one row per batch and backend."""
    base = result.get("baseline", {})
    lines = [
        f"# {result['n']:,} incidents in one store, {result['batch_rows']:,} rows per batch",
        "",
        "Written by `python -m benchmarks --sizes "
        + str(result["n"])
        + "` on "
        + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        + ". Each batch is one "
        "`geo.ingest.ingest` of a one-million-row synthetic file (its own seed) into the same "
        "store, in a fresh process; wall and CPU seconds (user + system of the step's process), "
        "its peak resident memory (`ru_maxrss`, imports included) and the 1-minute load average "
        "before → after. Page: the AppTest first run and the slowest of four filter reruns "
        "(`benchmarks/steps.py`, `rerun`) on the store as it then is, in a fresh process that "
        "starts from the snapshot file the page before it left (none for the first page; one "
        f"batch old for a page right after another; pages after batches {', '.join(map(str, PAGE_AFTER))}). "
        "Same-run baseline (naive "
        f"read_csv + sjoin + to_sql of the first file): {_f(base.get('seconds'))} s, "
        f"{_f(base.get('cpu_s'))} CPU s, load {base.get('load')}.",
        "",
        f"![time and memory against N](scale{_suffix(result)}.png)",
    ]
    for kind in ("sqlite", "postgis"):
        records = result.get(kind)
        if not records:
            continue
        lines += [
            "",
            f"## {'SQLite' if kind == 'sqlite' else 'PostGIS'}",
            "",
            "| N stored | batch s | ÷ first | batch CPU s | ÷ first | peak MB | load | store bytes / incident "
            "| first page s | slowest rerun s | page peak MB |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in _rows(records, result["batch_rows"]):
            per = row["bytes"] / row["n"] if row["bytes"] else None
            lines.append(
                f"| {row['n']:,} | {_f(row['seconds'])} | {_f(row['ratio'], 2)} | {_f(row['cpu_s'])} "
                f"| {_f(row['cpu_ratio'], 2)} | {_f(row['peak_mb'], 0)} | {row['load']} | {_f(per, 0)} "
                f"| {_f(row['first_page_s'])} | {_f(row['rerun_s'], 2)} | {_f(row['page_peak_mb'], 0)} |"
            )
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], out: Path) -> Path:
    """Log-log: batch wall and CPU time, first page and rerun time, and peak memory
    against the incidents stored."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.5))
    for kind, style in (("sqlite", "-"), ("postgis", "--")):
        rows = _rows(result.get(kind) or [], result["batch_rows"])
        if not rows:
            continue
        name = "SQLite" if kind == "sqlite" else "PostGIS"

        def series(key: str, rows: list[dict[str, Any]] = rows) -> tuple[list[int], list[float]]:
            pairs = [(r["n"], r[key]) for r in rows if r.get(key)]
            return [p[0] for p in pairs], [p[1] for p in pairs]

        for key, label, marker in (
            ("seconds", "batch ingest, wall", "o"), ("cpu_s", "batch ingest, CPU", "s"),
            ("first_page_s", "first page (AppTest)", "^"), ("rerun_s", "slowest filter rerun", "v"),
        ):  # fmt: skip
            xs, ys = series(key)
            if xs:
                ax_t.plot(xs, ys, style, marker=marker, label=f"{name}: {label}")
        for key, label, marker in (("peak_mb", "batch ingest", "o"), ("page_peak_mb", "page", "^")):
            xs, ys = series(key)
            if xs:
                ax_m.plot(xs, ys, style, marker=marker, label=f"{name}: {label}")
    ax_t.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax_m.axhline(4096, color="red", lw=0.8, ls=":", label="4 GB target")
    for ax, ylabel in ((ax_t, "seconds"), (ax_m, "peak resident memory, MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("incidents stored after the batch (N)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7)
    ax_t.set_title("time against N (2 shared cores)")
    ax_m.set_title("memory against N")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _suffix(result: dict[str, Any]) -> str:
    """No suffix when SQLite was run, else "_postgis": a PostGIS-only run must not overwrite
    the SQLite curve, which took the longer run to measure."""
    return "" if result.get("sqlite") else "_postgis"


def write_outputs(result: dict[str, Any], workdir: Path) -> list[Path]:
    """The JSON record (work directory), SCALE.md and scale.png (committed); a PostGIS-only
    run writes SCALE_POSTGIS.md and scale_postgis.png beside them."""
    suffix = _suffix(result)
    record = workdir / f"scale{suffix}_{result['n']}.json"
    record.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    md = HERE / f"SCALE{suffix.upper()}.md"
    md.write_text(markdown(result), encoding="utf-8")
    return [record, md, plot(result, HERE / f"scale{suffix}.png")]
