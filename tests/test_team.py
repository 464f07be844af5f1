"""A team's server (issue 18): `CALL_LOGS_DATABASE_URL` selects the PostgreSQL index, `GET /healthz`
answers load balancers, and replicas on one database take turns syncing a scope and hear of each
other's indexed calls. The three-process test is tests/test_replicas.py."""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psycopg
import pytest
from pydantic import SecretStr

import cli_env
from call_logs_mcp.__main__ import main
from call_logs_mcp.errors import ConfigurationError, StoreError
from call_logs_mcp.index import IndexStore
from call_logs_mcp.index.choose import open_store
from call_logs_mcp.index.postgres import PostgresStore
from call_logs_mcp.index.postgres.replicas import LOCK_POLL_SECONDS
from call_logs_mcp.providers.simulated import (
    simulated_app,
    simulated_dataset,
    simulated_provider_config,
    simulated_transport,
)
from call_logs_mcp.server.app import build_server
from call_logs_mcp.settings import Settings
from cli_env import configure, transports_for
from conftest import PLATFORM_NAMES, database_url
from test_http_transport import JSON_RPC_HEADERS
from test_trust_http import INITIALIZE, serving

TOKEN = "t" * 40
PASSWORD = "Sw0rdfish-never-shown"
UNREACHABLE = f"postgresql://team:{PASSWORD}@127.0.0.1:1/calls"


def team_settings(tmp_path: Path, **values: object) -> Settings:
    given: dict[str, object] = {"db": tmp_path / "calls.db", "http_token": SecretStr(TOKEN), **values}
    return Settings(
        providers={PLATFORM_NAMES[0]: simulated_provider_config(PLATFORM_NAMES[0])},
        **given,  # type: ignore[arg-type]
    )


def team_server(settings: Settings) -> object:
    name = PLATFORM_NAMES[0]
    app = simulated_app(name, simulated_dataset(name, calls=12))
    return build_server(settings, transports={name: simulated_transport(name, app)})


def with_password(conninfo: str) -> str:
    """The test database's URL as a team would write it, with a password (ignored by the test
    server)."""
    return database_url(conninfo, password=PASSWORD)


# --- GET /healthz ------------------------------------------------------------------------------


async def test_the_health_check_needs_no_token_and_says_only_ok_while_every_other_path_needs_the_token(
    tmp_path: Path,
) -> None:
    settings = team_settings(tmp_path)
    async with serving(settings, team_server(settings)) as url, httpx2.AsyncClient(timeout=10) as http:
        base = url.removesuffix("/mcp")
        health = await http.get(f"{base}/healthz")
        head = await http.head(f"{base}/healthz")
        refused = [
            (await http.post(url, json=INITIALIZE, headers=JSON_RPC_HEADERS)).status_code,
            (await http.get(url)).status_code,
            (await http.get(f"{base}/healthz/")).status_code,
            (await http.get(f"{base}/healthz?x=1", headers={"Host": "evil.example"})).status_code,
            (await http.post(f"{base}/healthz")).status_code,
            (await http.get(f"{base}/other")).status_code,
        ]
        served = await http.post(
            url, json=INITIALIZE, headers={**JSON_RPC_HEADERS, "Authorization": f"Bearer {TOKEN}"}
        )
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert health.headers["cache-control"] == "no-store"
    assert head.status_code == 200
    # The query string does not change the path; the Host check is the one thing skipped.
    assert refused == [401, 401, 401, 200, 401, 401]
    assert served.status_code == 200


async def test_the_health_check_is_503_without_saying_why_when_the_index_cannot_be_opened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings = team_settings(tmp_path, db=blocker / "calls.db")
    with caplog.at_level(logging.WARNING):
        async with serving(settings, team_server(settings)) as url, httpx2.AsyncClient(timeout=10) as http:
            answers = [await http.get(url.replace("/mcp", "/healthz")) for _ in range(3)]
    assert [(a.status_code, a.json()) for a in answers] == [(503, {"status": "unavailable"})] * 3
    assert all(str(tmp_path) not in a.text for a in answers)
    assert sum("Health check failing" in r.getMessage() for r in caplog.records) == 1


async def test_the_health_check_on_postgresql_is_ok_then_503_once_the_schema_is_not_this_programs(
    tmp_path: Path, postgres_url: str
) -> None:
    settings = team_settings(tmp_path, database_url=SecretStr(with_password(postgres_url)))
    async with serving(settings, team_server(settings)) as url, httpx2.AsyncClient(timeout=10) as http:
        health = url.replace("/mcp", "/healthz")
        before = await http.get(health)
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            await conn.execute("UPDATE schema_version SET version = version + 1")
        after = await http.get(health)
    assert (before.status_code, after.status_code) == (200, 503)
    assert after.json() == {"status": "unavailable"}


