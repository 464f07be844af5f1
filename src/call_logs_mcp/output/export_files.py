"""The files of `call-logs-mcp export`: CSV, JSON Lines or Parquet, written as rows arrive, and a
file that appears under its name only once it is complete.

- CSV: UTF-8, a header row, RFC 4180 quoting; times as ISO 8601 UTC (`2026-03-02T09:00:00Z`),
  booleans `true`/`false`, empty cells for missing values. A text cell that a spreadsheet would
  run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed
  with `'`: exports hold text that callers said.
- JSON Lines: one object per row with every column, `null` for missing values, times as in CSV.
- Parquet (`pyarrow`, the `parquet` extra): typed columns (times as UTC timestamps), written in
  row groups of `ROW_GROUP_ROWS` rows, so memory stays flat however many rows are exported.

`atomic_file` writes to a hidden temporary file beside the target (mode 0600: exports hold
personal data) and renames it into place when the block ends without an error; on any error or
interruption the temporary file is removed and an existing file under the name is left as it was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, Self

from call_logs_mcp.errors import ConfigurationError
from call_logs_mcp.output.export import Cell, Column, ColumnType, Row
from call_logs_mcp.output.text import fmt_time

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "parquet")
ROW_GROUP_ROWS = 5_000
PARQUET_MISSING = (
    "Parquet export needs pyarrow, which the parquet extra installs: "
    "pip install 'call-logs-mcp[parquet]' (CSV and JSON Lines need nothing extra)."
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TableWriter:
    """Rows onto a stream. Used as a context manager: a block that ends normally writes what is
    buffered and the file's footer; one that raises only lets go of the stream (whose content is
    then incomplete). The stream itself stays open either way."""

    def write(self, row: Row) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()

    def close(self) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError


def pyarrow_modules() -> tuple[Any, Any]:
    """`pyarrow` and `pyarrow.parquet`. Raises ConfigurationError naming the extra to install."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigurationError(PARQUET_MISSING) from None
    return pyarrow, pyarrow.parquet


def open_writer(fmt: Format, columns: Sequence[Column], stream: BinaryIO) -> TableWriter:
    """A writer of `columns` rows in `fmt` onto `stream` (use it in a `with` block). Raises
    ConfigurationError for Parquet without pyarrow."""
    if fmt == "csv":
        return _CsvWriter(columns, stream)
    if fmt == "jsonl":
        return _JsonLinesWriter(columns, stream)
    return _ParquetWriter(columns, stream)


def _text(value: Cell) -> Cell:
    """A cell as CSV and JSON Lines show it: times as ISO 8601 UTC."""
    return fmt_time(value) if isinstance(value, datetime) else value


def defuse_formula(text: str) -> str:
    """`text` as a CSV cell a spreadsheet shows and never runs."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_text(value: Cell) -> Cell:
    return "" if value is None else defuse_formula(str(value))


def _csv_bool(value: Cell) -> Cell:
    return "" if value is None else ("true" if value else "false")


def _csv_time(value: Cell) -> Cell:
    return fmt_time(value) if isinstance(value, datetime) else ""


# How each kind of column becomes CSV text; numbers are written by the csv module as they are.
_CSV_CELLS: dict[ColumnType, Callable[[Cell], Cell] | None] = {
    ColumnType.TEXT: _csv_text,
    ColumnType.BOOLEAN: _csv_bool,
    ColumnType.TIME: _csv_time,
    ColumnType.NUMBER: None,
    ColumnType.INTEGER: None,
}


class _CsvWriter(TableWriter):
    def __init__(self, columns: Sequence[Column], stream: BinaryIO) -> None:
        self._cells = [(c.name, _CSV_CELLS[c.type]) for c in columns]
        self._out = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
        self._csv = csv.writer(self._out)
        self._csv.writerow([c.name for c in columns])

    def write(self, row: Row) -> None:
        self._csv.writerow([row[name] if cell is None else cell(row[name]) for name, cell in self._cells])

    def discard(self) -> None:
        self._out.detach()

    def close(self) -> None:
        self._out.flush()
        self._out.detach()


class _JsonLinesWriter(TableWriter):
    def __init__(self, columns: Sequence[Column], stream: BinaryIO) -> None:
        self._names = [c.name for c in columns]
        self._out = io.TextIOWrapper(stream, encoding="utf-8", newline="\n", write_through=False)

    def write(self, row: Row) -> None:
        line = {name: _text(row[name]) for name in self._names}
        self._out.write(json.dumps(line, ensure_ascii=False, allow_nan=False) + "\n")

    def discard(self) -> None:
        self._out.detach()

    def close(self) -> None:
        self._out.flush()
        self._out.detach()


class _ParquetWriter(TableWriter):
    def __init__(self, columns: Sequence[Column], stream: BinaryIO) -> None:
        pa, pq = pyarrow_modules()
        types = {
            ColumnType.TEXT: pa.string(),
            ColumnType.NUMBER: pa.float64(),
            ColumnType.INTEGER: pa.int64(),
            ColumnType.BOOLEAN: pa.bool_(),
            ColumnType.TIME: pa.timestamp("us", tz="UTC"),
        }
        self._pa = pa
        self._names = [c.name for c in columns]
        self._schema = pa.schema([pa.field(c.name, types[c.type]) for c in columns])
        self._writer = pq.ParquetWriter(stream, self._schema, compression="zstd")
        self._buffer: list[list[Cell]] = [[] for _ in columns]
        self._rows = 0

    def write(self, row: Row) -> None:
        for values, name in zip(self._buffer, self._names, strict=True):
            values.append(row[name])
        self._rows += 1
        if self._rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            batch = self._pa.RecordBatch.from_arrays(
                [
                    self._pa.array(values, type=field.type)
                    for values, field in zip(self._buffer, self._schema, strict=True)
                ],
                schema=self._schema,
            )
            self._writer.write_batch(batch, row_group_size=self._rows)
            self._buffer = [[] for _ in self._names]
            self._rows = 0

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def discard(self) -> None:
        # Closing writes a footer into the incomplete file, which is then thrown away; left
        # open, pyarrow would close it later, after the stream is gone.
        self._buffer = [[] for _ in self._names]
        self._writer.close()


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary stream whose content appears at `path` (replacing any file there) only when the
    block completes; raises OSError when the directory cannot be written."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
