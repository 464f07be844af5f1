"""`list_calls` across platforms: a k-way merge of each provider's own newest-first pages behind one
composite cursor (`call_logs_mcp.cursors`, kind "calls").

The cursor records, per provider, the page cursor it fetched, the limit it asked for and how many
rows of that page were consumed, so a position can be taken after ANY emitted row: the output
shaper may show fewer rows than were fetched and still hand out an exact continuation
(`MergedPage.cursor_after(n)`). A provider that fails during a merge yields partial results plus a
`provider_errors` entry and keeps its position for the next page.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import CallLogsError, InvalidArgumentError
from call_logs_mcp.ids import skipped_line, usable_calls
from call_logs_mcp.models import CallPage, CallQuery, CallSummary, PlatformTotals
from call_logs_mcp.providers.base import CallProvider

logger = logging.getLogger(__name__)

_CALLS_CURSOR = "calls"
_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class _Stream:
    """One provider's newest-first stream inside a merge."""

    name: str
    page_cursor: str | None
    page_limit: int
    consumed: int
    buffer: deque[CallSummary] = field(default_factory=deque)
    page_len: int = 0
    next_cursor: str | None = None
    loaded: bool = False
    done: bool = False
    error: CallLogsError | None = None

    def position(self) -> dict[str, Any] | None:
        """Where this stream resumes: None when it has nothing more."""
        if self.done:
            return None
        if self.loaded and not self.buffer and self.consumed >= self.page_len:
            if self.next_cursor is None:
                return None
            return {"c": self.next_cursor, "l": self.page_limit, "s": 0}
        return {"c": self.page_cursor, "l": self.page_limit, "s": self.consumed}

    def has_more(self) -> bool:
        return self.position() is not None


@dataclass
class MergedPage:
    """Rows of one `list_calls` answer plus what is needed to continue after any of them."""

    rows: list[CallSummary]
    providers: list[str]
    totals: dict[str, PlatformTotals]
    unsupported_filters: dict[str, list[str]]
    provider_errors: dict[str, str]
    _states: list[dict[str, Any]]
    _tail_more: bool
    _fingerprint: str
    notes: list[str] = field(default_factory=list)

    def has_more_after(self, count: int) -> bool:
        """Whether anything follows the first `count` rows."""
        if count < len(self.rows):
            return True
        return self._tail_more

    def cursor_after(self, count: int) -> str | None:
        """An opaque cursor resuming right after the first `count` rows (None: nothing follows)."""
        if not self.has_more_after(count):
            return None
        state = self._states[count]
        return encode_cursor(_CALLS_CURSOR, {"f": self._fingerprint, "p": state})


