"""What is said about a call besides its transcript, as searchable text: the summary, each
extracted-data value as "field: value", and the QA notes.

They are stored in the `turns` FTS table under the notes speaker code (see `rowids`), one row
each, with `speaker` naming the kind and `label` the field, so a hit says where it matched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from call_logs_mcp.analytics.facts import FieldKind, flatten_extracted
from call_logs_mcp.index.rowids import MAX_TURNS

NoteKind = Literal["summary", "extracted", "qa"]
NOTE_KINDS: tuple[NoteKind, ...] = ("summary", "extracted", "qa")


@dataclass(frozen=True)
class Note:
    index: int  # its place among the call's notes (the low bits of its rowid)
    kind: NoteKind
    label: str | None  # the extracted field or QA criterion
    text: str


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"


def call_notes(summary: str | None, extracted: Mapping[str, Any], qa: Mapping[str, Any]) -> list[Note]:
    """The notes of a call. A yes/no field is a note only where it is true ("callback_requested:
    true"), so searching its name finds the calls it holds for; lists are left out."""
    texts: list[tuple[NoteKind, str | None, str]] = []
    if summary and summary.strip():
        texts.append(("summary", None, summary))
    for value in flatten_extracted(extracted):
        if value.kind is FieldKind.BOOLEAN and value.num:
            texts.append(("extracted", value.key, f"{value.key}: true"))
        elif value.kind is FieldKind.NUMBER and value.num is not None:
            texts.append(("extracted", value.key, f"{value.key}: {_number(value.num)}"))
        elif value.kind is FieldKind.TEXT and value.text:
            texts.append(("extracted", value.key, f"{value.key}: {value.text}"))
    for value in flatten_extracted(qa):
        if value.kind is FieldKind.TEXT and value.text:
            texts.append(("qa", value.key, value.text))
    return [Note(i, kind, label, text) for i, (kind, label, text) in enumerate(texts[: MAX_TURNS + 1])]