async def test_an_unreachable_postgresql_gives_503_and_its_password_is_never_logged_or_answered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = team_settings(tmp_path, database_url=SecretStr(UNREACHABLE))
    with caplog.at_level(logging.DEBUG):
        async with serving(settings, team_server(settings)) as url, httpx2.AsyncClient(timeout=10) as http:
            health = await http.get(url.replace("/mcp", "/healthz"))
            tool = await http.post(
                url,
                json={
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {"name": "list_campaigns"},
                },
                headers={
                    **JSON_RPC_HEADERS,
                    "Authorization": f"Bearer {TOKEN}",
                    "mcp-protocol-version": "2025-06-18",
                },
            )
    assert health.status_code == 503
    assert PASSWORD not in health.text + tool.text
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    assert "Check CALL_LOGS_DATABASE_URL" in tool.text


# --- which index ---------------------------------------------------------------------------------


async def test_without_a_database_url_the_index_is_the_sqlite_file_and_with_one_it_is_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    sqlite = await open_store(tmp_path / "calls.db", None)
    postgres = await open_store(tmp_path / "unused.db", SecretStr(with_password(postgres_url)))
    try:
        assert isinstance(sqlite, IndexStore) and isinstance(postgres, PostgresStore)
        assert sqlite.describe() == f"SQLite file {tmp_path / 'calls.db'}"
        assert postgres.describe().startswith("PostgreSQL database call_logs_test_")
        assert PASSWORD not in postgres.describe()
        await sqlite.check_health()
        await postgres.check_health()
    finally:
        await sqlite.aclose()
        await postgres.aclose()
    assert not (tmp_path / "unused.db").exists()


@pytest.mark.parametrize(
    "url", [f"mysql://team:{PASSWORD}@db/calls", f"sqlite:///{PASSWORD}", PASSWORD, f" https://{PASSWORD}@db"]
)
async def test_a_database_url_that_is_not_postgresqls_is_refused_without_quoting_it(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(ConfigurationError, match="must be a PostgreSQL URL") as caught:
        await open_store(tmp_path / "calls.db", SecretStr(url))
    assert PASSWORD not in str(caught.value)


async def test_a_missing_postgres_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg_pool", None)  # as on a machine without the extra
    with pytest.raises(ConfigurationError, match=r"pip install 'call-logs-mcp\[postgres\]'") as caught:
        await open_store(tmp_path / "calls.db", SecretStr(UNREACHABLE))
    assert PASSWORD not in str(caught.value)


def test_the_settings_mask_the_database_url_and_its_password_everywhere() -> None:
    settings = Settings(database_url=SecretStr(UNREACHABLE))
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings.model_dump())
    assert {UNREACHABLE, PASSWORD} <= set(settings.secret_values())


def test_the_cli_syncs_exports_and_purges_a_postgresql_index_naming_it_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, postgres_url: str
) -> None:
    cli_env.clean_environment(monkeypatch, tmp_path)
    configure(monkeypatch)
    monkeypatch.setenv("CALL_LOGS_DATABASE_URL", with_password(postgres_url))
    datasets = cli_env.sim_datasets()
    total = sum(len(ds) for ds in datasets.values())
    assert main(["sync"], transports=transports_for(datasets)) == 0
    synced = capsys.readouterr().out
    assert main(["purge"]) == 0
    purged = capsys.readouterr().out
    assert f"{total} added" in synced
    assert "Index: PostgreSQL database call_logs_test_" in synced
    assert f"Purged {total} calls from PostgreSQL database call_logs_test_" in purged
    assert PASSWORD not in synced + purged
    assert not (tmp_path / "index").exists()  # the SQLite file was never created


def test_check_probes_the_postgresql_index_and_fails_naming_it_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, postgres_url: str
) -> None:
    cli_env.clean_environment(monkeypatch, tmp_path)
    configure(monkeypatch)
    datasets = cli_env.sim_datasets()
    monkeypatch.setenv("CALL_LOGS_DATABASE_URL", with_password(postgres_url))
    assert main(["check"], transports=transports_for(datasets)) == 0
    reachable = capsys.readouterr().out
    monkeypatch.setenv("CALL_LOGS_DATABASE_URL", UNREACHABLE)
    assert main(["check"], transports=transports_for(datasets)) == 1
    unreachable = capsys.readouterr().out
    assert re.search(
        r"^ok +index +PostgreSQL database call_logs_test_\w+ on .*: reachable, schema current",
        reachable,
        re.M,
    )
    assert re.search(
        r"^FAIL +index +PostgreSQL database calls on 127\.0\.0\.1:1: .*could not be reached",
        unreachable,
        re.M,
    )
    assert PASSWORD not in reachable + unreachable


def test_the_cli_refuses_a_bad_database_url_with_exit_2_and_without_quoting_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cli_env.clean_environment(monkeypatch, tmp_path)
    configure(monkeypatch)
    monkeypatch.setenv("CALL_LOGS_DATABASE_URL", f"mysql://team:{PASSWORD}@db/calls")
    assert main(["purge"]) == 2
    err = capsys.readouterr().err
    assert "CALL_LOGS_DATABASE_URL must be a PostgreSQL URL" in err
    assert PASSWORD not in err


# --- replicas, in one process: two stores on one database ---------------------------------------


