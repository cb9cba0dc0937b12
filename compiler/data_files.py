"""What `dslc check` can tell about a spec's data files without reading the data: a CSV file's header (or a Parquet
file's schema) names the label column and any chosen feature columns, and the features fit the model's input
(docs/architecture.md#data).

The file system is read, but no more than a bounded first line (or a Parquet footer), and only for files that exist
in the data folder (a missing one is lint's W109; a path leading out is E702). No numpy: `dslc check` runs on the
base install, where a Parquet schema is left to training (it needs pyarrow). Training reads the whole file again and
locates every cell's fault (`dslc.runtime.tabular`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from dslc.spec.errors import DslcError, Span, did_you_mean, show_value
from dslc.spec.layers.base import Tensor, show_shape
from dslc.spec.vocab import Csv, Parquet

MAX_HEADER_BYTES = 65_536  # a header longer than this is not a header (a 1 GB file on one line fails here, fast)
SHOWN_COLUMNS = 12  # columns named in a message; the rest are counted


def csv_header_faults(data: Csv, file: Path, inputs: tuple[tuple[str, Tensor], ...], span: Span,
                      label_span: Span) -> Iterator[DslcError]:
    """The faults of `file`'s header for `data` and a model taking `inputs`; `file` exists."""
    try:
        with file.open("rb") as handle:
            first = handle.readline(MAX_HEADER_BYTES + 1)
        line = first.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        yield _fault("E701", f"data file '{data.path}' cannot be read as CSV: {show_value(str(error))}", span)
        return
    if len(first) > MAX_HEADER_BYTES:
        yield _fault("E701", f"data file '{data.path}' cannot be read as CSV: its first line (the header) is "
                             f"longer than {MAX_HEADER_BYTES:,} bytes", span,
                     hint="the first line names the columns, e.g. x1,x2,label")
        return
    if not line.strip():
        yield _fault("E701", f"data file '{data.path}' cannot be read as CSV: the file is empty", span)
        return
    header = [name.strip() for name in next(csv.reader([line]))]
    yield from _columns_fit(data, header, inputs, span, label_span)


def parquet_header_faults(data: Parquet, file: Path, inputs: tuple[tuple[str, Tensor], ...], span: Span,
                          label_span: Span) -> Iterator[DslcError]:
    """The faults of a Parquet file's schema (its footer: no data is read); `file` exists. Without pyarrow (the
    base install), training checks it."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        return
    try:
        names = parquet.read_schema(file).names
    except Exception as error:  # pyarrow raises its own kinds for a file that is not Parquet
        yield _fault("E701", f"data file '{data.path}' cannot be read as Parquet: {show_value(str(error))}", span)
        return
    yield from _columns_fit(data, names, inputs, span, label_span)


def _columns_fit(data: Csv | Parquet, header: list[str], inputs: tuple[tuple[str, Tensor], ...], span: Span,
                 label_span: Span) -> Iterator[DslcError]:
    """The label column and any chosen feature columns are in `header`, and the features fit the input."""
    for column, where in [(data.label_column, label_span), *((column, span) for column in data.columns or ())]:
        if column not in header:
            yield _fault("E703", f"data file '{data.path}' has no column {show_value(column)} (columns: "
                                 f"{_listed(header)})", where,
                         hint=did_you_mean(column, header)
                         or "name the target column with label_column=..., the features with columns=[...]")
            return
    features = len(data.columns) if data.columns else len(header) - 1
    yield from _features_fit(data, features, inputs, span)


def _features_fit(data: Csv | Parquet, features: int, inputs: tuple[tuple[str, Tensor], ...],
                  span: Span) -> Iterator[DslcError]:
    if len(inputs) != 1 or inputs[0][1].size is None:
        return  # several inputs are E704 at training; an unknown size is fitted there
    name, tensor = inputs[0]
    if features != tensor.size:
        chosen = "chosen with columns" if data.columns else f"besides '{data.label_column}'"
        yield _fault("E704", f"data file '{data.path}' has {features} feature column(s) {chosen}, but input "
                             f"'{name}' takes {tensor.size} values per example (shape {show_shape(tensor.shape)})",
                     span)


def _fault(code: str, message: str, span: Span, hint: str | None = None) -> DslcError:
    return DslcError(code, message, span, hint=hint, stage="train")


def _listed(names: list[str]) -> str:
    shown = ", ".join(show_value(name) for name in names[:SHOWN_COLUMNS])
    return shown + (f", ... {len(names) - SHOWN_COLUMNS:,} more" if len(names) > SHOWN_COLUMNS else "")
