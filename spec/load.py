"""Loading a spec: bytes -> text -> located tree -> IR -> expanded graph, every stage bounded.

`load(path)` returns a `LoadedSpec` or raises `DslcErrors` holding every error
found in the file. The stages run in order and a stage runs only when the ones
before it succeeded, so hostile input never reaches the later ones.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dslc.spec.errors import DslcError, DslcErrors, Span, reset_hint_budget
from dslc.spec.expand import Graph, expand
from dslc.spec.ir import Spec
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.lower import lower
from dslc.spec.source import Source, decode_source, read_source
from dslc.spec.tree import Map

Syntax = Literal["yaml", "dsl"]
SUFFIXES: dict[str, Syntax] = {".yaml": "yaml", ".yml": "yaml", ".dsl": "dsl"}


@dataclass(frozen=True)
class LoadedSpec:
    source: Source
    syntax: Syntax
    spec: Spec
    graph: Graph
    limits: Limits = DEFAULT_LIMITS  # the budgets it was loaded with; the analysis enforces the model's


def syntax_of(path: Path, name: str | None = None) -> Syntax:
    syntax = SUFFIXES.get(path.suffix.lower())
    if syntax is None:
        raise DslcErrors([DslcError("E004", f"unknown file type '{path.suffix}'", Span(name or str(path), 1, 1),
                                    hint="name spec files *.yaml, *.yml or *.dsl")])
    return syntax


def load(path: Path | str, limits: Limits = DEFAULT_LIMITS, name: str | None = None) -> LoadedSpec:
    path = Path(path)
    syntax = syntax_of(path, name)
    try:
        source = read_source(path, limits, name)
    except DslcError as error:
        raise DslcErrors([error]) from None
    return load_source(source, syntax, limits)


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


def parse_document(source: Source, syntax: Syntax, limits: Limits) -> Map:
    """The located tree of one source text; raises `DslcErrors`."""
    try:
        if syntax == "yaml":
            from dslc.spec.yaml_frontend import parse_yaml
            return parse_yaml(source, limits)
        from dslc.spec.dsl_frontend import parse_dsl
        return parse_dsl(source, limits)
    except DslcError as error:
        raise DslcErrors([error], source.text) from None
    except DslcErrors as errors:
        raise DslcErrors(errors.errors, source.text) from None


def load_source(source: Source, syntax: Syntax, limits: Limits = DEFAULT_LIMITS) -> LoadedSpec:
    reset_hint_budget()  # each file gets its own budget of did-you-mean comparisons
    with fewer_collections():
        document = parse_document(source, syntax, limits)
        spec, errors = lower(document, limits)
        if errors or spec is None:
            raise DslcErrors(errors, source.text)
        graph, errors = expand(spec, limits)
        if errors or graph is None:
            raise DslcErrors(errors, source.text)
    return LoadedSpec(source, syntax, spec, graph, limits)


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
