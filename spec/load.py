"""Loading a spec: bytes -> text -> located tree -> IR + source map -> expanded graph, every stage bounded.

`load(path)` returns a `LoadedSpec` or raises `DslcErrors` holding every error
found in the file. `load_into` reports into an `ErrorSink` instead and returns
what it could build: the lowering and the expansion both run over a file with
errors (each leaves out what failed), so that one run reports every error that
does not depend on another. Reading and parsing stop at their first error (a
file that does not parse has nothing to lower), and the budgets bound every
stage, so hostile input never makes the later ones slow.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dslc.spec.errors import DslcError, DslcErrors, ErrorSink, Span, reset_hint_budget
from dslc.spec.expand import Graph, expand
from dslc.spec.ir import Spec
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.lower import lower
from dslc.spec.source import Source, decode_source, read_source
from dslc.spec.sourcemap import SourceMap
from dslc.spec.tree import Map

Syntax = Literal["yaml", "dsl"]
SUFFIXES: dict[str, Syntax] = {".yaml": "yaml", ".yml": "yaml", ".dsl": "dsl"}


@dataclass(frozen=True)
class LoadedSpec:
    source: Source
    syntax: Syntax
    spec: Spec
    graph: Graph
    source_map: SourceMap  # where each part of `spec` was written
    limits: Limits = DEFAULT_LIMITS  # the budgets it was loaded with; the analysis enforces the model's

    @property
    def data_folder(self) -> Path:
        """Where the spec's data paths resolve, and which they may not leave: `--data-root`, else the spec's folder."""
        return Path(self.limits.data_root) if self.limits.data_root else Path(self.source.name).parent

    @property
    def data_folder_name(self) -> str:
        """The data folder as messages name it."""
        return "the data root" if self.limits.data_root else "the spec's folder"


def syntax_of(path: Path, name: str | None = None) -> Syntax:
    syntax = SUFFIXES.get(path.suffix.lower())
    if syntax is None:
        raise DslcErrors([DslcError("E004", f"unknown file type '{path.suffix}'", Span(name or str(path), 1, 1),
                                    hint="name spec files *.yaml, *.yml or *.dsl")])
    return syntax


def load(path: Path | str, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> LoadedSpec:
    source, syntax = open_source(path, limits, name)
    return load_source(source, syntax, limits)


def open_source(path: Path | str, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> tuple[Source, Syntax]:
    """The file's text and syntax; raises `DslcErrors` (one error: nothing else can be checked)."""
    path = Path(path)
    syntax = syntax_of(path, name)
    try:
        return read_source(path, limits, name), syntax
    except DslcError as error:
        raise DslcErrors([error]) from None


def load_text(text: str, syntax: Syntax, name: str = "<text>", limits: Limits = DEFAULT_LIMITS) -> LoadedSpec:
    data = text.encode("utf-8")
    if len(data) > limits.max_bytes:
        raise DslcErrors([DslcError("E002", limits.exceeded("the text's size in bytes", len(data),
                                                            limits.max_bytes, "--max-bytes"), Span(name, 1, 1))])
    try:
        source = decode_source(data, name)
    except DslcError as error:
        raise DslcErrors([error]) from None
    return load_source(source, syntax, limits)


def _parse(source: Source, syntax: Syntax, limits: Limits, sink: ErrorSink) -> Map | None:
    """The located tree of one source text; None (its errors in `sink`) when it does not parse."""
    try:
        if syntax == "yaml":
            from dslc.spec.yaml_frontend import parse_yaml
            return parse_yaml(source, limits)
        from dslc.spec.dsl_frontend import parse_dsl
        return parse_dsl(source, limits)
    except DslcError as error:
        sink.add(error)
    except DslcErrors as errors:
        sink.errors.extend(errors.errors)
    return None


def load_source(source: Source, syntax: Syntax, limits: Limits = DEFAULT_LIMITS) -> LoadedSpec:
    """The loaded spec; raises `DslcErrors` with every error found in it."""
    sink = ErrorSink()
    loaded = load_into(source, syntax, limits, sink)
    if sink.errors or loaded is None:
        raise DslcErrors(sink.errors, source.text)
    return loaded


def load_into(source: Source, syntax: Syntax, limits: Limits, sink: ErrorSink) -> LoadedSpec | None:
    """Every error of the spec into `sink`; what could be built (partial when there are errors), or None."""
    reset_hint_budget()  # each file gets its own budget of did-you-mean comparisons
    with fewer_collections():
        document = _parse(source, syntax, limits, sink)
        lowered = lower(document, sink, limits) if document is not None else None
        graph = expand(lowered, limits, sink) if lowered is not None else None
    if lowered is None or graph is None:
        return None
    return LoadedSpec(source, syntax, lowered.spec, graph, lowered.source_map, limits)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a spec is built or analysed.

    Each stage allocates a few objects per item of the spec, and keeps them all: at CPython's default
    threshold (a collection every 700 allocations) the collector walked them again and again, which was
    half the time of checking a chain of 10,000 layers. The budgets bound what is allocated meanwhile.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
