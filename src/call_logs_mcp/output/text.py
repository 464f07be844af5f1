"""Formatters for text written to a model: numbers, times, durations, money, and the one "…"."""

from __future__ import annotations

from datetime import UTC, datetime

# What marks a cut everywhere in output: clipped values, trimmed snippets, masked phone numbers.
ELLIPSIS = "…"


def fmt_int(value: int) -> str:
    return f"{value:,}"


def fmt_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fmt_short_time(value: datetime | None) -> str:
    if value is None:
        return "unknown time"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def fmt_duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def fmt_count(count: int, noun: str, plural: str | None = None) -> str:
    """`1 call`, `2 calls`, `1,204 calls`: a count with its noun in the right number."""
    return f"{fmt_int(count)} {noun if count == 1 else plural or noun + 's'}"


def fmt_money(amount: float | None, currency: str | None) -> str | None:
    """`11.01 USD`; a cost whose currency the platform does not report says so (a bare number
    reads as dollars to most people)."""
    if amount is None:
        return None
    return f"{amount:.2f} {currency}" if currency else f"{amount:.4g} (currency not reported)"


def fmt_pct(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.1f}%"


def fmt_num(value: float | None) -> str:
    return "?" if value is None else f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def parse_iso(value: str | None) -> datetime | None:
    """An ISO time as output models carry it back into a datetime; None if missing or unreadable."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def fmt_synced(value: str | None) -> str:
    """When a sync finished, as a line shows it: `2026-12-02 11:26:48Z` (the answers' data carry
    the full ISO time), or `never`."""
    when = parse_iso(value)
    if when is None:
        return value or "never"
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def clip(text: str, max_chars: int) -> str:
    """`text` cut to at most `max_chars` characters, marking the cut with an ellipsis."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return ELLIPSIS[:max_chars]
    return text[: max_chars - 1] + ELLIPSIS
