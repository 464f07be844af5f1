"""Our own configured secrets (platform API keys, the HTTP token), masked wherever a platform
reflects one back into call data: an id, a summary, extracted data, a transcript turn."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

MASK: Final = "[secret]"
# Shorter values would mask ordinary words; settings refuse such tokens for network binds, and
# no platform issues keys this short.
MIN_SECRET_CHARS: Final = len(MASK)


class SecretMask:
    """Replaces every occurrence of any of `secrets` (those of at least 8 characters) with
    `[secret]`, which is never longer than what it replaces, so budgets still hold."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(MASK, value)

    def value(self, value: Any) -> Any:
        """A JSON-ish value with every string (dict keys included) masked."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


class SecretLogFilter(logging.Filter):
    """A handler filter masking `mask`'s secrets in every record it lets through."""

    def __init__(self, mask: SecretMask) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask.text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
