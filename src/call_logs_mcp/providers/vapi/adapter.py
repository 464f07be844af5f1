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

Side by side: once an answer has a page behind it (a cursor), the width of time that holds about
a page is known, and an answer asked for several pages splits the time below the boundary into
adjacent windows `(createdAtGt, createdAtLe]`, asked at once (the HTTP layer keeps them within the
concurrency and rate limits): the first continues the keyset (its `createdAtLe` is the boundary,
the ids seen there are dropped), the last is open below (a short answer there ends the listing).
Windows are walked in order; a window that comes back whole moves the boundary to its lower bound
(nothing seen there: `createdAtGt` left it to the next window); one that comes back full (the
guess was too narrow) is asked again from its oldest call (the same tie rule) until it is
whole, before the windows after it are walked. Bounded windows may hold twice the expected
page; the width is re-estimated from each round. So no call is lost or repeated whatever the
density, and the cursor stays what it was: a keyset position (plus the width in use).

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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx2

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
# Most `GET /call` requests one answer makes when it keeps every call it reads (a sync): 24 pages
# side by side keep the pipe full (at 20 req/s and 100 ms latency a round of n requests reaches
# n / (n + 1) of the rate limit); a window cut short only costs the rest of its round.
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
    (None at the top) and the ids already returned at exactly that instant."""

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


def _windows(position: _Position, width: timedelta, count: int, floor: datetime | None) -> list[_Window]:
    """`count` adjacent windows below the position, each `width` wide (expected to hold about a
    page), the first continuing the keyset at the boundary, the last open below. Bounded windows
    may hold twice the expected page before they count as cut short."""
    assert position.boundary is not None
    windows: list[_Window] = []
    upper = position.boundary
    for index in range(count):
        lower = _ms(upper - width)
        if index == count - 1 or (floor is not None and lower <= floor):
            windows.append(_Window(upper, None, position.size + (len(position.seen) if index == 0 else 0)))
            break
        size = 2 * position.size + (len(position.seen) if index == 0 else 0)
        windows.append(_Window(upper, lower, min(MAX_LIMIT, size)))
        upper = lower
    return windows


def _floor(query: CallQuery, created: datetime | None) -> datetime | None:
    """The oldest `createdAt` a listing asks for: a day before `from_date` (a call is created
    before it starts), and never before the campaign it is filtered by was created."""
    lower = query.from_date - CREATED_LOOKBACK if query.from_date is not None else None
    bounds = [bound for bound in (lower, created) if bound is not None]
    return max(bounds) if bounds else None


def _ms(value: datetime) -> datetime:
    """`value` floored to a whole millisecond (Vapi's instants are milliseconds)."""
    return value - timedelta(microseconds=value.microsecond % 1000)


def _next_width(
    previous: timedelta | None, covered: timedelta, calls: int, size: int, windows: int
) -> timedelta:
    """How wide a window should be to hold about `size` calls, from the last round: `calls`
    created over `covered`; after a round with (almost) none, a wider guess."""
    if calls >= 2 and covered > timedelta(0):
        return max(_MIN_WIDTH, covered * size / calls)
    base = previous if previous is not None else covered
    return min(_MAX_WIDTH, max(_MIN_WIDTH, base * (windows + 1)))


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
        or not 1 <= len(ids) <= _MAX_SEEN
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


class VapiProvider:
    """Vapi call logs. See the module docstring for paging and filters."""

    info: ProviderInfo = PLATFORM.info

    def __init__(self, config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        header = config.auth_header or "Authorization"
        key = config.api_key.get_secret_value()
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

        calls: list[CallSummary] = []
        requests = 0
        # A listing filtered here may skip most of what it reads: few pages per answer. One that
        # keeps every call may read more, asked side by side (the HTTP layer keeps them within
        # the concurrency and rate limits).
        filtered = any(v is not None for v in (query.campaign_id, query.status, query.search))
        most = MAX_REQUESTS_PER_LIST if filtered else MAX_WINDOWS_PER_LIST
        floor = _floor(query, position.floor)
        while True:
            if width is None or position.boundary is None:
                # Nothing to size windows by yet (or the top of the listing): one keyset page.
                # The calls already returned at the boundary come back too: ask for them on top.
                windows = [
                    _Window(position.boundary, None, min(MAX_LIMIT, position.size + len(position.seen)))
                ]
            else:
                wanted = math.ceil((limit - len(calls)) / position.size)
                count = max(1, min(wanted, most - requests))
                windows = _windows(position, width, count, floor)
            pages = await self._fetch_windows(query, windows, floor)
            requests += len(windows)
            top, walked = position.boundary, 0
            for number, (window, items) in enumerate(zip(windows, pages, strict=True)):
                while True:
                    fresh = [(item, created) for item, created in items if not position.passed(item, created)]
                    full = len(items) >= window.size
                    if (number == 0 or window.upper == position.boundary) and full and not fresh:
                        # A full page of calls already walked: Vapi did not apply `createdAtLe`.
                        raise MalformedResponseError(
                            self.info.name, "call list (the createdAtLe bound was not applied)"
                        )
                    for index, (item, created) in enumerate(fresh):
                        position.advance(item, created)
                        call = to_call(item)
                        if _keep(call, query):
                            calls.append(call)
                        if len(calls) >= limit:
                            last = window.above is None and index + 1 == len(fresh) and not full
                            return CallPage(
                                calls=calls,
                                next_cursor=None if last else position.cursor(query, width),
                                totals=totals,
                            )
                    walked += len(fresh)
                    if not full or window.above is None or requests >= most:
                        break
                    # Cut short (more calls than guessed): the rest of this window, from its
                    # oldest call, before the windows below it.
                    window = _Window(
                        position.boundary,
                        window.above,
                        min(MAX_LIMIT, 2 * position.size + len(position.seen)),
                    )
                    items = await self._fetch(query, window, floor)
                    requests += 1
                if full:
                    break  # the open window, or out of requests: the next round goes on from here
                if window.above is None:
                    return CallPage(calls=calls, totals=totals)  # the oldest window came back whole
                position.close_at(window.above)
            if top is not None and position.boundary is not None:
                width = _next_width(width, top - position.boundary, walked, position.size, len(windows))
            elif walked >= 2 and position.boundary is not None:
                newest = max(created for page in pages for _, created in page)
                width = _next_width(None, newest - position.boundary, walked, position.size, 1)
            if requests >= most:
                return CallPage(calls=calls, next_cursor=position.cursor(query, width), totals=totals)

    async def _fetch_windows(
        self, query: CallQuery, windows: Sequence[_Window], floor: datetime | None
    ) -> list[list[tuple[VapiCall, datetime]]]:
        """The windows' pages, asked side by side (within the configured concurrency)."""
        pages: list[list[tuple[VapiCall, datetime]]] = [[] for _ in windows]

        async def one(index: int, window: _Window) -> None:
            pages[index] = await self._fetch(query, window, floor)

        if len(windows) == 1:
            pages[0] = await self._fetch(query, windows[0], floor)
            return pages
        async with anyio.create_task_group() as group:
            for index, window in enumerate(windows):
                group.start_soon(one, index, window)
        return pages

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