def fingerprint(providers: Sequence[str], query: CallQuery) -> str:
    """What a cursor was issued for (providers and filters), so it is refused elsewhere."""
    raw = json.dumps(
        {"p": sorted(providers), "q": query.model_dump(mode="json")}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


async def merge_calls(
    providers: Mapping[str, CallProvider], query: CallQuery, *, limit: int, cursor: str | None
) -> MergedPage:
    """Up to `limit` calls newest first, merged across `providers` (in their order).

    Raises InvalidArgumentError (a cursor from another listing, or a provider refusing the
    query), and a provider's own CallLogsError when a single provider is addressed or all of them
    fail without a row.
    """
    names = list(providers)
    listing = fingerprint(names, query)
    streams = _streams_from_cursor(names, listing, cursor, limit)
    totals: dict[str, PlatformTotals] = {}
    unsupported: dict[str, list[str]] = {}
    rows: list[CallSummary] = []
    states: list[dict[str, Any]] = [_snapshot(streams)]
    skipped_ids: dict[str, int] = {}

    async def fill(stream: _Stream) -> None:
        try:
            page: CallPage = await providers[stream.name].list_calls(
                query, limit=stream.page_limit, cursor=stream.page_cursor
            )
        except InvalidArgumentError:
            raise
        except CallLogsError as err:
            stream.error = err
            return
        calls, skipped = usable_calls(stream.name, page.calls)
        if skipped and stream.consumed == 0:
            skipped_ids[stream.name] = skipped_ids.get(stream.name, 0) + skipped
        stream.page_len = len(calls)
        stream.buffer = deque(calls[stream.consumed :])
        stream.next_cursor = page.next_cursor
        stream.loaded = True
        if page.totals is not None and stream.name not in totals:
            totals[stream.name] = page.totals
        if page.unsupported_filters:
            unsupported[stream.name] = sorted(set(page.unsupported_filters))

    while len(rows) < limit:
        pending = [s for s in streams if _needs_fill(s, limit)]
        if pending:
            async with anyio.create_task_group() as group:
                for stream in pending:
                    group.start_soon(fill, stream)
            continue
        live = [s for s in streams if s.buffer]
        if not live:
            break
        best = max(live, key=lambda s: (_sort_key(s.buffer[0]), s.name))
        rows.append(best.buffer.popleft())
        best.consumed += 1
        states.append(_snapshot(streams))

    errors = {s.name: str(s.error) for s in streams if s.error is not None}
    if errors and (len(streams) == 1 or len(errors) == len(streams)) and not rows:
        first = next(s.error for s in streams if s.error is not None)
        assert first is not None
        raise first
    for name, message in errors.items():
        logger.warning("list_calls: %s failed during a merge: %s", name, message)
    return MergedPage(
        rows=rows,
        providers=names,
        totals=totals,
        unsupported_filters=unsupported,
        provider_errors=errors,
        _states=states,
        _tail_more=any(s.has_more() for s in streams),
        _fingerprint=listing,
        notes=[f"{name}: {skipped_line(count)} (not listed)." for name, count in skipped_ids.items()],
    )


def _sort_key(call: CallSummary) -> datetime:
    return call.started_at or _EPOCH


def _needs_fill(stream: _Stream, limit: int) -> bool:
    if stream.done or stream.error is not None or stream.buffer:
        return False
    if not stream.loaded:
        return True
    # The loaded page is used up: move on to the next one, or finish.
    if stream.next_cursor is None:
        stream.done = True
        return False
    stream.page_cursor = stream.next_cursor
    stream.page_limit = limit
    stream.consumed = 0
    stream.loaded = False
    return True


def _snapshot(streams: Sequence[_Stream]) -> dict[str, Any]:
    return {s.name: s.position() for s in streams}


def _streams_from_cursor(names: Sequence[str], listing: str, cursor: str | None, limit: int) -> list[_Stream]:
    if cursor is None or not cursor.strip():
        return [_Stream(name=n, page_cursor=None, page_limit=limit, consumed=0) for n in names]
    state = decode_cursor(_CALLS_CURSOR, cursor.strip())
    if state.get("f") != listing:
        raise InvalidArgumentError(
            "That cursor belongs to a different listing (other filters or providers); repeat the "
            "same arguments with it, or omit cursor to start over."
        )
    positions = state.get("p")
    if not isinstance(positions, dict) or set(positions) != set(names):
        raise InvalidArgumentError("That cursor was not issued by this server for this listing.")
    streams: list[_Stream] = []
    for name in names:
        pos = positions[name]
        if pos is None:
            streams.append(_Stream(name=name, page_cursor=None, page_limit=limit, consumed=0, done=True))
            continue
        if (
            not isinstance(pos, dict)
            or not (pos.get("c") is None or isinstance(pos.get("c"), str))
            or not isinstance(pos.get("l"), int)
            or not isinstance(pos.get("s"), int)
            or not 1 <= pos["l"] <= 1000
            or not 0 <= pos["s"] <= pos["l"]
        ):
            raise InvalidArgumentError("That cursor was not issued by this server for this listing.")
        streams.append(_Stream(name=name, page_cursor=pos["c"], page_limit=pos["l"], consumed=pos["s"]))
    return streams
