"""Campaign names: from the campaigns file (`CALL_LOGS_CAMPAIGNS`), from the platform where its
records carry one, and turning a name someone says ("the March reminders campaign") into the id.

The campaigns file is TOML, one table per platform, campaign id = name:

    [prosper]
    "b31a806f-e4f5-4096-9292-ceaf4585ea0b" = "March reminders"

    [callcamp]
    "19694c55-9fb2-4134-ad6f-741ca6ca273b" = "Renewal outreach"

It also declares campaigns to sync on platforms that cannot list them (CallCamp's call records do
not name their campaign): the server syncs each declared campaign as it starts.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from call_logs_mcp.errors import ConfigurationError, InvalidArgumentError

MAX_NAME_CHARS = 200


@dataclass(frozen=True)
class CampaignDirectory:
    """`names[platform][campaign id]` = the name a person knows the campaign by."""

    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def name_of(self, provider: str, campaign_id: str | None) -> str | None:
        return self.names.get(provider, {}).get(campaign_id) if campaign_id else None

    def declared(self, provider: str) -> list[str]:
        """The campaign ids the file declares for `provider`."""
        return list(self.names.get(provider, {}))


def load_directory(path: Path | None, platforms: Iterable[str]) -> CampaignDirectory:
    """The campaigns file at `path` (none: an empty directory).

    Raises ConfigurationError naming CALL_LOGS_CAMPAIGNS when the file cannot be read, is not
    TOML, names an unknown platform, or holds anything but id = "name" pairs.
    """
    if path is None:
        return CampaignDirectory()
    where = f"CALL_LOGS_CAMPAIGNS ({path.name})"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigurationError(f"{where} cannot be read; check the path.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigurationError(f"{where} is not valid TOML: {str(err)[:120]}.") from None
    known = list(platforms)
    names: dict[str, dict[str, str]] = {}
    for platform, table in data.items():
        if platform not in known:
            raise ConfigurationError(
                f"{where} names the platform {platform[:40]!r}; use one of: {', '.join(known)}."
            )
        if not isinstance(table, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in table.items()
        ):
            raise ConfigurationError(f'{where}: [{platform}] must hold "campaign id" = "name" pairs.')
        names[platform] = {k.strip(): " ".join(v.split())[:MAX_NAME_CHARS] for k, v in table.items()}
    return CampaignDirectory(names)


@dataclass(frozen=True)
class Resolved:
    """A campaign as the caller named it: its id, the platform holding it when the name says
    (else None), and a sentence saying what a name resolved to (None for an id)."""

    campaign_id: str
    provider: str | None = None
    note: str | None = None
    # For a value that reads as a name no campaign answers to: what the campaigns file offers
    # instead, for the sentence saying the platform has no such campaign.
    hint: str | None = None


def resolve(
    value: str,
    names: Sequence[str],
    known: Mapping[str, Mapping[str, str]],
    display: Mapping[str, str],
) -> Resolved:
    """`value` as a campaign id, or as the name of exactly one campaign of the platforms `names`.

    `known[platform][campaign id]` = its name (the campaigns file's). An id is taken as it is; a
    name matches exactly (ignoring case, spacing and a plural s: "March reminder" is "March
    reminders"), else as the one name containing it (less words like "the", "campaign" or
    "calls"), or contained in it, as whole words. A name nothing answers to comes back as it
    is, with a `hint`. Raises InvalidArgumentError when a name matches campaigns with different
    ids, listing them.
    """
    if any(value in known.get(n, {}) for n in names):
        return Resolved(value)
    wanted = _fold(value)
    exact = [
        (n, cid, nm) for n in names for cid, nm in known.get(n, {}).items() if nm and _fold(nm) == wanted
    ]
    # What was said without the words that name no campaign ("the", "campaign", "calls").
    core = " ".join(word for word in wanted.split() if word not in _FILLER)
    found = exact or [
        (n, cid, nm)
        for n in names
        for cid, nm in known.get(n, {}).items()
        if nm and len(core) >= 3 and (_within(core, _fold(nm)) or _within(_fold(nm), wanted))
    ]
    if not found:
        return Resolved(value, hint=_name_hint(value, names, known, display))
    if len({(n, cid) for n, cid, _ in found}) > 1:
        options = "; ".join(f'"{nm}" = {cid} ({n})' for n, cid, nm in found[:8])
        raise InvalidArgumentError(
            f"Several campaigns match that name: {options}. Pass the campaign id (and provider)."
        )
    provider, campaign_id, name = found[0]
    note = f'"{name}" is campaign {campaign_id} on {display.get(provider, provider)}.'
    return Resolved(campaign_id, provider, note)


async def resolve_held(
    value: str,
    names: Sequence[str],
    directory: CampaignDirectory,
    display: Mapping[str, str],
    holds: Callable[[str, str], Awaitable[bool]],
) -> Resolved:
    """`resolve`, except that an id the index holds calls of (`holds(platform, id)`) is that id,
    whatever names resemble it. Raises InvalidArgumentError for a name several campaigns answer to."""
    for name in names:
        if await holds(name, value):
            return Resolved(value)
    return resolve(value, names, directory.names, display)


def _within(part: str, whole: str) -> bool:
    """`part` in `whole` as whole words: "march reminders" is in "the march reminders campaign",
    but a campaign called "Ace" is not in an id like "f1ace2…"."""
    return re.search(rf"(?<!\w){re.escape(part)}(?!\w)", whole) is not None


def _fold(text: str) -> str:
    """Lower case, single spaces, each word without a plural s ("reminders": "reminder")."""
    return " ".join(_singular(word) for word in text.casefold().split())


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


# Words that say nothing of which campaign is meant.
_FILLER = {"the", "a", "an", "our", "my", "campaign", "call", "calls", "and", "of", "for"}


def _name_hint(
    value: str, names: Sequence[str], known: Mapping[str, Mapping[str, str]], display: Mapping[str, str]
) -> str | None:
    """For a `value` that reads as a name (it has a space, or only letters) no campaign of the
    platforms `names` answers to: the names sharing a word with it, or where names come from."""
    if not (any(ch.isspace() for ch in value) or value.isalpha()):
        return None
    said = set(_fold(value).split()) - _FILLER
    near = [
        (n, cid, nm)
        for n in names
        for cid, nm in known.get(n, {}).items()
        if nm and said & set(_fold(nm).split())
    ]
    shown = " ".join(value.split())[:80]
    if near:
        options = "; ".join(f'"{nm}" = {cid} ({n})' for n, cid, nm in near[:5])
        more = f" and {len(near) - 5} more" if len(near) > 5 else ""
        return f'No campaign is named "{shown}"; names sharing a word with it: {options}{more}.'
    if not any(known.get(n) for n in names):
        platforms = ", ".join(display.get(n, n) for n in names)
        return (
            "Campaign names come from the campaigns file (CALL_LOGS_CAMPAIGNS), which names no "
            f"campaign on {platforms}: ask by campaign id (list_campaigns shows them), or name "
            "the campaigns there."
        )
    return f'No campaign is named "{shown}" (list_campaigns shows the names there are).'
