"""Tabular data files: CSV and Parquet read in bounded blocks into float arrays, every fault located.

docs/architecture.md#data. A table is one numeric column per feature plus a label column. CSV is cut into
blocks of whole lines (`BLOCK_BYTES`; cells hold no new lines, as pyarrow's default parser assumes), each
parsed by pyarrow into float64; Parquet is read by record batches (without pyarrow's pre-buffering, which holds
the whole file). The arrays are allocated once (from a first pass over the CSV blocks, or the Parquet row count)
and filled block by block, so memory is the arrays and one block; a line longer than `MAX_LINE_BYTES` (a binary
file, a file without new lines) stops the first pass after that many bytes.

The first CSV pass counts the lines and checks each block's plain form (`_plain_check`: numbers only, one cell
per column, in a regular expression that RE2 runs in about a third of pyarrow's parsing time), so a fault is
found before any block is parsed: only the block that fails the check is parsed, to tell a fault from a form the
check does not take (quotes, blanks, long exponents). The first block of such a form ends the checks, and the
second pass, which parses every block, finds the faults after it.

A fault in the data names its place as `file:row:col (column 'name')`: for CSV the row is the 1-based line
of the file (the header is line 1) and the column the 1-based cell number; for Parquet the row is the
1-based record number. pyarrow's own errors carry no line, so a block it refuses (or whose values hold an
empty or non-finite cell) is scanned again, alone, to find the first bad cell in reading order.
"""

from __future__ import annotations

import csv
import itertools
import math
import mmap
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from dslc.compiler.data_files import (
    MAX_LINE_BYTES,
    Request,
    cell_at,
    csv_header,
    data_error,
    long_line,
    unreadable,
    used_columns,
)
from dslc.spec.errors import DslcError, Span, show_value

BLOCK_BYTES = 1 << 20  # CSV bytes parsed at a time
PARQUET_BATCH_ROWS = 65_536
# Cells pyarrow reads as float64 (checked against it in the tests): decimal numbers, inf, infinity and nan.
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)", re.IGNORECASE)
_BLANKS = " \t"
MISSING_HINT = "every cell must hold a number: fill in or drop the rows with missing values"


@dataclass(frozen=True)
class Table:
    """A table's features `(n, columns)` (the requested columns, or every column but the label in file order)
    and label `(n,)`, both float64 and finite."""

    features: np.ndarray
    label: np.ndarray
    label_at: Callable[[int], str]  # where example i's label was read: "file:row:col (column 'name')"


def read_table(path: Path, kind: str, request: Request) -> Table:
    """The features and label of a CSV (`kind` 'csv') or Parquet file."""
    if kind == "parquet":
        return _read_parquet(path, request)
    return _read_csv(path, request)


def column_names(path: Path, shown: str, kind: str, span: Span) -> list[str]:
    """The names of a table's columns, in file order (from the CSV header or the Parquet schema)."""
    if kind == "parquet":
        return list(_parquet_file(path, shown, span).schema_arrow.names)
    try:
        with path.open("rb") as handle:
            return csv_header(handle, shown, span)[0]
    except OSError as exc:
        raise unreadable(shown, str(exc), span, "CSV") from None


# -- faults -------------------------------------------------------------------------------------
def _bad_cell(where: str, text: str, span: Span) -> DslcError:
    """The fault of one cell that is not a finite number (`text` is the cell, unquoted)."""
    cell = text.strip(_BLANKS)
    if not cell:
        return data_error("E705", f"{where}: the cell is empty", span, hint=MISSING_HINT)
    if not _NUMBER.fullmatch(cell):
        return data_error("E705", f"{where}: {show_value(cell)} is not a number", span,
                          hint="tabular data must be numeric columns")
    return _non_finite(where, show_value(cell), span)


def _non_finite(where: str, shown_value: str, span: Span) -> DslcError:
    return data_error("E705", f"{where}: {shown_value} is not a finite number", span,
                      hint="replace missing (nan) and infinite values before training")


