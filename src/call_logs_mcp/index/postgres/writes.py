"""Writes: storing calls and the sync engine's bookkeeping, inside the caller's transaction.

The same rules as the SQLite index's `writes.upsert`: a record equal to what is stored is left
alone; a summary-only record never replaces stored details; a record without a campaign keeps
the campaign already known. Text is stored as `pg_text` makes it storable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from call_logs_mcp import analytics
from call_logs_mcp.errors import InvalidArgumentError, StoreError
from call_logs_mcp.index.accounts import SourceIds
from call_logs_mcp.index.notes import call_notes
from call_logs_mcp.index.postgres.db import Connection
from call_logs_mcp.index.records import CallRecord, SyncState, UpsertCounts, sql_text, ts
from call_logs_mcp.index.rowids import MAX_TURNS
from call_logs_mcp.index.writes import content_hash
from call_logs_mcp.models import Call

logger = logging.getLogger(__name__)


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


async def campaign_ref(conn: Connection, source: int, campaign_id: str) -> int:
    """The interned id of a source's campaign (`calls.campaign`), created on first use."""
    await conn.execute(
        "INSERT INTO campaigns (source, campaign_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (source, campaign_id),
    )
    row = await (
        await conn.execute(
            "SELECT id FROM campaigns WHERE source = %s AND campaign_id = %s", (source, campaign_id)
        )
    ).fetchone()
    assert row is not None
    return int(row[0])


async def _refile(conn: Connection, source: int, rowid: int, stored_ref: int, campaign_id: str) -> bool:
    """File a stored call under `campaign_id`, keeping its details. Whether anything changed."""
    ref = await campaign_ref(conn, source, campaign_id)
    if ref == stored_ref:
        return False
    await conn.execute("UPDATE calls SET campaign = %s WHERE id = %s", (ref, rowid))
    await conn.execute("UPDATE fields SET campaign = %s WHERE call = %s", (ref, rowid))
    row = await (await conn.execute("SELECT body FROM call_bodies WHERE id = %s", (rowid,))).fetchone()
    assert row is not None
    stored = json.loads(row[0])
    stored["campaign_id"] = campaign_id
    await conn.execute(
        "UPDATE call_bodies SET body = %s WHERE id = %s",
        (json.dumps(stored, separators=(",", ":"), ensure_ascii=False), rowid),
    )
    return True


