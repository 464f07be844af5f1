"""The scope flags `sync` and `export` share: `--provider`, `--campaign` (an id, or a name from the
campaigns file), `--since` / `--until` (and `export`'s `--status`), turned into what the index and
the sync engine take."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from call_logs_mcp.cli.config import no_provider_hint

if TYPE_CHECKING:
    from call_logs_mcp.index import IndexStoreProtocol, SyncScope
    from call_logs_mcp.settings import Settings


@dataclass(frozen=True)
class Scope:
    """`names`: the configured platforms addressed; `note`: what a campaign name resolved to."""

    names: list[str]
    campaign_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    note: str | None = None
    named: bool = False  # the campaign was given by a name the campaigns file holds

    def sync_scope(self) -> SyncScope:
        from call_logs_mcp.index import SyncScope

        provider = self.names[0] if len(self.names) == 1 else None
        return SyncScope(provider=provider, campaign_id=self.campaign_id, since=self.since, until=self.until)


def addressed(settings: Settings, provider: str | None) -> list[str]:
    """The configured platforms a command addresses. Raises ConfigurationError when none is
    configured or `provider` is not."""
    from call_logs_mcp.errors import ConfigurationError

    if not settings.providers:
        raise ConfigurationError(f"No platform configured: {no_provider_hint()}")
    if provider is None:
        return sorted(settings.providers)
    if provider not in settings.providers:
        known = ", ".join(sorted(settings.providers))
        raise ConfigurationError(f"Provider {provider!r} is not configured (configured: {known}).")
    return [provider]


def parse_dates(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """`--since` from the start of its day, `--until` to the end of its day (UTC; ISO 8601 times
    too). Raises InvalidArgumentError for another format or a range that ends before it starts."""
    from call_logs_mcp.core.arguments import parse_date
    from call_logs_mcp.errors import InvalidArgumentError

    start = parse_date(since, field_name="--since")
    end = parse_date(until, field_name="--until", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise InvalidArgumentError("--since is after --until; swap them or widen the range.")
    return start, end


async def resolve_scope(
    settings: Settings,
    store: IndexStoreProtocol,
    names: list[str],
    *,
    campaign: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Scope:
    """The scope with `campaign` as an id: an id the index holds calls of stays that id, else a
    name of the campaigns file (`CALL_LOGS_CAMPAIGNS`) becomes its id and narrows `names` to the
    platform holding it, as the tools resolve names (`core.directory.resolve_held`).

    Raises InvalidArgumentError for a malformed id or a name several campaigns answer to."""
    if campaign is None:
        return Scope(names, since=since, until=until)
    from call_logs_mcp.core.arguments import parse_campaign_id
    from call_logs_mcp.core.directory import load_directory, resolve_held
    from call_logs_mcp.core.local_index import LocalIndex
    from call_logs_mcp.providers import PLATFORMS, platform
    from call_logs_mcp.providers.config import accounts_for

    value = campaign.strip()
    directory = load_directory(settings.campaigns, PLATFORMS)
    display = {name: platform(name).info.display_name for name in names}
    index = LocalIndex(store=store, accounts=accounts_for(settings.providers))
    found = await resolve_held(value, names, directory, display, index.holds_campaign)
    if found.note is None:
        return Scope(names, parse_campaign_id(value), since, until)
    narrowed = [found.provider] if found.provider in names else names
    return Scope(narrowed, found.campaign_id, since, until, note=found.note, named=True)