async def test_a_scope_locked_by_one_replica_waits_in_another_and_is_taken_over_when_its_holder_dies(
    postgres_url: str,
) -> None:
    first = await PostgresStore.open(postgres_url)
    second = await PostgresStore.open(postgres_url)
    got: list[str] = []

    async def take(store: PostgresStore, who: str, scope: str, held: anyio.Event) -> None:
        async with store.sync_lock("acct", "prosper", scope):
            got.append(who)
            held.set()
            await anyio.sleep_forever()

    try:
        async with anyio.create_task_group() as group:
            first_holds, second_holds, other_scope = anyio.Event(), anyio.Event(), anyio.Event()
            group.start_soon(take, first, "first", "whole", first_holds)
            await first_holds.wait()
            group.start_soon(take, second, "second", "whole", second_holds)
            group.start_soon(take, second, "second, another scope", "campaign", other_scope)
            with anyio.fail_after(10):
                await other_scope.wait()  # scopes are locked apart
            with anyio.move_on_after(3 * LOCK_POLL_SECONDS):  # three polls of the held scope
                await second_holds.wait()
            assert got == ["first", "second, another scope"]
            # The holder dies: the server ends its session, and its locks with it.
            async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as admin:
                await admin.execute(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' "
                    "AND l.granted AND l.pid <> ALL(%s)",
                    ([await _lock_backend(second)],),
                )
            with anyio.fail_after(10):
                await second_holds.wait()
            group.cancel_scope.cancel()
    finally:
        await first.aclose()
        await second.aclose()
    assert got == ["first", "second, another scope", "second"]


async def _lock_backend(store: PostgresStore) -> int:
    """The server process of the store's lock connection."""
    conn = store.replicas._locks
    assert conn is not None
    return int(conn.info.backend_pid)


async def test_a_replica_hears_the_others_indexed_calls_but_not_its_own(postgres_url: str) -> None:
    stores = [await PostgresStore.open(postgres_url) for _ in range(3)]
    heard = [0, 0, 0]
    everyone = anyio.Event()

    def listener(i: int):  # type: ignore[no-untyped-def]
        async def on_indexed() -> None:
            heard[i] += 1
            if heard[1] and heard[2]:
                everyone.set()

        return on_indexed

    try:
        async with (
            stores[0].listening(listener(0)),
            stores[1].listening(listener(1)),
            stores[2].listening(listener(2)),
        ):
            with anyio.fail_after(10):
                while not everyone.is_set():  # the listeners connect in the background
                    await stores[0].announce_indexed()
                    with anyio.move_on_after(0.2):
                        await everyone.wait()
    finally:
        for store in stores:
            await store.aclose()
    assert heard[0] == 0 and heard[1] >= 1 and heard[2] >= 1


async def test_the_sqlite_index_has_nobody_to_coordinate_with(tmp_path: Path) -> None:
    store = IndexStore.open(tmp_path / "calls.db")
    heard: list[int] = []

    async def on_indexed() -> None:
        heard.append(1)

    try:
        async with (
            store.sync_lock("a", "p", "s"),
            store.sync_lock("a", "p", "s"),
            store.listening(on_indexed),
        ):
            await store.announce_indexed()
    finally:
        await store.aclose()
    assert heard == []


async def test_the_store_errors_of_an_unreachable_lock_never_quote_the_url() -> None:
    from call_logs_mcp.index.postgres.replicas import Replicas

    replicas = Replicas(UNREACHABLE)
    with pytest.raises(StoreError) as caught:
        async with replicas.sync_lock("a", "p", "s"):
            pass
    assert PASSWORD not in str(caught.value) and "127.0.0.1" not in str(caught.value)
    assert json.dumps(str(caught.value))


async def test_a_replica_tells_its_own_clients_when_another_replica_indexed_calls(
    tmp_path: Path, postgres_url: str
) -> None:
    from mcp import Client
    from mcp.types import ResourceListChangedNotification

    from test_replicas import indexed

    name = PLATFORM_NAMES[0]
    dataset = simulated_dataset(name, calls=12)

    def replica() -> Any:
        settings = Settings(
            providers={name: simulated_provider_config(name)},
            db=tmp_path / "unused.db",
            database_url=SecretStr(database_url(postgres_url)),
            freshness_seconds=3600,
        )
        return build_server(
            settings, transports={name: simulated_transport(name, simulated_app(name, dataset))}
        )

    # The first replica syncs the account as it starts; the second then finds it fresh, so it
    # indexes nothing itself and has nothing of its own to tell.
    async with Client(replica(), raise_exceptions=True, mode="legacy"):
        with anyio.fail_after(30):
            while (await indexed(postgres_url))[1] is None:  # noqa: ASYNC110 (polled: the database)
                await anyio.sleep(0.05)
    heard = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ResourceListChangedNotification):
            heard.set()

    other = await PostgresStore.open(postgres_url)  # a third replica, which just indexed calls
    try:
        async with Client(
            replica(), raise_exceptions=True, message_handler=on_message, mode="legacy"
        ) as client:
            await client.call_tool("list_calls", {"limit": 1})
            with anyio.fail_after(15):
                while not heard.is_set():  # its listener connects in the background
                    await other.announce_indexed()
                    with anyio.move_on_after(0.2):
                        await heard.wait()
    finally:
        await other.aclose()
