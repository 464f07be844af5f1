"""Vapi adapter (https://api.vapi.ai, `Authorization: Bearer <private API key>`).

Listing: `GET /call` answers a bare array of whole calls, with no cursor, total or documented
order. We page by keyset on `createdAt`: ask for `limit` calls with `createdAtLe` = the oldest
`createdAt` seen so far, and drop the ids already returned at exactly that instant, so calls
sharing one `createdAt` are neither lost nor repeated across a page boundary. `limit` is the page
size plus those ids (they come back), so a page brings a page of new calls. A page shorter than
`limit` is the last; a full page of calls already walked means Vapi ignored `createdAtLe` and is
a `MalformedResponseError` (never a loop); so are more than 1000 calls on one instant, which no
`limit` can page. Each page is sorted newest first by (`createdAt`, id) before it is walked,
whatever order Vapi used. The paginated `/v2/call` (removed from the
published OpenAPI in January 2026) is not used, and undocumented query parameters are never sent.

Side by side: once the walk has a page behind it, the width of time that holds about a page is
known, and the time below the boundary is split into adjacent windows `(createdAtGt,
createdAtLe]`, asked ahead of the walk: a new window goes out as soon as a connection is free
(one window in flight per connection, and the HTTP layer keeps them within the rate limit; no
rounds that wait for each other), while the windows that answered are walked in order. The first
window continues the keyset (its `createdAtLe` is the boundary, the ids seen there are dropped);
a window that comes back whole moves the boundary to its lower bound (nothing seen there:
`createdAtGt` left it to the next window); one that comes back full (the guess was too narrow) is
asked again from its oldest call (the same tie rule) until it is whole, before the windows after
it are walked. A window is open below (a short answer there ends the listing) when it is the last
one the answer needs, when it reaches the listing's floor, or after a window came back empty (a
gap, or the oldest call); nothing is asked below an open window until it is walked. Bounded
windows may hold twice the expected page; each window's width comes from the density of the last
windows walked. So no call is lost or repeated whatever the density, and the cursor stays a
keyset position (plus the width in use). `list_call_pages` hands the calls over window by window,
each page with the cursor after it, so a sync stores them while the walk goes on; past the
oldest call, the windows already asked (one per connection) come back empty.

Filters: `GET /call` filters only by id, assistant, phone number and created/updated instants.
`to_date` is sent as `createdAtLe` (a call is created before it starts, so nothing that started
by then is cut), `from_date` as `createdAtGe` one `CREATED_LOOKBACK` earlier (a call may be
created, queued or scheduled before it starts); both are then trimmed client-side to the exact
start instants. Campaign, status and search are applied client-side across pages (at most
`MAX_REQUESTS_PER_LIST` pages per answer; an answer may then hold fewer calls than `limit`, with a
cursor to continue). A campaign-filtered listing first reads the campaign (`GET /campaign/{id}`):
its `calls` map gives the exact call count (`CallPage.totals`), a campaign Vapi does not have
answers an empty page at once instead of a walk through the whole account, and the walk asks
nothing created before the campaign (`createdAtGe` = its `createdAt`): a campaign's calls are
made after it. `Campaign.calls` is not walked id by id: its values are untyped (no time), so a
newest-first answer would need every call fetched first, one request per call instead of a page.

Cost is USD (`cost`); Vapi reports no totals for a listing, so `totals` is None except for the
campaign count above.
"""

from __future__ import annotations

import logging
import math
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx2
from anyio.abc import TaskGroup

from call_logs_mcp.cursors import decode_cursor, encode_cursor
from call_logs_mcp.errors import (
    InvalidArgumentError,
    MalformedResponseError,
    NotFoundError,
    RequestRejectedError,
)
from call_logs_mcp.ids import path_segment
from call_logs_mcp.models import Call, CallPage, CallQuery, CallSummary, Campaign, PlatformTotals
from call_logs_mcp.providers.base import ProviderInfo
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.http import ProviderHttp
from call_logs_mcp.providers.normalize import parse_datetime, text_or_none
from call_logs_mcp.providers.paging import (
    MAX_REQUESTS_PER_LIST,
    check_limit,
    in_date_range,
    iso_utc,
    matches_search,
    query_fingerprint,
    start_position,
)

from . import PLATFORM
from .mapping import to_call
from .wire import VapiCall, parse_call, parse_campaigns, parse_list

logger = logging.getLogger(__name__)

