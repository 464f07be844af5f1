"""The one interface every platform adapter implements, and the descriptor every platform has.

An adapter translates between a platform's wire JSON and `call_logs_mcp.models`, nothing else:
HTTP plumbing (retries, rate limits, status → error) lives in `providers.http`, output shaping
in `shaping`, storage in `index`.

This module stays light (no pydantic, no httpx2 at run time): each platform's `__init__.py`
imports it to build its `PLATFORM` descriptor, and the descriptors are read at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from call_logs_mcp.models import Call, CallPage, CallQuery, Campaign
    from call_logs_mcp.simulators.dataset import IdStyle


@dataclass(frozen=True)
class Capabilities:
    """What a platform's API does that the layers above branch on."""

    # The platform lists campaigns itself (else `list_campaigns` raises UnsupportedError and the
    # index knows campaigns from their calls).
    campaign_listing: bool = False
    # Listed items carry the full call, transcript included: sync stores them without a detail fetch.
    list_includes_details: bool = False
    # Every call record names its campaign, so a whole-account sync files each call under it and
    # covers every campaign scope. False: only a campaign-filtered listing tells a call's campaign.
    records_name_campaign: bool = False


@dataclass(frozen=True)
class ProviderInfo:
    """Static facts about a platform. Env var names derive from `name` (see `providers.config`)."""

    name: str
    display_name: str
    default_base_url: str
    capabilities: Capabilities = field(default_factory=Capabilities)
    # Largest page the platform serves in one request (the adapter splits/merges as needed).
    max_page_size: int = 100
    # What the model must know to ask this platform well (our words, no platform data): said in
    # the server's instructions when the platform is configured.
    notes: str = ""
    # Set when the platform's calls carry no recording URL: what get_call says instead (where
    # the audio is, and how it is reached).
    recording_note: str | None = None
    # The platform's privacy policy (the bundle manifest lists it: the server sends requests
    # there); None when none is known.
    privacy_policy: str | None = None
    # The platform's own word for what `Call.agent` holds (Vapi says "assistant"), used wherever
    # agents are listed so the model never mistakes one for a campaign.
    agent_word: str = "agent"

    @property
    def env_prefix(self) -> str:
        return self.name.upper()

    @property
    def key_env_var(self) -> str:
        return f"{self.env_prefix}_API_KEY"

    @property
    def base_url_env_var(self) -> str:
        return f"{self.env_prefix}_BASE_URL"


@dataclass(frozen=True)
class SimulatorDefaults:
    """How the platform's simulator runs unless told otherwise (tests, `--demo`, `simulate`)."""

    api_key: str  # public on purpose: the simulator only serves generated calls, on loopback
    port: int  # `call-logs-mcp simulate <name>` listens here
    id_style: IdStyle = "numeric"  # the call ids the generated dataset uses
    # The generated calls' ended reasons (customer-ended-call, customer-busy, ...) in the
    # platform's own words, for a platform that documents its own vocabulary: (generated, served)
    # pairs; a reason not listed is served as generated.
    ended_reasons: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Platform:
    """One platform, as its folder's `__init__.py` describes it (`PLATFORM`).

    `adapter` ("module:Class") and `simulator` ("module:create_app") are imported only when used,
    so reading a descriptor costs nothing at start-up.
    """

    info: ProviderInfo
    adapter: str
    simulator: str
    sim: SimulatorDefaults


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
