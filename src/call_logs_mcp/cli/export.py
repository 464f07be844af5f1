"""`call-logs-mcp export`: sync a scope, then write its indexed calls to a CSV, JSON Lines or
Parquet file, one row per call or per transcript turn, scrubbed as tool output is.

The pieces: `cli.scope` (the flags `sync` shares), `cli.sync.sync_scope` (the sync and its
progress bar), `index.export` (the calls in batches from one snapshot), `output.export` (columns
and scrubbed rows), `output.export_files` (the formats, and the file renamed into place when
complete). Everything but the file itself goes to stderr: with `--output -` stdout is the file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, Protocol

from call_logs_mcp.cli import EXIT_FAILED, EXIT_OK, Transports
from call_logs_mcp.cli.scope import Scope, addressed, parse_dates, resolve_scope
from call_logs_mcp.cli.sync import ProgressBar, sync_scope

if TYPE_CHECKING:
    from call_logs_mcp.index import ExportFilter, IndexStoreProtocol
    from call_logs_mcp.output.export_files import Format
    from call_logs_mcp.settings import Settings

Rows = Literal["calls", "turns"]
_SUFFIXES: dict[str, Format] = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class Progress(Protocol):
    """What the export reports to as it writes: calls written so far, out of the total."""

    def __call__(self, done: int, total: int | None) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ExportRequest:
    """What to write, validated: the format, where (None: stdout), and the shape of the rows."""

    fmt: Format
    path: Path | None
    rows: Rows = "calls"
    with_transcript: bool = False
    with_recordings: bool = False
    redact: bool = True

    @property
    def shown(self) -> str:
        return "stdout" if self.path is None else str(self.path)


def export_request(
    output: str,
    fmt: str | None,
    rows: str,
    *,
    with_transcript: bool,
    with_recordings: bool,
    redact: bool,
) -> ExportRequest:
    """Raises InvalidArgumentError for an unknown format or row shape, options of the other row
    shape, or an output path that cannot be written; ConfigurationError for Parquet without its
    extra."""
    from call_logs_mcp.errors import InvalidArgumentError
    from call_logs_mcp.output.export_files import FORMATS, pyarrow_modules

    path = None if output == "-" else Path(output).expanduser()
    by_name: dict[str, Format] = {name: name for name in FORMATS}
    chosen = by_name.get(fmt or "") or (_SUFFIXES.get(path.suffix.lower()) if path else None) or "csv"
    if fmt is not None and fmt not in by_name:
        raise InvalidArgumentError(f"--format takes one of {', '.join(FORMATS)}.")
    if fmt is None and path is not None and path.suffix and path.suffix.lower() not in _SUFFIXES:
        # "calls.xlsx" written as CSV would not open as what its name says.
        raise InvalidArgumentError(
            f"--output {path.name}: {path.suffix} is not a format this writes; name the file "
            f"{', '.join(_SUFFIXES)} or pass --format ({', '.join(FORMATS)})."
        )
    if rows not in ("calls", "turns"):
        raise InvalidArgumentError("--rows takes calls or turns.")
    if rows == "turns" and (with_transcript or with_recordings):
        raise InvalidArgumentError(
            "--with-transcript and --with-recordings add columns to --rows calls; rows of turns "
            "already hold the transcript and never hold recordings."
        )
    if path is not None:
        if path.is_dir():
            raise InvalidArgumentError(f"--output {path} is a directory; name a file in it.")
        if not path.parent.is_dir():
            raise InvalidArgumentError(
                f"--output: the directory {path.parent} does not exist; create it first."
            )
    if chosen == "parquet":
        pyarrow_modules()  # a missing extra is said before any sync
    return ExportRequest(
        fmt=chosen,
        path=path,
        rows="turns" if rows == "turns" else "calls",
        with_transcript=with_transcript,
        with_recordings=with_recordings,
        redact=redact,
    )


async def export_command(
    settings: Settings,
    request: ExportRequest,
    *,
    provider: str | None = None,
    campaign: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: str | None = None,
    sync: bool = True,
    transports: Transports | None = None,
    progress: Progress | None = None,
) -> int:
    """`call-logs-mcp export`: sync the scope (unless `sync` is False), then write its calls as
    `request` says (`progress` hears of every call written); notes and the result line go to
    stderr.

    Returns 0 on success, 1 when the sync or the write failed (nothing is left under the output
    name); raises ConfigurationError / InvalidArgumentError for usage errors (exit 2), among them
    a campaign that is neither a known name nor an id of indexed calls.
    """
    from call_logs_mcp.core.arguments import parse_status
    from call_logs_mcp.errors import ProviderError
    from call_logs_mcp.index import ExportFilter
    from call_logs_mcp.index.choose import open_store
    from call_logs_mcp.providers.config import accounts_for

    err = sys.stderr
    names = addressed(settings, provider)
    start, end = parse_dates(since, until)
    wanted = parse_status(status)
    accounts = accounts_for(settings.providers)
    store = await open_store(settings.db_path(), settings.database_url)
    try:
        scope = await resolve_scope(settings, store, names, campaign=campaign, since=start, until=end)
        if scope.note:
            print(scope.note, file=err)
        if sync:
            try:
                await sync_scope(settings, store, scope, ProgressBar(), transports)
            except ProviderError as exc:
                print(
                    f"Sync failed: {exc} Nothing was exported; run again, or add --no-sync to export "
                    "what the index holds.",
                    file=err,
                )
                return EXIT_FAILED
        if campaign is not None:
            await _require_campaign(settings, store, scope, campaign, synced=sync)
        try:
            calls, rows = write_export(
                store,
                {name: accounts[name] for name in scope.names},
                ExportFilter(
                    provider=scope.names[0] if len(scope.names) == 1 else None,
                    campaign_id=scope.campaign_id,
                    status=wanted,
                    since=scope.since,
                    until=scope.until,
                ),
                request,
                progress=progress or ProgressBar(desc="export"),
            )
        except OSError as exc:
            print(
                f"Export failed: {request.shown} could not be written "
                f"({exc.strerror or type(exc).__name__}); nothing was left under that name.",
                file=err,
            )
            return EXIT_FAILED
    finally:
        await store.aclose()
    from call_logs_mcp.output.text import fmt_int

    shape = f"{fmt_int(rows)} rows of turns" if request.rows == "turns" else f"{fmt_int(rows)} rows"
    redaction = "redacted" if request.redact else "NOT redacted"
    print(
        f"Exported {fmt_int(calls)} calls ({shape}) from {', '.join(scope.names)} to {request.shown} "
        f"as {request.fmt}, {redaction}.",
        file=err,
    )
    return EXIT_OK


async def _require_campaign(
    settings: Settings, store: IndexStoreProtocol, scope: Scope, campaign: str, *, synced: bool
) -> None:
    """Raises InvalidArgumentError when `campaign` is neither a name of the campaigns file nor
    the id of any indexed call of the addressed platforms, listing the campaigns there are."""
    from call_logs_mcp.core.directory import load_directory
    from call_logs_mcp.errors import InvalidArgumentError
    from call_logs_mcp.output.scrub import Scrubber
    from call_logs_mcp.providers import PLATFORMS
    from call_logs_mcp.providers.config import accounts_for

    if scope.named or scope.campaign_id is None:
        return
    accounts = accounts_for(settings.providers)
    for name in scope.names:
        if await store.indexed_calls(accounts, name, campaign_id=scope.campaign_id):
            return
    directory = load_directory(settings.campaigns, PLATFORMS)
    known = [f'"{title}" ({cid})' for n in scope.names for cid, title in directory.names.get(n, {}).items()]
    listed = await store.list_campaigns({n: accounts[n] for n in scope.names})
    ident = Scrubber(redact=False).ident  # platform strings: cleaned before they reach a terminal
    known += [ident(c.campaign_id) or "" for c in listed if c.campaign_id and c.indexed_calls]
    where = ", ".join(scope.names)
    after = " after syncing it" if synced else " (run without --no-sync to ask the platforms)"
    hint = f" Known campaigns: {', '.join(dict.fromkeys(known[:12]))}." if known else ""
    raise InvalidArgumentError(
        f"Unknown campaign {campaign[:80]!r}: not a name in the campaigns file (CALL_LOGS_CAMPAIGNS), "
        f"and no indexed calls on {where} carry it as their campaign id{after}.{hint}"
    )


def write_export(
    store: IndexStoreProtocol,
    accounts: Mapping[str, str],
    filters: ExportFilter,
    request: ExportRequest,
    *,
    progress: Progress,
) -> tuple[int, int]:
    """Write the indexed calls of `filters` within `accounts` ({provider: account}) as `request`
    says; returns (calls, rows) written.

    Raises OSError when the file cannot be written (nothing is then left under its name),
    StoreError, and ExportError (a CallLogsError) for a stored value the columns cannot hold."""
    from call_logs_mcp.output.export import CallTable, Table, TurnTable
    from call_logs_mcp.output.export_files import open_writer
    from call_logs_mcp.output.scrub import Scrubber

    scrub = Scrubber(redact=request.redact)
    calls = rows = 0
    try:
        with store.export(accounts, filters) as snapshot:
            total = snapshot.count()
            table: Table = (
                TurnTable(scrub=scrub)
                if request.rows == "turns"
                else CallTable(
                    snapshot.fields(),
                    scrub=scrub,
                    with_transcript=request.with_transcript,
                    with_recordings=request.with_recordings,
                )
            )
            with (
                _destination(request.path) as stream,
                open_writer(request.fmt, table.columns, stream) as out,
            ):
                progress(0, total)
                for exported in snapshot.calls(with_turns=request.rows == "turns" or request.with_transcript):
                    for row in table.rows(exported):
                        out.write(row)
                        rows += 1
                    calls += 1
                    progress(calls, total)
    finally:
        progress.close()
    return calls, rows


@contextmanager
def _destination(path: Path | None) -> Iterator[BinaryIO]:
    if path is not None:
        from call_logs_mcp.output.export_files import atomic_file

        with atomic_file(path) as stream:
            yield stream
        return
    stream = sys.stdout.buffer
    yield stream
    stream.flush()


async def export_from_args(
    args: argparse.Namespace, settings: Settings, transports: Transports | None
) -> int:
    request = export_request(
        args.output,
        args.format,
        args.rows,
        with_transcript=args.with_transcript,
        with_recordings=args.with_recordings,
        redact=args.redact,
    )
    return await export_command(
        settings,
        request,
        provider=args.provider,
        campaign=args.campaign,
        since=args.since,
        until=args.until,
        status=args.status,
        sync=args.sync,
        transports=transports,
    )
