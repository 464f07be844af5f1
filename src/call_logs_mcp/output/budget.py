"""The output budget: how answers are measured, and how rows and free-form values shrink to fit it."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from call_logs_mcp.output.text import ELLIPSIS, clip


def json_size(obj: Any) -> int:
    """The budget measure of structured content."""
    return len(json.dumps(obj, ensure_ascii=False))


class Shaped(BaseModel):
    """A rendered tool answer: text for the model, structured content for the client."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    text: str
    structured: dict[str, Any]


def within(text: str, structured: Mapping[str, Any], budget: int) -> bool:
    """Whether both the text and the structured content fit `budget`."""
    return len(text) <= budget and json_size(structured) <= budget


def checked(text: str, structured: dict[str, Any], budget: int) -> Shaped:
    """The answer, once both parts are known to fit `budget`.

    Raises AssertionError when they do not: a bug of ours, never data.
    """
    if not within(text, structured, budget):
        raise AssertionError("shaping exceeded the output budget")
    return Shaped(text=text, structured=structured)


def fit_rows(
    budget: int, count: int, build: Callable[[int], tuple[str, dict[str, Any]]]
) -> tuple[int, Shaped]:
    """The largest k ≤ count (at least 0) whose rendering `build(k)` fits the budget, and that answer.

    Raises AssertionError when even `build(0)` does not fit.
    """
    k = count
    while True:
        text, structured = build(k)
        if within(text, structured, budget) or k == 0:
            return k, checked(text, structured, budget)
        # Shrink proportionally first, then one by one.
        over = max(len(text) / budget, json_size(structured) / budget)
        k = max(0, min(k - 1, int(k / over)))


# Clipping levels for free-form values: (longest string, most items per list/dict).
_LEVELS: tuple[tuple[int, int], ...] = (
    (4000, 200),
    (1000, 100),
    (300, 40),
    (120, 20),
    (40, 8),
    (12, 3),
)


def clip_value(value: Any, max_string: int, max_items: int) -> Any:
    """A JSON-ish value with every string cut to `max_string` and containers to `max_items`."""
    if isinstance(value, str):
        return clip(value, max_string)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        items = list(value.items())
        for key, item in items[:max_items]:
            out[clip(str(key), min(max_string, 80))] = clip_value(item, max_string, max_items)
        if len(items) > max_items:
            out[ELLIPSIS] = f"{len(items) - max_items} more omitted"
        return out
    if isinstance(value, list | tuple):
        seq = [clip_value(item, max_string, max_items) for item in list(value)[:max_items]]
        if len(value) > max_items:
            seq.append(f"{ELLIPSIS} {len(value) - max_items} more omitted")
        return seq
    if value is None or isinstance(value, bool | int | float):
        return value
    return clip(str(value), max_string)


def fit_value(value: Any, max_json: int) -> tuple[Any, bool]:
    """`value` clipped (least first) until its JSON fits `max_json`; (value, was_clipped)."""
    if json_size(value) <= max_json:
        return value, False
    for max_string, max_items in _LEVELS:
        clipped = clip_value(value, max_string, max_items)
        if json_size(clipped) <= max_json:
            return clipped, True
    if isinstance(value, Mapping):
        return {}, True
    if isinstance(value, list | tuple):
        return [], True
    return clip(str(value), max(1, max_json // 2)), True
