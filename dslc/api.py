"""The Python API, for notebooks and scripts: load a spec, analyse it, build the model, get the steps.

    import dslc.api as dslc
    spec = dslc.load("examples/digits_cnn.yaml")       # LoadedSpec; raises DslcErrors
    print(dslc.summary(spec))                         # the table `dslc summary` prints
    run = dslc.compile(spec)                           # model, jitted steps and the initial state
    state, metrics = run.steps.train(run.state, batch) # batch: dslc.compiler.steps.Batch

Loading and analysing never import JAX; `compile` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.load import LoadedSpec
from dslc.spec.load import load as _load

if TYPE_CHECKING:
    from dslc.compiler.analysis.model import Analysis
    from dslc.compiler.check import Checked


def load(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> LoadedSpec:
    """Load and validate a spec file (YAML or DSL).

    `limits` (`dslc.api.Limits`) are the hostile-input budgets, the command line's `--max-*` and
    `--limit-*` flags. The spec keeps them: `analyse`, `summary` and `compile` reject a model over
    the parameter, activation-memory or FLOP budget (E008, E009, E016); raise one with, e.g.,
    `load(path, Limits(max_params=10**11))`.
    """
    return _load(path, limits)


def analyse(spec: LoadedSpec | str | Path, policy: str = "hierarchy") -> Analysis:
    """Shapes, parameters, FLOPs and the depth verdict; raises `DslcErrors` on shape errors and exceeded budgets."""
    from dslc.compiler.analysis.analyse import analyse as _analyse

    return _analyse(spec if isinstance(spec, LoadedSpec) else load(spec), policy)


def check(spec: LoadedSpec | str | Path, limits: Limits = DEFAULT_LIMITS, policy: str = "hierarchy") -> Checked:
    """Everything `dslc check` finds: every error of the file in one `DslcErrors`, or the spec and its analysis
    (`check(path).valid()` returns them or raises). A loaded spec keeps its own budgets."""
    from dslc.compiler.check import check_loaded, check_spec

    return check_loaded(spec, policy) if isinstance(spec, LoadedSpec) else check_spec(spec, limits, policy)


def summary(spec: LoadedSpec | str | Path, batch: int = 1) -> str:
    from dslc.compiler.analysis.render import summary_text

    return summary_text(analyse(spec), batch)


@dataclass
class Compiled:
    """A spec ready to run: the analysis, the NNX graph definition, the training state and the jitted steps."""

    spec: LoadedSpec
    analysis: Analysis
    graphdef: Any  # nnx.GraphDef
    state: Any  # dslc.compiler.steps.TrainState
    steps: Any  # dslc.compiler.steps.Steps (train, eval, multi)

    def model(self) -> Any:
        """The NNX model holding the current state's arrays (for inference and inspection)."""
        from dslc.compiler.steps import model_from_state

        return model_from_state(self.graphdef, self.state)


def compile(spec: LoadedSpec | str | Path, *, seed: int = 0, unroll: int = 1) -> Compiled:
    """Build the spec's model and its train/eval steps (the spec needs a `train` section)."""
    from dslc.compiler.build import build_model
    from dslc.compiler.steps import compute_dtype, init_state, make_steps, make_task

    loaded, analysis = check(spec).valid()
    train = loaded.spec.train
    if train is None:
        raise ValueError(f"{loaded.source.name} has no train section; use analyse() and "
                         "dslc.compiler.build.build_model() for inference only")
    model = build_model(loaded, analysis, seed=seed, dtype=compute_dtype(train))
    task = make_task(train)
    graphdef, state = init_state(model, task)
    return Compiled(loaded, analysis, graphdef, state, make_steps(graphdef, task, unroll=unroll))
