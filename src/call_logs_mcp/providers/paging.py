"""Paging shared by the adapters: platform pages → our pages, with client-side filters.

A position is (platform page index, offset inside that page). Cursors carry the position, so
`limit` can differ from the platform's page size and a filter applied client-side still yields
each call exactly once: we resume right after the last call we returned, whatever was skipped.
Every page is sorted newest first before offsets are taken (stable, so a platform that already
sorts is untouched and offsets stay reproducible).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeGuard, TypeVar

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.models import CallQuery, CallSummary

# Most platform pages one `list_calls` reads while a client-side filter keeps skipping calls; the
# answer then carries fewer calls (possibly none) and a cursor to continue from.
MAX_REQUESTS_PER_LIST = 10
# Smallest platform page we ask for when it can follow `limit` (see `start_position`).
MIN_PAGE_SIZE = 10

_EPOCH = datetime.min.replace(tzinfo=UTC)

_Call = TypeVar("_Call", bound=CallSummary)


@dataclass(frozen=True)
class PlatformPage:
    """One platform page, mapped, newest first. `extra` is adapter data (totals, paging)."""

    calls: Sequence[CallSummary]
    has_more: bool
    extra: dict[str, Any]


@dataclass(frozen=True)
class Position:
    """Platform page index (0-based), offset inside it, and the platform page size in use (fixed
    for a whole listing, so positions stay meaningful whatever `limit` each call passes)."""

    page: int
    offset: int
    size: int


def start_position(limit: int, maximum: int, *, client_side: bool) -> Position:
    """Where a listing starts. Without client-side filtering the platform page follows `limit`
    (one request per answer when callers keep their limit); with it, pages are as large as the
    platform allows so fewer requests are spent on calls that get skipped."""
    size = maximum if client_side else min(maximum, max(MIN_PAGE_SIZE, limit))
    return Position(0, 0, size)


@dataclass(frozen=True)
class Collected:
    calls: list[CallSummary]
    next: Position | None
    first_page: PlatformPage


def newest_first(calls: Sequence[_Call]) -> list[_Call]:
    """Calls sorted by start time, newest first, calls without a time last (stable)."""
    return sorted(calls, key=lambda call: call.started_at or _EPOCH, reverse=True)


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidArgumentError("limit must be a whole number of at least 1.")
    return limit


async def collect(
    fetch: Callable[[int], Awaitable[PlatformPage]],
    keep: Callable[[CallSummary], bool],
    *,
    start: Position,
    limit: int,
    max_requests: int = MAX_REQUESTS_PER_LIST,
) -> Collected:
    """Up to `limit` kept calls from `start` on, and the position right after the last one.

    Stops early (with a position to resume from) after `max_requests` platform pages.
    """
    calls: list[CallSummary] = []
    page, offset = start.page, start.offset
    first: PlatformPage | None = None
    requests = 0
    while True:
        fetched = await fetch(page)
        requests += 1
        if first is None:
            first = fetched
        items = fetched.calls
        for index in range(offset, len(items)):
            if not keep(items[index]):
                continue
            calls.append(items[index])
            if len(calls) >= limit:
                if index + 1 < len(items):
                    return Collected(calls, Position(page, index + 1, start.size), first)
                following = Position(page + 1, 0, start.size) if fetched.has_more else None
                return Collected(calls, following, first)
        if not fetched.has_more or not items:
            return Collected(calls, None, first)
        page, offset = page + 1, 0
        if requests >= max_requests:
            return Collected(calls, Position(page, 0, start.size), first)


# --- cursors --------------------------------------------------------------------------------------


def query_fingerprint(query: CallQuery) -> str:
    """A short digest of the query, so a cursor is not silently reused for another listing."""
    return hashlib.sha256(query.model_dump_json().encode()).hexdigest()[:16]


def write_cursor(kind: str, query: CallQuery, position: Position | None, **extra: Any) -> str | None:
    if position is None:
        return None
    state = {
        "p": position.page,
        "o": position.offset,
        "n": position.size,
        "q": query_fingerprint(query),
        **extra,
    }
    return encode_cursor(kind, state)


def read_cursor(
    kind: str, cursor: str, query: CallQuery, *, max_size: int
) -> tuple[Position, dict[str, Any]]:
    """The position in `cursor` and its whole state. Raises InvalidArgumentError for a cursor of
    another adapter, a malformed one, or one issued for a different query."""
    state = decode_cursor(kind, cursor)
    page, offset, size = state.get("p"), state.get("o"), state.get("n")
    if not (_whole(page, 0, 10**9) and _whole(offset, 0, 10**6) and _whole(size, 1, max_size)):
        raise InvalidArgumentError(
            "That cursor was not issued by this server for this listing; "
            "pass the next_cursor value from the previous answer unchanged, or omit it to start over."
        )
    if state.get("q") != query_fingerprint(query):
        raise InvalidArgumentError(
            "That cursor belongs to a listing with different filters; repeat the same filters "
            "with it, or omit the cursor to start over."
        )
    return Position(page, offset, size), state


def _whole(value: object, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


# --- client-side filters --------------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"[\d\s()+\-.]+")


def in_date_range(call: CallSummary, query: CallQuery) -> bool:
    """Whether the call started inside [from_date, to_date] (inclusive). A call without a start
    time cannot be placed, so it is outside any range."""
    if query.from_date is None and query.to_date is None:
        return True
    if call.started_at is None:
        return False
    if query.from_date is not None and call.started_at < _aware(query.from_date):
        return False
    return not (query.to_date is not None and call.started_at > _aware(query.to_date))


def matches_search(call: CallSummary, needle: str) -> bool:
    """Case-insensitive substring over call id, campaign id, phone numbers and summary; a
    phone-like needle ("555-0100", "+1 (555) 010") also matches on digits alone."""
    text = needle.strip().casefold()
    if not text:
        return True
    fields = (call.call_id, call.campaign_id, call.to_number, call.from_number, call.summary)
    if any(text in field.casefold() for field in fields if field):
        return True
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4 and _PHONE_LIKE.fullmatch(text):
        numbers = (call.to_number, call.from_number)
        return any(digits in re.sub(r"\D", "", number) for number in numbers if number)
    return False


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def iso_utc(value: datetime | None) -> str | None:
    """`2026-04-20T15:00:00Z` (microseconds kept when present), or None."""
    if value is None:
        return None
    text = _aware(value).astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"