CURSOR_KIND = f"{PLATFORM.info.name}.calls"
LIST_PATH = "/call"
DETAIL_PATH = "/call/{id}"
CAMPAIGNS_PATH = "/campaign"
CAMPAIGN_PATH = "/campaign/{id}"
PAGE_SIZE = PLATFORM.info.max_page_size
MAX_LIMIT = 1000  # the OpenAPI's maximum `limit` for `GET /call` and `GET /campaign`
CREATED_LOOKBACK = timedelta(days=1)
MAX_CAMPAIGN_PAGES = 50
_MAX_SEEN = 1000
# Fewest `GET /call` requests one answer may make when it keeps every call it reads (a sync may
# make about twice the pages it asks for: windows that come back short or empty, and windows cut
# short, are asked again).
MAX_WINDOWS_PER_LIST = 24
# Bounds of a window's width (the time expected to hold a page of calls).
_MIN_WIDTH = timedelta(milliseconds=1)
_MAX_WIDTH = timedelta(days=3660)
# The OpenAPI's `format: uuid` of call and campaign ids.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_BAD_CURSOR = (
    "That cursor was not issued by this server for this listing; "
    "pass the next_cursor value from the previous answer unchanged, or omit it to start over."
)


class _Position:
    """Where a listing resumes: the page size in use, the inclusive `createdAt` upper bound
    (None at the top) and the ids already returned at exactly that instant (none when a window
    ended there: its lower bound is exclusive)."""

    def __init__(
        self, size: int, boundary: datetime | None, seen: set[str], floor: datetime | None = None
    ) -> None:
        self.size = size
        self.boundary = boundary
        self.seen = seen
        # The oldest `createdAt` the listing can hold (`createdAtGe`): a campaign's calls are
        # created after the campaign itself.
        self.floor = floor

    def passed(self, call: VapiCall, created: datetime) -> bool:
        """Whether `call` was already walked (above the boundary, or returned at it)."""
        if self.boundary is None:
            return False
        return created > self.boundary or (created == self.boundary and call.id in self.seen)

    def advance(self, call: VapiCall, created: datetime) -> None:
        if self.boundary is None or created < self.boundary:
            self.boundary, self.seen = created, set()
        self.seen.add(call.id)

    def close_at(self, lower: datetime) -> None:
        """Everything created after `lower` was walked (a window `(lower, boundary]` came back
        whole): the walk continues with `createdAtLe = lower`, nothing seen there yet."""
        self.boundary, self.seen = lower, set()

    def cursor(self, query: CallQuery, width: timedelta | None) -> str:
        assert self.boundary is not None
        state: dict[str, Any] = {
            "n": self.size,
            "q": query_fingerprint(query),
            "le": iso_utc(self.boundary),
            "ids": sorted(self.seen),
        }
        if width is not None:
            state["w"] = width.total_seconds()
        if self.floor is not None:
            state["ge"] = iso_utc(self.floor)
        return encode_cursor(CURSOR_KIND, state)


@dataclass(frozen=True)
class _Window:
    """One `GET /call` request: calls created in `(above, upper]` (`above` None: everything up
    to `upper`, down to the query's lower bound: the listing ends when it is not full)."""

    upper: datetime | None
    above: datetime | None
    size: int


def _floor(query: CallQuery, created: datetime | None) -> datetime | None:
    """The oldest `createdAt` a listing asks for: a day before `from_date` (a call is created
    before it starts), and never before the campaign it is filtered by was created."""
    lower = query.from_date - CREATED_LOOKBACK if query.from_date is not None else None
    bounds = [bound for bound in (lower, created) if bound is not None]
    return max(bounds) if bounds else None


def _ms(value: datetime) -> datetime:
    """`value` floored to a whole millisecond (Vapi's instants are milliseconds)."""
    return value - timedelta(microseconds=value.microsecond % 1000)


def _next_width(covered: timedelta, calls: int, size: int) -> timedelta | None:
    """How wide a window should be to hold about `size` calls, when `calls` were created over
    `covered` (None when that says nothing: fewer than two calls, or all on one instant)."""
    if calls < 2 or covered <= timedelta(0):
        return None
    return min(_MAX_WIDTH, max(_MIN_WIDTH, covered * size / calls))


