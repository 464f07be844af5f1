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
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import anyio

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import (
    CallLogsError,
    ConfigurationError,
    InvalidArgumentError,
    NotFoundError,
    ProviderError,
    StoreError,
)
from call_logs_mcp.ids import path_segment
from call_logs_mcp.models import (
    Call,
    CallPage,
    CallQuery,
    CallStatus,
    CallSummary,
    PlatformTotals,
    Speaker,
)
from call_logs_mcp.providers import PLATFORMS
from call_logs_mcp.providers.base import CallProvider

if TYPE_CHECKING:
    from call_logs_mcp.analytics import CampaignSummary
    from call_logs_mcp.index import CampaignListing, IndexStore, SearchResult

logger = logging.getLogger(__name__)

# (done, total | None, message) -> awaitable; the MCP layer forwards it as progress notifications.
Progress = Callable[[float, float | None, str], Awaitable[None]]

_CALLS_CURSOR = "calls"
_EPOCH = datetime.min.replace(tzinfo=UTC)
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SPEAKERS: tuple[Speaker, ...] = ("agent", "customer", "system")
_SPEAKER_ALIASES: dict[str, Speaker] = {
    "assistant": "agent",
    "ai": "agent",
    "bot": "agent",
    "user": "customer",
    "caller": "customer",
    "callee": "customer",
}
_STATUS_ALIASES = {"no-answer": "no_answer", "noanswer": "no_answer", "in-progress": "in_progress"}


# ---------------------------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------------------------


def no_provider_message() -> str:
    env_vars = " or ".join(f"{name.upper()}_API_KEY" for name in PLATFORMS)
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


