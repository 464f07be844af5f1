"""Reads: stored calls, listings and the sync engine's bookkeeping, each inside one transaction,
limited to the caller's `AccountScope`; the same answers as the SQLite index's `reads`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from call_logs_mcp.cursors import encode_cursor
from call_logs_mcp.errors import StoreError
from call_logs_mcp.index.accounts import AccountScope, Source
from call_logs_mcp.index.postgres.db import Connection
from call_logs_mcp.index.postgres.writes import pg_str, pg_text
from call_logs_mcp.index.reads import RecentQuery, agent_listings, source_listings
from call_logs_mcp.index.records import (
    STATE_COLUMNS,
    AgentListing,
    CampaignListing,
    IndexStats,
    RecentCalls,
    StoredState,
    SyncState,
    float_or_none,
    parse_ts,
    scope_key,
    summary_from_body,
    sync_state,
    ts,
)
from call_logs_mcp.models import Call, CallStatus, Turn


async def _rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return await (await conn.execute(sql.encode(), params)).fetchall()


async def _row(conn: Connection, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    return await (await conn.execute(sql.encode(), params)).fetchone()


async def find_source(conn: Connection, account: str, provider: str) -> int | None:
    row = await _row(conn, "SELECT id FROM sources WHERE account = %s AND provider = %s", (account, provider))
    return None if row is None else int(row[0])


async def scope_sources(conn: Connection, scope: AccountScope, provider: str | None = None) -> list[Source]:
    """The stored sources `scope` may see (of `provider` only, when given), by provider name:
    one statement, whatever the number of providers."""
    pairs = [
        (name, account) for name, account in sorted(scope.items()) if provider is None or name == provider
    ]
    if not pairs:
        return []
    found = {
        str(name): int(source)
        for name, source in await _rows(
            conn,
            "SELECT s.provider, s.id FROM sources s "
            "JOIN unnest(%s::text[], %s::text[]) AS w(provider, account) "
            "ON s.provider = w.provider AND s.account = w.account",
            ([name for name, _ in pairs], [account for _, account in pairs]),
        )
    }
    return [Source(found[name], name) for name, _ in pairs if name in found]


# --- the sync engine's view -----------------------------------------------------------------


async def stored_states(
    conn: Connection, account: str, provider: str, call_ids: Sequence[str]
) -> dict[str, StoredState]:
    source = await find_source(conn, account, provider)
    if source is None:
        return {}
    ids = list(dict.fromkeys(pg_str(call_id) for call_id in call_ids))
    return {
        call_id: StoredState(list_hash, CallStatus(status), bool(details), parse_ts(started), campaign)
        for call_id, list_hash, status, details, started, campaign in await _rows(
            conn,
            "SELECT c.call_id, c.list_hash, c.status, c.has_details, c.started_at, k.campaign_id "
            "FROM calls c LEFT JOIN campaigns k ON k.id = c.campaign "
            "WHERE c.source = %s AND c.call_id = ANY(%s)",
            (source, ids),
        )
    }


async def calls_to_recheck(
    conn: Connection,
    account: str,
    provider: str,
    *,
    campaign_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[str]:
    source = await find_source(conn, account, provider)
    if source is None:
        return []
    sql = "SELECT c.call_id FROM calls c WHERE c.source = %s AND (c.status = %s OR NOT c.has_details)"
    params: list[Any] = [source, CallStatus.IN_PROGRESS.value]
    if campaign_id is not None:
        sql += " AND c.campaign IN (SELECT id FROM campaigns WHERE source = %s AND campaign_id = %s)"
        params += [source, pg_text(campaign_id)]
    if since is not None:
        sql += " AND c.started_at >= %s"
        params.append(ts(since))
    if until is not None:
        sql += " AND c.started_at <= %s"
        params.append(ts(until))
    sql += " ORDER BY c.started_at DESC, c.id DESC LIMIT %s"
    params.append(limit)
    return [r[0] for r in await _rows(conn, sql, params)]


async def load_sync_state(conn: Connection, account: str, provider: str, scope: str) -> SyncState | None:
    row = await _row(
        conn,
        f"SELECT {STATE_COLUMNS} FROM sync_state s JOIN sources src ON src.id = s.source "
        "WHERE src.account = %s AND src.provider = %s AND s.scope = %s",
        (account, provider, pg_str(scope)),
    )
    return None if row is None else sync_state(scope, row)


async def covering_sync(
    conn: Connection, source: int, campaign_id: str | None, since: datetime | None, until: datetime | None
) -> datetime | None:
    """As `index.reads.covering_sync`."""
    best: datetime | None = None
    for state_campaign, state_since, state_until, synced, named in await _rows(
        conn,
        "SELECT campaign_id, since, until, last_synced_at, names_campaigns FROM sync_state "
        "WHERE source = %s AND last_synced_at IS NOT NULL",
        (source,),
    ):
        if state_campaign is not None and state_campaign != campaign_id:
            continue
        if state_campaign is None and campaign_id is not None and not named:
            continue
        if state_since and (since is None or ts(since) < state_since):
            continue
        if state_until and (until is None or ts(until) > state_until):
            continue
        at = parse_ts(synced)
        if at is not None and (best is None or at > best):
            best = at
    return best


async def last_synced(
    conn: Connection,
    scope: AccountScope,
    provider: str,
    *,
    campaign_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> datetime | None:
    synced = [
        await covering_sync(conn, source.id, pg_text(campaign_id), since, until)
        for source in await scope_sources(conn, scope, provider)
    ]
    return max((at for at in synced if at is not None), default=None)


async def indexed_calls(conn: Connection, scope: AccountScope, provider: str, campaign_id: str | None) -> int:
    """How many calls the index holds for the provider (in the campaign, when given): a sum of
    the per-campaign counters the `calls` triggers keep (`campaign_outcomes`, one row per status
    and outcome), not a count over the calls (every tool answer's coverage line asks)."""
    total = 0
    for source in await scope_sources(conn, scope, provider):
        if campaign_id is None:
            row = await _row(
                conn, "SELECT coalesce(sum(calls), 0) FROM campaign_outcomes WHERE source = %s", (source.id,)
            )
        else:
            row = await _row(
                conn,
                "SELECT coalesce(sum(o.calls), 0) FROM campaign_outcomes o "
                "JOIN campaigns k ON k.id = o.campaign "
                "WHERE o.source = %s AND k.source = %s AND k.campaign_id = %s",
                (source.id, source.id, pg_str(campaign_id)),
            )
        total += int(row[0]) if row is not None else 0
    return total


async def platform_calls(
    conn: Connection, scope: AccountScope, provider: str, campaign_id: str | None
) -> int | None:
    key = scope_key(campaign_id, None, None)
    found: list[int] = []
    for source in await scope_sources(conn, scope, provider):
        found += [
            int(row[0])
            for row in await _rows(
                conn,
                "SELECT platform_calls FROM sync_state WHERE source = %s AND scope = %s "
                "AND platform_calls IS NOT NULL",
                (source.id, pg_str(key)),
            )
        ]
    return max(found) if found else None


# --- calls ----------------------------------------------------------------------------------


async def load_call(conn: Connection, rowid: int, body: str) -> Call:
    """The stored call `rowid` (its JSON body plus its turns). Raises StoreError when the stored
    body no longer validates."""
    turns = [
        Turn(speaker=speaker, text=text, offset_seconds=float_or_none(offset))
        for text, speaker, offset in await _rows(
            conn,
            'SELECT text, speaker, "offset" FROM turns WHERE call = %s AND NOT note ORDER BY seq',
            (rowid,),
        )
    ]
    try:
        return Call.model_validate({**json.loads(body), "transcript": turns})
    except (ValidationError, ValueError):
        raise StoreError("A call in the call index could not be read; run a sync to refresh it.") from None


async def get_call(conn: Connection, scope: AccountScope, provider: str, call_id: str) -> Call | None:
    for source in await scope_sources(conn, scope, provider):
        row = await _row(
            conn,
            "SELECT c.id, b.body FROM calls c JOIN call_bodies b ON b.id = c.id "
            "WHERE c.source = %s AND c.call_id = %s",
            (source.id, pg_str(call_id)),
        )
        if row is not None:
            return await load_call(conn, int(row[0]), row[1])
    return None


async def recent_calls(conn: Connection, scope: AccountScope, query: RecentQuery) -> RecentCalls:
    """Newest first by (started_at, id), one page; the cursor is the SQLite index's format."""
    sources = await scope_sources(conn, scope, query.provider)
    if not sources:
        return RecentCalls(calls=[])
    ids = [s.id for s in sources]
    sql = (
        "SELECT c.id, c.started_at, b.body FROM calls c JOIN call_bodies b ON b.id = c.id "
        "WHERE c.source = ANY(%s)"
    )
    params: list[Any] = [ids]
    if query.campaign_id is not None:
        sql += " AND c.campaign IN (SELECT id FROM campaigns WHERE source = ANY(%s) AND campaign_id = %s)"
        params += [ids, pg_str(query.campaign_id)]
    if query.after is not None:
        sql += " AND (c.started_at, c.id) < (%s, %s)"
        params += list(query.after)
    sql += " ORDER BY c.started_at DESC, c.id DESC LIMIT %s"
    params.append(query.limit + 1)
    rows = await _rows(conn, sql, params)
    calls = [summary_from_body(body) for _id, _started, body in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = encode_cursor("recent", {"s": last[1], "i": int(last[0])})
    return RecentCalls(calls=calls, next_cursor=next_cursor)


# --- campaigns and statistics ---------------------------------------------------------------

OPENING_SAMPLE = 25
OPENING_CHARS = 120


async def list_campaigns(
    conn: Connection, scope: AccountScope, provider: str | None, *, describe: bool = False
) -> list[CampaignListing]:
    """As `index.reads.list_campaigns`: per source, the calls of no known campaign first, then
    every known campaign by id, with counts, date span and the last sync covering each."""
    out: list[CampaignListing] = []
    for source in await scope_sources(conn, scope, provider):
        seen = {
            ref: (int(count), first, last)
            for ref, count, first, last in await _rows(
                conn,
                "SELECT campaign, count(*), min(nullif(started_at, '')), max(nullif(started_at, '')) "
                "FROM calls WHERE source = %s GROUP BY campaign",
                (source.id,),
            )
        }
        synced = {
            campaign: parse_ts(at)
            for campaign, at in await _rows(
                conn,
                "SELECT campaign_id, max(last_synced_at) FROM sync_state WHERE source = %s "
                "AND since IS NULL AND until IS NULL GROUP BY campaign_id",
                (source.id,),
            )
        }
        whole = synced.pop(None, None)
        named = await _row(
            conn,
            "SELECT max(last_synced_at) FROM sync_state WHERE source = %s AND campaign_id IS NULL "
            "AND since IS NULL AND until IS NULL AND names_campaigns",
            (source.id,),
        )
        whole_for_campaigns = parse_ts(named[0]) if named is not None else None
        campaigns = await _rows(
            conn,
            "SELECT id, campaign_id, name, platform_calls FROM campaigns WHERE source = %s "
            'ORDER BY campaign_id COLLATE "C"',
            (source.id,),
        )
        for ref, listing in source_listings(
            source.provider, seen, campaigns, whole, synced, whole_for_campaigns
        ):
            if describe and listing.indexed_calls:
                listing = listing.model_copy(update=await _description(conn, source.id, ref))
            out.append(listing)
    return out


async def list_agents(conn: Connection, scope: AccountScope, provider: str | None) -> list[AgentListing]:
    """As `index.reads.list_agents`: per provider, most calls first, from one grouping of the
    calls that name an agent (the partial index `calls_agent`)."""
    out: list[AgentListing] = []
    for source in await scope_sources(conn, scope, provider):
        rows = await _rows(
            conn,
            "SELECT c.agent, k.campaign_id, c.status, count(*), min(nullif(c.started_at, '')), "
            "max(nullif(c.started_at, '')) FROM calls c LEFT JOIN campaigns k ON k.id = c.campaign "
            "WHERE c.source = %s AND c.agent != 0 GROUP BY c.agent, k.campaign_id, c.status",
            (source.id,),
        )
        names = {
            int(ref): (str(agent_id), name)
            for ref, agent_id, name in await _rows(
                conn, "SELECT id, agent_id, name FROM agents WHERE source = %s", (source.id,)
            )
        }
        out += agent_listings(source.provider, rows, names)
    out.sort(key=lambda a: (a.provider, -a.indexed_calls, a.agent_id))
    return out


async def _description(conn: Connection, source: int, ref: int) -> dict[str, Any]:
    """Calls by status, and the agent's most common first line among the newest calls."""
    by_status = {
        status: int(count)
        for status, count in await _rows(
            conn,
            "SELECT status, count(*) FROM calls WHERE source = %s AND campaign = %s GROUP BY status "
            'ORDER BY count(*) DESC, status COLLATE "C"',
            (source, ref),
        )
    }
    openings: Counter[str] = Counter()
    for (text,) in await _rows(
        conn,
        "SELECT (SELECT t.text FROM turns t WHERE t.call = c.id AND NOT t.note AND t.speaker = 'agent' "
        "ORDER BY t.seq LIMIT 1) FROM calls c WHERE c.source = %s AND c.campaign = %s AND c.turn_count > 0 "
        "ORDER BY c.started_at DESC, c.id DESC LIMIT %s",
        (source, ref, OPENING_SAMPLE),
    ):
        if text is not None and text.strip():
            openings[" ".join(text.split())[:OPENING_CHARS]] += 1
    opening = openings.most_common(1)[0][0] if openings else None
    return {"by_status": by_status, "opening_line": opening}


async def stats(conn: Connection) -> IndexStats:
    """Calls per provider (all accounts), turns, and the database's size on disk."""
    calls = {
        provider: int(count)
        for provider, count in await _rows(
            conn,
            "SELECT s.provider, count(*) FROM calls c JOIN sources s ON s.id = c.source GROUP BY s.provider",
        )
    }
    row = await _row(
        conn,
        "SELECT (SELECT coalesce(sum(turn_count), 0) FROM calls), pg_database_size(current_database())",
    )
    assert row is not None
    return IndexStats(calls=calls, turns=int(row[0]), file_bytes=int(row[1]))
