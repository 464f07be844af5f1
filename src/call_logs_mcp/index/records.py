"""What the index stores and answers, and the conversions between its rows and models.

Times are stored as fixed-width UTC text (`ts`), so they sort and compare as strings; calls are
stored as the platform returned them (a JSON body beside the filterable columns, and the
transcript as FTS rows).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from call_logs_mcp.errors import StoreError
from call_logs_mcp.index.rowids import MAX_TURNS, is_turn_sql, turn_range
from call_logs_mcp.models import Call, CallStatus, CallSummary, PlatformTotals, Turn

# --- values ---------------------------------------------------------------------------------


def ts(value: datetime | None) -> str:
    """Fixed-width, sortable UTC text ('' for unknown)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str | None) -> datetime | None:
    """The time `ts` wrote (None for '' or NULL)."""
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


_SURROGATES = re.compile("[\ud800-\udfff]")


def sql_text(value: str | None) -> str | None:
    """`value` as SQLite can store it: unpaired surrogates (possible in JSON from a platform)
    become U+FFFD instead of failing the whole batch."""
    if value is None or value.isascii():
        return value
    return _SURROGATES.sub("\ufffd", value)


def sql_str(value: str | None) -> str:
    """`sql_text`, with '' for None."""
    return sql_text(value) or ""


def float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