def _empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised float64 array in anonymous pages of its own. numpy asks the kernel for huge pages for a
    large array, and on a busy machine the kernel then compacts memory as the pages are first written: up to 1 s
    of CPU more to fill 0.9 GB (2 cores under load), varying from run to run."""
    count = math.prod(shape)
    return np.frombuffer(mmap.mmap(-1, max(count, 1) * 8), np.float64, count=count).reshape(shape)


def _put(start: int, values: list[np.ndarray], labels: np.ndarray, features: np.ndarray) -> int:
    """Copies a block's columns (the label's, then the features') into the arrays from row `start`; returns the
    row after them."""
    end = start + len(values[0])
    labels[start:end] = values[0]
    for k, column in enumerate(values[1:]):
        features[start:end, k] = column
    return end


# -- CSV ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Block:
    first_record: int  # the index of its first example
    first_line: int  # the file line of its first byte
    offset: int  # where its bytes start in the file
    size: int


def _read_csv(path: Path, request: Request) -> Table:
    try:
        with path.open("rb") as handle:
            return _csv_table(handle, path, request)
    except OSError as exc:
        raise unreadable(request.shown, str(exc), request.span, "CSV") from None


def _csv_table(handle: BufferedReader, path: Path, request: Request) -> Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    shown, span = request.shown, request.span
    names, line = csv_header(handle, shown, span)
    used = used_columns(names, request, "csv")
    keys = [str(i) for i in range(len(names))]  # header names may repeat; pyarrow's may not
    read = pacsv.ReadOptions(column_names=keys, use_threads=False)
    convert = pacsv.ConvertOptions(column_types={keys[i]: pa.float64() for i in used}, null_values=[""],
                                   include_columns=[keys[i] for i in used])

    def parse(data: memoryview) -> list[np.ndarray] | None:
        return _parse(data, read, convert)

    def fault(data: memoryview, first_line: int) -> DslcError:
        return _scan(bytes(data), first_line, names, used, shown, span)

    spans, rows = _survey(handle, line + 1, _plain_check(len(names), used), parse, fault, shown, span)
    features, labels = _empty((rows, len(used) - 1)), _empty((rows,))
    blocks: list[_Block] = []
    records = 0
    buffer = memoryview(bytearray(max((size for _, _, size, _ in spans), default=0)))
    for first_line, offset, size, lines in spans:
        handle.seek(offset)
        data = buffer[:handle.readinto(buffer[:size])]
        values = parse(data)
        if values is None or len(values[0]) > lines:  # more rows than lines: a lone carriage return ends a row
            raise fault(data, first_line)
        blocks.append(_Block(records, first_line, offset, size))
        records = _put(records, values, labels, features)
    if not records:
        raise data_error("E704", f"data file '{shown}' has a header but no data rows", span,
                         hint="a CSV file holds a header line, then one example per line")

    def label_at(index: int) -> str:
        return cell_at(shown, _csv_line(path, blocks, index), used[0] + 1, request.label_column)

    return Table(features[:records], labels[:records], label_at)


def _survey(handle: BufferedReader, line: int, plain: Callable[[memoryview], bool] | None,
            parse: Callable[[memoryview], list[np.ndarray] | None], fault: Callable[[memoryview, int], DslcError],
            shown: str, span: Span) -> tuple[list[tuple[int, int, int, int]], int]:
    """The first pass, from here (file line `line`) to the end: the (first line, offset, size, lines) of each
    block of whole lines and the number of lines (at least the examples: empty lines hold none).

    While the blocks are in the plain form (`plain`), the pass also finds the first fault: a block that is not
    is parsed, and the fault it holds raised. A block that is not plain but holds no fault (quoted or blank-padded
    cells, a 3-digit exponent, text in an unread column) ends the checks: the second pass finds the faults of the
    later blocks as it parses them, so at most one block is parsed twice.
    """
    spans: list[tuple[int, int, int, int]] = []
    rows = 0
    for first_line, offset, data, lines in _line_blocks(handle, line, shown, span):
        if plain is not None and not plain(data):
            if parse(data) is None:
                raise fault(data, first_line)
            plain = None
        spans.append((first_line, offset, len(data), lines))
        rows += lines
    return spans, rows


def _line_blocks(handle: BufferedReader, line: int, shown: str,
                 span: Span) -> Iterator[tuple[int, int, memoryview, int]]:
    """(first line, offset, bytes, lines) of runs of whole lines of at most `BLOCK_BYTES` from here (file line
    `line`) to the end; a line longer than a block comes alone, and one longer than `MAX_LINE_BYTES` stops the
    reading. The bytes are valid until the next block is asked for (one buffer serves them all)."""
    buffer = bytearray(BLOCK_BYTES)  # at most MAX_LINE_BYTES: the lines inside a block need no length check
    offset = handle.tell()
    while size := handle.readinto(buffer):
        cut = size if size < len(buffer) else buffer.rfind(b"\n", 0, size) + 1  # at the end, no new line needed
        if cut:
            data = memoryview(buffer)[:cut]
            ends = int(np.count_nonzero(np.frombuffer(data, np.uint8) == 10))  # faster than bytes.count
            lines = ends + (buffer[cut - 1] != 10)
        else:  # a line longer than a block
            handle.seek(offset)
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if len(raw) - raw.endswith(b"\n") > MAX_LINE_BYTES:
                raise long_line(shown, line, span)
            data, ends, lines = memoryview(raw), 1, 1
        yield line, offset, data, lines
        line += ends
        offset += len(data)
        handle.seek(offset)  # the partial line after the cut is read again with the next block


# The plain form of a block, which the first pass checks without parsing: every line empty or with one cell per
# column; every cell of a read column a decimal number with at most 2 exponent digits and digit runs shorter than
# 190 bytes (`_long_digit_run`), so finite (below 10**289); no quotes, blanks or lone carriage returns. RE2
# (pyarrow.compute, a DFA) checks it at about 1.4 ms a MiB of 31 numeric columns; pyarrow parses it in 3.3.
_NUMBER_CELL = rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9][0-9]?)?"
_OTHER_CELL = rb'[^,\r\n"]*'  # an unread column: anything pyarrow parses as one cell
MAX_CHECKED_COLUMNS = 256  # wider files are checked by the parse alone: RE2's pattern (one state per column and
# place in a cell) outgrows its DFA's memory, and the check slows to parsing speed (785 columns: 3.6 ms a MiB)
_WINDOW = 64  # bytes: an aligned window of digits only is a run too long to check (see `_long_digit_run`)


def _plain_check(columns: int, used: list[int]) -> Callable[[memoryview], bool] | None:
    """The test of a block's plain form for a file of `columns` columns of which `used` are read; None when the
    file is too wide to check this way."""
    if columns > MAX_CHECKED_COLUMNS:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    read = set(used)
    kinds = [_NUMBER_CELL if col in read else _OTHER_CELL for col in range(columns)]
    row = b"".join(b"(?:%s,){%d}" % (kind, len(list(group))) for kind, group in itertools.groupby(kinds[:-1]))
    row += kinds[-1]
    pattern = rb"^(?:%s\r?\n|\r?\n)*$" % row  # a last line without its new line is given one

    def plain(data: memoryview) -> bool:
        if _long_digit_run(np.frombuffer(data, np.uint8)):
            return False
        if data[-1:] != b"\n":
            data = memoryview(bytes(data) + b"\n")
        text = pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, len(data)], np.int64)),
                                                              pa.py_buffer(data)])
        return bool(pc.match_substring_regex(text, pattern=pattern)[0].as_py())

    try:
        plain(memoryview(b""))
    except pa.ArrowInvalid:  # a pattern RE2 will not compile (too large): check by parsing
        return None
    return plain


def _long_digit_run(data: np.ndarray) -> bool:
    """Whether an aligned `_WINDOW` of `data` holds digits only: true for any run of 190 digits or more (it spans
    a window before the last, partial one), so false only where every run is shorter. Tested 8 bytes at a time
    (a digit is 0x30-0x39: its high half 3, and still 3 after 6 is added to the low half)."""
    words = data[:len(data) // _WINDOW * _WINDOW].view(np.uint64).reshape(-1, _WINDOW // 8).T
    high, threes, six = np.uint64(0xF0F0F0F0F0F0F0F0), np.uint64(0x3030303030303030), np.uint64(0x0606060606060606)
    digits = np.ones(words.shape[1], bool)
    for word in words:  # the window's 8 words, across every window at once
        digits &= ((word & high) == threes) & (((word + six) & high) == threes)
    return bool(digits.any())


def _parse(data: memoryview, read: object, convert: object) -> list[np.ndarray] | None:
    """A block's float64 columns (those `convert` includes, in its order), or None when a cell is not a finite
    number (or a row is ragged)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(pa.BufferReader(pa.py_buffer(data)), read_options=read, convert_options=convert)
    except pa.ArrowInvalid:
        return None
    columns = []
    for column in table.columns:
        values = column.to_numpy() if not column.null_count else None
        if values is None or not np.isfinite(values).all():
            return None
        columns.append(values)
    return columns


