"""CallLogService: the plain core behind the MCP tools. It knows nothing about MCP.

- Argument parsing (`parse_date`, `parse_status`, `build_query`, `parse_call_ref`): user input in,
  domain values out, `InvalidArgumentError` with what is wrong and what is accepted.
- `list_calls`: live from the platforms, newest first. With several providers it merges their
  streams (a k-way merge over each provider's own newest-first pages) behind one composite cursor
  (`call_logs_mcp.cursors`, kind "calls"). The cursor records, per provider, the page cursor it
  fetched, the limit it asked for and how many rows of that page were consumed, so a position can
  be taken after ANY emitted row: the output shaper may show fewer rows than were fetched and still
  hand out an exact continuation (`MergedPage.cursor_after(n)`). A provider that fails during a
  merge yields partial results plus a `provider_errors` entry and keeps its position for the next
  page.
- `get_call`: resolves the provider (explicit, the only configured one, the index, or by asking
  every provider), fetches live and stores the call in the index.
- `search` / `summarize_campaign` / `list_campaigns` / `recent_calls`: over the local index, after
  syncing the requested scope when it is stale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import unquote

import anyio

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import (
    CallLogsError,
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    ProviderError,
)
from call_logs_mcp.models import Call, CallPage, CallQuery, CallStatus, CallSummary, PlatformTotals
from call_logs_mcp.providers import PROVIDERS
from call_logs_mcp.providers._http import path_segment
from call_logs_mcp.providers.base import CallProvider

logger = logging.getLogger(__name__)

# (done, total | None, message) -> awaitable; the MCP layer forwards it as progress notifications.
Progress = Callable[[float, float | None, str], Awaitable[None]]

_CALLS_CURSOR = "calls"
_EPOCH = datetime.min.replace(tzinfo=UTC)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STATUS_ALIASES = {"no-answer": "no_answer", "noanswer": "no_answer", "in-progress": "in_progress"}


# ---------------------------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------------------------


def no_provider_message() -> str:
    env_vars = " or ".join(f"{name.upper()}_API_KEY" for name in PROVIDERS)
    return (
        f"No call-log platform is configured. Set {env_vars} in the server's environment "
        "(then restart it), or start the server with --demo to try it on simulated data."
    )


def parse_date(value: str | None, *, field_name: str, end_of_day: bool = False) -> datetime | None:
    """A UTC-aware datetime from `YYYY-MM-DD` or ISO 8601; None for None/blank.

    A bare date means the start of that day (UTC), or its last instant with `end_of_day` (so a
    bare `to_date` includes the whole day). A time without an offset is taken as UTC.
    Raises InvalidArgumentError naming the field and the accepted formats.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    error = InvalidArgumentError(
        f"Invalid {field_name}: use YYYY-MM-DD (e.g. 2026-03-01) or an ISO 8601 date-time "
        "(e.g. 2026-03-01T14:30:00Z)."
    )
    if len(text) > 40:
        raise error
    try:
        if _DATE_ONLY.match(text):
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise error from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_status(value: str | None) -> CallStatus | None:
    """A CallStatus from its name (case-insensitive, `-` or `_`); raises listing accepted values."""
    if value is None or not value.strip():
        return None
    key = value.strip().lower()
    key = _STATUS_ALIASES.get(key, key.replace("-", "_").replace(" ", "_"))
    try:
        return CallStatus(key)
    except ValueError:
        accepted = ", ".join(status.value for status in CallStatus)
        raise InvalidArgumentError(f"Unknown status; accepted values: {accepted}.") from None


