"""A get_call answer's transcript: whole turns from an offset while they fit, a turn longer than the
budget split at a character position, and a footer naming the call that fetches the rest."""

from __future__ import annotations

from call_logs_mcp.models import Call, Turn
from call_logs_mcp.output.budget import Shaped, checked, json_size
from call_logs_mcp.output.sanitize import turn_line, untrusted_block
from call_logs_mcp.output.schemas import CallDetail, TranscriptTurn
from call_logs_mcp.output.scrub import Scrubber
from call_logs_mcp.output.text import fmt_int


def with_transcript(
    call: Call,
    head_text: str,
    model: CallDetail,
    first_text: str,
    offset: int,
    char_offset: int,
    *,
    scrub: Scrubber,
    budget: int,
) -> Shaped:
    """The answer made of the call's details (`head_text`, `model`) and as much of its transcript,
    from turn `offset` at character `char_offset` (`first_text` is that turn scrubbed), as fits.

    Raises AssertionError when the details leave no room for a single character (a bug of ours).
    """
    total = len(call.transcript)
    model.transcript_offset = offset
    model.transcript_total_turns = total
    if total == 0:
        return checked(head_text + "\nNo transcript.", model.model_dump(mode="json"), budget)

    label = f"transcript of {call.provider}/{call.call_id}"
    empty_block = untrusted_block(label, "")
    worst_footer = _transcript_footer(total - 1, 10**9, total - 1, 10**9, total, True, True)
    # Room left for turn lines (text) and turn objects (JSON), keeping the worst-case footer.
    probe = model.model_copy(
        update={
            "transcript_truncated": True,
            "next_transcript_offset": total,
            "next_transcript_char_offset": 10**9,
        }
    )
    room_text = budget - len(head_text) - len(empty_block) - len(worst_footer) - 8
    room_json = budget - json_size(probe.model_dump(mode="json")) - 8

    turns: list[TranscriptTurn] = []
    lines: list[str] = []
    next_offset: int | None = None
    next_char: int | None = None
    index = offset
    texts = [t.text for t in call.transcript]
    while index < total:
        turn = call.transcript[index]
        full = first_text if index == offset else scrub.turn(texts, index)
        start = char_offset if index == offset else 0
        piece = full[start:]
        if len(piece) < min(room_text, room_json):
            item, line = _turn_out(index, turn, piece, start, partial=False)
            cost_text = len(line) + 1
            cost_json = json_size(item.model_dump(mode="json")) + 2
        else:  # cannot fit: every rendering is at least as long as the text
            cost_text = cost_json = budget + 1
        if cost_text <= room_text and cost_json <= room_json:
            turns.append(item)
            lines.append(line)
            room_text -= cost_text
            room_json -= cost_json
            index += 1
            continue
        if not turns:
            # A turn longer than everything left: show as much as fits and resume inside it.
            cut = _largest_piece(index, turn, piece, start, room_text, room_json)
            item, line = _turn_out(index, turn, piece[:cut], start, partial=True)
            turns.append(item)
            lines.append(line)
            next_offset, next_char = index, start + cut
        else:
            next_offset, next_char = index, (start if start else None)
        break

    truncated = next_offset is not None
    model.transcript = turns
    model.transcript_truncated = truncated
    model.next_transcript_offset = next_offset
    model.next_transcript_char_offset = next_char if next_char else None
    last = turns[-1]
    footer = _transcript_footer(offset, char_offset, last.index, next_char, total, truncated, last.partial)
    body = "\n".join(lines)
    text = "\n".join([head_text, untrusted_block(label, body), footer])
    return checked(text, model.model_dump(mode="json"), budget)


def _turn_out(index: int, turn: Turn, piece: str, start: int, *, partial: bool) -> tuple[TranscriptTurn, str]:
    item = TranscriptTurn(
        index=index,
        speaker=turn.speaker,
        offset_seconds=turn.offset_seconds,
        text=piece,
        text_offset=start,
        partial=partial,
    )
    shown = piece
    if start:
        shown = f"[…continued from character {start}] " + shown
    if partial:
        shown = shown + " […continues]"
    return item, turn_line(index, turn.speaker, turn.offset_seconds, shown)


def _largest_piece(index: int, turn: Turn, piece: str, start: int, room_text: int, room_json: int) -> int:
    """The longest prefix length of `piece` whose line and JSON fit the room (at least 1).

    Raises AssertionError when not even one character fits.
    """

    def fits(n: int) -> bool:
        item, line = _turn_out(index, turn, piece[:n], start, partial=True)
        return len(line) + 1 <= room_text and json_size(item.model_dump(mode="json")) + 2 <= room_json

    low, high = 1, max(1, min(len(piece) - 1, room_text, room_json))
    if not fits(low):
        raise AssertionError("no room for a single transcript character")
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def _transcript_footer(
    offset: int,
    char_offset: int,
    last: int,
    next_char: int | None,
    total: int,
    truncated: bool,
    last_partial: bool,
) -> str:
    first = f"{fmt_int(offset)}" + (f" (from character {fmt_int(char_offset)})" if char_offset else "")
    span = f"turn {first}" if offset == last else f"turns {first}–{fmt_int(last)}"
    if not truncated:
        return f"Showing {span} of {fmt_int(total)}; that is the end of the transcript."
    if last_partial and next_char:
        return (
            f"Showing {span} of {fmt_int(total)}; turn {fmt_int(last)} continues. Call get_call with "
            f"transcript_offset={last} and transcript_char_offset={next_char} for more."
        )
    nxt = last + 1
    return f"Showing {span} of {fmt_int(total)}. Call get_call with transcript_offset={nxt} for more."
