"""The simulated account's truth: calls, campaigns and the mutable dataset the simulators serve.

- A `SimCall` stores only small scalars eagerly (ids, campaign, status, times, numbers, price, a
  per-call `seed`). Everything bulky is *derived on access* from `(seed, status)` by `corpus`:
  `transcript`, `turns()`, `summary`, `extracted_data`, `qa_score`, `qa_criteria`,
  `recording_url`. So a 100,000-call dataset (about 2,000,000 turns) costs about 60 MB, and a
  detail request renders its transcript in well under a millisecond. Derived values are equal on
  every access; assigning to them (`call.transcript = [...]`, `call.summary = "..."`) stores an
  override.
- Ended reasons use the common voice-AI vocabulary: customer-ended-call, assistant-ended-call,
  silence-timed-out (completed), error / pipeline-error (failed), customer-busy, no-answer,
  voicemail; None while in progress.
- `traits` labels the material later tests need: `long`, `empty`, `non_ascii`, `pii` (phone
  numbers, e-mails, card numbers, SSNs planted in transcripts, QA notes or extracted data) and
  `injection` (prompt-injection text with zero-width, bidi and Unicode tag characters, markdown
  links; also in the summary of one call).
- `SimDataset` is mutable for tests (`add_calls`, `set_status`, overrides) and answers the
  filtered, newest-first views both simulators page through (cached per dataset version).

`generate.generate_dataset` builds one; `_build_call` (one call from a few random draws) lives
here because `SimDataset.add_calls` makes calls the same way.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from call_logs_mcp.simulators.corpus import (
    _ASCII_NAMES,
    _NON_ASCII_NAMES,
    _TRAIT_INJECTION,
    _TRAIT_NON_ASCII,
    _TRAIT_PII,
    LONG_CALL_MIN_TURNS,
    SimSpeaker,
    _bits,
    _failed_turns,
    _full_duration,
    _in_progress_turns,
    _pace,
    _render_extracted,
    _render_qa,
    _render_summary,
    _render_turns,
    _visible_turns,
)

SimStatus = Literal["completed", "failed", "busy", "no_answer", "in_progress", "voicemail"]
IdStyle = Literal["numeric", "callcamp", "uuid"]

STATUSES: tuple[SimStatus, ...] = get_args(SimStatus)
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)
RECORDING_HOST = "https://recordings.simulator.invalid"

# Status mix for everything but the newest calls (in_progress is only ever recent).
_STATUS_WEIGHTS: tuple[tuple[SimStatus, float], ...] = (
    ("completed", 0.64),
    ("voicemail", 0.10),
    ("no_answer", 0.12),
    ("busy", 0.05),
    ("failed", 0.07),
    ("in_progress", 0.0),
)


@dataclass(slots=True)
class SimTurn:
    speaker: SimSpeaker
    text: str
    offset_seconds: float


@dataclass(frozen=True, slots=True)
class SimCampaign:
    id: str
    name: str
    scenario: str
    from_number: str
    price_per_minute: float
    created_at: datetime


@dataclass(slots=True, eq=False)
class SimCall:
    """One call as the platform knows it. Bulky fields are derived lazily (module docstring)."""

    id: str
    campaign_id: str
    campaign_name: str
    status: SimStatus
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int
    to_number: str
    from_number: str
    customer_name: str
    price: float
    currency: str
    ended_reason: str | None
    updated_at: datetime
    scenario: str
    seed: int
    full_turns: int  # turns of the whole conversation once completed
    flags: int = 0
    overrides: dict[str, Any] | None = field(default=None, repr=False)

    # -- derived content -------------------------------------------------------------------

    def _override(self, name: str) -> tuple[bool, Any]:
        if self.overrides is not None and name in self.overrides:
            return True, self.overrides[name]
        return False, None

    def _set_override(self, name: str, value: Any) -> None:
        if self.overrides is None:
            self.overrides = {}
        self.overrides[name] = value

    def turns(self) -> Iterator[SimTurn]:
        """The transcript, generated lazily (no list of 3,000 turns is held)."""
        found, value = self._override("transcript")
        if found:
            yield from value
            return
        for speaker, text, offset in _render_turns(self):
            yield SimTurn(speaker, text, offset)

    @property
    def transcript(self) -> list[SimTurn]:
        return list(self.turns())

    @transcript.setter
    def transcript(self, value: list[SimTurn]) -> None:
        self._set_override("transcript", list(value))

    @property
    def turn_count(self) -> int:
        found, value = self._override("transcript")
        if found:
            return len(value)
        return _visible_turns(self)

    @property
    def summary(self) -> str | None:
        found, value = self._override("summary")
        return value if found else _render_summary(self)  # type: ignore[no-any-return]

    @summary.setter
    def summary(self, value: str | None) -> None:
        self._set_override("summary", value)

    @property
    def extracted_data(self) -> dict[str, Any]:
        found, value = self._override("extracted_data")
        return dict(value) if found else _render_extracted(self)

    @extracted_data.setter
    def extracted_data(self, value: dict[str, Any]) -> None:
        self._set_override("extracted_data", dict(value))

    @property
    def qa_score(self) -> int | None:
        found, value = self._override("qa_score")
        return value if found else _render_qa(self)[0]  # type: ignore[no-any-return]

    @qa_score.setter
    def qa_score(self, value: int | None) -> None:
        self._set_override("qa_score", value)

    @property
    def qa_criteria(self) -> dict[str, Any]:
        found, value = self._override("qa_criteria")
        return dict(value) if found else _render_qa(self)[1]

    @qa_criteria.setter
    def qa_criteria(self, value: dict[str, Any]) -> None:
        self._set_override("qa_criteria", dict(value))

    @property
    def wire_patch(self) -> dict[str, Any]:
        """Fields of this call's JSON object, as the platform serves it, replaced verbatim: hostile
        records for tests (an id of the wrong type, a megabyte summary, a list where an object
        belongs). Empty unless a test sets it."""
        found, value = self._override("wire_patch")
        return dict(value) if found else {}

    @wire_patch.setter
    def wire_patch(self, value: dict[str, Any]) -> None:
        self._set_override("wire_patch", dict(value))

    @property
    def recording_url(self) -> str | None:
        if self.status in ("completed", "voicemail"):
            return f"{RECORDING_HOST}/{self.id}.mp3"
        return None

    @property
    def traits(self) -> frozenset[str]:
        """Labels for test material: long, empty, non_ascii, pii, injection."""
        out: set[str] = set()
        visible = self.turn_count
        if visible == 0:
            out.add("empty")
        if visible >= LONG_CALL_MIN_TURNS:
            out.add("long")
        if self.flags & _TRAIT_NON_ASCII or not self.customer_name.isascii():
            out.add("non_ascii")
        if self.flags & _TRAIT_PII and self.status == "completed":
            out.add("pii")
        if self.flags & _TRAIT_INJECTION and self.status == "completed":
            out.add("injection")
        return frozenset(out)


_PHONE_FORMATS: tuple[tuple[str, str, float], ...] = (
    # (region, template with X = random digit, weight)
    ("US", "+1{area}{x3}XXXX", 0.55),
    ("GB", "+447700900XXX", 0.07),
    ("DE", "+49151XXXXXXXX", 0.07),
    ("FR", "+336XXXXXXXX", 0.06),
    ("ES", "+346XXXXXXXX", 0.05),
    ("JP", "+8190XXXXXXXX", 0.05),
    ("BR", "+55119XXXXXXXX", 0.08),
    ("IN", "+919XXXXXXXXX", 0.07),
)
_US_AREAS = ("212", "213", "312", "415", "503", "617", "646", "702", "713", "917", "305", "206")


def _phone(rng: random.Random, template: str) -> str:
    out = template.replace("{area}", rng.choice(_US_AREAS)).replace(
        "{x3}", f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(2, 9)}"
    )
    return "".join(str(rng.randint(0, 9)) if ch == "X" else ch for ch in out)


def _phone_pool(rng: random.Random, size: int) -> list[str]:
    """`size` E.164 numbers that libphonenumber considers valid (so PII tests have real material)."""
    import phonenumbers

    pool: list[str] = []
    weights = [w for _, _, w in _PHONE_FORMATS]
    attempts = 0
    while len(pool) < size and attempts < size * 20:
        attempts += 1
        _, template, _ = rng.choices(_PHONE_FORMATS, weights)[0]
        candidate = _phone(rng, template)
        try:
            parsed = phonenumbers.parse(candidate, None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            pool.append(candidate)
    return pool or ["+14155550134"]


def _callcamp_id(rng: random.Random) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "call_" + "".join(rng.choice(alphabet) for _ in range(20))


def _uuid_id(rng: random.Random) -> str:
    import uuid

    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_call_id(rng: random.Random, style: IdStyle) -> str:
    """A fresh non-numeric call id in `style` ("callcamp": `call_…`, "uuid": a UUID 4)."""
    return _uuid_id(rng) if style == "uuid" else _callcamp_id(rng)


def _apply_status(call: SimCall, status: SimStatus, price_per_minute: float) -> None:
    """Set `status` and every field that follows from it (deterministic in the call's seed)."""
    call.status = status
    if status == "completed":
        duration = _full_duration(call)
        roll = _bits(call, 3, 100)
        call.ended_reason = (
            "customer-ended-call"
            if roll < 50
            else "assistant-ended-call"
            if roll < 92
            else "silence-timed-out"
        )
    elif status == "in_progress":
        duration = math.ceil(_in_progress_turns(call) * _pace(call))
        call.ended_reason = None
    elif status == "voicemail":
        duration = 18 + _bits(call, 12, 28)
        call.ended_reason = "voicemail"
    elif status == "failed":
        spoken = _failed_turns(call)
        duration = math.ceil(spoken * _pace(call)) + 1 + _bits(call, 12, 6) if spoken else 0
        call.ended_reason = "error" if _bits(call, 3, 100) < 60 else "pipeline-error"
    elif status == "busy":
        duration = 0
        call.ended_reason = "customer-busy"
    else:
        duration = 0
        call.ended_reason = "no-answer"
    call.duration_seconds = duration
    call.ended_at = None if status == "in_progress" else call.started_at + timedelta(seconds=duration)
    call.price = round(duration / 60.0 * price_per_minute, 2)


def _build_call(
    rng: random.Random,
    *,
    call_id: str,
    started: datetime,
    status: SimStatus,
    campaign: SimCampaign,
    phones: Sequence[str],
    currency: str,
    full_turns: int | None = None,
    injection: bool = False,
) -> SimCall:
    seed = rng.getrandbits(62)
    rand = rng.random
    flags = 0
    if rand() < 0.12:
        flags |= _TRAIT_NON_ASCII
    names = _NON_ASCII_NAMES if rand() < 0.15 else _ASCII_NAMES
    name = names[int(rand() * len(names))]
    if rand() < 0.05:
        flags |= _TRAIT_PII
    if injection:
        flags |= _TRAIT_INJECTION
    turns = full_turns if full_turns is not None else 10 + int(rand() * 33)
    call = SimCall(
        id=call_id,
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        status=status,
        started_at=started,
        ended_at=None,
        duration_seconds=0,
        to_number=phones[int(rand() * len(phones))],
        from_number=campaign.from_number,
        customer_name=name,
        price=0.0,
        currency=currency,
        ended_reason=None,
        updated_at=started,
        scenario=campaign.scenario,
        seed=seed,
        full_turns=turns,
        flags=flags,
    )
    _apply_status(call, status, campaign.price_per_minute)
    call.updated_at = call.ended_at or started
    return call


class SimDataset:
    """A platform account's calls; mutable for tests. Iterates newest first."""

    def __init__(
        self,
        *,
        seed: int,
        campaigns: list[SimCampaign],
        calls: Iterable[SimCall],
        id_style: IdStyle = "numeric",
        currency: str = "USD",
        rng: random.Random | None = None,
    ) -> None:
        self.seed = seed
        self.campaigns = list(campaigns)
        self.id_style: IdStyle = id_style
        self.currency = currency
        self._rng = rng or random.Random(f"call-logs-sim:{seed}:extra")
        self._chrono: list[SimCall] = sorted(calls, key=lambda c: (c.started_at, _id_key(c.id)))
        self._by_id = {c.id: c for c in self._chrono}
        self._campaigns_by_id = {c.id: c for c in self.campaigns}
        self._phones = sorted({c.to_number for c in self._chrono}) or _phone_pool(self._rng, 20)
        self.version = 0
        self._views: dict[tuple[Any, ...], list[SimCall]] = {}
        self._views_version = -1
        self._totals: dict[int, tuple[list[SimCall], int, float]] = {}

    # -- reading ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._chrono)

    def __iter__(self) -> Iterator[SimCall]:
        return reversed(self._chrono)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._by_id

    def __getitem__(self, call_id: str) -> SimCall:
        return self._by_id[call_id]

    def get(self, call_id: str) -> SimCall | None:
        return self._by_id.get(call_id)

    @property
    def calls(self) -> list[SimCall]:
        """All calls, newest first (a new list)."""
        return list(reversed(self._chrono))

    def campaign(self, campaign_id: str) -> SimCampaign | None:
        return self._campaigns_by_id.get(campaign_id)

    def query(
        self,
        *,
        campaign_id: str | None = None,
        statuses: Iterable[SimStatus] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        search: str | None = None,
    ) -> list[SimCall]:
        """Calls matching every given filter, newest first. `start`/`end` bound `started_at`
        inclusively. `search` matches digits of the phone numbers (when it has 3+ digits) or a
        case-insensitive substring of the campaign or customer name. Cached per version; do not
        mutate the returned list."""
        status_key = None if statuses is None else frozenset(statuses)
        key = (campaign_id, status_key, start, end, search)
        if self._views_version != self.version:
            self._views.clear()
            self._totals.clear()
            self._views_version = self.version
        cached = self._views.get(key)
        if cached is not None:
            return cached
        digits = "".join(ch for ch in search or "" if ch.isdigit())
        needle = (search or "").casefold().strip()
        out: list[SimCall] = []
        for call in reversed(self._chrono):
            if campaign_id is not None and call.campaign_id != campaign_id:
                continue
            if status_key is not None and call.status not in status_key:
                continue
            if start is not None and call.started_at < start:
                continue
            if end is not None and call.started_at > end:
                continue
            if needle and not (
                (
                    len(digits) >= 3
                    and (digits in _digits(call.to_number) or digits in _digits(call.from_number))
                )
                or needle in call.campaign_name.casefold()
                or needle in call.customer_name.casefold()
            ):
                continue
            out.append(call)
        if len(self._views) > 64:
            self._views.clear()
            self._totals.clear()
        self._views[key] = out
        return out

    def totals(
        self,
        *,
        campaign_id: str | None = None,
        statuses: Iterable[SimStatus] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        search: str | None = None,
    ) -> tuple[int, int, float]:
        """(calls, total duration seconds, total price) of `query(...)` with the same filters."""
        calls = self.query(campaign_id=campaign_id, statuses=statuses, start=start, end=end, search=search)
        key = id(calls)
        cached = self._totals.get(key)
        if cached is None or cached[0] is not calls:
            cached = (calls, sum(c.duration_seconds for c in calls), round(sum(c.price for c in calls), 2))
            self._totals[key] = cached
        return len(calls), cached[1], cached[2]

    # -- mutation (tests) ------------------------------------------------------------------

    def _touch(self) -> None:
        self.version += 1

    def _clock(self) -> datetime:
        newest = max((c.updated_at for c in self._chrono), default=DEFAULT_START)
        return newest + timedelta(minutes=1)

    def add_calls(
        self, n: int, *, campaign_id: str | None = None, status: SimStatus | None = None
    ) -> list[SimCall]:
        """Append `n` calls newer than every existing call; returns them newest first."""
        if n <= 0:
            return []
        campaign_pool = self.campaigns
        if campaign_id is not None:
            found = self.campaign(campaign_id)
            if found is None:
                raise KeyError(campaign_id)
            campaign_pool = [found]
        when = max(
            (self._chrono[-1].started_at if self._chrono else DEFAULT_START),
            max((c.updated_at for c in self._chrono), default=DEFAULT_START),
        )
        names = [s for s, _ in _STATUS_WEIGHTS]
        weights = [w for _, w in _STATUS_WEIGHTS]
        last_numeric = max((_id_key(c.id)[1] for c in self._chrono if c.id.isdigit()), default=100_000)
        new: list[SimCall] = []
        for _ in range(n):
            when = when + timedelta(seconds=self._rng.randint(60, 1_200))
            if self.id_style == "numeric":
                last_numeric += self._rng.randint(1, 3)
                call_id = str(last_numeric)
            else:
                call_id = new_call_id(self._rng, self.id_style)
                while call_id in self._by_id:
                    call_id = new_call_id(self._rng, self.id_style)
            campaign = self._rng.choice(campaign_pool)
            call = _build_call(
                self._rng,
                call_id=call_id,
                started=when.replace(microsecond=0),
                status=status or self._rng.choices(names, weights)[0],
                campaign=campaign,
                phones=self._phones,
                currency=self.currency,
            )
            self._chrono.append(call)
            self._by_id[call.id] = call
            new.append(call)
        self._touch()
        new.reverse()
        return new

    def set_status(self, call_id: str, status: SimStatus) -> SimCall:
        """Change a call's status (e.g. an in-progress call completing); dependent fields follow.

        Raises KeyError for an unknown id, ValueError for an unknown status.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        call = self._by_id[call_id]
        campaign = self.campaign(call.campaign_id)
        price_per_minute = campaign.price_per_minute if campaign else 0.1
        clock = self._clock()
        _apply_status(call, status, price_per_minute)
        call.updated_at = clock
        self._touch()
        return call

    def touch(self) -> None:
        """Invalidate cached views after mutating a SimCall's fields directly."""
        self._touch()


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _id_key(call_id: str) -> tuple[int, int, str]:
    return (0, int(call_id), "") if call_id.isdigit() else (1, 0, call_id)


__all__ = [
    "DEFAULT_START",
    "LONG_CALL_MIN_TURNS",
    "RECORDING_HOST",
    "STATUSES",
    "IdStyle",
    "SimCall",
    "SimCampaign",
    "SimDataset",
    "SimSpeaker",
    "SimStatus",
    "SimTurn",
]
