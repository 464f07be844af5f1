"""Ids as they travel into platform URLs: one validation for the core's argument parsing and the
providers' request paths, so a value the core accepts is exactly one the providers can send."""

from __future__ import annotations

from urllib.parse import quote

from call_logs_mcp.errors import InvalidArgumentError

MAX_SEGMENT_LENGTH = 200


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
