"""ElevenLabs Agents adapter (https://api.elevenlabs.io, `xi-api-key: <key>`, not Bearer).

`GET /v1/convai/conversations` pages with the platform's opaque `cursor` → `next_cursor` and
`has_more` (`page_size` ≤ 100); our cursor records the platform cursor of the page it stands in
plus the offset inside it. List items carry no transcript: `get_call` reads
`GET /v1/convai/conversations/{conversation_id}`.

Filters:
- campaign = an ElevenLabs batch call (`batch_call_id`). The list has no batch filter and its
  items do not name their batch, so membership comes from the batch's recipients
  (`GET /v1/convai/batch-calling/{batch_id}`, cached for `BATCH_TTL_SECONDS`): the listing is
  narrowed server-side to the batch's agent and filtered client-side to its conversations. An
  unknown batch lists nothing.
- dates: `call_start_after_unix` / `call_start_before_unix` (whole seconds; whether they are
  inclusive is undocumented), sent with a one-second margin and trimmed client-side exactly.
- status: client-side, from each item's `status` and `termination_reason` (ElevenLabs' statuses
  do not split done calls into completed and voicemail, nor failed ones into busy and no answer).
- search: free text goes to the platform's own full-text search over transcript messages
  (`search=`). A phone number is matched instead against batch recipients' numbers (list items
  carry no number; transcripts rarely say it), and for a conversation outside every batch against
  its detail.

Totals: the platform reports none for conversation listings; for a campaign alone (no other
filter) the batch's conversations are counted (`PlatformTotals.calls`), otherwise `totals` is None.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx2

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
from .mapping import to_call, to_summary
from .wire import parse_batch, parse_batches, parse_conversation, parse_page

CURSOR_KIND = f"{PLATFORM.info.name}.calls"
LIST_PATH = "/v1/convai/conversations"
DETAIL_PATH = "/v1/convai/conversations/{id}"
BATCHES_PATH = "/v1/convai/batch-calling/workspace"
BATCH_PATH = "/v1/convai/batch-calling/{id}"
PAGE_SIZE = PLATFORM.info.max_page_size
BATCH_PAGE = 100
MAX_BATCH_PAGES = 100
BATCH_TTL_SECONDS = 30.0
TIME_MARGIN_SECONDS = 1

_PHONE_LIKE = re.compile(r"[\d\s()+\-.]+")


@dataclass(frozen=True)
class _Batch:
    agent_id: str | None
    # conversation id → the recipient's phone number (None when the recipient has none)
    numbers: dict[str, str | None] = field(default_factory=dict)


def phone_digits(needle: str | None) -> str | None:
    """The digits of a phone-number-like search ("+1 (555) 010-0134"), else None."""
    if needle is None:
        return None
    text = needle.strip()
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= 4 and _PHONE_LIKE.fullmatch(text) else None


def _unix_floor(value: datetime | None) -> int | None:
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return math.floor(aware.timestamp()) - TIME_MARGIN_SECONDS


def _unix_ceil(value: datetime | None) -> int | None:
    if value is None:
        return None
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return math.ceil(aware.timestamp()) + TIME_MARGIN_SECONDS


class ElevenLabsProvider:
    """ElevenLabs Agents conversations. See the module docstring for filters and paging."""

    info: ProviderInfo = PLATFORM.info

    def __init__(self, config: ProviderConfig, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        header = config.auth_header or "xi-api-key"
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
        self._batches: dict[str, tuple[float, _Batch | None]] = {}
        self._every_batch: tuple[float, dict[str, str | None]] | None = None

    async def list_calls(self, query: CallQuery, *, limit: int = 50, cursor: str | None = None) -> CallPage:
        """One page of calls (`CallSummary`), newest first.

        Raises InvalidArgumentError (bad limit or cursor) and the ProviderError subclasses of
        `ProviderHttp.get_json`. A campaign id that names no batch lists no calls.
        """
        check_limit(limit)
        phone = phone_digits(query.search)
        client_side = query.campaign_id is not None or query.status is not None or phone is not None
        platform_cursors: dict[int, str | None]
        if cursor is None:
            start = start_position(limit, PAGE_SIZE, client_side=client_side)
            platform_cursors = {0: None}
        else:
            start, state = read_cursor(CURSOR_KIND, cursor, query, max_size=PAGE_SIZE)
            stored = state.get("c")
            if stored is not None and not isinstance(stored, str):
                raise InvalidArgumentError(
                    "That cursor was not issued by this server for this listing; omit it to start over."
                )
            platform_cursors = {start.page: stored}

        batch: _Batch | None = None
        if query.campaign_id is not None:
            batch = await self._batch(query.campaign_id)
            if batch is None:  # no such batch: no calls in it
                return CallPage(calls=[])
        numbers: dict[str, str | None] = {}
        if phone is not None:
            numbers = batch.numbers if batch is not None else await self._every_recipient()

        params = {
            "agent_id": batch.agent_id if batch is not None else None,
            "call_start_after_unix": _unix_floor(query.from_date),
            "call_start_before_unix": _unix_ceil(query.to_date),
            "search": query.search if query.search is not None and phone is None else None,
            "summary_mode": "include",
            "page_size": start.size,
        }

        async def fetch(page: int) -> PlatformPage:
            try:
                body = await self._http.get_json(
                    LIST_PATH, {**params, "cursor": platform_cursors[page]}, urgent=True
                )
            except RequestRejectedError as exc:
                if platform_cursors[page] is None or exc.status not in (400, 422):
                    raise
                raise InvalidArgumentError(
                    "ElevenLabs no longer accepts this listing position (its cursor may have expired); "
                    "omit the cursor to start over."
                ) from None
            listing = parse_page(body)
            has_more = listing.has_more if listing.has_more is not None else listing.next_cursor is not None
            if has_more and not listing.next_cursor:
                # More calls, but no way to reach them: an error, not a silently short listing.
                raise MalformedResponseError(
                    self.info.name, "conversation list paging (more pages, no cursor)"
                )
            has_more = has_more and bool(listing.conversations)
            platform_cursors[page + 1] = listing.next_cursor
            calls: list[CallSummary] = []
            for item in listing.conversations:
                member = batch is None or item.conversation_id in batch.numbers
                # A batch call dials its recipient's number.
                to_number, from_number = numbers.get(item.conversation_id), None
                if phone is not None and member and item.conversation_id not in numbers:
                    # Outside every batch: only its detail says the numbers.
                    try:
                        detail = await self.get_call(item.conversation_id)
                    except NotFoundError:  # deleted since it was listed: no number to match
                        pass
                    else:
                        to_number, from_number = detail.to_number, detail.from_number
                calls.append(
                    to_summary(
                        item,
                        campaign_id=query.campaign_id if batch is not None and member else None,
                        to_number=to_number,
                        from_number=from_number,
                    )
                )
            return PlatformPage(calls=newest_first(calls), has_more=has_more, extra={})

        def keep(call: CallSummary) -> bool:
            if batch is not None and call.call_id not in batch.numbers:
                return False
            if query.status is not None and call.status is not query.status:
                return False
            if phone is not None and not any(
                phone in re.sub(r"\D", "", number or "") for number in (call.to_number, call.from_number)
            ):
                return False
            return in_date_range(call, query)

        collected = await collect(fetch, keep, start=start, limit=limit)
        following = collected.next
        next_cursor = (
            write_cursor(CURSOR_KIND, query, following, c=platform_cursors.get(following.page))
            if following is not None
            else None
        )
        # A batch names its conversations: their count is the platform's total for the campaign,
        # when nothing else narrows the listing.
        only_campaign = query.status is None and query.search is None and query.from_date is None
        totals = (
            PlatformTotals(calls=len(batch.numbers))
            if batch is not None and only_campaign and query.to_date is None
            else None
        )
        return CallPage(calls=collected.calls, next_cursor=next_cursor, totals=totals)

    async def get_call(self, call_id: str) -> Call:
        """The full conversation with its transcript, analysis and batch (campaign) id.

        Raises InvalidArgumentError (id not a single path segment), NotFoundError, and the
        ProviderError subclasses of `ProviderHttp.get_json`.
        """
        segment = path_segment(call_id)
        try:
            body = await self._http.get_json(DETAIL_PATH.format(id=segment))
        except NotFoundError:
            raise NotFoundError(self.info.name, f"call {call_id}") from None
        return to_call(parse_conversation(body))

    async def list_campaigns(self) -> list[Campaign]:
        """Every batch call of the workspace as a campaign (id, name, creation time), newest first.

        Raises the ProviderError subclasses of `ProviderHttp.get_json`.
        """
        campaigns: list[Campaign] = []
        last: str | None = None
        for _ in range(MAX_BATCH_PAGES):
            listing = parse_batches(
                await self._http.get_json(BATCHES_PATH, {"limit": BATCH_PAGE, "last_doc": last})
            )
            for batch in listing.batch_calls:
                campaigns.append(
                    Campaign(
                        provider=self.info.name,
                        campaign_id=batch.id,
                        name=text_or_none(batch.name),
                        first_call_at=parse_datetime(batch.scheduled_time_unix),
                    )
                )
            more = listing.has_more if listing.has_more is not None else listing.next_doc is not None
            if not more or not listing.next_doc or not listing.batch_calls:
                break
            last = listing.next_doc
        return campaigns

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- batch calls ---------------------------------------------------------------------------

    async def _batch(self, batch_id: str) -> _Batch | None:
        """The batch's agent and recipients (None: no such batch), cached briefly."""
        now = time.monotonic()
        cached = self._batches.get(batch_id)
        if cached is not None and now - cached[0] < BATCH_TTL_SECONDS:
            return cached[1]
        try:
            path = BATCH_PATH.format(id=path_segment(batch_id))
            detail = parse_batch(await self._http.get_json(path, urgent=True))
        except (NotFoundError, InvalidArgumentError):
            # No such batch, or an id no batch can have (not one path segment): no calls in it.
            found: _Batch | None = None
        else:
            numbers: dict[str, str | None] = {}
            for recipient in detail.recipients:
                conversation = text_or_none(recipient.conversation_id)
                if conversation is not None:
                    numbers[conversation] = text_or_none(recipient.phone_number)
            found = _Batch(agent_id=text_or_none(detail.agent_id), numbers=numbers)
        if len(self._batches) > 256:
            self._batches.clear()
        self._batches[batch_id] = (now, found)
        return found

    async def _every_recipient(self) -> dict[str, str | None]:
        """Conversation id → recipient number over every batch of the workspace (cached briefly)."""
        now = time.monotonic()
        if self._every_batch is not None and now - self._every_batch[0] < BATCH_TTL_SECONDS:
            return self._every_batch[1]
        numbers: dict[str, str | None] = {}
        for campaign in await self.list_campaigns():
            batch = await self._batch(campaign.campaign_id)
            if batch is not None:
                numbers.update(batch.numbers)
        self._every_batch = (now, numbers)
        return numbers
