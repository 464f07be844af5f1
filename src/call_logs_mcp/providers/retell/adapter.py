"""Retell AI adapter (https://api.retellai.com, `Authorization: Bearer <key>`).

`POST /v3/list-calls` with a JSON body (`filter_criteria`, `sort_order`, `limit`, the opaque
`pagination_key`, `include_total`) → `{items, pagination_key, has_more, total?}`, newest first;
`GET /v2/get-call/{call_id}` for the transcript (list items carry none).

Filters, built from the SDK's typed filter models (`call_list_params.py`):
- campaign → `batch_call_id` `{type: string, op: eq}`: a campaign is a Retell batch call. Items do
  not name their batch, so listed calls get the query's campaign id, and this filter cannot be
  re-checked (or applied) client-side.
- dates → `start_timestamp` in epoch ms: `{type: number, op: ge|le}` for one bound, `{type: range,
  op: bt}` for both, each widened by 1 ms (whether `bt` includes its bounds is not documented),
  then trimmed client-side to the exact instants.
- status → `call_status` (and `disconnection_reason` for busy and no-answer) `{type: enum, op:
  in}`, exactly where our status is a set of those values (busy, no-answer); otherwise the
  nearest superset is sent (completed and voicemail: `ended`; failed: `not_connected`/`error`) and
  the status is checked client-side. In progress is client-side only: the filter's enum has no
  `registered`, so a server-side `ongoing` would drop registered calls.
- search → client-side (call id, campaign id, phone numbers, summary; `matches_search`).

Every filter is re-checked client-side where the item allows it. A 400 to the first page of a
filtered listing is read as "Retell does not take that filter": the page is asked again without the
status and date filters (applied client-side from then on, for this adapter); a 400 that remains
while a batch filter is sent means the campaign filter is unsupported, reported in
`unsupported_filters` with no calls (never passed off as an empty campaign). A 400 to a later page
(one sent with a `pagination_key`) means the position was refused (an expired key, say): an
InvalidArgumentError, on which a resumed sync starts over. A 400 without filters is the caller's
error.

Paging: positions as in `providers.paging`; the cursor also carries the `pagination_key` of the
page it points into, so a listing resumes with Retell's own keyset cursor (stable while new calls
arrive). `include_total` is asked on the first page of a listing applied wholly server-side, and
`CallPage.totals.calls` is Retell's `total` then; Retell reports no duration or cost totals.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

import httpx2

from call_logs_mcp.errors import InvalidArgumentError, NotFoundError, RequestRejectedError, UnsupportedError
from call_logs_mcp.ids import path_segment
from call_logs_mcp.models import Call, CallPage, CallQuery, CallStatus, CallSummary, Campaign, PlatformTotals
from call_logs_mcp.providers.base import ProviderInfo
from call_logs_mcp.providers.config import ProviderConfig
from call_logs_mcp.providers.http import ProviderHttp
from call_logs_mcp.providers.paging import (
    PlatformPage,
    check_limit,
    collect,
    in_date_range,
    matches_search,
    newest_first,
    read_cursor,
    start_position,
    write_cursor,
)

from . import PLATFORM
from .mapping import to_call
from .wire import parse_call, parse_list

logger = logging.getLogger(__name__)

CURSOR_KIND = f"{PLATFORM.info.name}.calls"
LIST_PATH = "/v3/list-calls"
DETAIL_PATH = "/v2/get-call/{call_id}"
PAGE_SIZE = PLATFORM.info.max_page_size

# Our status → the `call_status` values that hold it (a superset unless `EXACT_STATUS` says so)
# and the `disconnection_reason` values that narrow it.
STATUS_FILTER: dict[CallStatus, tuple[list[str], list[str] | None]] = {
    CallStatus.COMPLETED: (["ended"], None),
    CallStatus.VOICEMAIL: (["ended"], None),
    CallStatus.FAILED: (["not_connected", "error"], None),
    CallStatus.BUSY: (["not_connected", "error"], ["dial_busy"]),
    CallStatus.NO_ANSWER: (["not_connected", "error"], ["dial_no_answer"]),
}
EXACT_STATUS = frozenset({CallStatus.BUSY, CallStatus.NO_ANSWER})
# Filter groups a 400 can take away (the batch filter cannot be replaced client-side).
STATUS_KEYS = ("call_status", "disconnection_reason")
DATE_KEYS = ("start_timestamp",)


def _ms(value: datetime) -> float:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.timestamp() * 1000


def date_filter(query: CallQuery) -> dict[str, Any] | None:
    """`start_timestamp` for the query's dates, each bound widened by 1 ms (module docstring)."""
    low = math.floor(_ms(query.from_date)) - 1 if query.from_date is not None else None
    high = math.ceil(_ms(query.to_date)) + 1 if query.to_date is not None else None
    if low is not None and high is not None:
        return {"type": "range", "op": "bt", "value": [low, high]}
    if low is not None:
        return {"type": "number", "op": "ge", "value": low}
    if high is not None:
        return {"type": "number", "op": "le", "value": high}
    return None


def status_filters(status: CallStatus | None) -> dict[str, Any]:
    """The `call_status` / `disconnection_reason` filters for `status` (empty: client-side)."""
    if status is None or status not in STATUS_FILTER:
        return {}
    statuses, reasons = STATUS_FILTER[status]
    out: dict[str, Any] = {"call_status": {"type": "enum", "op": "in", "value": statuses}}
    if reasons is not None:
        out["disconnection_reason"] = {"type": "enum", "op": "in", "value": reasons}
    return out


