"""Ids as they travel into platform URLs: one validation for the core's argument parsing and the
providers' request paths, so a value the core accepts is exactly one the providers can send."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol, TypeVar
from urllib.parse import quote

from call_logs_mcp.errors import InvalidArgumentError

logger = logging.getLogger(__name__)
MAX_SEGMENT_LENGTH = 200
_ID_TEXT = re.compile(r"[\w\-.:~=,;!$*()']{1," + str(MAX_SEGMENT_LENGTH) + "}")


class _Record(Protocol):
    @property
    def call_id(self) -> str: ...


RecordT = TypeVar("RecordT", bound=_Record)


def path_segment(value: str, *, what: str = "call id") -> str:
    """`value` validated and percent-encoded as exactly one URL path segment.

    Raises InvalidArgumentError for empty or blank values, `.`/`..`, values longer than 200
    characters, anything with `/`, `\\`, `?`, `#`, whitespace at either end, control or invisible characters
    or percent-escapes (so `%2e%2e` cannot be decoded into a traversal upstream). The message
    never repeats the value.
    """
    if (
        not isinstance(value, str)
        or not value.strip()
        or value != value.strip()
        or value in {".", ".."}
        or len(value) > MAX_SEGMENT_LENGTH
        or any(ch in value for ch in "/\\%?#")
        or any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in value)
        or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
        # Invisible characters (soft hyphens, zero-width and bidi marks): the HTTP layer refuses
        # such a segment, and an error that repeats the id must not carry them.
        or not value.isprintable()
    ):
        raise InvalidArgumentError(
            f"Invalid {what}: use the id exactly as list_calls returned it "
            "(no '/', '\\', '%', '?', '#', control or invisible characters; not '.' or '..')."
        )
    return quote(value, safe="")


def usable_id(value: str) -> bool:
    """Whether a platform's id for a record can address it and be printed: one URL path segment
    (`path_segment` accepts it) made only of letters, digits and ``- _ . : ~ = , ; ! $ * ( ) '``.
    No whitespace, line breaks, invisible, bidi or markup characters (``< > [ ] @ +``), so an id
    can neither break a line, forge a marker nor carry an e-mail address or a spaced phone number.
    Records whose id is not usable are skipped by listings and syncs, and counted."""
    if not _ID_TEXT.fullmatch(value):
        return False
    try:
        path_segment(value)
    except InvalidArgumentError:
        return False
    return True


def skipped_line(count: int) -> str:
    """`2 calls skipped: unusable ids or unreadable records`."""
    return f"{count:,} call{'' if count == 1 else 's'} skipped: unusable ids or unreadable records"


def usable_calls(name: str, calls: Sequence[RecordT]) -> tuple[list[RecordT], int]:
    """The calls of a listed page whose ids can address them, and how many were skipped. A
    skipped record is logged by count only: its id may be anything a platform sent."""
    kept = [call for call in calls if usable_id(call.call_id)]
    skipped = len(calls) - len(kept)
    if skipped:
        logger.warning(
            "%s: skipped %d listed call(s) whose record cannot be read or whose id cannot address "
            "them (blank, over %d characters, '/', spaces, line breaks, markup or invisible characters)",
            name,
            skipped,
            MAX_SEGMENT_LENGTH,
        )
    return kept, skipped
