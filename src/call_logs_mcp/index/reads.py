"""Reads: stored calls, listings, the sync engine's bookkeeping, statistics.

Each function runs on a reader connection inside one read transaction (`Database.read`), so it
sees one consistent snapshot. Reads for a caller are limited to its `AccountScope`.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.index.accounts import AccountScope, find_source, scope_sources, source_campaign_refs
from call_logs_mcp.index.db import placeholders
from call_logs_mcp.index.records import (
    STATE_COLUMNS,
    AgentListing,
    CampaignListing,
    IndexStats,
    RecentCalls,
    StoredState,
    SyncState,
    load_call,
    parse_ts,
    scope_key,
    sql_str,
    sql_text,
    summary_from_body,
    sync_state,
    ts,
)
from call_logs_mcp.index.rowids import turn_range
from call_logs_mcp.models import Call, CallStatus

MAX_LIST_LIMIT = 200

# --- the sync engine's view -----------------------------------------------------------------


def stored_states(
    conn: sqlite3.Connection, account: str, provider: str, call_ids: Sequence[str]
) -> dict[str, StoredState]:
    """What is stored about each of `call_ids` (absent ids are not in the result)."""
    source = find_source(conn, account, provider)
    if source is None:
        return {}
    found: dict[str, StoredState] = {}
    ids = list(dict.fromkeys(sql_str(call_id) for call_id in call_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for call_id, list_hash, status, details, started, campaign in conn.execute(
            "SELECT c.call_id, c.list_hash, c.status, c.has_details, c.started_at, k.campaign_id "
            "FROM calls c LEFT JOIN campaigns k ON k.id = c.campaign "
            f"WHERE c.source = ? AND c.call_id IN ({placeholders(chunk)})",
            (source, *chunk),
        ):
            found[call_id] = StoredState(
                list_hash, CallStatus(status), bool(details), parse_ts(started), campaign
            )
    return found


def calls_to_recheck(
    conn: sqlite3.Connection,
    account: str,
    provider: str,
    *,
    campaign_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> list[str]:
    """Ids of stored calls in the scope that are still in progress or lack details."""
    campaign_id = sql_text(campaign_id)
    source = find_source(conn, account, provider)
    if source is None:
        return []
    sql = "SELECT c.call_id FROM calls c WHERE c.source = ? AND (c.status = ? OR c.has_details = 0)"
    params: list[Any] = [source, CallStatus.IN_PROGRESS.value]
    if campaign_id is not None:
        sql += " AND c.campaign IN (SELECT id FROM campaigns WHERE source = ? AND campaign_id = ?)"
        params += [source, campaign_id]
    if since is not None:
        sql += " AND c.started_at >= ?"
        params.append(ts(since))
    if until is not None:
        sql += " AND c.started_at <= ?"
        params.append(ts(until))
    sql += " ORDER BY c.started_at DESC LIMIT ?"
    params.append(limit)
    return [r[0] for r in conn.execute(sql, params)]


def load_sync_state(conn: sqlite3.Connection, account: str, provider: str, scope: str) -> SyncState | None:
    """The bookkeeping of one sync scope, or None before its first sync."""
    row = conn.execute(
        f"SELECT {STATE_COLUMNS} FROM sync_state s JOIN sources src ON src.id = s.source "
        "WHERE src.account = ? AND src.provider = ? AND s.scope = ?",
        (account, provider, scope),
    ).fetchone()
    return None if row is None else sync_state(scope, row)


def covering_sync(
    conn: sqlite3.Connection,
    source: int,
    campaign_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> datetime | None:
    """The last completed sync of a scope that covers (campaign, since, until): a sync without
    campaign covers every campaign when the records it listed named their campaign, one without
    dates covers every date."""
    best: datetime | None = None
    for state_campaign, state_since, state_until, synced, named in conn.execute(
        "SELECT campaign_id, since, until, last_synced_at, names_campaigns FROM sync_state "
        "WHERE source = ? AND last_synced_at IS NOT NULL",
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


def last_synced(
    conn: sqlite3.Connection,
    scope: AccountScope,
    provider: str,
    *,
    campaign_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> datetime | None:
    """When a sync last completed over a scope covering the one asked about (a whole-provider
    sync covers every campaign; a date-limited sync covers only its range)."""
    synced = [
        covering_sync(conn, source.id, campaign_id, since, until)
        for source in scope_sources(conn, scope, provider)
    ]
    return max((at for at in synced if at is not None), default=None)


def indexed_calls(
    conn: sqlite3.Connection, scope: AccountScope, provider: str, campaign_id: str | None
) -> int:
    """How many calls the index holds for the provider (in the campaign, when given): a lookup of
    the per-campaign counters the writes keep (`call_counts`), not a count over the calls."""
    total = 0
    for source in scope_sources(conn, scope, provider):
        if campaign_id is None:
            (count,) = conn.execute(
                "SELECT coalesce(sum(calls), 0) FROM call_counts WHERE source = ?", (source.id,)
            ).fetchone()
        else:
            (count,) = conn.execute(
                "SELECT coalesce(sum(n.calls), 0) FROM call_counts n JOIN campaigns k ON k.id = n.campaign "
                "WHERE n.source = ? AND k.source = ? AND k.campaign_id = ?",
                (source.id, source.id, campaign_id),
            ).fetchone()
        total += count
    return total


def platform_calls(
    conn: sqlite3.Connection, scope: AccountScope, provider: str, campaign_id: str | None
) -> int | None:
    """How many calls the platform reported for the campaign (or the whole account) at its last
    sync of that scope without dates; None when it reports no total or was never synced."""
    key = scope_key(campaign_id, None, None)
    found = [
        row[0]
        for source in scope_sources(conn, scope, provider)
        for row in conn.execute(
            "SELECT platform_calls FROM sync_state WHERE source = ? AND scope = ? "
            "AND platform_calls IS NOT NULL",
            (source.id, key),
        )
    ]
    return max(found) if found else None


# --- calls ----------------------------------------------------------------------------------


def get_call(conn: sqlite3.Connection, scope: AccountScope, provider: str, call_id: str) -> Call | None:
    """The stored call, or None when this account has not indexed it.

    Raises StoreError when the stored call can no longer be read."""
    call_id = sql_str(call_id)
    for source in scope_sources(conn, scope, provider):
        row = conn.execute(
            "SELECT c.id, b.body FROM calls c JOIN call_bodies b ON b.id = c.id "
            "WHERE c.source = ? AND c.call_id = ?",
            (source.id, call_id),
        ).fetchone()
        if row is not None:
            return load_call(conn, int(row[0]), row[1])
    return None


@dataclass(frozen=True)
class RecentQuery:
    """A validated page request of `recent_calls`; `after` is where the previous page ended."""

    provider: str | None
    campaign_id: str | None
    limit: int
    after: tuple[str, int] | None


def recent_query(
    provider: str | None, campaign_id: str | None, limit: int, cursor: str | None
) -> RecentQuery:
    """Raises InvalidArgumentError for a limit out of range or a cursor of another listing."""
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_LIST_LIMIT}.")
    after: tuple[str, int] | None = None
    if cursor is not None:
        state = decode_cursor("recent", cursor)
        started, rowid = state.get("s"), state.get("i")
        if not isinstance(started, str) or not isinstance(rowid, int):
            raise InvalidArgumentError("That cursor is not valid for this listing; omit it to start over.")
        after = (started, rowid)
    return RecentQuery(provider, sql_text(campaign_id), limit, after)


def recent_calls(conn: sqlite3.Connection, scope: AccountScope, query: RecentQuery) -> RecentCalls:
    """Indexed calls, newest first, one page of them.

    Raises StoreError when a stored call can no longer be read."""
    sources = scope_sources(conn, scope, query.provider)
    if not sources:
        return RecentCalls(calls=[])
    sql = (
        "SELECT c.id, c.started_at, b.body FROM calls c JOIN call_bodies b ON b.id = c.id "
        f"WHERE c.source IN ({placeholders(sources)})"
    )
    params: list[Any] = [s.id for s in sources]
    if query.campaign_id is not None:
        sql += (
            " AND c.campaign IN (SELECT id FROM campaigns "
            f"WHERE source IN ({placeholders(sources)}) AND campaign_id = ?)"
        )
        params += [*(s.id for s in sources), query.campaign_id]
    if query.after is not None:
        sql += " AND (c.started_at, c.id) < (?, ?)"
        params += list(query.after)
    sql += " ORDER BY c.started_at DESC, c.id DESC LIMIT ?"
    params.append(query.limit + 1)
    rows = conn.execute(sql, params).fetchall()
    calls = [summary_from_body(body) for _id, _started, body in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = encode_cursor("recent", {"s": last[1], "i": int(last[0])})
    return RecentCalls(calls=calls, next_cursor=next_cursor)


# --- campaigns and statistics ---------------------------------------------------------------


def list_campaigns(
    conn: sqlite3.Connection, scope: AccountScope, provider: str | None, *, describe: bool = False
) -> list[CampaignListing]:
    """Campaigns per provider: indexed call counts and date span, and when a sync last covered
    each (a whole-account sync covers every campaign)."""
    out: list[CampaignListing] = []
    for source in scope_sources(conn, scope, provider):
        seen: dict[int, tuple[int, str | None, str | None]] = {}
        for ref in source_campaign_refs(conn, source.id):
            count, first, last = conn.execute(
                "SELECT count(*), min(nullif(started_at, '')), max(nullif(started_at, '')) "
                "FROM calls WHERE source = ? AND campaign = ?",
                (source.id, ref),
            ).fetchone()
            if count:
                seen[ref] = (count, first, last)
        synced = {
            campaign: parse_ts(at)
            for campaign, at in conn.execute(
                "SELECT campaign_id, max(last_synced_at) FROM sync_state WHERE source = ? "
                "AND since IS NULL AND until IS NULL GROUP BY campaign_id",
                (source.id,),
            )
        }
        whole = synced.pop(None, None)
        # A whole-account sync (campaign_id NULL) covers every campaign too, when its records
        # named their campaign.
        named = conn.execute(
            "SELECT max(last_synced_at) FROM sync_state WHERE source = ? AND campaign_id IS NULL "
            "AND since IS NULL AND until IS NULL AND names_campaigns",
            (source.id,),
        ).fetchone()[0]
        whole_for_campaigns = parse_ts(named)

        campaigns = conn.execute(
            "SELECT id, campaign_id, name, platform_calls FROM campaigns WHERE source = ? "
            "ORDER BY campaign_id",
            (source.id,),
        ).fetchall()
        for ref, listing in source_listings(
            source.provider, seen, campaigns, whole, synced, whole_for_campaigns
        ):
            if describe and listing.indexed_calls:
                listing = listing.model_copy(update=_description(conn, source.id, ref))
            out.append(listing)
    return out


CallSpan = tuple[int, str | None, str | None]  # calls, first start, last start (stored text)


def source_listings(
    provider: str,
    seen: Mapping[int, CallSpan],
    campaigns: Iterable[tuple[int, str, str | None, int | None]],
    whole: datetime | None,
    synced: Mapping[str, datetime | None],
    whole_for_campaigns: datetime | None,
) -> list[tuple[int, CampaignListing]]:
    """One source's listings, each with its campaign ref, as both stores list them: the calls of
    no known campaign first (when there are any: `seen[0]`), then each of `campaigns` (ref, id,
    name, platform count) in the order given. A campaign was last synced by its own sync
    (`synced`) or by a whole-account sync whose records named their campaign
    (`whole_for_campaigns`); the calls of no campaign by a whole-account sync (`whole`)."""
    out: list[tuple[int, CampaignListing]] = []
    if 0 in seen:
        count, first, last = seen[0]
        out.append(
            (
                0,
                CampaignListing(
                    provider=provider,
                    campaign_id=None,
                    indexed_calls=count,
                    first_call_at=parse_ts(first),
                    last_call_at=parse_ts(last),
                    last_synced_at=whole,
                ),
            )
        )
    for ref, campaign_id, name, platform_calls in campaigns:
        count, first, last = seen.get(ref, (0, None, None))
        out.append(
            (
                ref,
                CampaignListing(
                    provider=provider,
                    campaign_id=campaign_id,
                    name=name,
                    indexed_calls=count,
                    platform_calls=platform_calls,
                    first_call_at=parse_ts(first),
                    last_call_at=parse_ts(last),
                    last_synced_at=max(
                        (t for t in (synced.get(campaign_id), whole_for_campaigns) if t is not None),
                        default=None,
                    ),
                ),
            )
        )
    return out


def list_agents(conn: sqlite3.Connection, scope: AccountScope, provider: str | None) -> list[AgentListing]:
    """The platform agents (assistants) of the indexed calls, per provider, most calls first:
    calls by status and by campaign and the date span, in one pass over the `calls_agent` index.
    Calls whose record named no agent are in no listing."""
    out: list[AgentListing] = []
    for source in scope_sources(conn, scope, provider):
        rows = conn.execute(
            "SELECT c.agent, k.campaign_id, c.status, count(*), min(nullif(c.started_at, '')), "
            "max(nullif(c.started_at, '')) FROM calls c INDEXED BY calls_agent "
            "LEFT JOIN campaigns k ON k.id = c.campaign "
            "WHERE c.source = ? AND c.agent != 0 GROUP BY c.agent, c.campaign, c.status",
            (source.id,),
        ).fetchall()
        names = {
            ref: (agent_id, name)
            for ref, agent_id, name in conn.execute(
                "SELECT id, agent_id, name FROM agents WHERE source = ?", (source.id,)
            )
        }
        out += agent_listings(source.provider, rows, names)
    out.sort(key=lambda a: (a.provider, -a.indexed_calls, a.agent_id))
    return out


def agent_listings(
    provider: str, rows: Iterable[Sequence[Any]], names: Mapping[int, tuple[str, str | None]]
) -> list[AgentListing]:
    """One provider's agent listings from rows (agent ref, campaign id or None, status, calls,
    first start, last start) that add up per agent, and each ref's (agent id, name). Shared by
    both stores."""
    groups: dict[int, dict[str, Any]] = {}
    for agent, campaign_id, status, count, first, last in rows:
        g = groups.setdefault(
            agent, {"calls": 0, "status": Counter(), "campaigns": Counter(), "none": 0, "span": []}
        )
        g["calls"] += count
        g["status"][status] += count
        if campaign_id is None:
            g["none"] += count
        else:
            g["campaigns"][campaign_id] += count
        g["span"] += [t for t in (first, last) if t]
    out: list[AgentListing] = []
    for ref, g in groups.items():
        agent_id, name = names[ref]
        out.append(
            AgentListing(
                provider=provider,
                agent_id=agent_id,
                name=name,
                indexed_calls=g["calls"],
                by_status=dict(sorted(g["status"].items(), key=lambda kv: (-kv[1], kv[0]))),
                campaigns=dict(sorted(g["campaigns"].items(), key=lambda kv: (-kv[1], kv[0]))),
                calls_without_campaign=g["none"],
                first_call_at=parse_ts(min(g["span"])) if g["span"] else None,
                last_call_at=parse_ts(max(g["span"])) if g["span"] else None,
            )
        )
    return out


OPENING_SAMPLE = 25


def _description(conn: sqlite3.Connection, source: int, ref: int) -> dict[str, Any]:
    """What tells a person which campaign this is: its calls by status, and the agent's most
    common first line among its newest calls (a campaign's script opens the same way)."""
    by_status = dict(
        conn.execute(
            "SELECT status, count(*) FROM calls WHERE source = ? AND campaign = ? GROUP BY status "
            "ORDER BY count(*) DESC, status",
            (source, ref),
        ).fetchall()
    )
    openings: Counter[str] = Counter()
    for (call,) in conn.execute(
        "SELECT id FROM calls WHERE source = ? AND campaign = ? AND turn_count > 0 "
        "ORDER BY started_at DESC LIMIT ?",
        (source, ref, OPENING_SAMPLE),
    ):
        low, high = turn_range(call)
        # The agent's turns have the lowest rowids of a call, in turn order (see `rowids`).
        row = conn.execute(
            "SELECT text, speaker FROM turns WHERE rowid BETWEEN ? AND ? ORDER BY rowid LIMIT 1", (low, high)
        ).fetchone()
        if row is not None and row[1] == "agent" and row[0].strip():
            openings[" ".join(row[0].split())[:OPENING_CHARS]] += 1
    opening = openings.most_common(1)[0][0] if openings else None
    return {"by_status": by_status, "opening_line": opening}


OPENING_CHARS = 120


def stats(conn: sqlite3.Connection, path: Path) -> IndexStats:
    """Calls per provider (all accounts), turns, and the size of the file at `path` with its WAL."""
    calls = {
        provider: count
        for provider, count in conn.execute(
            "SELECT s.provider, count(*) FROM calls c JOIN sources s ON s.id = c.source GROUP BY s.provider"
        )
    }
    (turns,) = conn.execute("SELECT coalesce(sum(turn_count), 0) FROM calls").fetchone()
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    return IndexStats(calls=calls, turns=int(turns), file_bytes=size)
