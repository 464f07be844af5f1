"""`Runtime`: what the tools, resources and prompts share (settings, the service, the shaper).

Ownership: providers built here (from `settings.providers`, optionally over injected
`transports`) and a store opened here (PostgreSQL at `settings.database_url`, else SQLite at
`settings.db_path()`; see `index.choose`) are closed when the last
connection ends, and built again if another connection starts (the in-memory test client and
stdio enter the lifespan once per connection). Providers or a store passed in by the caller
belong to the caller and are never closed here.

Replicas on one PostgreSQL index: each syncs a scope only while it holds the scope's lock (see
`core.freshness`), and tells the others when it indexed calls; each tells its own clients, when
it indexed calls or heard that another replica did (`store.listening`).
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from call_logs_mcp.core.directory import load_directory
from call_logs_mcp.core.service import CallLogService
from call_logs_mcp.output.secrets import SecretMask
from call_logs_mcp.output.shaper import Shaper
from call_logs_mcp.providers import PLATFORMS

if TYPE_CHECKING:
    import httpx2

    from call_logs_mcp.index import IndexStoreProtocol
    from call_logs_mcp.providers.base import CallProvider
    from call_logs_mcp.settings import Settings

logger = logging.getLogger(__name__)

NOTICE_INTERVAL = 2.0
BACKGROUND_DELAY = 0.25


class Runtime:
    """What the tools, resources and prompts share: settings, the service and the shaper."""

    def __init__(
        self,
        settings: Settings,
        *,
        providers: Mapping[str, CallProvider] | None,
        store: IndexStoreProtocol | None,
        transports: Mapping[str, httpx2.AsyncBaseTransport] | None,
    ) -> None:
        self.settings = settings
        self.shaper = Shaper(
            max_chars=settings.max_output_chars,
            redact=settings.redact,
            secrets=SecretMask(settings.secret_values()),
        )
        self._given_providers = dict(providers) if providers is not None else None
        self._given_store = store
        self._transports = dict(transports or {})
        self._service: CallLogService | None = None
        self._owned_providers: list[CallProvider] = []
        self._owned_store: IndexStoreProtocol | None = None
        # A PostgreSQL index is opened (asynchronously) when the first connection starts; the
        # service built later takes it, or why it could not be opened.
        self._opened: tuple[IndexStoreProtocol | None, str | None] | None = None
        self._users = 0
        self._lock = anyio.Lock()
        self._background = False
        self._wake = anyio.Event()
        # Connections that made a request: where `notifications/resources/list_changed` goes (the
        # 2026-07-28 era's listen streams get it through the server's subscription bus).
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._publish: Callable[[], Awaitable[None]] | None = None
        self._last_notice = 0.0

    @property
    def provider_names(self) -> list[str]:
        if self._given_providers is not None:
            return list(self._given_providers)
        return list(self.settings.providers)

    @property
    def service(self) -> CallLogService:
        """The service, built on first use."""
        if self._service is None:
            self._service = self._build_service()
            if self._background:  # a tool needs it before the background's delay is over
                self._service.freshness.background_coming = True
                self._wake.set()
        return self._service

    def _build_service(self) -> CallLogService:
        from call_logs_mcp.providers import create_provider

        if self._given_providers is not None:
            providers: dict[str, CallProvider] = dict(self._given_providers)
        else:
            providers = {}
            for name, config in self.settings.providers.items():
                provider = create_provider(config, transport=self._transports.get(name))
                providers[name] = provider
                self._owned_providers.append(provider)
        store = self._given_store
        store_error: str | None = None
        if store is None:
            opened, self._opened = self._opened, None
            store, store_error = opened if opened is not None else self._open_sqlite()
            self._owned_store = store
        return CallLogService(
            providers,
            store=store,
            freshness_seconds=self.settings.freshness_seconds,
            wait_seconds=self.settings.wait_seconds,
            accounts=self._accounts(providers),
            store_error=store_error,
            concurrency={
                name: config.max_concurrency
                for name, config in self.settings.providers.items()
                if name in providers
            },
            on_indexed=self.notify_resources_changed,
            directory=load_directory(self.settings.campaigns, PLATFORMS),
        )

    def _accounts(self, providers: Mapping[str, CallProvider]) -> dict[str, str]:
        """The index scope: a keyed hash of each configured account (see `providers.config.account_id`)."""
        from call_logs_mcp.providers.config import account_id

        accounts: dict[str, str] = {}
        for name in providers:
            config = self.settings.providers.get(name)
            # Providers injected without a config still get a scope of their own.
            accounts[name] = account_id(config) if config is not None else f"injected-{name}"
        return accounts

    def _open_sqlite(self) -> tuple[IndexStoreProtocol | None, str | None]:
        """The index at `settings.db_path()`; (None, why) when it cannot be opened."""
        if not self.provider_names or self.settings.database_url is not None:
            return None, None
        from call_logs_mcp.errors import CallLogsError
        from call_logs_mcp.index import IndexStore

        try:
            return IndexStore.open(self.settings.db_path()), None
        except CallLogsError as err:
            logger.warning("the local index could not be opened: %s", err)
            return None, f"{err} Set CALL_LOGS_DB to a writable path and restart the server."

    async def _open_postgres(self) -> tuple[IndexStoreProtocol | None, str | None]:
        """The PostgreSQL index at `settings.database_url`; (None, why) when it cannot be opened
        (the why never quotes the URL)."""
        assert self.settings.database_url is not None
        from call_logs_mcp.errors import CallLogsError
        from call_logs_mcp.index.choose import open_store

        try:
            return await open_store(self.settings.db_path(), self.settings.database_url), None
        except CallLogsError as err:
            logger.warning("the PostgreSQL index could not be opened: %s", err)
            return None, f"{err} Check CALL_LOGS_DATABASE_URL and restart the server."

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Runtime]:
        """One connection's use of the runtime: the first one also runs the background syncs
        (every configured account is synced at start, newest calls first)."""
        await self.enter()
        try:
            if self._background or not self.provider_names:
                yield self
                return
            self._background = True
            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._run_background)
                    yield self
                    group.cancel_scope.cancel()
            finally:
                self._background = False
        finally:
            with anyio.CancelScope(shield=True):
                await self.exit()

    async def _run_background(self) -> None:
        """The background syncs, from shortly after start until cancelled. Building the service
        imports the adapters and opens the index: that waits until the client's `initialize`
        has been answered, so start-up stays as fast as without keys."""
        with anyio.move_on_after(BACKGROUND_DELAY):
            await self._wake.wait()
        service = self.service
        store = service.index.store
        if store is None:
            async with service.freshness.running():
                await anyio.sleep_forever()
        else:
            async with store.listening(self._heard_indexed), service.freshness.running():
                await anyio.sleep_forever()

    def remember_session(self, session: Any) -> None:
        """The connection of a request's session: it may hear `notifications/resources/list_changed`.

        The SDK builds a session per request, around the connection-scoped channel that outlives
        it (and exposes it only as `_connection`): that channel is what a later notice needs."""
        connection = getattr(session, "_connection", None)
        if connection is not None and hasattr(connection, "send_resource_list_changed"):
            self._connections.add(connection)

    def on_resources_changed(self, publish: Callable[[], Awaitable[None]]) -> None:
        """How the server publishes a resource-list change to listen streams."""
        self._publish = publish

    async def notify_resources_changed(self) -> None:
        """Tell clients the resource list changed (calls were indexed), and the other replicas on
        this index, at most every 2 s."""
        if not self._notice_due():
            return
        store = self._service.index.store if self._service is not None else None
        if store is not None:
            from call_logs_mcp.errors import StoreError

            try:
                await store.announce_indexed()
            except StoreError:  # the other replicas' clients hear of it with the next notice
                logger.debug("other replicas could not be told of indexed calls", exc_info=True)
        await self._tell_clients()

    async def _heard_indexed(self) -> None:
        """Another replica indexed calls: tell this one's clients (at most every 2 s)."""
        if self._notice_due():
            await self._tell_clients()

    def _notice_due(self) -> bool:
        now = time.monotonic()
        if now - self._last_notice < NOTICE_INTERVAL:
            return False
        self._last_notice = now
        return True

    async def _tell_clients(self) -> None:
        if self._publish is not None:
            await self._publish()
        for connection in list(self._connections):
            try:
                await connection.send_resource_list_changed()
            except Exception:  # a closed connection must not stop a sync
                logger.debug("a connection did not take a resource-list notification", exc_info=True)

    async def check_health(self) -> None:
        """Raises StoreError unless the index answers and its schema is current (`/healthz`)."""
        await self.service.index.require().check_health()

    async def enter(self) -> None:
        async with self._lock:
            self._users += 1
            if (
                self._users == 1
                and self._given_store is None
                and self.settings.database_url is not None
                and self.provider_names
                and self._service is None
                and self._opened is None
            ):
                self._opened = await self._open_postgres()

    async def exit(self) -> None:
        async with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            await self._close_owned()

    async def _close_owned(self) -> None:
        providers, self._owned_providers = self._owned_providers, []
        store, self._owned_store = self._owned_store, None
        self._service = None
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:  # closing must not mask how the session ended
                logger.warning("closing provider %s failed", provider.info.name, exc_info=True)
        opened, self._opened = self._opened, None
        for owned in (store, opened[0] if opened is not None else None):
            if owned is None:
                continue
            try:
                await owned.aclose()
            except Exception:
                logger.warning("closing the index failed", exc_info=True)