def _read_cursor(cursor: str, query: CallQuery) -> tuple[_Position, timedelta | None]:
    """The position and the window width in use. Raises InvalidArgumentError for a cursor of
    another listing or one we did not issue."""
    state = decode_cursor(CURSOR_KIND, cursor)
    size, bound, ids, width = state.get("n"), state.get("le"), state.get("ids"), state.get("w", 0)
    boundary = parse_datetime(bound) if isinstance(bound, str) and len(bound) <= 40 else None
    lowest = state.get("ge")
    floor = parse_datetime(lowest) if isinstance(lowest, str) and len(lowest) <= 40 else None
    if (
        (lowest is not None and floor is None)
        or not isinstance(size, int)
        or isinstance(size, bool)
        or not 1 <= size <= MAX_LIMIT
        or boundary is None
        or not isinstance(ids, list)
        or len(ids) > _MAX_SEEN
        or not all(isinstance(i, str) and 0 < len(i) <= 200 for i in ids)
        or isinstance(width, bool)
        or not isinstance(width, int | float)
        or not 0 <= width <= _MAX_WIDTH.total_seconds()
    ):
        raise InvalidArgumentError(_BAD_CURSOR)
    if state.get("q") != query_fingerprint(query):
        raise InvalidArgumentError(
            "That cursor belongs to a listing with different filters; repeat the same filters "
            "with it, or omit the cursor to start over."
        )
    window = timedelta(seconds=width) if width else None
    return _Position(size, boundary, set(ids), floor), window


def _keep(call: CallSummary, query: CallQuery) -> bool:
    if query.status is not None and call.status is not query.status:
        return False
    if query.campaign_id is not None and call.campaign_id != query.campaign_id:
        return False
    if query.search is not None and not matches_search(call, query.search):
        return False
    return in_date_range(call, query)


class _Answered:
    """A window's answer, once it arrives: its calls (newest first), or the error it met."""

    def __init__(self, window: _Window) -> None:
        self.window = window
        self.done = anyio.Event()
        self.items: list[tuple[VapiCall, datetime]] = []
        self.error: Exception | None = None

    async def result(self) -> list[tuple[VapiCall, datetime]]:
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.items


OnPage = Callable[[CallPage], Awaitable[bool]]


