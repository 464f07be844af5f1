"""Pure, tolerant parsing shared by the adapters' `mapping` modules.

Everything here turns a loosely typed wire value into a domain value, or None when the value is
absent or unreadable; none of it raises. Structural problems (a list where an object belongs, a
missing id) are the wire models' business and become `MalformedResponseError` there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

from call_logs_mcp.errors import MalformedResponseError
from call_logs_mcp.models import Agent, CallStatus, Speaker, Turn

# --- statuses -------------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STATUS_WORDS: dict[CallStatus, frozenset[str]] = {
    CallStatus.COMPLETED: _words(
        "completed complete done ended success successful succeeded answered finished"
    ),
    CallStatus.FAILED: _words(
        "failed failure fail error errored canceled cancelled rejected undeliverable invalid_number aborted"
    ),
    CallStatus.BUSY: _words("busy user_busy customer_busy line_busy"),
    CallStatus.NO_ANSWER: _words(
        "no_answer noanswer not_answered unanswered missed did_not_answer customer_did_not_answer no_response"
    ),
    CallStatus.IN_PROGRESS: _words(
        "in_progress inprogress ongoing active ringing queued initiated dialing started pending "
        "scheduled live calling in_call"
    ),
    CallStatus.VOICEMAIL: _words(
        "voicemail voice_mail machine answering_machine machine_detected left_voicemail"
    ),
}
_STATUS_BY_WORD: dict[str, CallStatus] = {
    word: status for status, words in _STATUS_WORDS.items() for word in words
}


def _status_key(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


def normalize_status(raw: object) -> CallStatus:
    """A platform's status word in our vocabulary (`unknown` when it is not one we know)."""
    if not isinstance(raw, str) or not raw.strip():
        return CallStatus.UNKNOWN
    return _STATUS_BY_WORD.get(_status_key(raw), CallStatus.UNKNOWN)


def status_from_ended_reason(raw: object) -> CallStatus:
    """The outcome implied by an "ended reason" such as `customer-ended-call` or
    `customer-did-not-answer` (the OpenAPI variant of Prosper carries no status field)."""
    if not isinstance(raw, str) or not raw.strip():
        return CallStatus.UNKNOWN
    direct = normalize_status(raw)
    if direct is not CallStatus.UNKNOWN:
        return direct
    key = _status_key(raw)
    if "voicemail" in key or "machine" in key:
        return CallStatus.VOICEMAIL
    if "busy" in key:
        return CallStatus.BUSY
    if any(part in key for part in ("did_not_answer", "no_answer", "not_answer", "unanswered")):
        return CallStatus.NO_ANSWER
    if any(part in key for part in ("error", "fail", "cancel", "reject")):
        return CallStatus.FAILED
    if any(
        part in key
        for part in ("ended", "hangup", "hung_up", "completed", "exceeded", "timed_out", "transferred")
    ):
        return CallStatus.COMPLETED
    return CallStatus.UNKNOWN


# --- speakers -------------------------------------------------------------------------------------

AGENT_WORDS = frozenset({"agent", "assistant", "ai", "bot", "ai_agent", "ai_assistant", "model"})
CUSTOMER_WORDS = frozenset(
    {"user", "customer", "human", "callee", "patient", "caller", "client", "contact", "lead"}
)
SYSTEM_WORDS = frozenset({"system", "tool", "function"})


def normalize_speaker(raw: object) -> Speaker:
    """agent/assistant/ai/bot → agent; user/customer/human/callee/patient → customer; else system."""
    if not isinstance(raw, str):
        return "system"
    key = _status_key(raw)
    if key in AGENT_WORDS:
        return "agent"
    if key in CUSTOMER_WORDS:
        return "customer"
    return "system"


def is_role_word(raw: str) -> bool:
    key = _status_key(raw)
    return key in AGENT_WORDS or key in CUSTOMER_WORDS or key in SYSTEM_WORDS


# --- scalars --------------------------------------------------------------------------------------


def parse_datetime(value: object) -> datetime | None:
    """ISO 8601 (with `Z`, an offset, or naive = UTC) or epoch seconds/milliseconds → UTC-aware."""
    if value is None or isinstance(value, bool):
        return None
    parsed: datetime
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None
        seconds = float(value) / 1000 if abs(value) > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        return parse_datetime(float(text))
    # fromisoformat (3.11) reads `Z` and offsets; a space instead of `T` is common upstream.
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_duration(value: object) -> float | None:
    """Seconds from 180, 180.5, "180", "3:00", "1:02:03", "00:03:00.5" or "3m 5s"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) and number >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?s?", text):
        return float(text.rstrip("s"))
    if re.fullmatch(r"\d+(:\d{1,2}){1,2}(\.\d+)?", text):
        parts = text.split(":")
        seconds = float(parts[-1])
        minutes = int(parts[-2])
        hours = int(parts[-3]) if len(parts) == 3 else 0
        return hours * 3600 + minutes * 60 + seconds
    match = re.fullmatch(r"(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s(?:ec)?)?", text)
    if match and any(match.groups()):
        hours_s, minutes_s, seconds_s = match.groups()
        return int(hours_s or 0) * 3600 + int(minutes_s or 0) * 60 + float(seconds_s or 0)
    return None


def parse_number(value: object) -> float | None:
    """A finite float from a number or a numeric string ("0.45", "92%"), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%"))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def wire_id(value: object) -> str:
    """A record's id as text: strings stripped, numbers in decimal, anything else (an object, a
    list, a boolean, null) blank. A blank or otherwise unusable id does not fail the page: the
    listing skips that one record and counts it (`call_logs_mcp.ids.usable_id`)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return ""


Wire = TypeVar("Wire", bound=BaseModel)


def read_wire(model: type[Wire], body: object, provider: str, what: str, *, where: bool = True) -> Wire:
    """`body` as `model`. Raises MalformedResponseError naming `what` (a page: with the position
    of the first item that failed, `validation_where`; positions only, never body content)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise MalformedResponseError(provider, validation_where(exc, what) if where else what) from None


