"""Test helper: a real ``python -m geo serve`` (uvicorn) on 127.0.0.1 for the Open311 tests.

Each server runs in a subprocess on a free port against its own store (a SQLite file,
or a fresh PostGIS schema), with an admin, two ward officers and an API key made first
through the services. It is polled until it answers, and stopped by its PID.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
HOAN_KIEM, LANG = "00070", "00199"
#: Points inside Phường Hoàn Kiếm and Phường Láng, and one in Hồ Chí Minh City.
IN_HOAN_KIEM = (21.0285, 105.8525)
IN_LANG = (21.0128, 105.8106)
OUTSIDE_HANOI = (10.7769, 106.7009)
ADMIN_PASSWORD = "a-long-admin-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Served:
    """A running server, its store's URL, and the accounts and key made for it."""

    base: str
    store_url: str
    key: str
    process: subprocess.Popen[bytes]
    users: dict[str, Any] = field(default_factory=dict)

    def call(self, method: str, path: str, data: bytes | None = None,
             headers: Mapping[str, str] | None = None) -> Answer:
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=dict(headers or {}))
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read())

    def get(self, path: str, **params: str) -> Answer:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self.call("GET", path + query)

    def post(self, fmt: str = "json", fields: Mapping[str, Any] | list[tuple[str, str]] | None = None,
             **extra: Any) -> Answer:
        pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields or [])
        pairs += [(k, str(v)) for k, v in extra.items()]
        body = urllib.parse.urlencode(pairs).encode()
        return self.call("POST", f"/requests.{fmt}", body,
                         {"Content-Type": "application/x-www-form-urlencoded"})

    def report(self, fmt: str = "json", *, lat_long: tuple[float, float] = IN_HOAN_KIEM,
               **fields: Any) -> Answer:
        """POST a report with this server's key at ``lat_long`` (fields override)."""
        base = {"api_key": self.key, "service_code": "sidewalk",
                "lat": str(lat_long[0]), "long": str(lat_long[1])}
        base.update({k: str(v) for k, v in fields.items()})
        return self.post(fmt, base)


def prepare_store(store_url: str) -> tuple[str, dict[str, Any]]:
    """Accounts (admin, officers of Hoàn Kiếm and Láng, a viewer), the ward layer and an
    API key in the store at ``store_url``."""
    from geo import services
    from geo.services import reports as moderation
    from geo.store import open_store

    store = open_store(store_url)
    try:
        boss = services.create_first_admin(store, "boss", ADMIN_PASSWORD)
        users = {"admin": boss}
        for name, roles, wards in (("officer_hk", ["officer"], [HOAN_KIEM]),
                                   ("officer_lang", ["officer"], [LANG]),
                                   ("viewer", ["viewer"], [])):
            users[name] = services.add_user(store, boss, name, f"pw-{name}-0123456789", roles, wards)
        services.active_wards(store)  # seed the ward layer as a first start does
        key = moderation.add_api_key(store, boss, "test app")
    finally:
        store.close()
    return key, users


@dataclass
class ServerProcess:
    port: int
    env: dict[str, str]
    log: Path

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "geo", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{self.port}/discovery.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return process
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        process.kill()
        raise RuntimeError(f"server did not answer: {self.log.read_text(errors='replace')}")


def serve(store_url: str, tmp: Path, **env_extra: str) -> Iterator[Served]:
    """A server on ``store_url``; stopped (by PID) when the generator is closed."""
    key, users = prepare_store(store_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEO_SERVE_")}
    env.update({"GEO_DATABASE_URL": store_url, "GEO_SEED_SAMPLE": "0", "PYTHONPATH": str(REPO),
                "GEO_SERVE_RATE_PER_ADDRESS": "100000/minute",
                "GEO_SERVE_RATE_PER_KEY": "100000/minute"})
    env.update(env_extra)
    port = free_port()
    process = ServerProcess(port, env, tmp / f"serve-{port}.log").start()
    try:
        yield Served(f"http://127.0.0.1:{port}", store_url, key, process, users)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def postgis_schema_url() -> Iterator[str]:
    """A fresh PostGIS schema's URL (skipped without a server, failed when required)."""
    from sqlalchemy import create_engine

    from geo import settings
    from geo.store._postgis import normalise_url

    base = settings.postgis_test_url()
    if not base:
        reason = "no PostGIS server: set GEO_TEST_POSTGIS_URL"
        if settings.require_postgis():
            pytest.fail(f"{reason}, but GEO_REQUIRE_POSTGIS=1")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema},public"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


