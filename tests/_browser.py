"""Real-browser harness: a ``streamlit run app.py`` subprocess and headless Debian Chromium.

Reusable by every browser test (upload, markers, other pages): the fixtures in
``tests/conftest.py`` hand out an :class:`AppServer` (one per session, on a free port,
with a temporary SQLite store) and a fresh :class:`RecordedPage` per test, which records
every request and console error so a test can assert the app stayed on its own host.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Basemap tiles are the one allowed foreign host; tests abort them (no network in tests).
TILE_HOSTS = frozenset({"tile.openstreetmap.org"})
STARTUP_LIMIT_S = 90.0


def require_browser_stack() -> None:
    """Skip (Chromium or playwright absent) or fail (assets not fetched) with the reason."""
    import pytest

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (CI installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("python playwright is not installed: pip install -e '.[test]'")
    from geo.assets import missing_files

    missing = missing_files()
    if missing:
        pytest.fail(f"map assets missing ({missing[0]}): run `python -m geo assets fetch`")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AppServer:
    """A running ``streamlit run app.py``; ``url`` is its base address."""

    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    #: the script served (the app; a test may serve a page of its own made of app parts)
    script: Path = REPO / "app.py"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(self.script),
            "--server.headless=true",
            f"--server.port={self.port}",
            "--server.address=127.0.0.1",
            "--server.enableStaticServing=true",
            "--browser.gatherUsageStats=false",
            "--server.fileWatcherType=none",
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            cmd, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"streamlit did not become healthy:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def setup_link(self) -> str:
        """The newest first-admin link the app printed in its console (``…/?setup=…``);
        printed (and flushed) by the run that draws the first-admin heading."""
        links = re.findall(r"Setup URL: (http://[\w.:]+/\?setup=[A-Za-z0-9_-]+)", self.log())
        if not links:
            raise AssertionError(f"no setup link printed:\n{self.log()}")
        return links[-1]

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@contextlib.contextmanager
def running_app(tmp_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[AppServer]:
    """Start the app with its own SQLite store inside ``tmp_dir``; stop it afterwards."""
    env = dict(os.environ)
    env["GEO_DATABASE_URL"] = f"sqlite:///{tmp_dir / 'store.sqlite'}"
    env.update(extra_env or {})
    server = AppServer(free_port(), env, tmp_dir / "streamlit.log")
    try:
        yield server.start()
    finally:
        server.stop()


@dataclass
class RecordedPage:
    """A playwright page plus everything it asked for and complained about."""

    page: Any
    app_host: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    #: (user name, password) typed into the sign-in form after every :meth:`goto`
    credentials: tuple[str, str] | None = None

    def foreign_requests(self) -> list[str]:
        """Requests to any host but the app (tiles excepted); data:/blob: are local."""
        bad = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in {"data", "blob", "about", "chrome-error"}:
                continue
            if parts.netloc == self.app_host or parts.hostname in TILE_HOSTS:
                continue
            bad.append(url)
        return bad

    def asset_errors(self) -> list[str]:
        """Console errors except the aborted basemap tiles."""
        return [e for e in self.console_errors if not any(h in e for h in TILE_HOSTS)]

    def goto(self, path: str = "/") -> None:
        """Open ``path``; signed in already when the session cookie is still good, else
        through the form with :attr:`credentials` (when set)."""
        self.page.goto(f"http://{self.app_host}{path}", wait_until="domcontentloaded")
        if self.credentials is not None:
            self.sign_in_if_asked(*self.credentials)

    def sign_in_if_asked(self, username: str, password: str, timeout_ms: float = 60_000) -> None:
        """Wait for the sign-in form or the signed-in sidebar; fill the form if it came."""
        form = self.page.locator(".st-key-auth_name input")
        signed_in = self.page.locator(".st-key-auth_sign_out")
        form.or_(signed_in).first.wait_for(timeout=timeout_ms)
        if form.count():
            self.sign_in(username, password, timeout_ms)

    def sign_in(self, username: str, password: str, timeout_ms: float = 60_000) -> None:
        """Fill the app's sign-in form (any language: found by widget key) and wait it away."""
        name_box = self.page.locator(".st-key-auth_name input")
        name_box.wait_for(timeout=timeout_ms)
        name_box.fill(username)
        self.page.locator(".st-key-auth_pw input").fill(password)
        self.page.locator("[data-testid='stFormSubmitButton'] button").first.click()
        name_box.wait_for(state="detached", timeout=timeout_ms)
        # the pointer stayed where the button was: keep it off the map (hover highlights)
        self.page.mouse.move(0, 0)

    def map_frame(self, min_paths: int = 1, timeout_ms: float = 60_000) -> Any:
        """The streamlit-folium iframe once it holds ``min_paths`` Leaflet vector paths."""
        locator = self.page.locator("iframe[title*='streamlit_folium']").first
        locator.wait_for(state="attached", timeout=timeout_ms)
        frame = locator.element_handle().content_frame()
        frame.locator("path.leaflet-interactive").nth(min_paths - 1).wait_for(
            state="attached", timeout=timeout_ms
        )
        self.settle(frame, timeout_ms)
        return frame

    @staticmethod
    def settle(frame: Any, timeout_ms: float = 30_000) -> None:
        """Wait until Leaflet's zoom animation (fitBounds, cluster click) has finished."""
        frame.wait_for_function(
            "() => !document.querySelector('.leaflet-zoom-anim')", timeout=timeout_ms
        )

    def map_iframe_box(self) -> dict[str, float]:
        locator = self.page.locator("iframe[title*='streamlit_folium']").first
        box = locator.bounding_box()
        return dict(box) if box else {"height": 0.0, "width": 0.0}

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def new_recorded_page(
    browser: Any, app_host: str, credentials: tuple[str, str] | None = None
) -> RecordedPage:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="vi-VN")
    page = context.new_page()
    rec = RecordedPage(page, app_host, credentials=credentials)
    page.on("request", lambda req: rec.requests.append(req.url))
    page.on(
        "console",
        lambda msg: (
            rec.console_errors.append(f"{msg.text} @ {msg.location.get('url', '')}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: rec.console_errors.append(f"pageerror: {exc}"))
    # no network in tests: basemap tiles fail, as in an offline ward office
    context.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    return rec