# A record's id field: `wire_id` read before validation, so an unusable id is blank, not an error.
WireId = Annotated[str, BeforeValidator(wire_id)]


def readable_items(body: Any, keys: Iterable[str], model: type[BaseModel], id_key: str) -> Any:
    """`body` (a list page as sent) with every list item `model` cannot read replaced by a
    record with a blank id, in its place: page sizes and offsets stay what the platform sent, and
    the listing then skips that one record and counts it (`wire_id`). Other bodies unchanged."""
    if not isinstance(body, dict):
        return body
    for key in keys:
        items = body.get(key)
        if isinstance(items, list):
            kept: list[Any] = []
            for item in items:
                try:
                    model.model_validate(item)
                except (ValidationError, ValueError, TypeError, RecursionError):
                    item = {id_key: ""}
                kept.append(item)
            return {**body, key: kept}
    return body


def text_or_none(value: object) -> str | None:
    """A stripped non-empty string (numbers become strings), else None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def agent_of(agent_id: object, name: object = None) -> Agent | None:
    """The call's agent from the platform's agent id and (optional) display name: None without a
    usable id (a name alone cannot group calls: two agents may share one)."""
    ident = text_or_none(agent_id)
    if ident is None:
        return None
    return Agent(agent_id=ident, name=name.strip() if isinstance(name, str) and name.strip() else None)


def qa_score(qa: Mapping[str, Any]) -> float | None:
    """The overall QA score: `overall_score`, else `score`, else `total_score`."""
    for key in ("overall_score", "overallScore", "score", "total_score"):
        score = parse_number(qa.get(key))
        if score is not None:
            return score
    return None


def url_list(value: object) -> list[str]:
    """Non-empty URL strings from one string or a list (None entries dropped)."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return []


# --- transcripts ----------------------------------------------------------------------------------

_SPEAKER_KEYS = ("speaker", "role", "user", "from", "participant", "name")
_TEXT_KEYS = ("text", "message", "content", "utterance", "transcript")
_OFFSET_KEYS = ("timestamp", "offset", "offset_seconds", "start", "start_time", "time", "seconds")


def turns_from_objects(items: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """Turns from transcript objects in any spelling we have seen.

    `{speaker|role|user: ..., text|message|content: ..., timestamp: 0}` is one turn. A
    string-to-string object without a text key (`{"user": "Hi"}`) is read as speaker → text, one
    turn per entry in order. Objects with neither are skipped (there is nothing to show).
    """
    turns: list[Turn] = []
    for item in items:
        text_key = next((key for key in _TEXT_KEYS if isinstance(item.get(key), str)), None)
        if text_key is not None:
            speaker = next(
                (item[key] for key in _SPEAKER_KEYS if isinstance(item.get(key), str) and key != text_key),
                None,
            )
            offset = next(
                (parse_number(item[key]) for key in _OFFSET_KEYS if parse_number(item.get(key)) is not None),
                None,
            )
            turns.append(Turn(speaker=normalize_speaker(speaker), text=item[text_key], offset_seconds=offset))
            continue
        for key, value in item.items():
            if isinstance(value, str) and key not in _OFFSET_KEYS:
                turns.append(Turn(speaker=normalize_speaker(key), text=value))
    return turns


# "Name: text" — the colon must be followed by a space or the line end, so "https://..." is text.
_PREFIX = re.compile(r"^\s*([A-Za-z][\w .'\-]{0,31}?)\s*:(?:\s+(.*))?$")


def turns_from_text(transcript: str) -> list[Turn]:
    """Turns from one string of `Speaker: text` lines.

    A line without a speaker prefix continues the previous turn (text before any speaker is a
    system turn). When the transcript uses role words (Agent/User/...), only those count as
    speakers, so a continuation line like "Note: bring your card" stays in its turn; otherwise any
    short `Name:` prefix does.
    """
    lines = transcript.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    prefixes = [_PREFIX.match(line) for line in lines]
    uses_roles = any(match is not None and is_role_word(match.group(1)) for match in prefixes)
    speakers: list[str] = []
    texts: list[list[str]] = []
    for line, match in zip(lines, prefixes, strict=True):
        if match is not None and (is_role_word(match.group(1)) or not uses_roles):
            speakers.append(match.group(1))
            texts.append([match.group(2) or ""])
        elif not line.strip():
            continue
        elif texts:
            texts[-1].append(line)
        else:
            speakers.append("system")
            texts.append([line])
    return [
        Turn(speaker=normalize_speaker(speaker), text="\n".join(parts).strip())
        for speaker, parts in zip(speakers, texts, strict=True)
    ]


def turns_from_any(value: object) -> list[Turn] | None:
    """Turns from a list of objects, one string, or None; None when the shape is unreadable."""
    if value is None:
        return []
    if isinstance(value, str):
        return turns_from_text(value)
    if isinstance(value, list):
        if not all(isinstance(item, dict) for item in value):
            return None
        return turns_from_objects(value)
    return None


def validation_where(exc: ValidationError, context: str) -> str:
    """Where a wire body failed validation, for a MalformedResponseError: only our own words and
    integer positions ("call list item 3"), never a key or value from the body."""
    for error in exc.errors():
        loc = error["loc"]
        if len(loc) >= 2 and isinstance(loc[1], int):
            return f"{context} item {loc[1]}"
    return context
