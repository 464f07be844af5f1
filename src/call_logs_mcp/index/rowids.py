"""The row-id bit layout: call and turn ids that carry order and filters.

Row ids carry order. A call's id is ((LAST_MINUTE - start minute) << SEQ_BITS | sequence), so
ids *decrease* with start time: syncs list newest first, so inserts append to every B-tree
(dense pages) and FTS5 sees ascending rowids (it flushes a segment whenever they go down). More
than 1,024 calls starting in one minute spill into the ranges of the minutes before
(SPILL_MINUTES bounds how far). A turn's FTS rowid is
    call id << CALL_SHIFT | status code << STATUS_SHIFT | speaker code << TURN_BITS | turn index
so a call's turns are one rowid range, "the newest matches" is a rowid range, a date filter
narrows the scan by rowid, and status and speaker filters are arithmetic on the rowid (no
content read, no join). A status change rewrites the call's turns (any change does).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from call_logs_mcp.models import CallStatus

SEQ_BITS = 10
TURN_BITS = 16
SPEAKER_BITS = 2
STATUS_BITS = 3
STATUS_SHIFT = TURN_BITS + SPEAKER_BITS
CALL_SHIFT = STATUS_SHIFT + STATUS_BITS
MAX_TURNS = (1 << TURN_BITS) - 1
LAST_MINUTE = (1 << 27) - 1  # year 2225
SPILL_MINUTES = 60
SPEAKER_CODES = {"agent": 0, "customer": 1, "system": 2}
# The fourth speaker code holds what was said *about* a call (its summary, extracted data and QA
# notes), so they are searched with its turns but never read back as part of its transcript.
NOTES_CODE = 3
STATUS_CODES = {status.value: code for code, status in enumerate(CallStatus)}


def turn_range(call_rowid: int) -> tuple[int, int]:
    """The first and last turn rowid a call can have."""
    low = call_rowid << CALL_SHIFT
    return low, ((call_rowid + 1) << CALL_SHIFT) - 1


def turn_rowid(call_rowid: int, status: CallStatus, speaker: str, index: int) -> int:
    """The FTS rowid of a call's `index`-th turn (an unknown speaker is coded as system)."""
    return (
        call_rowid << CALL_SHIFT
        | STATUS_CODES[status.value] << STATUS_SHIFT
        | SPEAKER_CODES.get(speaker, 2) << TURN_BITS
        | index
    )


def notes_rowid(call_rowid: int, status: CallStatus, index: int) -> int:
    """The FTS rowid of a call's `index`-th note (summary, extracted field or QA note)."""
    return (
        call_rowid << CALL_SHIFT
        | STATUS_CODES[status.value] << STATUS_SHIFT
        | NOTES_CODE << TURN_BITS
        | index
    )


def is_turn_sql(rowid: str) -> str:
    """SQL true for a transcript turn's rowid (not a note's)."""
    return f"(({rowid} >> {TURN_BITS}) & {(1 << SPEAKER_BITS) - 1}) != {NOTES_CODE}"


def start_band(started: datetime | None) -> int:
    """LAST_MINUTE minus the start minute: smaller for newer calls (unknown start: oldest)."""
    minute = 0 if started is None else int(started.timestamp() // 60)
    return LAST_MINUTE - min(LAST_MINUTE, max(0, minute))


def id_fits(call_rowid: int, started: datetime | None) -> bool:
    """Whether a call id is still in order for this start time (its band or a spill of it)."""
    band = start_band(started)
    return band <= call_rowid >> SEQ_BITS < band + SPILL_MINUTES


def allocate_id(conn: sqlite3.Connection, started: datetime | None) -> int:
    """A free call id for this start time: the next in its minute, else in the minutes before."""
    band = start_band(started)
    while True:
        low = band << SEQ_BITS
        high = low + (1 << SEQ_BITS) - 1
        (top,) = conn.execute("SELECT max(id) FROM calls WHERE id BETWEEN ? AND ?", (low, high)).fetchone()
        if top is None:
            return low
        if top < high:
            return int(top) + 1
        band += 1