def parse_speaker(value: str | None) -> Speaker | None:
    """agent / customer / system (a few synonyms accepted); raises listing accepted values."""
    if value is None or not value.strip():
        return None
    key = value.strip().lower()
    for speaker in _SPEAKERS:
        if key == speaker:
            return speaker
    if key in _SPEAKER_ALIASES:
        return _SPEAKER_ALIASES[key]
    raise InvalidArgumentError("Unknown speaker; accepted values: agent, customer, system.")


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
    if len(text) > max_chars:
        raise InvalidArgumentError(f"Invalid {name}: use at most {max_chars} characters.")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise InvalidArgumentError(
            f"Invalid {name}: it contains control or unpaired surrogate characters; use plain text."
        )
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
        sync_budget_seconds: float = 25.0,
        accounts: Mapping[str, str] | None = None,
        store_error: str | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.store = store
        self.freshness_seconds = freshness_seconds
        self.sync_budget_seconds = sync_budget_seconds
        self.accounts = dict(accounts or {})
        self.store_error = store_error

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
        if name in PLATFORMS:
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
        refused: list[InvalidArgumentError] = []

        async def probe(name: str) -> None:
            try:
                await self.providers[name].get_call(call_id)
            except NotFoundError:
                return
            except ProviderError as err:
                failures[name] = err
                return
            except InvalidArgumentError as err:
                # An id this platform will not even request (its URL rules): not here. Caught so
                # that two refusals do not leave the task group as an ExceptionGroup.
                refused.append(err)
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
        if len(refused) == len(names):
            raise refused[0]
        raise NotFoundError(" or ".join(names), f"call {call_id}")

    async def _index_providers_of(self, call_id: str, names: list[str]) -> list[str]:
        found: list[str] = []
        for name in names:
            if await self._index_get(name, call_id) is not None:
                found.append(name)
        return found

    async def _index_get(self, provider: str, call_id: str) -> Call | None:
        """The stored call, if the index has it; None when there is no usable index."""
        if self.store is None:
            return None
        try:
            stored: Call | None = await self.store.get_call(self.accounts, provider, call_id)
        except StoreError:
            logger.warning("the index could not be read; asking the platforms instead")
            return None
        return stored

    async def _remember(self, call: Call) -> None:
        """Store a fetched call in the index; a failing index never fails the answer."""
        if self.store is None or call.provider not in self.accounts:
            return
        from call_logs_mcp.index import CallRecord

        try:
            await self.store.upsert(self.accounts[call.provider], call.provider, [CallRecord(call=call)])
        except StoreError:
            logger.warning("could not store a fetched call in the index")

    # -- the index ---------------------------------------------------------------------------------

    def _index(self) -> IndexStore:
        if self.store is None:
            raise StoreError(
                self.store_error
                or "The local call index is not available; set CALL_LOGS_DB to a "
                "writable path and restart the server."
            )
        store: IndexStore = self.store
        return store

    async def sync_if_stale(
        self,
        names: Sequence[str],
        *,
        campaign_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Sync the scope on every provider whose last covering sync is older than the freshness
        window. A provider that fails to sync is reported, not raised: the index still answers.

        All of it fits in `sync_budget_seconds`: a sync still running then stops (what it committed
        stays, newest calls first) and is reported as unfinished; the next call continues it."""
        from call_logs_mcp.index import SyncScope, SyncSource, run_sync

        store = self._index()
        report = SyncReport()
        stale: list[str] = []
        for name in names:
            last = await store.last_synced(
                self.accounts, name, campaign_id=campaign_id, since=since, until=until
            )
            report.last_synced[name] = last
            if last is None or (datetime.now(UTC) - last).total_seconds() > self.freshness_seconds:
                stale.append(name)
        if not stale:
            return report
        counts: dict[str, int] = {}
        shown = 0

        def forward_for(name: str) -> Callable[[int, int, int | None], Awaitable[None]]:
            async def forward(listed: int, fetched: int, total: int | None) -> None:
                # Providers sync side by side: progress is the sum over them, and only grows.
                nonlocal shown
                counts[name] = listed + fetched
                done = sum(counts.values())
                if progress is None or done <= shown:
                    return
                shown = done
                await progress(float(done), None, f"syncing the local index: {done} calls listed or fetched")

            return forward

        async def sync_one(name: str) -> None:
            source = SyncSource(provider=self.providers[name], account=self.accounts[name])
            scope = SyncScope(provider=name, campaign_id=campaign_id, since=since, until=until)
            try:
                await run_sync(store, {name: source}, scope, progress=forward_for(name))
            except (ProviderError, ConfigurationError) as err:
                logger.warning("sync of %s failed: %s", name, err)
                report.errors[name] = str(err)
                return
            report.synced.append(name)

        if progress is not None:
            await progress(0.0, None, f"syncing the local index from {', '.join(stale)}")
        with anyio.move_on_after(self.sync_budget_seconds):
            async with anyio.create_task_group() as group:
                for name in stale:
                    group.start_soon(sync_one, name)
        for name in stale:
            if name in report.synced:
                report.last_synced[name] = await store.last_synced(
                    self.accounts, name, campaign_id=campaign_id, since=since, until=until
                )
            elif name not in report.errors:
                logger.info("sync of %s stopped at the %.0f s budget", name, self.sync_budget_seconds)
                report.errors[name] = (
                    f"it ran out of its {self.sync_budget_seconds:g} s time budget; the index holds "
                    "what was synced so far (newest calls first). Call again to continue, or run "
                    "`call-logs-mcp sync` ahead of time for full coverage."
                )
        return report

    async def search(
        self,
        query: str,
        *,
        provider: str | None = None,
        filters: CallQuery,
        speaker: Speaker | None = None,
        limit: int = 20,
        cursor: str | None = None,
        progress: Progress | None = None,
    ) -> SearchOutcome:
        """Transcript search over the index, after syncing a stale scope.

        Raises InvalidArgumentError (empty query, bad cursor or limit), StoreError.
        """
        if not 1 <= limit <= 100:
            raise InvalidArgumentError("limit must be between 1 and 100.")
        names = self.resolve_providers(provider)
        store = self._index()
        from call_logs_mcp.index import parse_query

        parse_query(query)  # a query with nothing to search fails before any sync
        report = await self.sync_if_stale(
            names,
            campaign_id=filters.campaign_id,
            since=filters.from_date,
            until=filters.to_date,
            progress=progress,
        )

        async def run(page_limit: int) -> SearchResult:
            result: SearchResult = await store.search(
                self._scope(names),
                query,
                provider=names[0] if len(names) == 1 else None,
                campaign_id=filters.campaign_id,
                status=filters.status,
                from_date=filters.from_date,
                to_date=filters.to_date,
                speaker=speaker,
                limit=page_limit,
                cursor=cursor,
            )
            return result

        coverage = await self._coverage(names, filters.campaign_id, report)
        return SearchOutcome(result=await run(limit), rerun=run, coverage=coverage, report=report)

    async def _coverage(
        self, names: Sequence[str], campaign_id: str | None, report: SyncReport
    ) -> list[ScopeCoverage]:
        store = self._index()
        out: list[ScopeCoverage] = []
        listings = await store.list_campaigns(self._scope(names))
        for name in names:
            rows = [c for c in listings if c.provider == name]
            if campaign_id is not None:
                rows = [c for c in rows if c.campaign_id == campaign_id]
            out.append(
                ScopeCoverage(
                    provider=name,
                    indexed_calls=sum(c.indexed_calls for c in rows),
                    last_synced_at=report.last_synced.get(name),
                    sync_error=report.errors.get(name),
                )
            )
        return out

    def _scope(self, names: Sequence[str]) -> dict[str, str]:
        return {name: self.accounts[name] for name in names if name in self.accounts}

    async def summarize_campaign(
        self,
        campaign_id: str,
        *,
        provider: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        progress: Progress | None = None,
    ) -> CampaignOutcome:
        """The campaign summary from the index, after syncing the campaign's scope when stale.

        Raises InvalidArgumentError (ambiguous campaign across providers), NotFoundError (no
        provider has calls in it), StoreError.
        """
        campaign = _optional_text(campaign_id, "campaign_id", max_chars=200)
        if campaign is None:
            raise InvalidArgumentError("campaign_id is required (list_campaigns shows the ids).")
        path_segment(campaign, what="campaign_id")
        names = self.resolve_providers(provider)
        store = self._index()
        report = await self.sync_if_stale(
            names, campaign_id=campaign, since=from_date, until=to_date, progress=progress
        )
        if len(names) > 1:
            listings = await store.list_campaigns(self._scope(names))
            holders = [
                n
                for n in names
                if any(c.campaign_id == campaign and c.indexed_calls for c in listings if c.provider == n)
            ]
            if len(holders) > 1:
                raise InvalidArgumentError(
                    f"Campaign {campaign} exists on several providers ({', '.join(holders)}); "
                    "pass provider= to choose one."
                )
            if not holders:
                if report.errors and len(report.errors) == len(names):
                    raise StoreError(
                        f"No indexed calls for campaign {campaign}, and syncing failed: "
                        + " ".join(report.errors.values())
                    )
                raise NotFoundError(" or ".join(names), f"indexed calls in campaign {campaign}")
            names = holders
        summary: CampaignSummary = await store.campaign_summary(
            self._scope(names), names[0], campaign, from_date=from_date, to_date=to_date
        )
        return CampaignOutcome(summary=summary, report=report)

    async def list_campaigns(
        self, *, provider: str | None = None, progress: Progress | None = None
    ) -> CampaignsOutcome:
        """Campaigns per provider from the index (synced first when stale). Raises StoreError."""
        names = self.resolve_providers(provider)
        store = self._index()
        report = await self.sync_if_stale(names, progress=progress)
        listings: list[CampaignListing] = await store.list_campaigns(self._scope(names))
        return CampaignsOutcome(campaigns=[c for c in listings if c.provider in names], report=report)

    # -- resources ---------------------------------------------------------------------------------

    async def call_for_resource(self, provider: str, call_id: str) -> Call:
        """A call for a resource read: the indexed copy when final, else fetched live.

        Raises InvalidArgumentError (unknown provider, bad id), NotFoundError, ProviderError.
        """
        names = self.resolve_providers(provider)
        if len(names) != 1 or names[0] != provider:
            raise InvalidArgumentError("Unknown provider.")
        path_segment(call_id)
        stored = await self._index_get(provider, call_id)
        if stored is not None and stored.status.is_final:
            return stored
        return await self.get_call(call_id, provider)

    async def recent_calls(self, *, limit: int, cursor: str | None) -> RecentPage:
        """Indexed calls of the configured accounts, newest first. Raises InvalidArgumentError."""
        if self.store is None or not self.providers:
            return RecentPage(calls=[], next_cursor=None)
        page = await self.store.recent_calls(self._scope(self.provider_names), limit=limit, cursor=cursor)
        return RecentPage(calls=list(page.calls), next_cursor=page.next_cursor)

    async def complete_call_ids(
        self, provider: str | None, prefix: str, *, limit: int
    ) -> tuple[list[str], bool]:
        """Indexed call ids starting with `prefix` (the most recent calls first)."""
        if self.store is None or not self.providers:
            return [], False
        names = self.provider_names
        if provider:
            names = [n for n in names if n == provider]
        if not names:
            return [], False
        values: list[str] = []
        cursor: str | None = None
        for _ in range(10):  # look through the 2,000 most recent calls at most
            page = await self.store.recent_calls(self._scope(names), limit=200, cursor=cursor)
            for call in page.calls:
                if call.call_id.startswith(prefix) and call.call_id not in values:
                    values.append(call.call_id)
                    if len(values) > limit:
                        return values[:limit], True
            cursor = page.next_cursor
            if cursor is None:
                break
        return values, False

    async def complete_campaign_ids(self, prefix: str, *, limit: int) -> tuple[list[str], bool]:
        """Indexed campaign ids starting with `prefix`."""
        if self.store is None or not self.providers:
            return [], False
        listings = await self.store.list_campaigns(self._scope(self.provider_names))
        values = sorted(
            {c.campaign_id for c in listings if c.campaign_id and c.campaign_id.startswith(prefix)}
        )
        return values[:limit], len(values) > limit


@dataclass
class SyncReport:
    """What `sync_if_stale` did: providers synced, their errors, their last sync time."""

    synced: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    last_synced: dict[str, datetime | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ScopeCoverage:
    provider: str
    indexed_calls: int
    last_synced_at: datetime | None
    sync_error: str | None = None


@dataclass
class SearchOutcome:
    result: SearchResult
    rerun: Callable[[int], Awaitable[SearchResult]]
    coverage: list[ScopeCoverage]
    report: SyncReport


@dataclass
class CampaignOutcome:
    summary: CampaignSummary
    report: SyncReport


@dataclass
class CampaignsOutcome:
    campaigns: list[CampaignListing]
    report: SyncReport


@dataclass
class RecentPage:
    calls: list[CallSummary]
    next_cursor: str | None
