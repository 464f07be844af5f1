"""find_calls arguments: outcome filters, and predicates on extracted-data fields.

A predicate is one short string, as a model would write it:

    appointment_scheduled            the yes/no field is true
    appointment_scheduled=false      ... is false
    refund_amount>100                numbers: =, !=, >, >=, <, <=
    insurer=Aetna                    text, any case (quotes optional: plan="Gold Plus")
    callback_number is set           the call has a value for the field (`is not set`: it has none)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from call_logs_mcp.errors import InvalidArgumentError
from call_logs_mcp.models import CallStatus

Op = Literal["=", "!=", ">", ">=", "<", "<=", "set", "unset"]

MAX_PREDICATES = 8
_PREDICATE = re.compile(
    r"^\s*(?P<key>[^=!<>\s][^=!<>]*?)\s*(?:(?P<op>!=|>=|<=|=|>|<)\s*(?P<value>.*?)|(?P<set>\s+is\s+(?P<not>not\s+)?set))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_TRUE = {"true", "yes", "y"}
_FALSE = {"false", "no", "n"}


@dataclass(frozen=True)
class FieldPredicate:
    """One condition on an extracted field. `number` and `flag` are the value read as a number
    or a yes/no where it can be; `text` is the value as written."""

    key: str
    op: Op
    text: str = ""
    number: float | None = None
    flag: bool | None = None

    def describe(self) -> str:
        if self.op == "set":
            return f"{self.key} is set"
        if self.op == "unset":
            return f"{self.key} is not set"
        return f"{self.key}{self.op}{self.text}"


@dataclass(frozen=True)
class OutcomeFilters:
    """Everything find_calls filters on besides provider and cursor."""

    campaign_id: str | None = None
    status: CallStatus | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    min_qa_score: float | None = None
    max_qa_score: float | None = None
    ended_reason: str | None = None
    fields: tuple[FieldPredicate, ...] = ()


def outcome_filters(
    *,
    campaign_id: str | None,
    status: str | None,
    from_date: str | None,
    to_date: str | None,
    min_duration: float | None,
    max_duration: float | None,
    min_qa_score: float | None,
    max_qa_score: float | None,
    ended_reason: str | None,
    where: Sequence[str] | None,
) -> OutcomeFilters:
    """Validated find_calls filters from raw tool arguments. Raises InvalidArgumentError."""
    from call_logs_mcp.core.arguments import build_query

    query = build_query(campaign_id=campaign_id, status=status, from_date=from_date, to_date=to_date)
    check_range("min_duration_seconds", min_duration, "max_duration_seconds", max_duration)
    check_range("min_qa_score", min_qa_score, "max_qa_score", max_qa_score)
    reason = ended_reason.strip() if ended_reason and ended_reason.strip() else None
    if reason is not None and len(reason) > 200:
        raise InvalidArgumentError("ended_reason is too long; use at most 200 characters.")
    return OutcomeFilters(
        campaign_id=query.campaign_id,
        status=query.status,
        from_date=query.from_date,
        to_date=query.to_date,
        min_duration=min_duration,
        max_duration=max_duration,
        min_qa_score=min_qa_score,
        max_qa_score=max_qa_score,
        ended_reason=reason,
        fields=parse_predicates(where),
    )


def parse_predicate(raw: str) -> FieldPredicate:
    """Raises InvalidArgumentError, showing the accepted forms, for anything else."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 300:
        raise InvalidArgumentError(_usage("an empty or over-long condition"))
    match = _PREDICATE.match(raw)
    if match is None:
        raise InvalidArgumentError(_usage(f"the condition {raw[:80]!r}"))
    key = match["key"].strip()
    if match["set"]:
        return FieldPredicate(key, "unset" if match["not"] else "set")
    if not match["op"]:
        return FieldPredicate(key, "=", "true", flag=True)
    op: Op = match["op"]  # type: ignore[assignment]
    value = match["value"].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if not value:
        raise InvalidArgumentError(_usage(f"the condition {raw[:80]!r} (no value after {op})"))
    number = _number(value)
    flag = True if value.lower() in _TRUE else False if value.lower() in _FALSE else None
    if op in (">", ">=", "<", "<=") and number is None:
        raise InvalidArgumentError(
            f"where condition {(key[:80] + op + value[:40])!r}: {op} compares numbers; "
            "give a number after it."
        )
    return FieldPredicate(key, op, value, number, flag)


def parse_predicates(raw: Sequence[str] | None) -> tuple[FieldPredicate, ...]:
    if not raw:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if len(raw) > MAX_PREDICATES:
        raise InvalidArgumentError(f"where takes at most {MAX_PREDICATES} field conditions; got {len(raw)}.")
    return tuple(parse_predicate(item) for item in raw)


def check_range(low_name: str, low: float | None, high_name: str, high: float | None) -> None:
    """Raises InvalidArgumentError for a negative or non-finite bound, or an empty range."""
    for name, bound in ((low_name, low), (high_name, high)):
        if bound is not None and (not math.isfinite(bound) or bound < 0):
            raise InvalidArgumentError(f"{name} must be a finite number of at least 0.")
    if low is not None and high is not None and low > high:
        raise InvalidArgumentError(f"{low_name} ({low:g}) is above {high_name} ({high:g}); swap them.")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _usage(what: str) -> str:
    return (
        f"Could not read {what} in `where` as a field condition. Write one of: field (true), field=false, "
        "field=value, field!=value, field>number (also >=, <, <=), field is set, field is not set; "
        "summarize_campaign lists each campaign's fields with their types and example values."
    )
