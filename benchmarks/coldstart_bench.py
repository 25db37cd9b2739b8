"""A freshly started app on a large store, in headless Chromium (issue 15, target 3).

``python -m benchmarks.coldstart_bench --store FILE.sqlite [--app-dir DIR] [--repeats N]``

Each repeat starts ``streamlit run app.py`` on the store, opens it in Chromium (launched
before the server, so the browser's own start is not counted), signs in through the form
and times, from the moment the server process was started:

- ``map_s``: the map page with its ward polygons drawn (at least 126 Leaflet paths in the
  streamlit-folium iframe, the iframe taller than 100 px) and the density layer painted
  (a ``leaflet-heatmap-layer`` canvas with at least one non-transparent pixel);
- ``signin_to_map_s``: the same instant from the click on "sign in" (``signin_cpu_s``:
  the server's CPU over that span; ``signin_browser_cpu_s``: the Playwright driver's and
  Chromium's, this process's other children);

then, in the same browser session, from the click on the page's menu entry until the
page's run has finished (Streamlit's status widget gone) with its first map drawn:

- ``compare_s`` and ``progress_s``: the first Compare and the first Progress.

Next to each wall time, the server process's CPU time over the same span (``map_cpu_s``:
from its start; ``compare_cpu_s``, ``progress_cpu_s``: from the click), which moves far
less with the other work on a loaded machine than wall time does.

``--app-dir`` runs another checkout's ``app.py`` (for a same-run "before": an export of
``main``); the store, the account and the browser are the same. ``--snapshot-dir`` is
passed as ``GEO_SNAPSHOT_DIR``; ``--cold-cache`` empties it before every start (the
first start after an upgrade or a deleted cache). The load average is printed next to
every repeat: on a shared 2-core machine wall time moves with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
USER, PASSWORD = "coldstart_bench", "coldstart-bench-0123"
WARDS = 126
TIMEOUT_MS = 240_000
#: True once the density layer's canvas holds a painted pixel.
_PAINTED = """() => {
  const c = document.querySelector('canvas.leaflet-heatmap-layer');
  if (!c || !c.width || !c.height) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; }
  return false;
}"""


def ensure_account(url: str) -> None:
    """An administrator to sign in as (created on the first run against the store)."""
    from geo import services
    from geo.auth import User
    from geo.store import open_store

    store = open_store(url)
    try:
        if services.needs_first_admin(store):
            services.create_first_admin(store, "bench_boot", PASSWORD)
        if services.load_user(store, USER) is None:
            boss = services.load_user(store, "bench_boot") or User("bench_boot", frozenset({"admin"}))
            services.add_user(store, boss, USER, PASSWORD, ["admin"], [])
    finally:
        store.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(app_dir: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app_dir / "app.py"), "--server.headless=true",
        f"--server.port={port}", "--server.address=127.0.0.1", "--server.enableStaticServing=true",
        "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
    ]
    return subprocess.Popen(cmd, cwd=app_dir, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _browser_cpu_s(server: int) -> float:
    """CPU seconds used so far by this process's descendants except the server's tree:
    the Playwright driver and the Chromium it launched (not other sessions' browsers)."""
    total, todo = 0.0, _children(os.getpid())
    while todo:
        pid = todo.pop()
        if pid == server:
            continue
        try:
            total += _cpu_s(pid)
        except OSError:
            continue
        todo += _children(pid)
    return total


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("streamlit exited early")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("streamlit did not become healthy")


def _map_drawn(page: Any, density: bool) -> None:
    """Wait for a streamlit-folium iframe with every ward drawn (and the density painted)."""
    frame_el = page.locator("iframe[title*='streamlit_folium']").first
    frame_el.wait_for(state="attached", timeout=TIMEOUT_MS)
    frame = frame_el.element_handle().content_frame()
    frame.locator("path.leaflet-interactive").nth(WARDS - 1).wait_for(state="attached", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => { const f = document.querySelector(\"iframe[title*='streamlit_folium']\");"
        " return f && f.getBoundingClientRect().height > 100; }",
        timeout=TIMEOUT_MS,
    )
    if density:
        frame.wait_for_function(_PAINTED, timeout=TIMEOUT_MS)


def _page_done(page: Any) -> None:
    """The page's script run has finished: Streamlit's running indicator is gone."""
    page.wait_for_timeout(300)  # the run starts after the click's round trip
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS
    )


def one_start(args: argparse.Namespace, browser: Any, url: str) -> dict[str, Any]:
    env = {**os.environ, "GEO_DATABASE_URL": url, "GEO_SEED_SAMPLE": "0"}
    if args.snapshot_dir:
        if args.cold_cache:
            shutil.rmtree(args.snapshot_dir, ignore_errors=True)
        env["GEO_SNAPSHOT_DIR"] = str(args.snapshot_dir)
    if args.app_dir != REPO:
        env["PYTHONPATH"] = str(args.app_dir)
        env.setdefault("GEO_VENDOR_DIR", str(REPO / "static" / "vendor"))
    port = _free_port()
    load = os.getloadavg()[0]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN")
    context.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    page = context.new_page()
    started = time.perf_counter()
    process = _start(args.app_dir, env, port, Path(tempfile.mkstemp(suffix=".log")[1]))
    result: dict[str, Any] = {"load_avg": round(load, 2)}
    try:
        _wait_healthy(port, process)
        result["healthy_s"] = time.perf_counter() - started
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        name_box = page.locator(".st-key-auth_name input")
        name_box.wait_for(timeout=TIMEOUT_MS)
        name_box.fill(USER)
        page.locator(".st-key-auth_pw input").fill(PASSWORD)
        cpu, browser_cpu = _cpu_s(process.pid), _browser_cpu_s(process.pid)
        clicked = time.perf_counter()
        page.locator("[data-testid='stFormSubmitButton'] button").first.click()
        _map_drawn(page, density=True)
        now = time.perf_counter()
        result["map_s"], result["signin_to_map_s"] = now - started, now - clicked
        result["map_cpu_s"] = _cpu_s(process.pid)
        result["signin_cpu_s"] = result["map_cpu_s"] - cpu
        result["signin_browser_cpu_s"] = _browser_cpu_s(process.pid) - browser_cpu
        for name in args.pages:
            _page_done(page)
            link = page.locator(f"[data-testid='stSidebarNav'] a[href$='/{name}']").first
            cpu, browser_cpu = _cpu_s(process.pid), _browser_cpu_s(process.pid)
            clicked = time.perf_counter()
            link.click()
            page.wait_for_url(f"**/{name}*", timeout=TIMEOUT_MS)
            _map_drawn(page, density=False)
            _page_done(page)
            result[f"{name}_s"] = time.perf_counter() - clicked
            result[f"{name}_cpu_s"] = _cpu_s(process.pid) - cpu
            result[f"{name}_browser_cpu_s"] = _browser_cpu_s(process.pid) - browser_cpu
        result["load_avg_end"] = round(os.getloadavg()[0], 2)
    finally:
        context.close()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coldstart_bench", description=__doc__)
    parser.add_argument("--store", type=Path, required=True, help="the SQLite store file")
    parser.add_argument("--app-dir", type=Path, default=REPO, help="checkout whose app.py runs")
    parser.add_argument("--snapshot-dir", type=Path, default=None)
    parser.add_argument("--cold-cache", action="store_true", help="empty --snapshot-dir before each start")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="")
    parser.add_argument(
        "--pages", nargs="*", default=["compare", "progress"], choices=["compare", "progress"],
        help="pages opened after the map (none: the map only)",
    )
    args = parser.parse_args(argv)
    args.app_dir = args.app_dir.resolve()
    url = f"sqlite:///{args.store.resolve()}"
    ensure_account(url)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for i in range(args.repeats):
                row = one_start(args, browser, url)
                print(json.dumps({"label": args.label, "repeat": i, **row}), flush=True)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