def _block_bytes(handle: BinaryIO, block: _Block) -> bytes:
    handle.seek(block.offset)
    return handle.read(block.size)


def _lines(data: bytes, first_line: int) -> Iterator[tuple[int, str]]:
    """The non-empty lines of a block with their file line numbers (empty lines hold no example)."""
    for number, raw in enumerate(data.split(b"\n"), start=first_line):
        text = raw.decode("utf-8", errors="replace").removesuffix("\r")
        if text:
            yield number, text


def _scan(data: bytes, first_line: int, names: list[str], used: list[int], shown: str, span: Span) -> DslcError:
    """The first fault of a block in reading order: a ragged row, or a cell of a `used` column that is not a
    finite number."""
    for number, text in _lines(data, first_line):
        try:
            cells = next(csv.reader([text]))
        except csv.Error as exc:
            return unreadable(shown, f"line {number}: {exc}", span, "CSV")
        if len(cells) != len(names):
            return data_error("E704", f"{shown}:{number}: expected {len(names):,} cells (as the header), got "
                                      f"{len(cells):,}", span, hint="every line must have one cell per header column")
        for col in sorted(used):
            cell = cells[col]
            value = cell.strip(_BLANKS)
            if not _NUMBER.fullmatch(value) or not math.isfinite(float(value)):
                return _bad_cell(cell_at(shown, number, col + 1, names[col]), cell, span)
    # pyarrow refused the block for a reason the scan does not know: say where the block is
    last = first_line + data.count(b"\n")
    return unreadable(shown, f"lines {first_line}..{last}: pyarrow could not read them", span, "CSV")