class _Walk:
    """One answer's walk down the listing (see the module docstring): the calls it keeps (handed
    to `on_page` window by window when given), the requests it made, and the density of the
    last windows walked, which sizes the next ones."""

    def __init__(
        self,
        provider: VapiProvider,
        query: CallQuery,
        position: _Position,
        floor: datetime | None,
        limit: int,
        totals: PlatformTotals | None,
        on_page: OnPage | None,
    ) -> None:
        self.provider, self.query, self.position, self.floor = provider, query, position, floor
        self.limit, self.totals, self.on_page = limit, totals, on_page
        # A listing filtered here may skip most of what it reads: few pages per answer. One that
        # keeps every call (a sync) may read more: about twice the pages it needs, at most.
        filtered = any(v is not None for v in (query.campaign_id, query.status, query.search))
        self.most = (
            MAX_REQUESTS_PER_LIST
            if filtered
            else max(MAX_WINDOWS_PER_LIST, 2 * math.ceil(limit / position.size) + 4)
        )
        self.calls: list[CallSummary] = []  # kept and not handed over yet
        self.kept = 0
        self.walked = 0
        self.requests = 0
        self.width: timedelta | None = None
        # (time covered, calls created in it) of the last windows walked.
        self.density: deque[tuple[timedelta, int]] = deque(maxlen=4)

    def page(self, *, last: bool = False) -> CallPage:
        """The calls kept and not handed over yet, with the cursor after them (None: the end)."""
        cursor = None if last else self.position.cursor(self.query, self.width)
        page = CallPage(calls=self.calls, next_cursor=cursor, totals=self.totals)
        self.calls = []
        self.totals = None  # said once, with the first page
        return page

    async def hand_over(self) -> bool:
        """Hand the calls walked so far to `on_page` (a sync stores them while the walk goes on);
        whether the caller wants more."""
        if self.on_page is not None and self.calls:
            return await self.on_page(self.page())
        return True

    def take(self, window: _Window, items: list[tuple[VapiCall, datetime]]) -> CallPage | None:
        """Walk one answered window's calls not walked yet; the answer's last page once `limit`
        calls are kept. Raises MalformedResponseError for a full page of calls already walked."""
        position, query = self.position, self.query
        fresh = [(item, created) for item, created in items if not position.passed(item, created)]
        full = len(items) >= window.size
        if full and not fresh:
            # A full page of calls already walked: Vapi did not apply `createdAtLe`.
            raise MalformedResponseError(
                PLATFORM.info.name, "call list (the createdAtLe bound was not applied)"
            )
        for index, (item, created) in enumerate(fresh):
            position.advance(item, created)
            call = to_call(item)
            self.walked += 1
            if _keep(call, query):
                self.calls.append(call)
                self.kept += 1
            if self.kept >= self.limit and self.on_page is None:
                return self.page(last=window.above is None and index + 1 == len(fresh) and not full)
        return None

    def observe(self, covered: timedelta, calls: int) -> None:
        """`calls` were created over `covered`: re-size the windows (wider after empty ones)."""
        self.density.append((covered, calls))
        span = sum((seen for seen, _ in self.density), timedelta(0))
        estimate = _next_width(span, sum(n for _, n in self.density), self.position.size)
        if estimate is not None:
            self.width = estimate
        elif self.width is not None:
            self.width = min(_MAX_WIDTH, self.width * 4)

    def _expected(self) -> float:
        """Calls a window is expected to add to the answer (the share kept so far)."""
        share = self.kept / self.walked if self.walked else 1.0
        return self.position.size * max(share, 0.05)

    async def keyset(self) -> CallPage | None:
        """Keyset pages, one at a time, until a window width is known; the answer when it ends
        first (None: go on with windows)."""
        position = self.position
        while self.width is None or position.boundary is None:
            # The calls already returned at the boundary come back too: ask for them on top.
            top = position.boundary
            window = _Window(top, None, min(MAX_LIMIT, position.size + len(position.seen)))
            items = await self.provider._fetch(self.query, window, self.floor)
            self.requests += 1
            if len(items) >= 2:
                newest = top if top is not None else items[0][1]
                self.width = _next_width(newest - items[-1][1], len(items), position.size) or self.width
            answer = self.take(window, items)
            if answer is not None:
                return answer
            if len(items) < window.size:
                return self.page(last=True)  # a short page: the listing's end
            if self.requests >= self.most:
                return self.page()
            if not await self.hand_over() or self.kept >= self.limit:
                return self.page()  # the caller has what it wants: the rest from the cursor
        return None

    async def windows(self) -> CallPage:
        """The rest of the answer from windows (see the module docstring), asked ahead as far
        as the connections allow and walked in order. Raises what a window's request raised,
        when the walk reaches it."""
        failure: Exception | None = None
        answer: CallPage | None = None
        async with anyio.create_task_group() as group:
            try:
                answer = await self._pipeline(group)
            except Exception as error:  # raised as itself, not as a group of one
                failure = error
            group.cancel_scope.cancel()  # windows asked ahead and not needed
        if failure is not None:
            raise failure
        assert answer is not None
        return answer

    async def _pipeline(self, group: TaskGroup) -> CallPage:
        position = self.position
        depth = self.provider.window_depth
        pending: deque[_Answered] = deque()  # asked and not walked yet, in order
        # The upper bound of the next window to ask for; None behind an open window.
        upper: datetime | None = position.boundary
        open_next = declined = False

        def top_up() -> None:
            """Ask for the next windows, as many as the connections allow and the answer still
            needs: one per connection and one more, in flight or answered and waiting for the walk
            (so a connection freed while the walk maps and hands over a window is used; past the
            oldest call, these come back empty)."""
            nonlocal upper
            while (
                upper is not None
                and not declined
                and len(pending) <= depth
                and self.requests < self.most
                and self.kept + self._expected() * len(pending) < self.limit
            ):
                assert self.width is not None
                lower = _ms(upper - self.width)
                last_needed = self.kept + self._expected() * (len(pending) + 1) >= self.limit
                ahead = len(position.seen) if upper == position.boundary else 0
                if open_next or last_needed or (self.floor is not None and lower <= self.floor):
                    # Open below: a short answer here ends the listing.
                    window = _Window(upper, None, min(MAX_LIMIT, position.size + ahead))
                else:
                    # Bounded windows may hold twice the expected page before they are cut short.
                    window = _Window(upper, lower, min(MAX_LIMIT, 2 * position.size + ahead))
                answered = _Answered(window)
                group.start_soon(fetch, answered)
                pending.append(answered)
                self.requests += 1
                upper = window.above

        async def fetch(answered: _Answered) -> None:
            nonlocal open_next
            try:
                answered.items = await self.provider._fetch(self.query, answered.window, self.floor)
            except Exception as error:  # raised in order, when the walk reaches this window
                answered.error = error
            finally:
                answered.done.set()
            if not answered.items and answered.error is None:
                open_next = True  # a gap, or past the oldest call: the next window is open below
            top_up()  # a connection is free: the next window goes out now, not after the walk

        while True:
            top_up()
            if not pending:
                return self.page()  # out of requests
            head = pending.popleft()
            window, items = head.window, await head.result()
            while True:
                top = position.boundary
                answer = self.take(window, items)
                if answer is not None:
                    return answer
                full = len(items) >= window.size
                if not full or window.above is None or self.requests >= self.most or declined:
                    break
                # Cut short (more calls than guessed): the rest of this window, from its oldest
                # call, before the windows below it.
                assert top is not None and position.boundary is not None
                self.observe(top - position.boundary, len(items))
                window = _Window(
                    position.boundary, window.above, min(MAX_LIMIT, 2 * position.size + len(position.seen))
                )
                items = await self.provider._fetch(self.query, window, self.floor)
                self.requests += 1
            if not await self.hand_over() or self.kept >= self.limit:
                # The caller wants no more (or has its `limit`): nothing new is asked; the windows
                # already asked are still walked and handed over (their requests are spent), then
                # the answer ends.
                declined = True
            if full and window.above is not None:
                return self.page()  # out of requests (or declined) inside a window: the next answer goes on
            if full:
                # An open window came back full: go on from its oldest call.
                assert top is not None and position.boundary is not None
                self.observe(top - position.boundary, len(items))
                upper, open_next = position.boundary, False
            elif window.above is None:
                return self.page(last=True)  # the oldest window came back whole
            else:
                assert top is not None
                self.observe(top - window.above, len(items))
                position.close_at(window.above)


