"""The rows of `call-logs-mcp export`: which columns, and each cell as it leaves, scrubbed exactly
as tool output is (`Scrubber`: cleaned, redacted unless switched off on the command line).

Two shapes:

- `CallTable`, one row per call: `CALL_COLUMNS`, then one column per extracted-data field, then
  `transcript` and `recording_urls` when asked for.
- `TurnTable`, one row per transcript turn: `TURN_COLUMNS`.

Extracted data is flattened as the index flattens it (`analytics.extracted_leaves`): nested
objects (up to 3 levels) become dotted keys, each column named `extracted.` + the key, e.g.
`{"appointment": {"date": "2026-03-04"}}` → `extracted.appointment.date`. A field whose values
are all numbers is a number column, all true/false a boolean column; any other field (and a field
the redactor treats as a phone number, when redacting) is text: strings as they are, other values
(numbers, booleans, lists, deeper objects) as compact JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from call_logs_mcp.analytics import FieldKind, extracted_leaves, field_value
from call_logs_mcp.errors import CallLogsError
from call_logs_mcp.index import ExportedCall, ExtractedField
from call_logs_mcp.models import Call
from call_logs_mcp.output.calls import call_facts
from call_logs_mcp.output.sanitize import clean_text, turn_line
from call_logs_mcp.output.scrub import Scrubber

Cell = str | float | int | bool | datetime | None
Row = dict[str, Cell]

EXTRACTED_PREFIX = "extracted."


class ColumnType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIME = "time"  # a UTC datetime


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType


_T, _N, _B, _D = ColumnType.TEXT, ColumnType.NUMBER, ColumnType.BOOLEAN, ColumnType.TIME

CALL_COLUMNS: tuple[Column, ...] = tuple(
    Column(name, kind)
    for name, kind in (
        ("provider", _T),
        ("call_id", _T),
        ("campaign_id", _T),
        ("status", _T),
        ("raw_status", _T),
        ("started_at", _D),
        ("ended_at", _D),
        ("duration_seconds", _N),
        ("to_number", _T),
        ("from_number", _T),
        ("cost", _N),
        ("currency", _T),
        ("ended_reason", _T),
        ("qa_score", _N),
        ("summary", _T),
        ("qa", _T),  # the platform's QA result as JSON
        ("has_details", _B),  # False: only the listing is stored (no transcript, data or QA yet)
    )
)
TRANSCRIPT = Column("transcript", _T)
RECORDINGS = Column("recording_urls", _T)
TURN_COLUMNS: tuple[Column, ...] = (
    Column("provider", _T),
    Column("call_id", _T),
    Column("turn_index", ColumnType.INTEGER),
    Column("speaker", _T),
    Column("offset_seconds", _N),
    Column("text", _T),
)


class ExportError(CallLogsError):
    """A stored value that does not fit the export's columns (a bug, never silently dropped)."""


class Table(Protocol):
    """Columns, and the rows of one exported call under them."""

    @property
    def columns(self) -> Sequence[Column]: ...

    def rows(self, exported: ExportedCall) -> Iterator[Row]: ...


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def _number(value: int | float) -> int | float | None:
    """A number as written: an integer stays one (Parquet stores both as doubles); NaN and the
    infinities (which JSON allows) carry no value."""
    return value if isinstance(value, int) or math.isfinite(value) else None


