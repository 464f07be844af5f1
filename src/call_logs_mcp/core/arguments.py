"""Tool arguments in, domain values out: dates, statuses, speakers, ids, listing filters.

Every parser raises InvalidArgumentError saying what is wrong and what is accepted; none of them
repeats the offending value (it may be anything a model was told to send).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from urllib.parse import unquote

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.ids import path_segment
from call_logs_mcp.models import CallQuery, CallStatus, Speaker

MAX_LIMIT = 100
# Dates a tool accepts: no call predates 1970, and the far end keeps a margin for the day and
# time-zone arithmetic done on them (year 9999 plus an offset does not exist).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

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


def validate_id(value: str, *, what: str = "call id") -> str:
    """`value` unchanged once it is known to be exactly one URL path segment on every platform.

    Raises InvalidArgumentError (see `call_logs_mcp.ids.path_segment`) naming `what`.
    """
    path_segment(value, what=what)
    return value


def check_limit(limit: int) -> None:
    """Raises InvalidArgumentError unless 1 <= `limit` <= 100 (rows or hits per page)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_LIMIT}.")


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
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise error from None
    except OverflowError:  # year 1 or 9999 moved out of range by its offset
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise InvalidArgumentError(
            f"Invalid {field_name}: use a date between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)."
        )
    return moment


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


def parse_campaign_id(value: str | None) -> str | None:
    """A campaign id (stripped; None when blank). Raises InvalidArgumentError when it is too long
    or not one URL path segment."""
    campaign = optional_text(value, "campaign_id", max_chars=200)
    if campaign is not None:
        validate_id(campaign, what="campaign_id")
    return campaign


def required_campaign_id(value: str | None) -> str:
    """Like `parse_campaign_id`, and raises InvalidArgumentError when it is missing or blank."""
    campaign = parse_campaign_id(value)
    if campaign is None:
        raise InvalidArgumentError("campaign_id is required (list_campaigns shows the ids).")
    return campaign


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
    return CallQuery(
        campaign_id=parse_campaign_id(campaign_id),
        status=parse_status(status),
        from_date=start,
        to_date=end,
        search=optional_text(search, "search", max_chars=200),
    )


def optional_text(value: str | None, name: str, *, max_chars: int) -> str | None:
    """Stripped free text; None when blank. Raises InvalidArgumentError when longer than
    `max_chars` or holding control or unpaired surrogate characters."""
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
        return uri_provider, validate_id(unquote(encoded))
    return provider, validate_id(text)