class VapiProvider:
    """Vapi call logs. See the module docstring for paging and filters."""

    info: ProviderInfo = PLATFORM.info

    def __init__(self, config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        header = config.auth_header or "Authorization"
        key = config.api_key.get_secret_value()
        # Windows asked ahead of the one being walked: one per connection.
        self.window_depth = config.max_concurrency
        self._http = ProviderHttp(
            provider=self.info.name,
            config=config,
            base_url=config.base_url or self.info.default_base_url,
            auth_header=header,
            auth_value=f"Bearer {key}" if header.lower() == "authorization" else key,
            key_env_var=self.info.key_env_var,
            transport=transport,
        )

    async def list_calls(self, query: CallQuery, *, limit: int = 50, cursor: str | None = None) -> CallPage:
        """One page of full calls (`Call`), newest first by `createdAt`.

        Raises InvalidArgumentError (bad limit or cursor) and the ProviderError subclasses of
        `ProviderHttp.get_json`.
        """
        return await self.list_call_pages(query, limit=limit, cursor=cursor)

    async def list_call_pages(
        self, query: CallQuery, *, limit: int, cursor: str | None = None, on_page: OnPage | None = None
    ) -> CallPage:
        """`list_calls`, handing the calls to `on_page` window by window as they are walked (each
        page with the cursor after it; the sync engine stores them while the walk goes on) and
        answering the rest. Once `limit` calls are handed over nothing new is asked, but the
        windows already asked are still walked and handed over (their requests are spent), so a
        few more calls than `limit` may come. `on_page` answers whether to go on: when it says no,
        the same. The answer is what was walked since (usually nothing) with its cursor. Raises as
        `list_calls`; what `on_page` raises stops the walk."""
        check_limit(limit)
        totals: PlatformTotals | None = None
        width: timedelta | None = None
        if cursor is None:
            client_side = any(
                value is not None
                for value in (query.campaign_id, query.status, query.search, query.from_date)
            )
            largest = min(MAX_LIMIT, self.info.max_page_size)
            position = _Position(start_position(limit, largest, client_side=client_side).size, None, set())
            if query.campaign_id is not None:
                found = await self._campaign(query.campaign_id)
                if found is None:
                    return CallPage(calls=[], totals=PlatformTotals(calls=0))
                count, position.floor = found
                if query.status is None and query.search is None and query.from_date is None:
                    totals = None if query.to_date is not None else PlatformTotals(calls=count)
        else:
            position, width = _read_cursor(cursor, query)

        walk = _Walk(self, query, position, _floor(query, position.floor), limit, totals, on_page)
        walk.width = width
        answer = await walk.keyset()
        return answer if answer is not None else await walk.windows()

    async def _fetch(
        self, query: CallQuery, window: _Window, floor: datetime | None
    ) -> list[tuple[VapiCall, datetime]]:
        upper = window.upper if window.upper is not None else query.to_date
        if window.upper is not None and query.to_date is not None:
            upper = min(window.upper, query.to_date)
        params: dict[str, Any] = {"limit": window.size, "createdAtLe": iso_utc(upper)}
        if window.above is not None:
            params["createdAtGt"] = iso_utc(window.above)
        else:
            params["createdAtGe"] = iso_utc(floor)
        body = await self._http.get_json(LIST_PATH, params, urgent=True)  # a sync waits on listings
        pairs: list[tuple[VapiCall, datetime]] = []
        for item in parse_list(body):
            created = item.created
            assert created is not None  # parse_list refuses items without it
            pairs.append((item, created))
        pairs.sort(key=lambda pair: (pair[1], pair[0].id), reverse=True)
        return pairs

    async def _campaign(self, campaign_id: str) -> tuple[int, datetime | None] | None:
        """How many calls the campaign's `calls` map holds (0 when Vapi gives no map) and when
        the campaign was created (None when unreadable), or None when Vapi has no such campaign
        (an id that is not a UUID is none of Vapi's: not asked)."""
        if not _UUID.fullmatch(campaign_id):
            return None
        try:
            body = await self._http.get_json(CAMPAIGN_PATH.format(id=campaign_id))
        except NotFoundError:
            return None
        except RequestRejectedError as exc:
            if exc.status == 400:  # not a UUID: not one of Vapi's campaign ids
                return None
            raise
        page = parse_campaigns([body])
        if not page.results:
            return 0, None
        campaign = page.results[0]
        created = parse_datetime(campaign.created_at) if isinstance(campaign.created_at, str) else None
        return (len(campaign.calls) if isinstance(campaign.calls, dict) else 0), created

    async def get_call(self, call_id: str) -> Call:
        """The full call.

        Raises InvalidArgumentError (id not a single path segment), NotFoundError (unknown id, or
        one that is not a UUID), and the ProviderError subclasses of `ProviderHttp.get_json`.
        """
        segment = path_segment(call_id)
        if not _UUID.fullmatch(call_id):
            # The OpenAPI types call ids as UUIDs: anything else is not one of Vapi's (not asked).
            raise NotFoundError(self.info.name, f"call {call_id}")
        try:
            body = await self._http.get_json(DETAIL_PATH.format(id=segment))
        except NotFoundError:
            raise NotFoundError(self.info.name, f"call {call_id}") from None
        except RequestRejectedError as exc:
            # The OpenAPI types the id as a UUID; Vapi refuses anything else with a 400.
            if exc.status == 400:
                raise NotFoundError(self.info.name, f"call {call_id}") from None
            raise
        return to_call(parse_call(body))

    async def list_campaigns(self) -> list[Campaign]:
        """Every campaign (`GET /campaign`, page by page), with its name and the number of calls
        its `calls` map holds. Raises the ProviderError subclasses of `ProviderHttp.get_json`."""
        campaigns: list[Campaign] = []
        for page in range(1, MAX_CAMPAIGN_PAGES + 1):
            body = await self._http.get_json(CAMPAIGNS_PATH, {"page": page, "limit": PAGE_SIZE})
            listing = parse_campaigns(body)
            campaigns += [
                Campaign(
                    provider=self.info.name,
                    campaign_id=item.id,
                    name=text_or_none(item.name) if isinstance(item.name, str) else None,
                    call_count=len(item.calls) if isinstance(item.calls, dict) else None,
                )
                for item in listing.results
            ]
            if not _more_campaigns(listing.metadata, page, len(listing.results)):
                return campaigns
        logger.warning("%s: stopped listing campaigns after %d pages", self.info.name, MAX_CAMPAIGN_PAGES)
        return campaigns

    async def aclose(self) -> None:
        await self._http.aclose()


def _more_campaigns(metadata: dict[str, Any], page: int, count: int) -> bool:
    if count == 0:
        return False
    total_pages = metadata.get("totalPages")
    if isinstance(total_pages, int | float) and not isinstance(total_pages, bool):
        return page < total_pages
    total = metadata.get("totalItems")
    per_page = metadata.get("itemsPerPage") or PAGE_SIZE
    if isinstance(total, int | float) and not isinstance(total, bool) and isinstance(per_page, int | float):
        return page * per_page < total
    return count >= PAGE_SIZE


__all__: Sequence[str] = ["VapiProvider"]
