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

Filters: `GET /call` filters only by id, assistant, phone number and created/updated instants.
`to_date` is sent as `createdAtLe` (a call is created before it starts, so nothing that started
by then is cut), `from_date` as `createdAtGe` one `CREATED_LOOKBACK` earlier (a call may be
created, queued or scheduled before it starts); both are then trimmed client-side to the exact
start instants. Campaign, status and search are applied client-side across pages (at most
`MAX_REQUESTS_PER_LIST` pages per answer; an answer may then hold fewer calls than `limit`, with a
cursor to continue). A campaign-filtered listing first reads the campaign (`GET /campaign/{id}`):
its `calls` map gives the exact call count (`CallPage.totals`), and a campaign Vapi does not have
answers an empty page at once instead of a walk through the whole account.

Cost is USD (`cost`); Vapi reports no totals for a listing, so `totals` is None except for the
campaign count above.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

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
# The OpenAPI's `format: uuid` of call and campaign ids.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_BAD_CURSOR = (
    "That cursor was not issued by this server for this listing; "
    "pass the next_cursor value from the previous answer unchanged, or omit it to start over."
)


class _Position:
    """Where a listing resumes: the page size in use, the inclusive `createdAt` upper bound
    (None at the top) and the ids already returned at exactly that instant."""

    def __init__(self, size: int, boundary: datetime | None, seen: set[str]) -> None:
        self.size = size
        self.boundary = boundary
        self.seen = seen

    def passed(self, call: VapiCall, created: datetime) -> bool:
        """Whether `call` was already walked (above the boundary, or returned at it)."""
        if self.boundary is None:
            return False
        return created > self.boundary or (created == self.boundary and call.id in self.seen)

    def advance(self, call: VapiCall, created: datetime) -> None:
        if self.boundary is None or created < self.boundary:
            self.boundary, self.seen = created, set()
        self.seen.add(call.id)

    def cursor(self, query: CallQuery) -> str:
        assert self.boundary is not None
        state = {
            "n": self.size,
            "q": query_fingerprint(query),
            "le": iso_utc(self.boundary),
            "ids": sorted(self.seen),
        }
        return encode_cursor(CURSOR_KIND, state)


def _read_cursor(cursor: str, query: CallQuery) -> _Position:
    """Raises InvalidArgumentError for a cursor of another listing or one we did not issue."""
    state = decode_cursor(CURSOR_KIND, cursor)
    size, bound, ids = state.get("n"), state.get("le"), state.get("ids")
    boundary = parse_datetime(bound) if isinstance(bound, str) and len(bound) <= 40 else None
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or not 1 <= size <= MAX_LIMIT
        or boundary is None
        or not isinstance(ids, list)
        or not 1 <= len(ids) <= _MAX_SEEN
        or not all(isinstance(i, str) and 0 < len(i) <= 200 for i in ids)
    ):
        raise InvalidArgumentError(_BAD_CURSOR)
    if state.get("q") != query_fingerprint(query):
        raise InvalidArgumentError(
            "That cursor belongs to a listing with different filters; repeat the same filters "
            "with it, or omit the cursor to start over."
        )
    return _Position(size, boundary, set(ids))


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
        if cursor is None:
            client_side = any(
                value is not None
                for value in (query.campaign_id, query.status, query.search, query.from_date)
            )
            largest = min(MAX_LIMIT, self.info.max_page_size)
            position = _Position(start_position(limit, largest, client_side=client_side).size, None, set())
            if query.campaign_id is not None:
                count = await self._campaign_call_count(query.campaign_id)
                if count is None:
                    return CallPage(calls=[], totals=PlatformTotals(calls=0))
                if query.status is None and query.search is None and query.from_date is None:
                    totals = None if query.to_date is not None else PlatformTotals(calls=count)
        else:
            position = _read_cursor(cursor, query)

        calls: list[CallSummary] = []
        requests = 0
        while True:
            # The calls already returned at the boundary instant come back too: ask for them on
            # top, so a page still brings `size` new calls.
            size = min(MAX_LIMIT, position.size + len(position.seen))
            items = await self._fetch(query, position.boundary, size)
            requests += 1
            fresh = [(item, created) for item, created in items if not position.passed(item, created)]
            for index, (item, created) in enumerate(fresh):
                position.advance(item, created)
                call = to_call(item)
                if _keep(call, query):
                    calls.append(call)
                if len(calls) >= limit:
                    last = index + 1 == len(fresh) and len(items) < size
                    return CallPage(
                        calls=calls, next_cursor=None if last else position.cursor(query), totals=totals
                    )
            if len(items) < size:
                return CallPage(calls=calls, totals=totals)
            if not fresh:
                # A full page of calls already walked: Vapi did not apply `createdAtLe`.
                raise MalformedResponseError(
                    self.info.name, "call list (the createdAtLe bound was not applied)"
                )
            if requests >= MAX_REQUESTS_PER_LIST:
                if position.boundary is None:
                    return CallPage(calls=calls, totals=totals)
                return CallPage(calls=calls, next_cursor=position.cursor(query), totals=totals)

    async def _fetch(
        self, query: CallQuery, boundary: datetime | None, size: int
    ) -> list[tuple[VapiCall, datetime]]:
        upper = boundary if boundary is not None else query.to_date
        if boundary is not None and query.to_date is not None:
            upper = min(boundary, query.to_date)
        lower = query.from_date - CREATED_LOOKBACK if query.from_date is not None else None
        body = await self._http.get_json(
            LIST_PATH,
            {"limit": size, "createdAtLe": iso_utc(upper), "createdAtGe": iso_utc(lower)},
            urgent=True,  # a listing page is what a sync waits on
        )
        pairs: list[tuple[VapiCall, datetime]] = []
        for item in parse_list(body):
            created = item.created
            assert created is not None  # parse_list refuses items without it
            pairs.append((item, created))
        pairs.sort(key=lambda pair: (pair[1], pair[0].id), reverse=True)
        return pairs

    async def _campaign_call_count(self, campaign_id: str) -> int | None:
        """How many calls the campaign's `calls` map holds (0 when Vapi gives no map), or None
        when Vapi has no such campaign (an id that is not a UUID is none of Vapi's: not asked)."""
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
        calls = page.results[0].calls if page.results else None
        return len(calls) if isinstance(calls, dict) else 0

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
