"""Bland AI adapter (https://api.bland.ai, header `authorization: <key>`, no `Bearer`).

Listing: `GET /v1/calls` with index paging: `from` (inclusive), `to` and `limit`, newest first
(`sort_by=created_at`, `ascending=false`, sent explicitly). The docs' own example of `from`/`to`
contradicts itself, so the adapter never relies on their arithmetic: it asks for `limit` calls from
an index, advances by the calls it got back (`count`, by the docs; the array when they disagree)
and stops at `total_count` (or at an empty page, or a short one when there is no `total_count`).
Index paging over a list that grows would shift under a cursor, so every continuation is pinned
with `end_date` at the newest call of the listing's first page.

Filters: dates go upstream as ISO instants with offset (`start_date`/`end_date`, inclusive, on
`created_at`, which is our `started_at`) and are re-checked client-side. A campaign id goes upstream
as `campaign_id` when `GET /v1/campaigns` lists it, else as `batch_id` when `GET /v2/batches/{id}`
knows it (a batch is accepted as a campaign when no campaign has its id), else as `campaign_id`
(Bland then reports no calls). `search` is client-side (Bland has no text search): a substring of
call id, campaign, numbers (digits alone for phone-like needles). Status is client-side: list
items settle it from their documented fields where they can (`mapping.list_status`); for the others
(a finished call whose `answered_by` is still null) the detail is fetched once (at most
`MAX_LOOKUPS_PER_LIST` per answer, within the concurrency limit), its final status remembered, and
the detail kept briefly for the `get_call` that usually follows (a sync's), so no call costs two
detail requests. `completed=false` narrows an in-progress filter and `completed=true` a completed
or voicemail one upstream. Client-side filtering reads at most `MAX_REQUESTS_PER_LIST` pages per
answer and may then answer fewer calls than `limit`, with a cursor to continue.

Totals: `total_count` is `CallPage.totals.calls` when nothing was filtered client-side. Durations
and costs are not totalled by the list.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import anyio
import httpx2

from call_logs_mcp.errors import (
    CallLogsError,
    InvalidArgumentError,
    MalformedResponseError,
    NotFoundError,
    RequestRejectedError,
)
from call_logs_mcp.ids import path_segment
from call_logs_mcp.models import Call, CallPage, CallQuery, CallStatus, CallSummary, Campaign, PlatformTotals
from call_logs_mcp.providers.base import ProviderInfo
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.http import ProviderHttp
from call_logs_mcp.providers.normalize import parse_datetime, text_or_none
from call_logs_mcp.providers.paging import (
    MAX_REQUESTS_PER_LIST,
    Position,
    check_limit,
    in_date_range,
    iso_utc,
    matches_search,
    read_cursor,
    start_position,
    write_cursor,
)

from . import PLATFORM
from .mapping import detail_status, to_call, to_summary
from .wire import BlandCall, parse_batch, parse_batches, parse_call, parse_campaigns, parse_list

logger = logging.getLogger(__name__)

Kind = Literal["campaign", "batch"]

CURSOR_KIND = f"{PLATFORM.info.name}.calls"
LIST_PATH = "/v1/calls"
DETAIL_PATH = "/v1/calls/{call_id}"
CAMPAIGNS_PATH = "/v1/campaigns"
BATCHES_PATH = "/v2/batches/list"
BATCH_PATH = "/v2/batches/{batch_id}"
PAGE_SIZE = PLATFORM.info.max_page_size
BATCH_PAGE = 100
MAX_BATCH_PAGES = 50
# Most details one `list_calls` fetches to settle statuses the list fields leave open.
MAX_LOOKUPS_PER_LIST = 200
# Details so fetched are kept this long (and this many at most) for the get_call that follows.
RECENT_DETAIL_SECONDS = 60.0
RECENT_DETAILS = 256
MAX_SETTLED = 200_000

_UPSTREAM_COMPLETED: dict[CallStatus, str] = {
    CallStatus.IN_PROGRESS: "false",
    CallStatus.COMPLETED: "true",
    CallStatus.VOICEMAIL: "true",
}


@dataclass(frozen=True)
class _Scan:
    calls: list[CallSummary]
    next_index: int | None
    total: int | None
    newest: datetime | None


class BlandProvider:
    """Bland AI call logs. See the module docstring for paging, filters and campaigns."""

    info: ProviderInfo = PLATFORM.info

    def __init__(self, config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._http = ProviderHttp(
            provider=self.info.name,
            config=config,
            base_url=config.base_url or self.info.default_base_url,
            auth_header=config.auth_header or "authorization",
            auth_value=config.api_key.get_secret_value(),
            key_env_var=self.info.key_env_var,
            transport=transport,
        )
        # What each campaign id turned out to be (ids do not change kind).
        self._kinds: dict[str, Kind] = {}
        # Final statuses learned from details, for listed calls whose list fields leave it open.
        self._settled: dict[str, CallStatus] = {}
        # Details fetched to settle a listed status, for the get_call that usually follows.
        self._recent: OrderedDict[str, tuple[float, BlandCall]] = OrderedDict()

    # --- listing ----------------------------------------------------------------------------------

    async def list_calls(self, query: CallQuery, *, limit: int = 50, cursor: str | None = None) -> CallPage:
        """One page of calls (`CallSummary`), newest first.

        Raises InvalidArgumentError (bad limit or cursor) and the ProviderError subclasses of
        `ProviderHttp.get_json`.
        """
        check_limit(limit)
        client_side = query.status is not None or query.search is not None
        pin: datetime | None = None
        if cursor is None:
            start = start_position(limit, PAGE_SIZE, client_side=client_side)
            kind = await self._campaign_kind(query.campaign_id) if query.campaign_id is not None else None
        else:
            start, state = read_cursor(CURSOR_KIND, cursor, query, max_size=PAGE_SIZE)
            kind = state.get("k")
            pin = parse_datetime(state.get("t")) if state.get("t") is not None else None
            if (query.campaign_id is None) != (kind is None) or kind not in (None, "campaign", "batch"):
                raise InvalidArgumentError(
                    "That cursor was not issued by this server for this listing; omit it to start over."
                )
            if query.campaign_id is not None and kind is not None:
                self._kinds.setdefault(query.campaign_id, kind)
        scan = await self._scan(query, kind, start, limit, pin)
        pin = pin or scan.newest
        position = Position(scan.next_index, 0, start.size) if scan.next_index is not None else None
        return CallPage(
            calls=scan.calls,
            next_cursor=write_cursor(CURSOR_KIND, query, position, k=kind, t=iso_utc(pin)),
            totals=PlatformTotals(calls=scan.total) if scan.total is not None and not client_side else None,
        )

    def _params(self, query: CallQuery, kind: Kind | None, pin: datetime | None) -> dict[str, Any]:
        end = query.to_date
        if pin is not None and (end is None or pin < end):
            end = pin
        params: dict[str, Any] = {
            "sort_by": "created_at",
            "ascending": "false",
            "start_date": _with_offset(query.from_date),
            "end_date": _with_offset(end),
            "completed": _UPSTREAM_COMPLETED.get(query.status) if query.status is not None else None,
        }
        if query.campaign_id is not None:
            params["batch_id" if kind == "batch" else "campaign_id"] = query.campaign_id
        return params

    async def _scan(
        self, query: CallQuery, kind: Kind | None, start: Position, limit: int, pin: datetime | None
    ) -> _Scan:
        """Up to `limit` kept calls from the platform index `start.page` on."""
        params = self._params(query, kind, pin)
        index = start.page
        calls: list[CallSummary] = []
        total: int | None = None
        newest: datetime | None = None
        budget = MAX_LOOKUPS_PER_LIST
        for request in range(MAX_REQUESTS_PER_LIST):
            body = await self._http.get_json(
                LIST_PATH,
                {**params, "from": index, "to": index + start.size, "limit": start.size},
                urgent=True,  # a listing page is what a sync's detail fetches wait on
            )
            listing = parse_list(body)
            if request == 0:
                total = listing.total_count
            summaries = [to_summary(item, campaign_id=query.campaign_id) for item in listing.calls]
            if request == 0 and pin is None and summaries:
                newest = summaries[0].started_at
            # Settle what the list fields leave open: from statuses already learned, else from the
            # details (for the calls that pass every other filter, while the budget lasts).
            summaries = [self._settle(summary) for summary in summaries]
            unsettled = [s.call_id for s in summaries if _unsettled(s) and self._keep(s, query, None)]
            looked_up = await self._statuses(unsettled[: max(0, budget)], strict=query.status is not None)
            budget -= len(looked_up)
            for offset, summary in enumerate(summaries):
                if _unsettled(summary) and summary.call_id in unsettled:
                    found = looked_up.get(summary.call_id)
                    if found is None:
                        # Out of lookups: the next answer continues from this call.
                        return _Scan(calls, index + offset, total, newest)
                    summary = summary.model_copy(update={"status": found})
                if not self._keep(summary, query, query.status):
                    continue
                calls.append(summary)
                if len(calls) >= limit:
                    following = index + offset + 1
                    if offset + 1 < len(summaries):
                        more = True
                    elif listing.total_count is not None:
                        more = following < listing.total_count
                    else:
                        more = len(summaries) >= start.size
                    return _Scan(calls, following if more else None, total, newest)
            # The calls actually returned (`count` by the docs); see the module docstring.
            index += len(summaries)
            if not summaries:
                return _Scan(calls, None, total, newest)
            if listing.total_count is not None and index >= listing.total_count:
                return _Scan(calls, None, total, newest)
            if listing.total_count is None and len(summaries) < start.size:
                return _Scan(calls, None, total, newest)
        return _Scan(calls, index, total, newest)

    @staticmethod
    def _keep(summary: CallSummary, query: CallQuery, status: CallStatus | None) -> bool:
        if status is not None and summary.status is not status:
            return False
        if query.search is not None and not matches_search(summary, query.search):
            return False
        return in_date_range(summary, query)

    def _settle(self, summary: CallSummary) -> CallSummary:
        if _unsettled(summary) and summary.call_id in self._settled:
            return summary.model_copy(update={"status": self._settled[summary.call_id]})
        return summary

    async def _statuses(self, call_ids: Sequence[str], *, strict: bool) -> dict[str, CallStatus]:
        """The detail status of each call, fetched side by side (the HTTP layer bounds the
        concurrency); each detail is kept briefly for the `get_call` that usually follows (a
        sync's). A failed lookup raises when `strict` (a status filter cannot do without it), else
        leaves the call's status unknown."""
        found: dict[str, CallStatus] = {}
        failures: list[CallLogsError] = []

        async def look(call_id: str) -> None:
            try:
                detail = await self._detail(call_id)
            except NotFoundError:
                found[call_id] = CallStatus.UNKNOWN  # gone since it was listed: it matches no status
                return
            except CallLogsError as err:
                failures.append(err)  # raised as itself below, not inside an exception group
                found[call_id] = CallStatus.UNKNOWN
                return
            found[call_id] = self._learn(call_id, detail_status(detail)[0])
            self._keep_detail(call_id, detail)

        async with anyio.create_task_group() as group:
            for call_id in call_ids:
                group.start_soon(look, call_id)
        if failures and strict:
            raise failures[0]
        return found

    def _learn(self, call_id: str, status: CallStatus) -> CallStatus:
        """Remember a final status the list fields cannot tell (statuses of ended calls stay)."""
        if status.is_final:
            if len(self._settled) >= MAX_SETTLED:
                self._settled.clear()
            self._settled[call_id] = status
        return status

    def _keep_detail(self, call_id: str, detail: BlandCall) -> None:
        self._recent[call_id] = (time.monotonic(), detail)
        self._recent.move_to_end(call_id)
        while len(self._recent) > RECENT_DETAILS:
            self._recent.popitem(last=False)

    # --- details ----------------------------------------------------------------------------------

    async def _detail(self, call_id: str) -> BlandCall:
        segment = path_segment(call_id)
        try:
            body = await self._http.get_json(DETAIL_PATH.format(call_id=segment))
        except NotFoundError:
            raise NotFoundError(self.info.name, f"call {call_id}") from None
        return parse_call(body)

    async def get_call(self, call_id: str) -> Call:
        """The full call with its transcript.

        Raises InvalidArgumentError (id not a single path segment), NotFoundError, and the
        ProviderError subclasses of `ProviderHttp.get_json`.
        """
        kept = self._recent.pop(call_id, None)
        if kept is not None and time.monotonic() - kept[0] <= RECENT_DETAIL_SECONDS:
            detail = kept[1]  # fetched moments ago to settle its listed status
        else:
            detail = await self._detail(call_id)
        call = to_call(detail)
        self._learn(call.call_id, call.status)
        return call

    # --- campaigns and batches --------------------------------------------------------------------

    async def _campaign_kind(self, campaign_id: str) -> Kind:
        """Whether `campaign_id` names a Bland campaign or a batch (a campaign when neither)."""
        known = self._kinds.get(campaign_id)
        if known is not None:
            return known
        campaigns = parse_campaigns(await self._http.get_json(CAMPAIGNS_PATH, urgent=True))
        for campaign in campaigns.campaigns:
            self._kinds[campaign.campaign_id] = "campaign"
        if campaign_id in self._kinds:
            return self._kinds[campaign_id]
        try:
            segment = path_segment(campaign_id)
            batch = parse_batch(await self._http.get_json(BATCH_PATH.format(batch_id=segment), urgent=True))
        except (InvalidArgumentError, NotFoundError, RequestRejectedError, MalformedResponseError):
            # Not a batch we can ask about (an id no URL path can carry, unknown, refused, or an
            # answer that is not a batch): `campaign_id` it is, and Bland answers for the filter.
            return "campaign"
        if batch.data is None or batch.data.id != campaign_id:
            return "campaign"
        self._kinds[campaign_id] = "batch"
        return "batch"

    async def list_campaigns(self) -> list[Campaign]:
        """Bland's campaigns (with their names and the platform's call counts), then its batches,
        named "batch: <description>".

        Raises the ProviderError subclasses of `ProviderHttp.get_json`.
        """
        campaigns = parse_campaigns(await self._http.get_json(CAMPAIGNS_PATH))
        out: list[Campaign] = []
        for campaign in campaigns.campaigns:
            self._kinds[campaign.campaign_id] = "campaign"
            count = campaign.count
            out.append(
                Campaign(
                    provider=self.info.name,
                    campaign_id=campaign.campaign_id,
                    name=text_or_none(campaign.campaign_name),
                    call_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
                )
            )
        for page in range(MAX_BATCH_PAGES):
            batches = parse_batches(
                await self._http.get_json(BATCHES_PATH, {"take": BATCH_PAGE, "skip": page * BATCH_PAGE})
            )
            data = batches.data or []
            for batch in data:
                if self._kinds.setdefault(batch.id, "batch") != "batch":
                    continue  # a campaign has this id: `campaign_id` means the campaign
                description = text_or_none(batch.description)
                out.append(
                    Campaign(
                        provider=self.info.name,
                        campaign_id=batch.id,
                        name=f"batch: {description}" if description else "batch",
                        first_call_at=None,
                    )
                )
            if len(data) < BATCH_PAGE:
                break
        return out

    async def aclose(self) -> None:
        await self._http.aclose()


def _with_offset(value: datetime | None) -> str | None:
    """`2026-02-19T05:00:30+00:00`: the docs' form of an instant ("with timezone offset")."""
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()


def _unsettled(summary: CallSummary) -> bool:
    """Whether a listed call's status is left open by the list fields (`mapping.list_status`)."""
    return summary.status is CallStatus.UNKNOWN
