"""The output models: what the tools return as structured content (their outputSchema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from call_logs_mcp.analytics import CampaignSummary


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallRef(_Out):
    """How to name a call in any other tool or resource."""

    provider: str
    call_id: str
    uri: str = Field(description="calls://{provider}/{call_id}: readable as an MCP resource")


class CallRow(CallRef):
    campaign_id: str | None = None
    status: str
    started_at: str | None = None
    duration_seconds: float | None = None
    cost: float | None = None
    currency: str | None = None
    to_number: str | None = Field(default=None, description="masked unless redaction is off")
    summary: str | None = Field(default=None, description="shortened; get_call has the whole summary")


class ProviderTotals(_Out):
    provider: str
    calls: int | None = None
    duration_seconds: float | None = None
    cost: float | None = None
    currency: str | None = None


class ProviderFailure(_Out):
    provider: str
    error: str


class CallList(_Out):
    """A page of calls, newest first."""

    calls: list[CallRow]
    has_more: bool
    next_cursor: str | None = Field(default=None, description="pass as cursor= with the same filters")
    providers: list[str]
    totals: list[ProviderTotals] = Field(
        default_factory=list, description="platform-reported totals for the whole filtered set"
    )
    unsupported_filters: dict[str, list[str]] = Field(
        default_factory=dict, description="provider -> filters that platform could not apply"
    )
    provider_errors: list[ProviderFailure] = Field(
        default_factory=list, description="providers that failed; their calls are missing"
    )
    notes: list[str] = Field(default_factory=list, description="what the platforms say about the request")


class TranscriptTurn(_Out):
    index: int = Field(description="turn number, from 0")
    speaker: str
    offset_seconds: float | None = None
    text: str
    text_offset: int = Field(default=0, description="where this piece starts inside the turn's text")
    partial: bool = Field(default=False, description="the turn's text continues in the next answer")


class CallDetail(CallRef):
    """A full call, with as many transcript turns as fit the output budget."""

    campaign_id: str | None = None
    status: str
    raw_status: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    duration_seconds: float | None = None
    to_number: str | None = None
    from_number: str | None = None
    cost: float | None = None
    currency: str | None = None
    ended_reason: str | None = None
    summary: str | None = None
    extracted_data: dict[str, Any] = Field(default_factory=dict)
    qa: dict[str, Any] = Field(default_factory=dict)
    qa_score: float | None = None
    recording_urls: list[str] | None = Field(
        default=None, description="present only with include_recording=true (bearer links)"
    )
    recording_urls_expire_at: str | None = Field(
        default=None, description="with recording_urls: when those signed links stop working"
    )
    has_recording: bool = False
    recording_note: str | None = Field(
        default=None, description="with include_recording=true, when the platform serves no recording URL"
    )
    transcript: list[TranscriptTurn] = Field(default_factory=list)
    transcript_offset: int = 0
    transcript_total_turns: int = 0
    transcript_truncated: bool = False
    next_transcript_offset: int | None = None
    next_transcript_char_offset: int | None = Field(
        default=None, description="with next_transcript_offset: where to resume inside that turn"
    )
    clipped_fields: list[str] = Field(
        default_factory=list, description="fields shortened to fit the output budget"
    )


class IndexCoverage(_Out):
    """How much of a scope the local index holds."""

    provider: str
    indexed_calls: int = Field(description="calls of this provider (and campaign) in the index")
    platform_calls: int | None = Field(default=None, description="calls the platform reports, if it does")
    syncing: bool = Field(default=False, description="a sync of this scope is running in the background")
    last_synced_at: str | None = None
    sync_error: str | None = Field(default=None, description="why syncing failed just now, if it did")
    skipped_calls: int = Field(
        default=0, description="platform records skipped because their id cannot address them"
    )
    dates_indexed: str | None = Field(
        default=None,
        description="with from_date/to_date: those dates, every call of which is indexed (their sync "
        "completed at last_synced_at), while indexed_calls and platform_calls count the whole "
        "provider or campaign",
    )


class SearchHitOut(CallRef):
    campaign_id: str | None = None
    status: str
    started_at: str | None = None
    matched_in: str = Field(description="turn, summary, extracted (an extracted-data field) or qa (QA notes)")
    field: str | None = Field(default=None, description="the extracted field or QA criterion that matched")
    turn_index: int | None = Field(
        default=None,
        description="a turn hit's index: pass as transcript_offset to get_call to read from there",
    )
    speaker: str | None = None
    offset_seconds: float | None = None
    snippet: str


class WordTierOut(_Out):
    words: int
    of: int
    hits: int


class PhraseCheckOut(_Out):
    """A quoted phrase over many turns: total_hits and calls_matched count the exact words in the
    newest `checked` of the `candidates` turns that hold them in order in any form."""

    candidates: int = Field(description="turns holding the quoted words in order, in any form")
    checked: int = Field(description="the newest of them checked for the exact words")


class ZeroHitsOut(_Out):
    """Why nothing matched: `absent` (some words are not in the searched calls; `suggestions` are
    terms that are), `apart` (every word is, but never together as asked; `word_hits` per word) or
    `filtered` (the filters excluded every match; `without` says what dropping each filter finds)."""

    reason: str
    unfiltered_hits: int = 0
    without: dict[str, int] = Field(default_factory=dict)
    suggestions: dict[str, int] = Field(default_factory=dict, description="term -> hits")
    word_hits: dict[str, int] = Field(default_factory=dict, description="word -> hits on its own")


class SearchAnswer(_Out):
    """Transcript search hits, best first."""

    query: str
    interpreted_as: list[str] = Field(default_factory=list)
    word_tiers: list[WordTierOut] = Field(
        default_factory=list, description="a sentence query's hits by how many of its words they have"
    )
    hits: list[SearchHitOut]
    total_hits: int
    calls_matched: int
    phrase_check: PhraseCheckOut | None = Field(
        default=None,
        description="set when the counts cover only the newest turns checked for a quoted phrase",
    )
    zero_hits: ZeroHitsOut | None = None
    has_more: bool
    next_cursor: str | None = None
    coverage: list[IndexCoverage]
    notes: list[str] = Field(default_factory=list, description="what the platforms say about the request")


class FoundCalls(_Out):
    """Indexed calls matching outcome filters, newest first."""

    filters: list[str] = Field(description="the filters applied, as read")
    total: int = Field(description="every indexed call matching the filters (exact)")
    calls: list[CallRow]
    has_more: bool
    next_cursor: str | None = Field(default=None, description="pass as cursor= with the same filters")
    coverage: list[IndexCoverage]
    notes: list[str] = Field(default_factory=list)


class CampaignReport(_Out):
    """A campaign summary from the local index."""

    summary: CampaignSummary
    shortened: list[str] = Field(default_factory=list, description="parts cut to fit the output budget")
    sync_errors: dict[str, str] = Field(default_factory=dict)
    syncing: dict[str, str] = Field(
        default_factory=dict, description="provider -> progress of a sync still running in the background"
    )
    notes: list[str] = Field(default_factory=list, description="what the request resolved to")


class CampaignRow(_Out):
    provider: str
    campaign_id: str | None = Field(description="None groups calls whose campaign is unknown")
    name: str | None = None
    indexed_calls: int
    platform_calls: int | None = None
    first_call_at: str | None = None
    last_call_at: str | None = None
    last_synced_at: str | None = None
    by_status: dict[str, int] = Field(default_factory=dict, description="indexed calls by status")
    opening_line: str | None = Field(
        default=None, description="the agent's usual first line in the campaign's calls (caller-side data)"
    )


class AgentRow(_Out):
    provider: str
    word: str = Field(description="the platform's own word for it (agent or assistant); never a campaign")
    agent_id: str
    name: str | None = None
    indexed_calls: int
    by_status: dict[str, int] = Field(default_factory=dict, description="indexed calls by status")
    campaigns: dict[str, int] = Field(
        default_factory=dict, description="campaign_id -> the agent's indexed calls in that campaign"
    )
    calls_without_campaign: int = Field(
        default=0, description="the agent's indexed calls in no known campaign"
    )
    first_call_at: str | None = None
    last_call_at: str | None = None


class CampaignList(_Out):
    """Campaigns known to the local index, and beside them the platforms' agents (assistants)
    that made the indexed calls: a second grouping of the same calls, not more campaigns."""

    campaigns: list[CampaignRow]
    omitted: int = Field(default=0, description="campaigns left out to fit the output budget")
    agents: list[AgentRow] = Field(
        default_factory=list,
        description="the platforms' agents or assistants of the indexed calls (not campaigns)",
    )
    agents_omitted: int = Field(default=0, description="agents left out to fit the output budget")
    sync_errors: dict[str, str] = Field(default_factory=dict)
    syncing: dict[str, str] = Field(
        default_factory=dict, description="provider -> progress of a sync still running in the background"
    )
