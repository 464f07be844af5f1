"""Prosper adapter (https://voice.getprosperapp.com).

Two API shapes exist in the wild (`simulator.py` in this folder serves and documents both):

- "guide" (the export guide, tried first): `GET /api/v1/campaigns/call-logs` with a 1-based
  `page`, `page_size` ≤ 100, `status`, `from_date`, `to_date`, `campaign_id`; summaries only.
- "openapi" (the published OpenAPI, used when the guide's list answers 404):
  `GET /api/v1/call-logs` with a 0-based `page`, `limit` ≤ 1000, no `status`; items carry the
  full call (transcript included), so they are returned as `Call` instances and
  `info.capabilities.list_includes_details` is True once this variant is detected.

The variant detected is remembered per adapter instance and recorded in cursors.

Filters: campaign and dates are sent upstream (dates as ISO 8601 instants) and dates are also
trimmed client-side to the exact instants. `status` is sent upstream only for the values the guide
documents (completed, failed, in_progress) and otherwise, and always in the OpenAPI variant,
applied client-side. Prosper has no free-text search: `search` is applied client-side as a
case-insensitive substring of call id, campaign id, phone numbers (digits only for phone-like
needles) and summary. Client-side filtering reads at most `MAX_REQUESTS_PER_LIST` platform pages
per call and may then answer fewer calls than `limit` with a cursor to continue.
`CallPage.totals.calls` is the platform's `total`, reported only when nothing was filtered
client-side (so it is never wrong).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Literal

import httpx2

from call_logs_mcp.errors import InvalidArgumentError, NotFoundError, RequestRejectedError, UnsupportedError
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
    iso_utc,
    matches_search,
    newest_first,
    read_cursor,
    start_position,
    write_cursor,
)

from . import PLATFORM
from .mapping import SERVER_STATUS_FILTER, to_call
from .wire import ProsperCallLog, parse_call, parse_list

logger = logging.getLogger(__name__)

Variant = Literal["guide", "openapi"]

CURSOR_KIND = f"{PLATFORM.info.name}.calls"
GUIDE_LIST_PATH = "/api/v1/campaigns/call-logs"
OPENAPI_LIST_PATH = "/api/v1/call-logs"
DETAIL_PATHS = ("/api/v1/call-logs/{id}", "/api/v1/campaigns/call-logs/{id}")
PAGE_SIZE = PLATFORM.info.max_page_size

GUIDE_CAPABILITIES = PLATFORM.info.capabilities
# The OpenAPI shape lists full calls, but its call logs carry no campaign id.
OPENAPI_CAPABILITIES = dataclasses.replace(
    GUIDE_CAPABILITIES, list_includes_details=True, records_name_campaign=False
)


class ProsperProvider:
    """Prosper call logs. See the module docstring for how filters are applied."""

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
        self._variant: Variant | None = None

    @property
    def variant(self) -> Variant | None:
        """The API shape this account answered with, once a listing has detected it."""
        return self._variant

    def _remember(self, variant: Variant) -> None:
        if self._variant != variant:
            logger.info("%s: using the %s call-log list endpoint", self.info.name, variant)
            capabilities = GUIDE_CAPABILITIES if variant == "guide" else OPENAPI_CAPABILITIES
            self.info = dataclasses.replace(self.info, capabilities=capabilities)
        self._variant = variant

    async def list_calls(self, query: CallQuery, *, limit: int = 50, cursor: str | None = None) -> CallPage:
        """One page of calls, newest first. List items are `CallSummary`, or full `Call` when the
        platform's list carried the details (OpenAPI variant).

        Raises InvalidArgumentError (bad limit or cursor), NotFoundError (neither list endpoint
        exists at the base URL), and the ProviderError subclasses of `ProviderHttp.get_json`.
        """
        check_limit(limit)
        variant: Variant | None = self._variant
        server_status = SERVER_STATUS_FILTER.get(query.status) if query.status is not None else None
        if cursor is None:
            client_side = (
                query.search is not None
                or query.from_date is not None
                or query.to_date is not None
                or (query.status is not None and (variant == "openapi" or server_status is None))
            )
            start = start_position(limit, PAGE_SIZE, client_side=client_side)
        else:
            start, state = read_cursor(CURSOR_KIND, cursor, query, max_size=PAGE_SIZE)
            if state.get("v") not in ("guide", "openapi"):
                raise InvalidArgumentError(
                    "That cursor was not issued by this server for this listing; omit it to start over."
                )
            variant = state["v"]
            # A fresh adapter continuing a stored cursor (a resumed sync) learns the shape from it.
            self._remember(state["v"])

        async def fetch(page: int) -> PlatformPage:
            nonlocal variant
            if variant == "openapi":
                return await self._fetch_openapi(query, page, start.size)
            if variant == "guide":
                return await self._fetch_guide(query, page, start.size, server_status)
            try:
                fetched = await self._fetch_guide(query, page, start.size, server_status)
                variant = "guide"
            except NotFoundError:
                try:
                    fetched = await self._fetch_openapi(query, page, start.size)
                except NotFoundError:
                    where = f"call-log list endpoint at this base URL (check {self.info.base_url_env_var})"
                    raise NotFoundError(self.info.name, where) from None
                variant = "openapi"
            self._remember(variant)
            return fetched

        def status_upstream() -> bool:
            return variant == "guide" and server_status is not None

        def keep(call: CallSummary) -> bool:
            # Server-side filters are re-checked too: cheap, and a platform that ignores a
            # parameter then costs completeness of a page, not correctness.
            if query.status is not None and call.status is not query.status:
                return False
            if query.campaign_id is not None and call.campaign_id != query.campaign_id:
                return False
            if query.search is not None and not matches_search(call, query.search):
                return False
            return in_date_range(call, query)

        collected = await collect(fetch, keep, start=start, limit=limit)
        used: Variant = variant or "guide"  # the first fetch always settles it
        client_side = (
            query.search is not None
            or query.from_date is not None
            or query.to_date is not None
            or (query.status is not None and not status_upstream())
        )
        total = collected.first_page.extra.get("total")
        totals = PlatformTotals(calls=total) if isinstance(total, int) and not client_side else None
        return CallPage(
            calls=collected.calls,
            next_cursor=write_cursor(CURSOR_KIND, query, collected.next, v=used),
            totals=totals,
        )

    async def _fetch_guide(self, query: CallQuery, page: int, size: int, status: str | None) -> PlatformPage:
        body = await self._http.get_json(
            GUIDE_LIST_PATH,
            {
                "campaign_id": query.campaign_id,
                "page": page + 1,
                "page_size": size,
                "status": status,
                "from_date": iso_utc(query.from_date),
                "to_date": iso_utc(query.to_date),
            },
            urgent=True,  # a listing page is what a sync's detail fetches wait on
        )
        listing = parse_list(body)
        served = listing.page_size or size
        if listing.announces_next_page:
            has_more = listing.next_page is not None
        elif listing.total is not None:
            has_more = (page + 1) * served < listing.total
        else:
            has_more = len(listing.items) >= served
        return PlatformPage(
            calls=self._map_items(listing.items, query), has_more=has_more, extra={"total": listing.total}
        )

    async def _fetch_openapi(self, query: CallQuery, page: int, size: int) -> PlatformPage:
        body = await self._http.get_json(
            OPENAPI_LIST_PATH,
            {
                "campaign_id": query.campaign_id,
                "page": page,
                "limit": size,
                "from_date": iso_utc(query.from_date),
                "to_date": iso_utc(query.to_date),
            },
            urgent=True,  # a listing page is what a sync's detail fetches wait on
        )
        listing = parse_list(body)
        if listing.announces_next_page:
            has_more = listing.next_page is not None
        elif listing.page_count is not None:
            has_more = page + 1 < listing.page_count
        else:
            has_more = len(listing.items) >= size
        return PlatformPage(
            calls=self._map_items(listing.items, query), has_more=has_more, extra={"total": listing.total}
        )

    @staticmethod
    def _map_items(items: list[ProsperCallLog], query: CallQuery) -> list[CallSummary]:
        calls: list[CallSummary] = []
        for item in items:
            call = to_call(item, campaign_id=query.campaign_id)
            # Keep the full call only when the list really carried its transcript.
            calls.append(call if "transcript" in item.model_fields_set else call.summary_only())
        return newest_first(calls)

    async def get_call(self, call_id: str) -> Call:
        """The full call. Tries `/api/v1/call-logs/{id}`, then `/api/v1/campaigns/call-logs/{id}`.

        Raises InvalidArgumentError (id not a single path segment), NotFoundError (neither path
        knows the id, or Prosper rejects a non-integer id), and the ProviderError subclasses of
        `ProviderHttp.get_json`.
        """
        segment = path_segment(call_id)
        for template in DETAIL_PATHS:
            try:
                body = await self._http.get_json(
                    template.format(id=segment),
                    {"include_recordings": "true"} if template == DETAIL_PATHS[0] else None,
                )
            except NotFoundError:
                continue
            except RequestRejectedError as exc:
                # Both docs type call-log ids as integers and Prosper answers 422, not 404, for
                # an id that is not one: for us that is an id Prosper does not have.
                if exc.status == 422 and not call_id.isdigit():
                    continue
                raise
            return to_call(parse_call(body))
        raise NotFoundError(self.info.name, f"call {call_id}")

    async def list_campaigns(self) -> list[Campaign]:
        """Raises UnsupportedError: Prosper documents no campaign listing endpoint."""
        raise UnsupportedError(
            self.info.name,
            f"{self.info.name} has no campaign listing endpoint; campaigns are known from their calls.",
        )

    async def aclose(self) -> None:
        await self._http.aclose()