class RetellProvider:
    """Retell call logs. See the module docstring for filters, paging and totals."""

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
        # Filter groups Retell answered 400 to: applied client-side from then on.
        self._refused: set[str] = set()

    def filter_criteria(self, query: CallQuery) -> dict[str, Any]:
        """The v3 `filter_criteria` this adapter sends for `query` (module docstring)."""
        criteria: dict[str, Any] = {}
        if query.campaign_id is not None:
            criteria["batch_call_id"] = {"type": "string", "op": "eq", "value": query.campaign_id}
        if "status" not in self._refused:
            criteria.update(status_filters(query.status))
        dates = date_filter(query) if "dates" not in self._refused else None
        if dates is not None:
            criteria["start_timestamp"] = dates
        return criteria

    def _exact(self, query: CallQuery) -> bool:
        """Whether Retell's filtered set is exactly ours (so its total is our total)."""
        status_exact = query.status is None or (
            query.status in EXACT_STATUS and "status" not in self._refused
        )
        dates_exact = query.from_date is None and query.to_date is None
        return status_exact and dates_exact and query.search is None

    async def list_calls(self, query: CallQuery, *, limit: int = 50, cursor: str | None = None) -> CallPage:
        """One page of calls (`CallSummary`), newest first.

        Raises InvalidArgumentError (bad limit or cursor, or a position Retell refuses),
        RequestRejectedError (a 400 to an unfiltered first page, or another 4xx) and the
        ProviderError subclasses of `ProviderHttp.post_json`.
        """
        check_limit(limit)
        keys: dict[int, str | None]
        if cursor is None:
            start = start_position(limit, PAGE_SIZE, client_side=not self._exact(query))
            keys = {0: None}
        else:
            start, state = read_cursor(CURSOR_KIND, cursor, query, max_size=PAGE_SIZE)
            key = state.get("k")
            if (key is None) != (start.page == 0) or not (key is None or isinstance(key, str)):
                raise InvalidArgumentError(
                    "That cursor was not issued by this server for this listing; omit it to start over."
                )
            keys = {start.page: key}
        unsupported: list[str] = []

        async def fetch(page: int) -> PlatformPage:
            body: dict[str, Any] = {"sort_order": "descending", "limit": start.size}
            if keys[page] is not None:
                body["pagination_key"] = keys[page]
            if page == 0 and self._exact(query):
                body["include_total"] = True
            answer = await self._list(query, body)
            if answer is None:
                unsupported.append("campaign_id")
                return PlatformPage(calls=[], has_more=False, extra={})
            listing = parse_list(answer)
            keys[page + 1] = listing.pagination_key
            calls = [to_call(item, campaign_id=query.campaign_id).summary_only() for item in listing.items]
            return PlatformPage(
                calls=newest_first(calls), has_more=listing.more, extra={"total": listing.total}
            )

        def keep(call: CallSummary) -> bool:
            if query.status is not None and call.status is not query.status:
                return False
            if query.search is not None and not matches_search(call, query.search):
                return False
            return in_date_range(call, query)

        collected = await collect(fetch, keep, start=start, limit=limit)
        total = collected.first_page.extra.get("total")
        totals = PlatformTotals(calls=total) if isinstance(total, int) and self._exact(query) else None
        following = collected.next
        return CallPage(
            calls=collected.calls,
            next_cursor=write_cursor(
                CURSOR_KIND, query, following, k=keys.get(following.page) if following else None
            ),
            totals=totals,
            unsupported_filters=unsupported,
        )

    async def _list(self, query: CallQuery, body: dict[str, Any]) -> Any:
        """The listing's JSON, or None when Retell refuses the batch filter (module docstring)."""
        while True:
            criteria = self.filter_criteria(query)
            sent = {**body, "filter_criteria": criteria} if criteria else body
            try:
                return await self._http.post_json(LIST_PATH, sent, urgent=True)
            except RequestRejectedError as exc:
                if exc.status == 400 and "pagination_key" in body:
                    # Filters are tried on a listing's first page; a later 400 is the position.
                    raise InvalidArgumentError(
                        "Retell refused this listing position (its pagination key may have "
                        "expired); omit the cursor to start over."
                    ) from None
                if exc.status != 400 or not criteria:
                    raise
                if any(key in criteria for key in STATUS_KEYS) and "status" not in self._refused:
                    self._refused.add("status")
                elif any(key in criteria for key in DATE_KEYS) and "dates" not in self._refused:
                    self._refused.add("dates")
                else:
                    logger.warning("%s: the batch_call_id filter was refused (HTTP 400)", self.info.name)
                    return None
                logger.warning(
                    "%s: a filtered listing was refused (HTTP 400); applying %s client-side",
                    self.info.name,
                    " and ".join(sorted(self._refused)),
                )

    async def get_call(self, call_id: str) -> Call:
        """The full call with its transcript (no campaign id: Retell's calls do not carry it).

        Raises InvalidArgumentError (id not a single path segment), NotFoundError, and the
        ProviderError subclasses of `ProviderHttp.get_json`.
        """
        segment = path_segment(call_id)
        try:
            body = await self._http.get_json(DETAIL_PATH.format(call_id=segment))
        except NotFoundError:
            raise NotFoundError(self.info.name, f"call {call_id}") from None
        return to_call(parse_call(body))

    async def list_campaigns(self) -> list[Campaign]:
        """Raises UnsupportedError: Retell has no batch-call listing (batches are create-only)."""
        raise UnsupportedError(
            self.info.name,
            f"{self.info.name} has no batch call listing; campaigns are the batch ids you name "
            "(or the campaigns file) and are known from their calls.",
        )

    async def aclose(self) -> None:
        await self._http.aclose()
