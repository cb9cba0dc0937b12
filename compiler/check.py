"""The one front door: a spec file -> every error in it, or the loaded spec and its analysis.

load (parse, lower, expand) -> analyse (shapes, budgets) -> training checks, all
reporting into one `ErrorSink`: each stage runs over what the ones before could
build, so a file gets every error that does not depend on another in one run.
`dslc check`, `dslc compile`, training and `dslc.api` all go through here. No JAX.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dslc.compiler.analysis.analyse import analyse_into
from dslc.compiler.analysis.model import Analysis
from dslc.compiler.checks import check_training
from dslc.spec.errors import DslcErrors, ErrorSink
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.load import LoadedSpec, Syntax, load_into, open_source
from dslc.spec.source import Source


@dataclass(frozen=True)
class Checked:
    """A checked spec: the loaded spec and its analysis when it is valid, else every error found."""

    loaded: LoadedSpec | None
    analysis: Analysis | None
    errors: DslcErrors | None

    def valid(self) -> tuple[LoadedSpec, Analysis]:
        """The loaded spec and its analysis; raises the errors when there are any."""
        if self.errors is not None or self.loaded is None or self.analysis is None:
            raise self.errors or DslcErrors([])
        return self.loaded, self.analysis


def check_spec(path: str | Path, limits: Limits = DEFAULT_LIMITS, policy: str = "hierarchy",
               training: bool = True) -> Checked:
    """`training=False`: the model only (summary, graph), without the checks of the train section."""
    try:
        source, syntax = open_source(path, limits)
    except DslcErrors as errors:
        return Checked(None, None, errors)
    return check_source(source, syntax, limits, policy, training)


def check_source(source: Source, syntax: Syntax, limits: Limits = DEFAULT_LIMITS,
                 policy: str = "hierarchy", training: bool = True) -> Checked:
    sink = ErrorSink()
    loaded = load_into(source, syntax, limits, sink)
    analysis = analyse_into(loaded, sink, policy) if loaded is not None else None
    if loaded is not None and training:
        sink.errors.extend(check_training(loaded, analysis))
    if sink.errors:
        return Checked(None, None, DslcErrors(sink.errors, source.text))
    return Checked(loaded, analysis, None)


def check_loaded(loaded: LoadedSpec, policy: str = "hierarchy") -> Checked:
    """A spec loaded before (its own budgets): the analysis and the training checks."""
    sink = ErrorSink()
    analysis = analyse_into(loaded, sink, policy)
    sink.errors.extend(check_training(loaded, analysis))
    if sink.errors:
        return Checked(None, None, DslcErrors(sink.errors, loaded.source.text))
    return Checked(loaded, analysis, None)