async def upsert(
    conn: Connection, sources: SourceIds, account: str, provider: str, records: Sequence[CallRecord]
) -> UpsertCounts:
    """Store `records` (see the module). Raises StoreError for a call of another provider."""
    source = await source_id(conn, sources, account, provider)
    now = ts(datetime.now(UTC))
    added = updated = unchanged = 0
    for record in records:
        call = record.call
        if call.provider != provider:
            raise StoreError(f"A {call.provider} call cannot be stored under {provider}.")
        call_id = pg_str(call.call_id)
        row = await (
            await conn.execute(
                "SELECT id, content_hash, has_details, campaign, list_hash FROM calls "
                "WHERE source = %s AND call_id = %s FOR UPDATE",
                (source, call_id),
            )
        ).fetchone()
        if row is not None:
            rowid, _hash, stored_details, stored_campaign, stored_list_hash = row
            if stored_details and not record.has_details:
                if record.list_hash and record.list_hash != stored_list_hash:
                    await conn.execute(
                        "UPDATE calls SET list_hash = %s WHERE id = %s", (record.list_hash, rowid)
                    )
                if call.campaign_id and await _refile(
                    conn, source, rowid, stored_campaign, pg_str(call.campaign_id)
                ):
                    updated += 1
                else:
                    unchanged += 1
                continue
            if call.campaign_id is None and stored_campaign:
                named = await (
                    await conn.execute("SELECT campaign_id FROM campaigns WHERE id = %s", (stored_campaign,))
                ).fetchone()
                assert named is not None
                call = call.model_copy(update={"campaign_id": named[0]})
        campaign = await campaign_ref(conn, source, pg_str(call.campaign_id)) if call.campaign_id else 0
        content = content_hash(call, record.has_details)
        if row is not None and row[1] == content:
            if record.list_hash and record.list_hash != row[4]:
                await conn.execute(
                    "UPDATE calls SET list_hash = %s WHERE id = %s", (record.list_hash, row[0])
                )
            unchanged += 1
            continue
        turns = call.transcript[:MAX_TURNS]
        if len(call.transcript) > MAX_TURNS:
            logger.warning("a %s call has more than %d turns; the rest is not indexed", provider, MAX_TURNS)
        values = (
            campaign,
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
        if row is None:
            inserted = await (
                await conn.execute(
                    "INSERT INTO calls (campaign, status, started_at, duration, cost, currency, qa_score, "
                    "ended_reason, has_details, turn_count, customer_turns, list_hash, content_hash, "
                    "synced_at, source, call_id) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                    (*values, source, call_id),
                )
            ).fetchone()
            assert inserted is not None
            rowid = int(inserted[0])
            await conn.execute("INSERT INTO call_bodies (id, body) VALUES (%s, %s)", (rowid, _body(call)))
            added += 1
        else:
            rowid = int(row[0])
            await conn.execute(
                "UPDATE calls SET campaign = %s, status = %s, started_at = %s, duration = %s, cost = %s, "
                "currency = %s, qa_score = %s, ended_reason = %s, has_details = %s, turn_count = %s, "
                "customer_turns = %s, list_hash = coalesce(%s, list_hash), content_hash = %s, "
                "synced_at = %s WHERE id = %s",
                (*values, rowid),
            )
            await conn.execute("UPDATE call_bodies SET body = %s WHERE id = %s", (_body(call), rowid))
            await conn.execute("DELETE FROM turns WHERE call = %s", (rowid,))
            await conn.execute("DELETE FROM fields WHERE call = %s", (rowid,))
            updated += 1
        notes = call_notes(call.summary, call.extracted_data, call.qa)
        async with conn.cursor() as cur:
            await cur.executemany(
                'INSERT INTO turns (call, note, seq, speaker, text, "offset", label) '
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    *(
                        (rowid, False, i, turn.speaker, pg_str(turn.text), turn.offset_seconds, None)
                        for i, turn in enumerate(turns)
                    ),
                    *((rowid, True, n.index, n.kind, pg_str(n.text), None, pg_text(n.label)) for n in notes),
                ],
            )
            started = ts(call.started_at)
            await cur.executemany(
                "INSERT INTO fields (source, campaign, key, started_at, call, kind, num, txt) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [
                    (source, campaign, pg_str(v.key), started, rowid, int(v.kind), v.num, pg_str(v.text))
                    for v in analytics.flatten_extracted(call.extracted_data)
                ],
            )
    return UpsertCounts(added=added, updated=updated, unchanged=unchanged)


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


async def purge_calls(conn: Connection, older_than_days: int | None) -> int:
    """Delete calls that started more than `older_than_days` ago (their turns, bodies and fields
    go with them), or every call, campaign and sync state when None; sources stay, as in SQLite.
    Returns the number of calls deleted. Raises InvalidArgumentError for a negative age.

    Unlike the SQLite index, deleted rows stay in the table files until PostgreSQL vacuums them
    (autovacuum, or `VACUUM FULL` to rewrite the files now): purging here cannot also rewrite
    the files without locking every replica out."""
    if older_than_days is not None and older_than_days < 0:
        raise InvalidArgumentError("older_than_days must be 0 or more.")
    if older_than_days is None:
        cur = await conn.execute("DELETE FROM calls")
        await conn.execute("DELETE FROM sync_state")
        await conn.execute("DELETE FROM campaigns")
        return cur.rowcount
    cutoff = ts(datetime.now(UTC) - timedelta(days=older_than_days))
    cur = await conn.execute("DELETE FROM calls WHERE started_at != '' AND started_at < %s", (cutoff,))
    return cur.rowcount
