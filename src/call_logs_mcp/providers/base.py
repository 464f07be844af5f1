"""The one interface every platform adapter implements.

An adapter translates between a platform's wire JSON and `call_logs_mcp.models`, nothing else:
HTTP plumbing (retries, rate limits, status → error) lives in `providers._http`, output shaping
in `shaping`, storage in `index`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from call_logs_mcp.models import Call, CallPage, CallQuery, Campaign, Capabilities


@dataclass(frozen=True)
class ProviderInfo:
    """Static facts about a platform. Env var names derive from `name` (see settings)."""

    name: str
    display_name: str
    default_base_url: str
    capabilities: Capabilities
    # Largest page the platform serves in one request (the adapter splits/merges as needed).
    max_page_size: int = 100

    @property
    def env_prefix(self) -> str:
        return self.name.upper()

    @property
    def key_env_var(self) -> str:
        return f"{self.env_prefix}_API_KEY"

    @property
    def base_url_env_var(self) -> str:
        return f"{self.env_prefix}_BASE_URL"


@runtime_checkable
class CallProvider(Protocol):
    """A platform's call logs.

    `list_calls` returns one page, newest first, and an opaque `next_cursor` (None at the end).
    Every filter in the query is applied server-side, or client-side across pages, or named in
    `CallPage.unsupported_filters`; never silently dropped. Following cursors from the first page
    yields every matching call exactly once.

    Raises `ProviderError` subclasses (`AuthError`, `RateLimitedError`, `UnavailableError`,
    `MalformedResponseError`), `NotFoundError` from `get_call`, `UnsupportedError` from
    `list_campaigns` when the platform has no campaign listing, and `InvalidArgumentError` for a
    cursor it did not issue or an id that cannot be a single path segment.
    """

    info: ProviderInfo

    async def list_calls(
        self, query: CallQuery, *, limit: int = 50, cursor: str | None = None
    ) -> CallPage: ...

    async def get_call(self, call_id: str) -> Call: ...

    async def list_campaigns(self) -> list[Campaign]: ...

    async def aclose(self) -> None: ...
