"""`Scrubber`: every string that leaves the server, cleaned, redacted and made inert by kind of value."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from call_logs_mcp.output.redact import Redactor
from call_logs_mcp.output.sanitize import clean_text, inert_markdown, one_line
from call_logs_mcp.output.secrets import SecretMask
from call_logs_mcp.output.text import ELLIPSIS

# A chunk that may be part of a phone number, card, SSN or e-mail address: digits with only
# punctuation, two or more digits, an "@", or word pieces joined by ".", "_" or "+".
_FRAGMENT = re.compile(r"[\W\d_]*\d[\W\d_]*|.*\d.*\d.*|.*@.*|.*\w[._+]\w.*")


# User input echoed back (a phone number typed as a call id) is masked whatever the redaction
# setting: errors are logged, and logs are kept.
_ECHO = Redactor(names=False)


def redact_echo(message: str) -> str:
    """One of our messages that quotes user input (a call id, a campaign, a URI), as it may be
    shown and logged: cleaned, with phone numbers, cards, SSNs and e-mail addresses masked."""
    return _ECHO.text(message)


def trim_cut_fragments(snippet: str) -> str:
    """`snippet` without the space-separated chunks next to a leading or trailing "…" (where the
    index cut the text) that `_FRAGMENT` says may be a piece of PII."""
    text = snippet
    if text.startswith(ELLIPSIS):
        chunks = text[1:].split(" ")
        while chunks and _FRAGMENT.fullmatch(chunks[0]):
            chunks.pop(0)
        text = ELLIPSIS + " ".join(chunks)
    if len(text) > 1 and text.endswith(ELLIPSIS):
        chunks = text[:-1].split(" ")
        while chunks and _FRAGMENT.fullmatch(chunks[-1]):
            chunks.pop()
        text = " ".join(chunks).rstrip() + ELLIPSIS
    return text


class Scrubber:
    """Sanitise and redact what leaves the server. `redact` comes from settings only; `secrets`
    (our API keys and HTTP token) are masked whether or not redaction is on."""

    def __init__(self, *, redact: bool = True, secrets: SecretMask | None = None) -> None:
        self.redactor = Redactor(enabled=redact)
        self.secrets = secrets or SecretMask()

    def text(self, value: str) -> str:
        """Platform text as shown: invisible characters removed, PII and our secrets redacted,
        markdown inert."""
        return inert_markdown(self.redactor.text(self.secrets.text(clean_text(value))))

    def line(self, value: str, max_chars: int) -> str:
        """Platform text on one line, at most `max_chars` characters."""
        return one_line(self.text(value), max_chars)

    def turn(self, texts: Sequence[str], index: int) -> str:
        """Turn `index` of a transcript's turn `texts` as shown: like `text`, and a number split
        between it and the turn before or after it masked too (`Redactor.turn`)."""
        before = texts[index - 1] if index > 0 else None
        after = texts[index + 1] if index + 1 < len(texts) else None
        return inert_markdown(self.redactor.turn(clean_text(texts[index]), before, after))

    def snippet(self, value: str, max_chars: int, *, before: str = "", after: str = "") -> str:
        """A search snippet on one line. With redaction on, the chunks next to a cut ("…") that
        may be pieces of a phone number or e-mail address are dropped first: a fragment such as
        "…7946 0958" or "jane.roe@exa…" is no longer recognisable as PII, but is still PII.
        `before` / `after` are the ends of the turns around the snippet's turn: a number split
        between them and an uncut end of the snippet is masked too."""
        if not self.redactor.enabled:
            return self.line(value, max_chars)
        value = clean_text(trim_cut_fragments(value))
        shown = self.redactor.turn(
            value,
            before if before and not value.startswith(ELLIPSIS) else None,
            after if after and not value.endswith(ELLIPSIS) else None,
            asked_by=before or None,  # a question the turn answers, even when its start is cut
        )
        return one_line(inert_markdown(shown), max_chars)

    def opt(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def phone(self, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        # On one line and short: a "number" a platform filled with a page of text is not one.
        return one_line(self.redactor.phone(self.secrets.text(clean_text(value))), 64)

    def value(self, value: Any) -> Any:
        """A JSON-ish platform value with every string (and key) scrubbed.

        The redactor walks it first (it also masks whole values under phone-like keys).
        """
        return self._inert(self.redactor.value(self.secrets.value(value)))

    def _inert(self, value: Any) -> Any:
        if isinstance(value, str):
            return inert_markdown(clean_text(value))
        if isinstance(value, Mapping):
            return {one_line(str(k), 200): self._inert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._inert(item) for item in value]
        if value is None or isinstance(value, bool | int | float):
            return value
        return self.text(str(value))

    def ident(self, value: str | None) -> str | None:
        """An identifier from a platform (campaign id, raw status): cleaned, redacted, on one line."""
        if value is None:
            return None
        return one_line(self.text(value), 200)

    def currency(self, value: str | None) -> str | None:
        """A currency code from a platform: cleaned, on one line, at most 12 characters."""
        return None if value is None else one_line(self.secrets.text(clean_text(value)), 12)
