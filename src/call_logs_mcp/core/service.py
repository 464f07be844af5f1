"""CallLogService: the facade the MCP layer calls. It resolves which platforms a request addresses
and delegates: `list_calls` to `core.merge`, `get_call` to `core.locate`, the index-backed
questions to `core.queries` (which sync through `core.freshness` first). Arguments are parsed by
`core.arguments` before they get here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from call_logs_mcp.core import locate, queries
from call_logs_mcp.core.arguments import check_limit, parse_call_ref, required_campaign_id
from call_logs_mcp.core.campaigns import campaign_absent_note
from call_logs_mcp.core.directory import CampaignDirectory, Resolved, resolve_held
from call_logs_mcp.core.freshness import Freshness, Progress
from call_logs_mcp.core.local_index import LocalIndex
from call_logs_mcp.core.merge import MergedPage, merge_calls
from call_logs_mcp.core.missing import RemembersMissing
from call_logs_mcp.core.outcomes import OutcomeFilters
from call_logs_mcp.core.queries import (
    CampaignOutcome,
    CampaignsOutcome,
    FindOutcome,
    RecentPage,
    SearchOutcome,
)
from call_logs_mcp.errors import CallLogsError, ConfigurationError, InvalidArgumentError
from call_logs_mcp.models import Call, CallQuery, Speaker
from call_logs_mcp.providers import PLATFORMS
from call_logs_mcp.providers.base import CallProvider

if TYPE_CHECKING:
    from call_logs_mcp.index import IndexStoreProtocol

logger = logging.getLogger(__name__)

Fitted = TypeVar("Fitted")


def no_provider_message() -> str:
    env_vars = " or ".join(f"{name.upper()}_API_KEY" for name in PLATFORMS)
    return (
        f"No call-log platform is configured. Set {env_vars} in the server's environment "
        "(then restart it), or start the server with --demo to try it on simulated data."
    )


class CallLogService:
    """Everything the tools do, over the configured providers and the local index.

    `providers` maps registry names to adapters; `store` is the local index (or None for a server
    without one: index-backed operations then raise StoreError with `store_error` or a default).
    """

    def __init__(
        self,
        providers: Mapping[str, CallProvider],
        *,
        store: IndexStoreProtocol | None = None,
        freshness_seconds: float = 300.0,
        wait_seconds: float = 3.0,
        accounts: Mapping[str, str] | None = None,
        store_error: str | None = None,
        concurrency: Mapping[str, int] | None = None,
        on_indexed: Callable[[], Awaitable[None]] | None = None,
        directory: CampaignDirectory | None = None,
    ) -> None:
        # Unknown ids are remembered for a minute: repeated reads spend no platform quota.
        self.providers: dict[str, CallProvider] = {
            name: RemembersMissing(provider) for name, provider in providers.items()
        }
        self.directory = directory or CampaignDirectory()
        self.index = LocalIndex(store=store, accounts=dict(accounts or {}), error=store_error)
        self.freshness = Freshness(
            self.index,
            self.providers,
            freshness_seconds=freshness_seconds,
            wait_seconds=wait_seconds,
            concurrency=concurrency,
            on_indexed=on_indexed,
            declared={name: self.directory.declared(name) for name in self.providers},
        )

    @property
    def provider_names(self) -> list[str]:
        return list(self.providers)

    def resolve_providers(self, provider: str | None) -> list[str]:
        """The providers a request addresses. Raises ConfigurationError / InvalidArgumentError."""
        if not self.providers:
            raise ConfigurationError(no_provider_message())
        if provider is None or not provider.strip():
            return list(self.providers)
        name = provider.strip().lower()
        if name in self.providers:
            return [name]
        configured = ", ".join(self.providers)
        if name in PLATFORMS:
            raise InvalidArgumentError(
                f"Provider {name} is not configured (set {name.upper()}_API_KEY to enable it); "
                f"configured providers: {configured}."
            )
        raise InvalidArgumentError(f"Unknown provider; configured providers: {configured}.")

    async def list_calls(
        self,
        query: CallQuery,
        *,
        provider: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> MergedPage:
        """Up to `limit` calls newest first, merged across the addressed providers.

        Raises InvalidArgumentError (bad cursor, limit), ConfigurationError (nothing configured),
        and a provider's own ProviderError when a single provider is addressed or all of them fail.
        """
        check_limit(limit)
        names = self.resolve_providers(provider)
        notes: list[str] = []
        hint: str | None = None
        if query.campaign_id is not None:
            names, query, notes, hint = await self._named_campaign(names, query)
        page = await merge_calls({n: self.providers[n] for n in names}, query, limit=limit, cursor=cursor)
        page.notes.extend(notes)
        if query.campaign_id is not None and cursor is None and not page.rows:
            note = await campaign_absent_note(self.providers, names, query.campaign_id, hint)
            if note is not None:
                page.notes.append(note)
        return page

    async def _named_campaign(
        self, names: list[str], query: CallQuery
    ) -> tuple[list[str], CallQuery, list[str], str | None]:
        """The query's campaign as an id (a name resolved, see `core.directory`), the platforms
        to ask (the one holding a named campaign), the sentence saying what a name meant, and the
        hint for a name nothing answered to."""
        assert query.campaign_id is not None
        found = await self._resolve_campaign(query.campaign_id, names)
        if found.note is None:
            return names, query, [], found.hint
        narrowed = [found.provider] if found.provider in names else names
        return narrowed, query.model_copy(update={"campaign_id": found.campaign_id}), [found.note], None

    async def _resolve_campaign(self, value: str, names: Sequence[str]) -> Resolved:
        """Raises InvalidArgumentError for a name several campaigns answer to."""
        display = {n: self.providers[n].info.display_name for n in names}
        return await resolve_held(value, names, self.directory, display, self.index.holds_campaign)

    async def get_call(self, call_id: str, provider: str | None = None) -> Call:
        """The full call, fetched live and stored in the index.

        Raises InvalidArgumentError (bad id, ambiguous id naming the candidate providers),
        NotFoundError, ConfigurationError, and the provider's ProviderError.
        """
        wanted, clean_id = parse_call_ref(call_id, provider)
        names = self.resolve_providers(wanted)
        return await locate.fetch_call(self.providers, self.index, names, clean_id)

    async def search(
        self,
        query: str,
        *,
        provider: str | None = None,
        filters: CallQuery,
        speaker: Speaker | None = None,
        limit: int = 20,
        cursor: str | None = None,
        progress: Progress | None = None,
        fit: Callable[[SearchOutcome], tuple[int, Fitted]],
    ) -> Fitted:
        """Transcript search over the index, after syncing a stale scope, as `fit` renders it
        (see `core.queries.search`).

        Raises InvalidArgumentError (empty query, bad cursor or limit), StoreError.
        """
        check_limit(limit)
        names = self.resolve_providers(provider)
        notes: list[str] = []
        hint: str | None = None
        if filters.campaign_id is not None:
            names, filters, notes, hint = await self._named_campaign(names, filters)
        return await queries.search(
            self.freshness,
            names,
            query,
            filters=filters,
            speaker=speaker,
            limit=limit,
            cursor=cursor,
            progress=progress,
            fit=fit,
            notes=notes,
            absent_hint=hint,
        )

    async def find_calls(
        self,
        wanted: OutcomeFilters,
        *,
        provider: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
        progress: Progress | None = None,
        fit: Callable[[FindOutcome], tuple[int, Fitted]],
    ) -> Fitted:
        """Indexed calls matching outcome filters and extracted-field conditions, newest first,
        after syncing a stale scope, as `fit` renders them (see `core.queries.find_calls`).

        Raises InvalidArgumentError (bad filters, cursor or limit; a field no call has), StoreError.
        """
        check_limit(limit)
        names = self.resolve_providers(provider)
        notes: list[str] = []
        hint: str | None = None
        if wanted.campaign_id is not None:
            query = CallQuery(campaign_id=wanted.campaign_id)
            names, query, notes, hint = await self._named_campaign(names, query)
            wanted = replace(wanted, campaign_id=query.campaign_id)
        return await queries.find_calls(
            self.freshness,
            names,
            wanted,
            limit=limit,
            cursor=cursor,
            progress=progress,
            fit=fit,
            notes=notes,
            absent_hint=hint,
        )

    async def summarize_campaign(
        self,
        campaign_id: str,
        *,
        provider: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        progress: Progress | None = None,
    ) -> CampaignOutcome:
        """The campaign summary from the index, after syncing the campaign's scope when stale.

        Raises InvalidArgumentError (bad or ambiguous campaign), NotFoundError (no provider has
        calls in it), StoreError.
        """
        campaign = required_campaign_id(campaign_id)
        names = self.resolve_providers(provider)
        found = await self._resolve_campaign(campaign, names)
        if found.provider is not None:
            names = [found.provider]
        outcome = await queries.summarize_campaign(
            self.freshness,
            names,
            found.campaign_id,
            from_date=from_date,
            to_date=to_date,
            progress=progress,
            absent_hint=found.hint,
        )
        summary = outcome.summary
        name = self.directory.name_of(summary.provider, summary.campaign_id)
        if name and not summary.campaign_name:
            outcome.summary = summary.model_copy(update={"campaign_name": name})
        outcome.notes.extend([found.note] if found.note else [])
        return outcome

    async def list_campaigns(
        self, *, provider: str | None = None, progress: Progress | None = None
    ) -> CampaignsOutcome:
        """Campaigns per provider from the index (synced first when stale). Raises StoreError."""
        names = self.resolve_providers(provider)
        return await queries.list_campaigns(
            self.freshness, names, progress=progress, directory=self.directory
        )

    async def call_for_resource(self, provider: str, call_id: str) -> Call:
        """A call for a resource read: the indexed copy when final, else fetched live.

        Raises InvalidArgumentError (unknown provider, bad id), NotFoundError, ProviderError.
        """
        names = self.resolve_providers(provider)
        if len(names) != 1 or names[0] != provider:
            raise InvalidArgumentError("Unknown provider.")
        return await locate.indexed_or_fetched(self.providers, self.index, provider, call_id)

    async def recent_calls(self, *, limit: int, cursor: str | None) -> RecentPage:
        """Indexed calls of the configured accounts, newest first; before anything is indexed,
        the newest calls live from the platforms (one merged page), so a client's resource
        picker is never empty at first contact. Raises InvalidArgumentError."""
        page = await queries.recent_calls(self.index, self.provider_names, limit=limit, cursor=cursor)
        if page.calls or cursor is not None or not self.providers:
            return page
        try:
            live = await merge_calls(self.providers, CallQuery(), limit=min(limit, 100), cursor=None)
        except CallLogsError as err:
            logger.warning("resources/list: the platforms could not list calls: %s", err)
            return page
        return RecentPage(calls=list(live.rows), next_cursor=None)

    async def complete_call_ids(
        self, provider: str | None, prefix: str, *, limit: int
    ) -> tuple[list[str], bool]:
        """Indexed call ids starting with `prefix` (the most recent calls first)."""
        names = [n for n in self.provider_names if not provider or n == provider]
        return await queries.complete_call_ids(self.index, names, prefix, limit=limit)

    async def complete_campaign_ids(self, prefix: str, *, limit: int) -> tuple[list[str], bool]:
        """Indexed campaign ids starting with `prefix`."""
        return await queries.complete_campaign_ids(self.index, self.provider_names, prefix, limit=limit)
