"""Data files read without numpy: a CSV file's header and a table's columns, with the faults both `dslc check` and
training report (docs/architecture.md#data).

`dslc check` reads no more than a CSV file's header line (or a Parquet file's schema, when pyarrow is installed)
of a file that exists in the data folder (a missing one is lint's W109; a path leading out is E702), and reports a
missing label or feature column (E703) and a feature count that does not fit the model's input (E704) before
any training. Training (`dslc.runtime.tabular`) reads the header the same way, then the whole file in bounded
blocks, and locates every faulty cell. No numpy here: `dslc check` runs on the base install.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from dslc.spec.errors import DslcError, Span, did_you_mean, show_value
from dslc.spec.layers.base import Tensor, show_shape
from dslc.spec.vocab import BINARY_LOSSES, CLASS_LOSS, REAL_TARGETS_HINT

MAX_LINE_BYTES = 16 << 20  # the longest CSV line read (about 1.5 million numeric cells)
MAX_LISTED_COLUMNS = 12  # column names shown when a column is missing


@dataclass(frozen=True)
class Request:
    """What to read from a table, and where the spec asked for it (for errors)."""

    shown: str  # the file as the spec names it
    label_column: str
    features: tuple[str, ...] | None  # the feature columns in this order; None: every column but the label
    span: Span  # the spec's data argument
    label_span: Span  # where the label column was named
    features_span: Span  # where the feature columns were named


def data_error(code: str, message: str, span: Span | None, hint: str | None = None) -> DslcError:
    """A fault of the data (stage 'data'); `span`: where the spec names it, None for data given on the command line."""
    return DslcError(code, message, span, hint=hint, stage="data")


def unreadable(shown: str, problem: str, span: Span, kind: str) -> DslcError:
    return data_error("E701", f"data file '{shown}' cannot be read as {kind}: {show_value(problem)}", span)


def csv_header(handle: BinaryIO, shown: str, span: Span) -> tuple[list[str], int]:
    """The header's column names (the first non-empty line) and its line number."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        number += 1
        if not raw:
            raise unreadable(shown, "the file is empty", span, "CSV")
        if len(raw) > MAX_LINE_BYTES:
            raise long_line(shown, number, span)
        text = decode_line(raw, shown, number, span).removeprefix("\ufeff").rstrip("\r\n")  # a byte order mark
        if text:
            break
    try:
        names = next(csv.reader([text]))
    except csv.Error as exc:
        raise unreadable(shown, f"line {number}: {exc}", span, "CSV") from None
    return [name.strip() for name in names], number


def decode_line(raw: bytes, shown: str, number: int, span: Span) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise unreadable(shown, f"line {number}: {exc}", span, "CSV") from None


def long_line(shown: str, number: int, span: Span) -> DslcError:
    limit = f"{MAX_LINE_BYTES >> 20} MiB" if MAX_LINE_BYTES >= 1 << 20 else f"{MAX_LINE_BYTES:,} bytes"
    return data_error("E701", f"{shown}:{number}: the line is longer than {limit}, the longest CSV line read", span,
                      hint="CSV data holds one example per line: is this a CSV file?")


def used_columns(names: list[str], request: Request, kind: str) -> list[int]:
    """The positions of the label column, then of the feature columns, in `names` (the file's columns)."""
    for wanted, span, argument in ([(request.label_column, request.label_span, "label_column")]
                                   + [(name, request.features_span, "columns") for name in request.features or ()]):
        if wanted not in names:
            listed = ", ".join(map(show_value, names[:MAX_LISTED_COLUMNS]))
            more = len(names) - MAX_LISTED_COLUMNS
            columns = f"{listed} and {more:,} more" if more > 0 else listed or "none"
            raise data_error("E703", f"data file '{request.shown}' has no column {show_value(wanted)} "
                                     f"({len(names):,} columns: {columns})", span,
                             hint=did_you_mean(wanted, names) or f"name the columns with {kind}(path, {argument}=...)")
    label = names.index(request.label_column)
    if request.features is None:
        return [label, *(i for i in range(len(names)) if i != label)]
    if request.label_column in request.features:
        raise data_error("E704", f"column {show_value(request.label_column)} is the label; it cannot be a feature "
                                 "too", request.features_span)
    return [label, *(names.index(name) for name in request.features)]


def cell_at(shown: str, row: int, col: int, name: str) -> str:
    """Where a table's cell is: `file:row:col (column 'name')`."""
    return f"{shown}:{row}:{col} (column {show_value(name)})"


