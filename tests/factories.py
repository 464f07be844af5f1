"""One way to build domain calls for every suite that needs one without a simulator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from call_logs_mcp.models import Call, CallStatus, Speaker, Turn

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GREETING = ("Hello, this is Ava.", "Hi, who is calling?")


def make_turns(
    texts: Sequence[str], *, speakers: Sequence[Speaker] = ("agent", "customer"), step: float = 2.5
) -> list[Turn]:
    """One turn per text, the speakers taking turns, `step` seconds apart."""
    return [
        Turn(speaker=speakers[i % len(speakers)], text=text, offset_seconds=step * i)
        for i, text in enumerate(texts)
    ]


def make_call(
    call_id: str = "call_1",
    *,
    provider: str = "prosper",
    texts: Sequence[str] = GREETING,
    hours: float = 0,
    step: float = 2.5,
    **fields: object,
) -> Call:
    """A completed one-minute call in campaign `camp-a`, started `hours` after `BASE`, whose
    transcript is `texts`; `fields` set any other `Call` field."""
    values: dict[str, object] = {
        "provider": provider,
        "call_id": call_id,
        "campaign_id": "camp-a",
        "status": CallStatus.COMPLETED,
        "started_at": BASE + timedelta(hours=hours),
        "duration_seconds": 60.0,
        "transcript": make_turns(texts, step=step),
    }
    values.update(fields)
    return Call.model_validate(values)