# --- records and results --------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """A call to store. `has_details`: it came from a detail request (or a listing that
    carries details), so transcript/extracted data are what the platform has. `list_hash`:
    the fingerprint of how the call last appeared in a listing (the sync engine's change test)."""

    call: Call
    has_details: bool = True
    list_hash: str | None = None


@dataclass(frozen=True)
class StoredState:
    """What the sync engine needs to know about a stored call."""

    list_hash: str | None
    status: CallStatus
    has_details: bool
    started_at: datetime | None
    campaign_id: str | None = None


class FrozenModel(BaseModel):
    """The base of the index's results: immutable, and no field the model does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class UpsertCounts(FrozenModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0


class PendingDetail(FrozenModel):
    """A call an unfinished walk listed and still owes the details of: its list fingerprint, and
    how it was listed when it is not stored yet (None: stored as listed)."""

    fingerprint: str
    listed: CallSummary | None = None


class WalkResume(FrozenModel):
    """Where an unfinished walk of a sync scope stands, so that the next sync continues it: every
    call listed before `cursor` is stored or in `pending`."""

    began: datetime  # when the walk listed its first page: the time its completion covers
    cursor: str | None = None  # the platform's opaque cursor for the next page (None: the top)
    listed_all: bool = False  # nothing left to list, only `pending` details to fetch
    newest: datetime | None = None  # newest start time the walk has listed
    done: int = 0  # calls of the walk stored or found unchanged (progress resumes from here)
    pending: dict[str, PendingDetail] = Field(default_factory=dict)  # by call id


class SyncState(FrozenModel):
    """Per (account, provider, scope) bookkeeping of the sync engine."""

    scope: str
    campaign_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    watermark: datetime | None = None
    last_synced_at: datetime | None = None
    last_attempt_at: datetime | None = None
    platform: PlatformTotals | None = None
    status_totals: dict[str, int] | None = None
    # A whole-account sync covers a campaign scope only when the listed records named their
    # campaign (Prosper's guide shape does; CallCamp and Prosper's OpenAPI shape do not).
    names_campaigns: bool = False
    # Set while a walk of this scope is unfinished (interrupted, or failed part-way).
    resume: WalkResume | None = None


class CampaignListing(FrozenModel):
    provider: str
    campaign_id: str | None = Field(description="None groups calls whose campaign is not known")
    name: str | None = None
    indexed_calls: int
    platform_calls: int | None = None
    first_call_at: datetime | None = None
    last_call_at: datetime | None = None
    last_synced_at: datetime | None = None
    by_status: dict[str, int] = Field(default_factory=dict)
    opening_line: str | None = Field(
        default=None, description="the agent's most common first line in the campaign's newest calls"
    )


class AgentListing(FrozenModel):
    """A platform agent (assistant) of the indexed calls: the second grouping beside campaigns."""

    provider: str
    agent_id: str
    name: str | None = None
    word: str = Field(default="agent", description="the platform's own word for it: agent or assistant")
    indexed_calls: int
    by_status: dict[str, int] = Field(default_factory=dict)
    campaigns: dict[str, int] = Field(
        default_factory=dict, description="campaign id -> the agent's indexed calls in it, most first"
    )
    calls_without_campaign: int = 0
    first_call_at: datetime | None = None
    last_call_at: datetime | None = None


class RecentCalls(FrozenModel):
    calls: list[CallSummary]
    next_cursor: str | None = None


class IndexStats(FrozenModel):
    calls: dict[str, int]
    turns: int
    file_bytes: int


def scope_key(campaign_id: str | None, since: datetime | None, until: datetime | None) -> str:
    """The canonical key of a sync scope within one provider account."""
    return json.dumps({"c": campaign_id, "f": ts(since) or None, "t": ts(until) or None}, sort_keys=True)


# --- row → model ------------------------------------------------------------------------------

STATE_COLUMNS = (
    "s.campaign_id, s.since, s.until, s.watermark, s.last_synced_at, s.last_attempt_at, s.platform_calls, "
    "s.platform_duration, s.platform_cost, s.platform_currency, s.status_totals, s.names_campaigns, s.resume"
)


def sync_state(scope: str, row: Sequence[Any]) -> SyncState:
    """The `SyncState` of a row of STATE_COLUMNS."""
    (
        campaign,
        since,
        until,
        watermark,
        synced,
        attempt,
        calls,
        duration,
        cost,
        currency,
        statuses,
        named,
        resume,
    ) = row
    platform = None
    if any(v is not None for v in (calls, duration, cost)):
        platform = PlatformTotals(calls=calls, duration_seconds=duration, cost=cost, currency=currency)
    return SyncState(
        scope=scope,
        campaign_id=campaign,
        since=parse_ts(since),
        until=parse_ts(until),
        watermark=parse_ts(watermark),
        last_synced_at=parse_ts(synced),
        last_attempt_at=parse_ts(attempt),
        platform=platform,
        status_totals=json.loads(statuses) if statuses else None,
        names_campaigns=bool(named),
        resume=_walk_resume(resume),
    )


def _walk_resume(text: str | None) -> WalkResume | None:
    """The stored resume point; one that no longer reads (an older format) means starting over."""
    if not text:
        return None
    try:
        return WalkResume.model_validate_json(text)
    except ValidationError:
        return None


def load_call(conn: sqlite3.Connection, rowid: int, body: str) -> Call:
    """The stored call with id `rowid` (its JSON `body` plus its turns).

    Raises StoreError when the stored body no longer validates."""
    turns = [
        Turn(speaker=speaker, text=text, offset_seconds=float_or_none(offset))
        for text, speaker, offset in conn.execute(
            "SELECT text, speaker, offset FROM turns WHERE rowid BETWEEN ? AND ? "
            f"AND {is_turn_sql('rowid')} ORDER BY rowid & {MAX_TURNS}",
            turn_range(rowid),
        )
    ]
    try:
        return Call.model_validate({**json.loads(body), "transcript": turns})
    except (ValidationError, ValueError):
        raise StoreError("A call in the local index could not be read; run a sync to refresh it.") from None


def summary_from_body(body: str) -> CallSummary:
    """The listing fields of a stored call body. Raises StoreError when they no longer validate."""
    data = json.loads(body)
    try:
        return CallSummary.model_validate({k: data[k] for k in CallSummary.model_fields if k in data})
    except ValidationError:
        raise StoreError("A call in the local index could not be read; run a sync to refresh it.") from None