# -- labels that do not fit the loss (training checks every label; `dslc check` scans a small CSV's) ---------------
def binary_label_fault(at: str, value: object, loss: str, span: Span) -> DslcError:
    return DslcError("E706", f"{at}: label {show_value(value)} is not 0 or 1, as loss '{loss}' needs", span,
                     hint="use 0/1 labels, or softmax_cross_entropy with one output unit per class", stage="data")


def whole_label_fault(at: str, value: object, span: Span) -> DslcError:
    return DslcError("E705", f"{at}: loss '{CLASS_LOSS}' needs integer class ids, got values that are not whole "
                             f"numbers, first {show_value(value)}", span, hint=REAL_TARGETS_HINT, stage="data")


def class_id_fault(at: str, value: object, classes: int, output: str, low: int, high: int, span: Span) -> DslcError:
    return DslcError("E706", f"{at}: class id {show_value(value)} is outside range({classes}) (the model's output "
                             f"{output} has {classes} classes); labels span {show_value(low)}..{show_value(high)}",
                     span, hint="renumber the labels 0..classes-1 or widen the output layer", stage="data")


def scanned_label_faults(file: Path, request: Request, loss: str, classes: int | None, output: str,
                         limit: int) -> Iterator[DslcError]:
    """The first label of a CSV file (at most `limit` bytes; larger ones are left to training) that does not fit
    `loss`: not 0 or 1 for a binary loss, not a whole class id in range(`classes`) for softmax cross-entropy.
    Cells that are not numbers are left to training, which reports every cell."""
    binary = loss in BINARY_LOSSES
    if not binary and classes is None or file.stat().st_size > limit:
        return
    count = classes or 0
    with file.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        rows = csv.reader(handle)
        names = [name.strip() for name in next(rows, [])]
        if request.label_column not in names:
            return  # E703, reported by the header's check
        col = names.index(request.label_column)
        first: tuple[str, float] | None = None  # the first class id out of range
        low = high = None
        for cells in rows:
            try:
                value = float(cells[col])
            except (IndexError, ValueError):
                continue
            at = cell_at(request.shown, rows.line_num, col + 1, request.label_column)
            if binary:
                if value not in (0.0, 1.0):
                    yield binary_label_fault(at, _shown(value), loss, request.span)
                    return
                continue
            if not value.is_integer():
                yield whole_label_fault(at, _shown(value), request.span)
                return
            low = value if low is None else min(low, value)
            high = value if high is None else max(high, value)
            if first is None and not 0 <= value < count:
                first = (at, value)
    if first is not None and low is not None and high is not None:
        yield class_id_fault(first[0], _shown(first[1]), count, output, int(low), int(high), request.span)


def _shown(value: float) -> int | float:
    return int(value) if value.is_integer() else value


# -- what `dslc check` reads --------------------------------------------------------------------------------------
def table_faults(kind: str, file: Path, request: Request,
                 inputs: tuple[tuple[str, Tensor], ...]) -> Iterator[DslcError]:
    """The faults `dslc check` finds in an existing table's header (CSV) or schema (Parquet): at most one."""
    try:
        names = _column_names(kind, file, request)
        if names is None:
            return
        features = len(used_columns(names, request, kind)) - 1
    except DslcError as fault:
        yield fault
        return
    yield from _features_fit(request, features, inputs)


def _column_names(kind: str, file: Path, request: Request) -> list[str] | None:
    """The table's columns; None for Parquet without pyarrow (the base install: training checks it)."""
    if kind == "parquet":
        try:
            import pyarrow.parquet as parquet
        except ImportError:
            return None
        try:
            return list(parquet.read_schema(file).names)
        except Exception as exc:  # pyarrow raises its own kinds for a file that is not Parquet
            raise unreadable(request.shown, str(exc), request.span, "Parquet") from None
    try:
        with file.open("rb") as handle:
            return csv_header(handle, request.shown, request.span)[0]
    except OSError as exc:
        raise unreadable(request.shown, str(exc), request.span, "CSV") from None


def _features_fit(request: Request, features: int, inputs: tuple[tuple[str, Tensor], ...]) -> Iterator[DslcError]:
    if len(inputs) != 1 or inputs[0][1].size is None:
        return  # several inputs are E704 at training; an unknown size is fitted there
    name, tensor = inputs[0]
    if features != tensor.size:
        chosen = "chosen with columns" if request.features else f"besides '{request.label_column}'"
        yield data_error("E704", f"data file '{request.shown}' has {features} feature column(s) {chosen}, but "
                                 f"input '{name}' takes {tensor.size} values per example (shape "
                                 f"{show_shape(tensor.shape)})", request.span)
