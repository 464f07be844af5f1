"""Account scoping: which stored rows a caller may see.

Everything is scoped by platform account. The account id is a keyed hash of the API key and
base URL (computed outside the index); callers pass an `AccountScope` ({provider: account}) to
every read, and rows stored under another account (another key, or another base URL) are simply
not reachable. Every table hangs off a small integer `source`, one per (account, provider).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

AccountScope = Mapping[str, str]
"""{provider name: account id} — what a caller may see."""

SourceIds = dict[tuple[str, str], int]
"""Source ids by (account, provider), as `source_id` remembers them (a source is never deleted)."""


@dataclass(frozen=True)
class Source:
    id: int
    provider: str


def find_source(conn: sqlite3.Connection, account: str, provider: str) -> int | None:
    """The id of the (account, provider) source, or None when nothing was stored under it."""
    row = conn.execute(
        "SELECT id FROM sources WHERE account = ? AND provider = ?", (account, provider)
    ).fetchone()
    return None if row is None else int(row[0])


def source_id(conn: sqlite3.Connection, known: SourceIds, account: str, provider: str) -> int:
    """The id of the (account, provider) source, created on first use (writers only)."""
    key = (account, provider)
    cached = known.get(key)
    if cached is not None:
        return cached
    source = find_source(conn, account, provider)
    if source is None:
        cur = conn.execute("INSERT INTO sources (account, provider) VALUES (?, ?)", (account, provider))
        assert cur.lastrowid is not None
        source = int(cur.lastrowid)
    known[key] = source
    return source


def scope_sources(conn: sqlite3.Connection, scope: AccountScope, provider: str | None = None) -> list[Source]:
    """The stored sources `scope` may see (of `provider` only, when given), by provider name."""
    pairs = [(p, a) for p, a in sorted(scope.items()) if provider is None or p == provider]
    sources: list[Source] = []
    for name, account in pairs:
        source = find_source(conn, account, name)
        if source is not None:
            sources.append(Source(source, name))
    return sources


def campaign_ref(conn: sqlite3.Connection, source: int, campaign_id: str) -> int:
    """The interned id of a source's campaign (`calls.campaign`), created on first use."""
    row = conn.execute(
        "SELECT id FROM campaigns WHERE source = ? AND campaign_id = ?", (source, campaign_id)
    ).fetchone()
    if row is not None:
        return int(row[0])
    cur = conn.execute("INSERT INTO campaigns (source, campaign_id) VALUES (?, ?)", (source, campaign_id))
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def source_campaign_refs(conn: sqlite3.Connection, source: int) -> list[int]:
    """Every campaign ref of a source, led by 0 (its calls whose campaign is not known)."""
    return [0, *(r[0] for r in conn.execute("SELECT id FROM campaigns WHERE source = ?", (source,)))]


def agent_ref(conn: sqlite3.Connection, source: int, agent_id: str, name: str | None, started: str) -> int:
    """The interned id of a source's agent (`calls.agent`), created on first use. `name` (from a
    call that started at `started`, fixed-width UTC text) replaces the stored name when that call
    is the newest to name the agent: a renamed agent shows its current name whatever the order
    calls are stored in."""
    row = conn.execute(
        "SELECT id FROM agents WHERE source = ? AND agent_id = ?", (source, agent_id)
    ).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT INTO agents (source, agent_id, name, named_at) VALUES (?, ?, ?, ?)",
            (source, agent_id, name, started if name else None),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)
    if name:
        conn.execute(
            "UPDATE agents SET name = ?, named_at = ? WHERE id = ? AND name IS NOT ? "
            "AND (named_at IS NULL OR named_at <= ?)",
            (name, started, row[0], name, started),
        )
    return int(row[0])