class CallTable:
    """One row per call. `fields`: the extracted-data keys of the exported calls (from the index)."""

    def __init__(
        self,
        fields: Sequence[ExtractedField],
        *,
        scrub: Scrubber,
        with_transcript: bool = False,
        with_recordings: bool = False,
    ) -> None:
        self._scrub = scrub
        self._with_transcript = with_transcript
        self._with_recordings = with_recordings
        self._extracted: dict[str, Column] = {}
        self._phone_keys: dict[str, bool] = {}
        names = {c.name for c in CALL_COLUMNS} | {TRANSCRIPT.name, RECORDINGS.name}
        for found in fields:
            name = EXTRACTED_PREFIX + (scrub.ident(found.key) or "")
            while name in names:  # two keys that clean to one name both keep a column
                name += "_"
            names.add(name)
            self._extracted[found.key] = Column(name, self._field_type(found))
        self.columns: list[Column] = [
            *CALL_COLUMNS,
            *self._extracted.values(),
            *([TRANSCRIPT] if with_transcript else []),
            *([RECORDINGS] if with_recordings else []),
        ]

    def _field_type(self, found: ExtractedField) -> ColumnType:
        if self._scrub.redactor.phone_key(found.key):
            return _T  # masked to text when redacting, whatever the platform sent
        if found.kinds == {FieldKind.NUMBER}:
            return _N
        if found.kinds == {FieldKind.BOOLEAN}:
            return _B
        return _T

    def rows(self, exported: ExportedCall) -> Iterator[Row]:
        yield self.row(exported)

    def row(self, exported: ExportedCall) -> Row:
        """Raises ExportError for an extracted value the columns have no place for."""
        call, s = exported.call, self._scrub
        facts = call_facts(call, s)
        row: Row = {name: facts[name] for name in ("provider", "call_id", "campaign_id", "status")}
        row.update(
            raw_status=facts["raw_status"],
            started_at=call.started_at,
            ended_at=call.ended_at,
            duration_seconds=call.duration_seconds,
            to_number=facts["to_number"],
            from_number=facts["from_number"],
            cost=call.cost,
            currency=facts["currency"],
            ended_reason=s.opt(call.ended_reason),
            qa_score=call.qa_score,
            summary=s.opt(call.summary),
            qa=_json(s.value(dict(call.qa))) if call.qa else None,
            has_details=exported.has_details,
        )
        for column in self._extracted.values():
            row[column.name] = None
        self._fill_extracted(call, row)
        if self._with_transcript:
            row[TRANSCRIPT.name] = transcript_text(call, s)
        if self._with_recordings:
            row[RECORDINGS.name] = " ".join(clean_text(url) for url in call.recording_urls) or None
        return row

    def _fill_extracted(self, call: Call, row: Row) -> None:
        filled: set[str] = set()
        for key, last, value in extracted_leaves(call.extracted_data):
            column = self._extracted.get(key)
            if column is None:
                if field_value(key, value) is not None:
                    raise ExportError(
                        f"The index's table of extracted-data keys does not match a stored "
                        f"{call.provider} call; nothing was written. Please report this."
                    )
                continue  # a null or blank value the index keeps no key for
            if column.name in filled:
                continue  # a key repeated by flattening ("a.b" beside {"a": {"b": …}}): the first stays
            shown = self._shown(last, value)
            cell = _cell(shown, column.type)
            if cell is not None:
                filled.add(column.name)
                row[column.name] = cell

    def _shown(self, key: str, value: Any) -> Any:
        """`value` scrubbed as the tools scrub it inside extracted data, where its `key` decides
        whether it is masked as a phone number (the decision is remembered per key: keys repeat
        on every call, and asking costs more than the rest of the row)."""
        phone = self._phone_keys.get(key)
        if phone is None:
            phone = self._phone_keys[key] = self._scrub.redactor.phone_key(key)
        if phone:
            (shown,) = self._scrub.value({key: value}).values()
            return shown
        return self._scrub.value(value)


def _cell(value: Any, kind: ColumnType) -> Cell:
    if value is None:
        return None
    if kind is ColumnType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExportError("An extracted number column holds a value that is not a number.")
        return _number(value)
    if kind is ColumnType.BOOLEAN:
        if not isinstance(value, bool):
            raise ExportError("An extracted true/false column holds a value that is not true/false.")
        return value
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return _json(value)


def transcript_text(call: Call, scrub: Scrubber) -> str | None:
    """The transcript as one text: the turn lines of the transcript resource, one per turn
    (`[3] customer @00:07 | text`, a turn's own line breaks shown as " ⏎ ")."""
    if not call.transcript:
        return None
    texts = [t.text for t in call.transcript]
    return "\n".join(
        turn_line(i, t.speaker, t.offset_seconds, scrub.turn(texts, i)) for i, t in enumerate(call.transcript)
    )


class TurnTable:
    """One row per transcript turn."""

    def __init__(self, *, scrub: Scrubber) -> None:
        self._scrub = scrub
        self.columns: list[Column] = list(TURN_COLUMNS)

    def rows(self, exported: ExportedCall) -> Iterator[Row]:
        call = exported.call
        texts = [t.text for t in call.transcript]  # each turn is scrubbed with its neighbours
        for index, turn in enumerate(call.transcript):
            yield {
                "provider": call.provider,
                "call_id": call.call_id,
                "turn_index": index,
                "speaker": turn.speaker,
                "offset_seconds": turn.offset_seconds,
                "text": self._scrub.turn(texts, index),
            }