def _csv_line(path: Path, blocks: list[_Block], index: int) -> int:
    """The file line of example `index`: its block is read again, its empty lines skipped."""
    block = blocks[bisect_right([b.first_record for b in blocks], index) - 1]
    with path.open("rb") as handle:
        data = _block_bytes(handle, block)
    for position, (number, _) in enumerate(_lines(data, block.first_line)):
        if position == index - block.first_record:
            return number
    raise ValueError(f"example {index} is not in its block")  # pragma: no cover - the blocks were read


# -- Parquet ------------------------------------------------------------------------------------
def _parquet_file(path: Path, shown: str, span: Span) -> Any:  # a pyarrow.parquet.ParquetFile
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # pre_buffer (pyarrow's default) keeps every row group read until the end: the whole file in memory
        return pq.ParquetFile(path, pre_buffer=False)
    except (OSError, pa.ArrowException) as exc:
        raise unreadable(shown, str(exc), span, "Parquet") from None


def _read_parquet(path: Path, request: Request) -> Table:
    import pyarrow as pa

    shown, span = request.shown, request.span
    file = _parquet_file(path, shown, span)
    schema = file.schema_arrow
    names = list(schema.names)
    used = used_columns(names, request, "parquet")
    for col in used:
        field = schema.field(col)
        if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type) or pa.types.is_boolean(field.type)):
            raise data_error("E705", f"{shown}: column {col + 1} ({show_value(field.name)}) holds {field.type} "
                                     "values, not numbers", span, hint="tabular data must be numeric columns")
    rows = file.metadata.num_rows
    features, labels = _empty((rows, len(used) - 1)), _empty((rows,))
    records = 0
    try:
        for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=[names[i] for i in used]):
            found = [_first_fault(column) for column in batch.columns]
            k = min(range(len(used)), key=lambda k: (found[k][1], used[k]))  # the first fault in reading order
            values, row, null = found[k]
            if row < batch.num_rows:
                where = cell_at(shown, records + row + 1, used[k] + 1, names[used[k]])
                if null:
                    raise data_error("E705", f"{where}: the value is missing (null)", span, hint=MISSING_HINT)
                raise _non_finite(where, show_value(float(values[row])), span)
            records = _put(records, [column for column, _, _ in found], labels, features)
    except pa.ArrowException as exc:
        raise unreadable(shown, str(exc), span, "Parquet") from None
    if not records:
        raise data_error("E704", f"data file '{shown}' has no rows", span)

    def label_at(index: int) -> str:
        return cell_at(shown, index + 1, used[0] + 1, request.label_column)

    return Table(features[:records], labels[:records], label_at)


def _first_fault(column: Any) -> tuple[np.ndarray, int, bool]:
    """A Parquet column as float64 values (nulls as 0), and (row, whether it is null) of its first null or
    non-finite value, or (its length, False) when there is none."""
    import pyarrow as pa

    floats = column.cast(pa.float64(), safe=False)
    missing = floats.is_null().to_numpy(zero_copy_only=False) if floats.null_count else None
    values = (floats if missing is None else floats.fill_null(0.0)).to_numpy(zero_copy_only=False)
    bad = ~np.isfinite(values) if missing is None else missing | ~np.isfinite(values)
    row = int(np.argmax(bad)) if bad.any() else len(values)
    return values, row, missing is not None and row < len(values) and bool(missing[row])
