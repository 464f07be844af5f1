"""CallCamp adapter (https://callcamp.ai, `Authorization: Bearer cc_tok_…`).

`GET /api/calls` with `campaignUuid`, `status`, `search`, `startDate`/`endDate` (YYYY-MM-DD),
1-based `page` and `limit`; `GET /api/calls/{uuid}` for the transcript.

Filters: campaign, search and the four statuses CallCamp knows (completed, failed, busy,
no-answer) are applied upstream; other statuses are applied client-side (and match nothing
CallCamp reports). Our dates are instants: we send the UTC days that cover them (`endDate`
inclusive, as documented) and trim client-side to the exact instants. Listed calls get the
query's campaign id (CallCamp's call objects lack it).

Totals: `total`, `totalDuration` and `totalPrice` describe the platform's filtered set; they are
passed on in `CallPage.totals` only when that set is exactly ours: no client-side status filter,
and dates (if any) that fall on whole UTC days. Otherwise `totals` is None. `currency` is set when
every call of the first page agrees on one.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import httpx2

from call_logs_mcp.errors import NotFoundError, UnsupportedError
from call_logs_mcp.ids import path_segment
from call_logs_mcp.models import (
    Call,
    CallPage,
    CallQuery,
    CallSummary,
    Campaign,
    PlatformTotals,
)
from call_logs_mcp.providers.base import ProviderInfo
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.http import ProviderHttp
from call_logs_mcp.providers.paging import (
    PlatformPage,
    check_limit,
    collect,
    in_date_range,
    newest_first,
    read_cursor,
    start_position,
    write_cursor,
)

from . import PLATFORM
from .mapping import SERVER_STATUS_FILTER, to_call
from .wire import CallCampList, parse_call, parse_list

CURSOR_KIND = f"{PLATFORM.info.name}.calls"
LIST_PATH = "/api/calls"
DETAIL_PATH = "/api/calls/{uuid}"
PAGE_SIZE = PLATFORM.info.max_page_size


def _utc_day(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.date().isoformat()


def _whole_days(query: CallQuery) -> bool:
    """Whether the date filter covers whole UTC days, so CallCamp's day filter equals ours
    (timestamps are whole seconds, so a range ending at 23:59:59 covers the day)."""
    for value, boundary in ((query.from_date, "start"), (query.to_date, "end")):
        if value is None:
            continue
        clock = (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).time()
        if boundary == "start" and clock != time(0, 0):
            return False
        if boundary == "end" and clock < time(23, 59, 59):
            return False
    return True


class CallCampProvider:
    """CallCamp call logs. See the module docstring for filters and totals."""

    info: ProviderInfo = PLATFORM.info

    def __init__(self, config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._http = ProviderHttp(
            provider=self.info.name,
            config=config,
            base_url=config.base_url or self.info.default_base_url,
            auth_header="Authorization",
            auth_value=f"Bearer {config.api_key.get_secret_value()}",
            key_env_var=self.info.key_env_var,
            transport=transport,
        )

    async def list_calls(self, query: CallQuery, *, limit: int = 50, cursor: str | None = None) -> CallPage:
        """One page of calls (`CallSummary`), newest first.

        Raises InvalidArgumentError (bad limit or cursor) and the ProviderError subclasses of
        `ProviderHttp.get_json`.
        """
        check_limit(limit)
        server_status = SERVER_STATUS_FILTER.get(query.status) if query.status is not None else None
        exact = (query.status is None or server_status is not None) and _whole_days(query)
        if cursor is None:
            start = start_position(limit, PAGE_SIZE, client_side=not exact)
        else:
            start = read_cursor(CURSOR_KIND, cursor, query, max_size=PAGE_SIZE)[0]

        async def fetch(page: int) -> PlatformPage:
            body = await self._http.get_json(
                LIST_PATH,
                {
                    "campaignUuid": query.campaign_id,
                    "status": server_status,
                    "search": query.search,
                    "startDate": _utc_day(query.from_date),
                    "endDate": _utc_day(query.to_date),
                    "page": page + 1,
                    "limit": start.size,
                },
                urgent=True,  # a listing page is what a sync's detail fetches wait on
            )
            listing = parse_list(body)
            return PlatformPage(
                calls=newest_first(
                    [to_call(item, campaign_id=query.campaign_id).summary_only() for item in listing.calls]
                ),
                has_more=_has_more(listing, page, start.size),
                extra={"listing": listing},
            )

        def keep(call: CallSummary) -> bool:
            # Search is not re-checked: CallCamp also matches campaign and record names we lack.
            if query.status is not None and call.status is not query.status:
                return False
            return in_date_range(call, query)

        collected = await collect(fetch, keep, start=start, limit=limit)
        listing = collected.first_page.extra["listing"]
        totals = _totals(listing) if exact and isinstance(listing, CallCampList) else None
        return CallPage(
            calls=collected.calls,
            next_cursor=write_cursor(CURSOR_KIND, query, collected.next),
            totals=totals,
        )

    async def get_call(self, call_id: str) -> Call:
        """The full call with its transcript (no campaign id: CallCamp's detail lacks it).

        Raises InvalidArgumentError (id not a single path segment), NotFoundError, and the
        ProviderError subclasses of `ProviderHttp.get_json`.
        """
        segment = path_segment(call_id)
        try:
            body = await self._http.get_json(DETAIL_PATH.format(uuid=segment))
        except NotFoundError:
            raise NotFoundError(self.info.name, f"call {call_id}") from None
        return to_call(parse_call(body))

    async def list_campaigns(self) -> list[Campaign]:
        """Raises UnsupportedError: CallCamp documents no campaign listing endpoint."""
        raise UnsupportedError(
            self.info.name,
            f"{self.info.name} has no campaign listing endpoint; campaigns are known from their calls.",
        )

    async def aclose(self) -> None:
        await self._http.aclose()


def _has_more(listing: CallCampList, page: int, size: int) -> bool:
    if not listing.calls:
        return False
    if listing.total_pages is not None:
        return page + 1 < listing.total_pages
    if listing.total is not None:
        return (page + 1) * (listing.limit or size) < listing.total
    return len(listing.calls) >= (listing.limit or size)


def _totals(listing: CallCampList) -> PlatformTotals | None:
    if listing.total is None and listing.total_duration is None and listing.total_price is None:
        return None
    currencies = {call.currency for call in listing.calls if isinstance(call.currency, str) and call.currency}
    return PlatformTotals(
        calls=listing.total,
        duration_seconds=listing.total_duration,
        cost=listing.total_price,
        currency=currencies.pop() if len(currencies) == 1 else None,
    )
