"""Fixtures of the Open311 tests: real servers (see :mod:`tests._open311`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests._open311 import Served, postgis_schema_url, serve


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def server(request, tmp_path_factory) -> Iterator[Served]:
    """One server per backend for the module."""
    tmp = tmp_path_factory.mktemp("open311")
    if request.param == "sqlite":
        yield from serve(f"sqlite:///{tmp / 'store.sqlite'}", tmp)
        return
    urls = postgis_schema_url()
    url = next(urls)
    try:
        yield from serve(url, tmp)
    finally:
        urls.close()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory) -> Iterator[Served]:
    """One SQLite server for the module (format and safety checks that do not depend on
    the backend)."""
    tmp = tmp_path_factory.mktemp("open311_sqlite")
    yield from serve(f"sqlite:///{tmp / 'store.sqlite'}", tmp)


@pytest.fixture
def open_store_of():
    """Open a server's store in the test process (closed after the test)."""
    from geo.store import open_store

    opened: list[Any] = []

    def opener(served: Served) -> Any:
        store = open_store(served.store_url)
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()
