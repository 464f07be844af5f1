"""Both index stores, for the suites that hold them to the same answers.

A suite parametrises a fixture over `STORES` and opens its stores with `opened_stores`: each
`await opener()` is an index of that kind (SQLite: a new file; PostgreSQL: the test's own
database from `conftest.postgres_url`, so stores a test opens there share their rows: give each
one accounts of its own when that matters). All are closed when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from call_logs_mcp.index import IndexStore
from call_logs_mcp.index.fts import RANK_WINDOW
from call_logs_mcp.index.postgres import PostgresStore

STORES = ["sqlite", "postgres"]


class Opener:
    def __init__(self, kind: str, folder: Path, postgres_url: str | None) -> None:
        self.kind = kind
        self.folder = folder
        self.postgres_url = postgres_url
        self.opened: list[Any] = []

    async def __call__(self, *, rank_window: int = RANK_WINDOW) -> Any:
        store: Any
        if self.postgres_url is None:
            store = IndexStore.open(self.folder / f"calls-{len(self.opened)}.db", rank_window=rank_window)
        else:
            store = await PostgresStore.open(self.postgres_url, rank_window=rank_window)
        self.opened.append(store)
        return store

    async def close(self) -> None:
        for store in self.opened:
            if isinstance(store, PostgresStore):
                await store.close()
            else:
                store.close()
        self.opened.clear()


@asynccontextmanager
async def opened_stores(request: pytest.FixtureRequest, folder: Path) -> AsyncIterator[Opener]:
    """The opener of the store kind `request.param` names."""
    kind: str = request.param
    url = request.getfixturevalue("postgres_url") if kind == "postgres" else None
    opener = Opener(kind, folder, url)
    try:
        yield opener
    finally:
        await opener.close()
