"""Tool arguments as clients send them, and our own words when they are wrong.

Clients differ in how they type what a user wrote: MCP Inspector sends `--tool-arg call_id=101208`
as the number 101208. An integer where the schema asks for a string is taken as its decimal text.
Anything else that fails the input schema gets one line per argument saying what is wrong and
what is accepted, built from the tool's own schema: never pydantic's text or its URL, and never
the rejected value unless it is a number (the value is the caller's data, possibly a transcript
excerpt or a phone number).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError


def _types(prop: Mapping[str, Any]) -> set[str]:
    """The JSON types a schema property accepts (`anyOf` flattened; `null` included)."""
    found: set[str] = set()
    if isinstance(prop.get("type"), str):
        found.add(prop["type"])
    for option in prop.get("anyOf", ()):
        if isinstance(option, Mapping) and isinstance(option.get("type"), str):
            found.add(option["type"])
    return found


def _bounds(prop: Mapping[str, Any]) -> Mapping[str, Any]:
    """The property's own constraints, or those of its non-null `anyOf` branch."""
    for option in prop.get("anyOf", ()):
        if isinstance(option, Mapping) and option.get("type") not in (None, "null"):
            return {**option, **{k: v for k, v in prop.items() if k != "anyOf"}}
    return prop


def coerce_arguments(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """`arguments` with whole numbers given for string properties turned into their text."""
    props = schema.get("properties", {})
    out = dict(arguments)
    for name, value in arguments.items():
        prop = props.get(name)
        if not isinstance(prop, Mapping) or "string" not in _types(prop):
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            out[name] = str(value)
        elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            out[name] = str(int(value))
    return out


def accepted(prop: Mapping[str, Any]) -> str:
    """What a property accepts, in words: "a whole number from 1 to 100", "true or false"..."""
    bounds = _bounds(prop)
    types = _types(prop) - {"null"}
    if "integer" in types or "number" in types:
        kind = "a whole number" if "integer" in types else "a number"
        low, high = bounds.get("minimum"), bounds.get("maximum")
        if low is not None and high is not None:
            return f"{kind} from {low:g} to {high:g}"
        if low is not None:
            return f"{kind} of at least {low:g}"
        if high is not None:
            return f"{kind} of at most {high:g}"
        return kind
    if "boolean" in types:
        return "true or false"
    if "string" in types:
        longest = bounds.get("maxLength")
        return f"text of at most {longest} characters" if longest is not None else "text"
    return "a value of the documented type"


def _got(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f" (got {value:g})" if isinstance(value, float) else f" (got {value})"


def explain(tool: str, schema: Mapping[str, Any], error: ValidationError) -> str:
    """One message for every argument `error` rejects, from the tool's input `schema`."""
    props = schema.get("properties", {})
    problems: list[str] = []
    seen: set[str] = set()
    for item in error.errors():
        loc = item.get("loc", ())
        name = str(loc[0]) if loc else "arguments"
        if name in seen:  # one line per argument, however many rules it broke
            continue
        seen.add(name)
        prop = props.get(name)
        if item.get("type") == "missing":
            problems.append(f"{name} is required")
        elif isinstance(prop, Mapping):
            problems.append(f"{name} must be {accepted(prop)}{_got(item.get('input'))}")
        else:
            problems.append(f"{name} is not an argument of {tool}")
    known = ", ".join(sorted(props)) or "none"
    return f"Invalid arguments for {tool}: " + "; ".join(problems) + f". Arguments {tool} takes: {known}."
