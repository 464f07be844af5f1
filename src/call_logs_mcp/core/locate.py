"""One call: which platform holds an id (the index first, else asking each), fetched live and
remembered in the index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import anyio

from call_logs_mcp.core.arguments import validate_id
from call_logs_mcp.core.local_index import LocalIndex
from call_logs_mcp.errors import InvalidArgumentError, NotFoundError, ProviderError
from call_logs_mcp.models import Call
from call_logs_mcp.providers import join_names
from call_logs_mcp.providers.base import CallProvider


async def fetch_call(
    providers: Mapping[str, CallProvider], index: LocalIndex, names: Sequence[str], call_id: str
) -> Call:
    """The full call from the one provider of `names` holding it, stored in the index.

    Raises InvalidArgumentError (an id on several providers, naming them), NotFoundError, and the
    provider's ProviderError.
    """
    holders = list(names)
    if len(holders) > 1:
        holders = await locate(providers, index, call_id, holders)
    call = await providers[holders[0]].get_call(call_id)
    if call.call_id != call_id:
        # The id asked by addresses the call; a detail naming another (or an unusable) id
        # is filed and shown under the one asked for.
        call = call.model_copy(update={"call_id": call_id})
    await index.remember(call)
    if call.campaign_id is None:
        # A platform whose records do not name their campaign (CallCamp): the index knows it
        # when a campaign-filtered listing filed the call.
        stored = await index.get_call(call.provider, call.call_id)
        if stored is not None and stored.campaign_id is not None:
            call = call.model_copy(update={"campaign_id": stored.campaign_id})
    return call


async def indexed_or_fetched(
    providers: Mapping[str, CallProvider], index: LocalIndex, provider: str, call_id: str
) -> Call:
    """The indexed copy of a call when it is final, else fetched live (see `fetch_call`).

    Raises InvalidArgumentError (bad id), NotFoundError, ProviderError.
    """
    validate_id(call_id)
    stored = await index.get_call(provider, call_id)
    if stored is not None and stored.status.is_final:
        return stored
    return await fetch_call(providers, index, [provider], call_id)


async def locate(
    providers: Mapping[str, CallProvider], index: LocalIndex, call_id: str, names: list[str]
) -> list[str]:
    """The one provider holding `call_id`, asking each when the index does not know.

    Raises InvalidArgumentError (several hold it, or every provider refuses the id), NotFoundError,
    or a provider's ProviderError when none has it and one failed.
    """
    known = [name for name in names if await index.get_call(name, call_id) is not None]
    # The index answers alone only when every other platform's calls are all indexed: while a
    # sync is still filling it, the same id may yet turn up on another platform.
    others = [name for name in names if name not in known]
    if len(known) == 1 and all([await index.fully_synced(name) for name in others]):
        return known
    found: list[str] = []
    failures: dict[str, ProviderError] = {}
    refused: list[InvalidArgumentError] = []

    async def probe(name: str) -> None:
        try:
            await providers[name].get_call(call_id)
        except NotFoundError:
            return
        except ProviderError as err:
            failures[name] = err
            return
        except InvalidArgumentError as err:
            # An id this platform will not even request (its URL rules): not here. Caught so
            # that two refusals do not leave the task group as an ExceptionGroup.
            refused.append(err)
            return
        found.append(name)

    async with anyio.create_task_group() as group:
        for name in names:
            group.start_soon(probe, name)
    found.sort(key=names.index)
    if len(found) == 1:
        return found
    if len(found) > 1:
        raise InvalidArgumentError(
            f"Call id {call_id} exists on several providers ({', '.join(found)}); "
            "pass provider= to choose one."
        )
    if failures:
        raise next(iter(failures.values()))
    if len(refused) == len(names):
        raise refused[0]
    if len(names) == 1:
        raise NotFoundError(names[0], f"call {call_id}")
    raise NotFoundError(
        join_names(names, "or"),
        f"call {call_id}",
        f"None of {join_names(names, 'and')} has a call {call_id}; list_calls and search_transcripts "
        "show the calls each one holds, with their ids.",
    )
