"""Writes: storing calls and the sync engine's bookkeeping, inside the caller's transaction.

The same rules as the SQLite index's `writes.upsert`: a record equal to what is stored is left
alone; a summary-only record never replaces stored details; a record without a campaign keeps
the campaign already known. Text is stored as `pg_text` makes it storable.

Locks, in one order for every writer, so concurrent writes wait and never deadlock: a write of
calls first takes its source's write lock (a transaction-level advisory lock), a purge takes
every source's in source order, before either locks any row. Writers of one source therefore
take turns. Sorting each batch's rows would not be enough: one call row's triggers lock rows of
four aggregate tables (its campaign's status, day and values, and per field its key and value)
and a new call locks its `(source, call_id)` index entry, so two batches sorted by any one key
can still hold what the other waits for (a whole-account sync storing a new call without its
campaign while a campaign sync stores it with one, or two campaigns' calls whose status order
and day order disagree). Every aggregate row and every call belongs to one source, so the
source lock covers them all; writes of different sources touch no common row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from call_logs_mcp import analytics
from call_logs_mcp.errors import InvalidArgumentError, StoreError
from call_logs_mcp.index.accounts import SourceIds
from call_logs_mcp.index.notes import call_notes
from call_logs_mcp.index.postgres.db import Connection, Cursor, SyncConnection
from call_logs_mcp.index.postgres.migrations import SEARCH_MINUTE
from call_logs_mcp.index.records import CallRecord, SyncState, UpsertCounts, sql_text, ts
from call_logs_mcp.index.rowids import MAX_TURNS
from call_logs_mcp.index.writes import content_hash
from call_logs_mcp.models import Call

logger = logging.getLogger(__name__)

# The first key of a source's write lock (`pg_advisory_xact_lock(WRITE_LOCK, source)`; the
# two-key lock space never meets the one-key locks of migrations and sync scopes): "cl" "wr".
WRITE_LOCK: Final = 0x636C7772


def pg_text(value: str | None) -> str | None:
    """`value` as PostgreSQL can store it: unpaired surrogates become U+FFFD (as in SQLite), and
    so does NUL, which PostgreSQL text cannot hold (SQLite can: the one stored difference)."""
    value = sql_text(value)
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "\ufffd")


def pg_str(value: str | None) -> str:
    return pg_text(value) or ""


def _body(call: Call) -> str:
    """The stored JSON body, exactly as the SQLite index stores it (JSON escapes NUL)."""
    return pg_str(
        json.dumps(
            call.model_dump(mode="json", exclude={"transcript"}), separators=(",", ":"), ensure_ascii=False
        )
    )


async def source_id(conn: Connection, known: SourceIds, account: str, provider: str) -> int:
    """The id of the (account, provider) source, created on first use (a source is never deleted)."""
    key = (account, provider)
    cached = known.get(key)
    if cached is not None:
        return cached
    await conn.execute(
        "INSERT INTO sources (account, provider) VALUES (%s, %s) ON CONFLICT DO NOTHING", (account, provider)
    )
    row = await (
        await conn.execute("SELECT id FROM sources WHERE account = %s AND provider = %s", (account, provider))
    ).fetchone()
    assert row is not None
    known[key] = int(row[0])
    return known[key]


async def _campaign_refs(conn: Connection, source: int, campaign_ids: set[str]) -> dict[str, int]:
    """The interned ids of a source's campaigns (`calls.campaign`), created on first use: two
    statements for the whole batch."""
    if not campaign_ids:
        return {}
    ordered = sorted(campaign_ids)
    await conn.execute(
        "INSERT INTO campaigns (source, campaign_id) SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING",
        (source, ordered),
    )
    rows = await (
        await conn.execute(
            "SELECT campaign_id, id FROM campaigns WHERE source = %s AND campaign_id = ANY(%s)",
            (source, ordered),
        )
    ).fetchall()
    return {str(campaign_id): int(ref) for campaign_id, ref in rows}


AgentMention = tuple[str | None, str]  # (the name a call gives, the call's start time)


async def _agent_refs(
    conn: Connection, source: int, mentions: dict[str, list[AgentMention]]
) -> dict[str, int]:
    """The interned ids of a source's agents (`calls.agent`), created on first use, each named as
    the SQLite index's `accounts.agent_ref` would name it after these calls in this order: the
    name of the newest call naming it. Stored agents are read (locked) first, the names folded
    here, then written in three statements whatever the number of calls."""
    if not mentions:
        return {}
    ids = list(mentions)
    stored = {
        str(agent_id): (int(ref), name, named_at)
        for ref, agent_id, name, named_at in await (
            await conn.execute(
                "SELECT id, agent_id, name, named_at FROM agents WHERE source = %s AND agent_id = ANY(%s) "
                "FOR UPDATE",
                (source, ids),
            )
        ).fetchall()
    }
    new: list[tuple[str, str | None, str | None]] = []
    renamed: list[tuple[str | None, str | None, int]] = []
    for agent_id, said in mentions.items():
        known = stored.get(agent_id)
        if known is None:
            first_name, first_at = said[0]
            name, named_at = first_name, (first_at if first_name else None)
            rest = said[1:]
        else:
            _ref, name, named_at = known
            rest = said
        before = (name, named_at)
        for said_name, started in rest:
            if said_name and said_name != name and (named_at is None or named_at <= started):
                name, named_at = said_name, started
        if known is None:
            new.append((agent_id, name, named_at))
        elif (name, named_at) != before:
            renamed.append((name, named_at, known[0]))
    refs = {agent_id: ref for agent_id, (ref, _n, _a) in stored.items()}
    if new:
        await conn.execute(
            "INSERT INTO agents (source, agent_id, name, named_at) "
            "SELECT %s, a, n, t FROM unnest(%s::text[], %s::text[], %s::text[]) AS u(a, n, t) "
            "ON CONFLICT DO NOTHING",
            (source, [a for a, _, _ in new], [n for _, n, _ in new], [t for _, _, t in new]),
        )
        refs.update(
            (str(agent_id), int(ref))
            for agent_id, ref in await (
                await conn.execute(
                    "SELECT agent_id, id FROM agents WHERE source = %s AND agent_id = ANY(%s)",
                    (source, [a for a, _, _ in new]),
                )
            ).fetchall()
        )
    if renamed:
        async with conn.cursor() as cur:
            await cur.executemany("UPDATE agents SET name = %s, named_at = %s WHERE id = %s", renamed)
    return refs


@dataclass
class _Stored:
    """What the batch knows of a stored call (read once, then kept as the batch writes it)."""

    id: int
    content: str
    details: bool
    campaign: str | None  # its campaign id
    list_hash: str | None


async def _stored_calls(conn: Connection, source: int, call_ids: list[str]) -> dict[str, _Stored]:
    rows = await (
        await conn.execute(
            "SELECT c.call_id, c.id, c.content_hash, c.has_details, k.campaign_id, c.list_hash FROM calls c "
            "LEFT JOIN campaigns k ON k.id = c.campaign WHERE c.source = %s AND c.call_id = ANY(%s) "
            "ORDER BY c.id FOR UPDATE OF c",
            (source, call_ids),
        )
    ).fetchall()
    return {
        str(call_id): _Stored(int(rowid), content, bool(details), campaign, list_hash)
        for call_id, rowid, content, details, campaign, list_hash in rows
    }


def _agent_mentions(
    records: Sequence[CallRecord], stored: dict[str, _Stored]
) -> dict[str, list[AgentMention]]:
    """The agents of the records that store their call (a listing never replaces stored
    details, so it names no agent), in record order."""
    details = {call_id: row.details for call_id, row in stored.items()}
    mentions: dict[str, list[AgentMention]] = {}
    for record in records:
        call_id = pg_str(record.call.call_id)
        if details.get(call_id) and not record.has_details:
            continue
        details[call_id] = record.has_details
        agent = record.call.agent
        if agent is not None:
            mentions.setdefault(pg_str(agent.agent_id), []).append(
                (pg_text(agent.name), ts(record.call.started_at))
            )
    return mentions


async def upsert(
    conn: Connection, sources: SourceIds, account: str, provider: str, records: Sequence[CallRecord]
) -> UpsertCounts:
    """Store `records` (see the module), record by record as the SQLite index does, in a few
    round trips for the whole batch: the stored calls, campaigns and agents are read (and
    created) up front with one statement each, new call ids are drawn together, and the writes
    are sent in pipeline mode (no wait per statement). Raises StoreError for a call of another
    provider."""
    for record in records:
        if record.call.provider != provider:
            raise StoreError(f"A {record.call.provider} call cannot be stored under {provider}.")
    source = await source_id(conn, sources, account, provider)
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s::integer)", (WRITE_LOCK, source))
    now = ts(datetime.now(UTC))
    call_ids = list(dict.fromkeys(pg_str(record.call.call_id) for record in records))
    stored = await _stored_calls(conn, source, call_ids)
    campaigns = await _campaign_refs(
        conn,
        source,
        {pg_str(r.call.campaign_id) for r in records if r.call.campaign_id}
        | {row.campaign for row in stored.values() if row.campaign},
    )
    agents = await _agent_refs(conn, source, _agent_mentions(records, stored))
    fresh = len([call_id for call_id in call_ids if call_id not in stored])
    new_ids: list[int] = []  # a batch of stored calls (a live get_call, a listing) draws none
    if fresh:
        drawn = await conn.execute(
            "SELECT nextval(pg_get_serial_sequence('calls', 'id')) FROM generate_series(1, %s)", (fresh,)
        )
        new_ids = sorted(int(r[0]) for r in await drawn.fetchall())
    bodies: dict[int, str] = {}  # written by this batch
    new_turns: dict[int, list[tuple[Any, ...]]] = {}
    new_fields: dict[int, list[tuple[Any, ...]]] = {}
    added = updated = unchanged = 0
    async with conn.pipeline(), conn.cursor() as cur:
        for record in records:
            call = record.call
            call_id = pg_str(call.call_id)
            row = stored.get(call_id)
            if row is not None:
                if row.details and not record.has_details:
                    if record.list_hash and record.list_hash != row.list_hash:
                        await cur.execute(
                            "UPDATE calls SET list_hash = %s WHERE id = %s", (record.list_hash, row.id)
                        )
                        row.list_hash = record.list_hash
                    target = pg_str(call.campaign_id)
                    if call.campaign_id and target != row.campaign:
                        await _refile(cur, row, campaigns[target], target, bodies)
                        if row.id in new_fields:  # written earlier in this batch: not inserted yet
                            new_fields[row.id] = [
                                (f[0], campaigns[target], *f[2:]) for f in new_fields[row.id]
                            ]
                        updated += 1
                    else:
                        unchanged += 1
                    continue
                if call.campaign_id is None and row.campaign:
                    call = call.model_copy(update={"campaign_id": row.campaign})
            campaign_id = pg_str(call.campaign_id) if call.campaign_id else None
            campaign = campaigns[campaign_id] if campaign_id else 0
            agent = agents[pg_str(call.agent.agent_id)] if call.agent else 0
            content = content_hash(call, record.has_details)
            if row is not None and row.content == content:
                if record.list_hash and record.list_hash != row.list_hash:
                    await cur.execute(
                        "UPDATE calls SET list_hash = %s WHERE id = %s", (record.list_hash, row.id)
                    )
                    row.list_hash = record.list_hash
                unchanged += 1
                continue
            turns = call.transcript[:MAX_TURNS]
            if len(call.transcript) > MAX_TURNS:
                logger.warning(
                    "a %s call has more than %d turns; the rest is not indexed", provider, MAX_TURNS
                )
            values = (
                campaign,
                agent,
                call.status.value,
                ts(call.started_at),
                call.duration_seconds,
                call.cost,
                pg_text(call.currency),
                call.qa_score,
                pg_text(call.ended_reason),
                record.has_details,
                len(turns),
                sum(1 for turn in turns if turn.speaker == "customer"),
                record.list_hash,
                content,
                now,
            )
            body = _body(call)
            if row is None:
                rowid = new_ids.pop(0)
                await cur.execute(
                    "INSERT INTO calls (campaign, agent, status, started_at, duration, cost, currency, "
                    "qa_score, ended_reason, has_details, turn_count, customer_turns, list_hash, "
                    "content_hash, synced_at, source, call_id, id) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (*values, source, call_id, rowid),
                )
                await cur.execute("INSERT INTO call_bodies (id, body) VALUES (%s, %s)", (rowid, body))
                stored[call_id] = _Stored(rowid, content, record.has_details, campaign_id, record.list_hash)
                added += 1
            else:
                rowid = row.id
                await cur.execute(
                    "UPDATE calls SET campaign = %s, agent = %s, status = %s, started_at = %s, "
                    "duration = %s, cost = %s, currency = %s, qa_score = %s, ended_reason = %s, "
                    "has_details = %s, "
                    "turn_count = %s, customer_turns = %s, list_hash = coalesce(%s, list_hash), "
                    "content_hash = %s, synced_at = %s WHERE id = %s",
                    (*values, rowid),
                )
                await cur.execute("UPDATE call_bodies SET body = %s WHERE id = %s", (body, rowid))
                await cur.execute("DELETE FROM turns WHERE call = %s", (rowid,))
                await cur.execute("DELETE FROM fields WHERE call = %s", (rowid,))
                row.content, row.details, row.campaign = content, record.has_details, campaign_id
                row.list_hash = record.list_hash or row.list_hash
                updated += 1
            bodies[rowid] = body
            # The latest version of each call written: its turns and fields go in below, after
            # every DELETE above (a call written twice in one batch keeps its second version).
            notes = call_notes(call.summary, call.extracted_data, call.qa)
            started = ts(call.started_at)
            keys = (source, started, call.status.value)  # what a search reads calls for
            new_turns[rowid] = [
                *(
                    (rowid, False, i, turn.speaker, pg_str(turn.text), turn.offset_seconds, None, *keys)
                    for i, turn in enumerate(turns)
                ),
                *(
                    (rowid, True, n.index, n.kind, pg_str(n.text), None, pg_text(n.label), *keys)
                    for n in notes
                ),
            ]
            new_fields[rowid] = [
                (source, campaign, pg_str(v.key), started, rowid, int(v.kind), v.num, pg_str(v.text))
                for v in analytics.flatten_extracted(call.extracted_data)
            ]
        await _insert_rows(cur, _TURNS, [row for rows in new_turns.values() for row in rows])
        await _insert_rows(cur, _FIELDS, [row for rows in new_fields.values() for row in rows])
    return UpsertCounts(added=added, updated=updated, unchanged=unchanged)


# One INSERT per table for the whole batch: its columns as arrays, unnested server-side.
# A turn's `minute` is its call's start as migration 5 wrote it (`SEARCH_MINUTE`).
_TURNS = (
    'INSERT INTO turns (call, note, seq, speaker, text, "offset", label, source, minute, status) '
    'SELECT u.call, u.note, u.seq, u.speaker, u.text, u."offset", u.label, u.source, '
    f"{SEARCH_MINUTE.format(started='u.started')}, u.status "
    "FROM unnest(%s::bigint[], %s::boolean[], %s::integer[], %s::text[], %s::text[], %s::float8[], "
    "%s::text[], %s::bigint[], %s::text[], %s::text[]) "
    'AS u(call, note, seq, speaker, text, "offset", label, source, started, status)'
)
_FIELDS = (
    "INSERT INTO fields (source, campaign, key, started_at, call, kind, num, txt) SELECT * FROM "
    "unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::integer[], "
    "%s::float8[], %s::text[]) ON CONFLICT DO NOTHING"
)


async def _insert_rows(cur: Cursor, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        await cur.execute(sql, [list(column) for column in zip(*rows, strict=True)])


async def _refile(cur: Cursor, row: _Stored, ref: int, campaign_id: str, bodies: dict[int, str]) -> None:
    """File a stored call under another campaign, keeping its details (its body names the
    campaign too: the body this batch wrote, else the stored one, read here)."""
    await cur.execute("UPDATE calls SET campaign = %s WHERE id = %s", (ref, row.id))
    await cur.execute("UPDATE fields SET campaign = %s WHERE call = %s", (ref, row.id))
    body = bodies.get(row.id)
    if body is None:
        await cur.execute("SELECT body FROM call_bodies WHERE id = %s", (row.id,))
        found = await cur.fetchone()
        assert found is not None
        body = str(found[0])
    stored = json.loads(body)
    stored["campaign_id"] = campaign_id
    bodies[row.id] = json.dumps(stored, separators=(",", ":"), ensure_ascii=False)
    await cur.execute("UPDATE call_bodies SET body = %s WHERE id = %s", (bodies[row.id], row.id))
    row.campaign = campaign_id


async def save_sync_state(
    conn: Connection, sources: SourceIds, account: str, provider: str, state: SyncState
) -> None:
    """Store (replace) the bookkeeping of one sync scope."""
    platform = state.platform
    source = await source_id(conn, sources, account, provider)
    values = (
        pg_text(state.campaign_id),
        ts(state.since) or None,
        ts(state.until) or None,
        ts(state.watermark) or None,
        ts(state.last_synced_at) or None,
        ts(state.last_attempt_at) or None,
        platform.calls if platform else None,
        platform.duration_seconds if platform else None,
        platform.cost if platform else None,
        pg_text(platform.currency) if platform else None,
        json.dumps(state.status_totals) if state.status_totals is not None else None,
        state.names_campaigns,
        state.resume.model_dump_json() if state.resume is not None else None,
    )
    await conn.execute(
        "INSERT INTO sync_state (source, scope, campaign_id, since, until, watermark, last_synced_at, "
        "last_attempt_at, platform_calls, platform_duration, platform_cost, platform_currency, "
        "status_totals, names_campaigns, resume) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (source, scope) DO UPDATE SET campaign_id = excluded.campaign_id, "
        "since = excluded.since, until = excluded.until, watermark = excluded.watermark, "
        "last_synced_at = excluded.last_synced_at, last_attempt_at = excluded.last_attempt_at, "
        "platform_calls = excluded.platform_calls, platform_duration = excluded.platform_duration, "
        "platform_cost = excluded.platform_cost, platform_currency = excluded.platform_currency, "
        "status_totals = excluded.status_totals, names_campaigns = excluded.names_campaigns, "
        "resume = excluded.resume",
        (source, pg_str(state.scope), *values),
    )


def purge_plan(older_than_days: int | None) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that delete calls that started more than `older_than_days` ago (their
    turns, bodies and fields go with them), or every call, campaign, agent and sync state when
    None; sources stay, as in SQLite. The first statement's row count is the number of calls
    deleted. Raises InvalidArgumentError for a negative age.

    Unlike the SQLite index, deleted rows stay in the table files until PostgreSQL vacuums them
    (autovacuum, or `VACUUM FULL` to rewrite the files now): purging here cannot also rewrite
    the files without locking every replica out."""
    if older_than_days is not None and older_than_days < 0:
        raise InvalidArgumentError("older_than_days must be 0 or more.")
    if older_than_days is None:
        return [(f"DELETE FROM {table}", ()) for table in ("calls", "sync_state", "campaigns", "agents")]
    cutoff = ts(datetime.now(UTC) - timedelta(days=older_than_days))
    return [("DELETE FROM calls WHERE started_at != '' AND started_at < %s", (cutoff,))]


# Every source's write lock, in source order (see the module), taken one by one in that order.
_LOCK_SOURCES = (
    "SELECT count(pg_advisory_xact_lock(%s, s.id::integer)) FROM "
    "(SELECT id FROM sources ORDER BY id OFFSET 0) s"
)


async def purge_calls(conn: Connection, older_than_days: int | None) -> int:
    """Run `purge_plan(older_than_days)` under every source's write lock; the number of calls
    deleted."""
    plan = purge_plan(older_than_days)
    await conn.execute(_LOCK_SOURCES, (WRITE_LOCK,))
    deleted = (await conn.execute(*plan[0])).rowcount
    for sql, params in plan[1:]:
        await conn.execute(sql, params)
    return deleted


def purge_calls_sync(conn: SyncConnection, older_than_days: int | None) -> int:
    """`purge_calls` on a synchronous connection (the CLI's purge)."""
    plan = purge_plan(older_than_days)
    conn.execute(_LOCK_SOURCES, (WRITE_LOCK,))
    deleted = conn.execute(*plan[0]).rowcount
    for sql, params in plan[1:]:
        conn.execute(sql, params)
    return deleted