def build_query(
    *,
    campaign_id: str | None = None,
    status: str | None = None,
    from_date: str | None = None,
    to_date: str | None = None,
    search: str | None = None,
) -> CallQuery:
    """A validated CallQuery from raw tool arguments. Raises InvalidArgumentError."""
    start = parse_date(from_date, field_name="from_date")
    end = parse_date(to_date, field_name="to_date", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise InvalidArgumentError("from_date is after to_date; swap them or widen the range.")
    campaign = _optional_text(campaign_id, "campaign_id", max_chars=200)
    if campaign is not None:
        path_segment(campaign, what="campaign_id")
    return CallQuery(
        campaign_id=campaign,
        status=parse_status(status),
        from_date=start,
        to_date=end,
        search=_optional_text(search, "search", max_chars=200),
    )


def _optional_text(value: str | None, name: str, *, max_chars: int) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > max_chars or any(ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise InvalidArgumentError(f"Invalid {name}: at most {max_chars} printable characters.")
    return text


def parse_call_ref(call_id: str, provider: str | None) -> tuple[str | None, str]:
    """(provider, call_id) from a call id or a `calls://provider/id` URI. Raises on a bad id."""
    if not isinstance(call_id, str) or not call_id.strip():
        raise InvalidArgumentError("call_id is required: pass an id exactly as list_calls returned it.")
    text = call_id.strip()
    if text.startswith("calls://"):
        rest = text[len("calls://") :]
        uri_provider, sep, encoded = rest.partition("/")
        if not sep or not uri_provider or not encoded or "/" in encoded:
            raise InvalidArgumentError("Invalid call URI: expected calls://{provider}/{call_id}.")
        if provider is not None and provider.strip() and provider.strip().lower() != uri_provider:
            raise InvalidArgumentError("The provider argument disagrees with the provider in the call URI.")
        decoded = unquote(encoded)
        path_segment(decoded)
        return uri_provider, decoded
    path_segment(text)
    return provider, text


# ---------------------------------------------------------------------------------------------
# Merged listing
# ---------------------------------------------------------------------------------------------


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


def _listing_fingerprint(providers: Sequence[str], query: CallQuery) -> str:
    raw = json.dumps(
        {"p": sorted(providers), "q": query.model_dump(mode="json")}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def _sort_key(call: CallSummary) -> datetime:
    return call.started_at or _EPOCH


# ---------------------------------------------------------------------------------------------
# The service
# ---------------------------------------------------------------------------------------------


class CallLogService:
    """Everything the tools do, over the configured providers and the local index.

    `providers` maps registry names to adapters; `store` is the local index (or None for a server
    without one: index-backed operations then raise ConfigurationError).
    """

    def __init__(
        self,
        providers: Mapping[str, CallProvider],
        *,
        store: Any = None,
        freshness_seconds: float = 300.0,
        accounts: Mapping[str, str] | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.store = store
        self.freshness_seconds = freshness_seconds
        self.accounts = dict(accounts or {})

    # -- providers ------------------------------------------------------------------------------

    @property
    def provider_names(self) -> list[str]:
        return list(self.providers)

    def resolve_providers(self, provider: str | None) -> list[str]:
        """The providers a request addresses. Raises ConfigurationError / InvalidArgumentError."""
        if not self.providers:
            raise ConfigurationError(no_provider_message())
        if provider is None or not provider.strip():
            return list(self.providers)
        name = provider.strip().lower()
        if name in self.providers:
            return [name]
        configured = ", ".join(self.providers)
        if name in PROVIDERS:
            raise InvalidArgumentError(
                f"Provider {name} is not configured (set {name.upper()}_API_KEY to enable it); "
                f"configured providers: {configured}."
            )
        raise InvalidArgumentError(f"Unknown provider; configured providers: {configured}.")

    # -- live listing ---------------------------------------------------------------------------

    async def list_calls(
        self,
        query: CallQuery,
        *,
        provider: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> MergedPage:
        """Up to `limit` calls newest first, merged across the addressed providers.

        Raises InvalidArgumentError (bad cursor, limit), ConfigurationError (nothing configured),
        and a provider's own ProviderError when a single provider is addressed or all of them fail.
        """
        if not 1 <= limit <= 100:
            raise InvalidArgumentError("limit must be between 1 and 100.")
        names = self.resolve_providers(provider)
        fingerprint = _listing_fingerprint(names, query)
        streams = self._streams_from_cursor(names, fingerprint, cursor, limit)
        totals: dict[str, PlatformTotals] = {}
        unsupported: dict[str, list[str]] = {}
        rows: list[CallSummary] = []
        states: list[dict[str, Any]] = [self._snapshot(streams)]

        async def fill(stream: _Stream) -> None:
            try:
                page: CallPage = await self.providers[stream.name].list_calls(
                    query, limit=stream.page_limit, cursor=stream.page_cursor
                )
            except InvalidArgumentError:
                raise
            except CallLogsError as err:
                stream.error = err
                return
            calls = list(page.calls)
            stream.page_len = len(calls)
            stream.buffer = deque(calls[stream.consumed :])
            stream.next_cursor = page.next_cursor
            stream.loaded = True
            if page.totals is not None and stream.name not in totals:
                totals[stream.name] = page.totals
            if page.unsupported_filters:
                unsupported[stream.name] = sorted(set(page.unsupported_filters))

        while len(rows) < limit:
            pending = [s for s in streams if self._needs_fill(s, limit)]
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
            states.append(self._snapshot(streams))

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
            _fingerprint=fingerprint,
        )

    @staticmethod
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

    @staticmethod
    def _snapshot(streams: Sequence[_Stream]) -> dict[str, Any]:
        return {s.name: s.position() for s in streams}

    @staticmethod
    def _streams_from_cursor(
        names: Sequence[str], fingerprint: str, cursor: str | None, limit: int
    ) -> list[_Stream]:
        if cursor is None or not cursor.strip():
            return [_Stream(name=n, page_cursor=None, page_limit=limit, consumed=0) for n in names]
        state = decode_cursor(_CALLS_CURSOR, cursor.strip())
        if state.get("f") != fingerprint:
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

    # -- one call ----------------------------------------------------------------------------------

    async def get_call(self, call_id: str, provider: str | None = None) -> Call:
        """The full call, fetched live and stored in the index.

        Raises InvalidArgumentError (bad id, ambiguous id naming the candidate providers),
        NotFoundError, ConfigurationError, and the provider's ProviderError.
        """
        wanted, clean_id = parse_call_ref(call_id, provider)
        names = self.resolve_providers(wanted)
        if len(names) > 1:
            names = await self._locate(clean_id, names)
        call = await self.providers[names[0]].get_call(clean_id)
        await self._remember(call)
        return call

    async def _locate(self, call_id: str, names: list[str]) -> list[str]:
        """The one provider holding `call_id`, asking each when the index does not know."""
        known = await self._index_providers_of(call_id, names)
        if len(known) == 1:
            return known
        found: list[str] = []
        failures: dict[str, ProviderError] = {}

        async def probe(name: str) -> None:
            try:
                await self.providers[name].get_call(call_id)
            except NotFoundError:
                return
            except ProviderError as err:
                failures[name] = err
                return
            found.append(name)

        async with anyio.create_task_group() as group:
            for name in names:
                group.start_soon(probe, name)
        found.sort(key=names.index)
        if len(found) == 1:
            return found
        if len(found) > 1:
            raise InvalidArgumentError(
                f"Call id {call_id} exists on several providers ({', '.join(found)}); "
                "pass provider= to choose one."
            )
        if failures:
            raise next(iter(failures.values()))
        raise NotFoundError(" or ".join(names), f"call {call_id}")

    async def _index_providers_of(self, call_id: str, names: list[str]) -> list[str]:
        if self.store is None:
            return []
        try:
            found: list[str] = []
            for name in names:
                if await self._index_get(name, call_id) is not None:
                    found.append(name)
            return found
        except CallLogsError:
            return []

    async def _index_get(self, provider: str, call_id: str) -> Call | None:
        """The stored call, if the index has it (hook filled once the index API is settled)."""
        return None

    async def _remember(self, call: Call) -> None:
        """Store a fetched call in the index; a failing index never fails the answer."""
        return None
