"""The Python API, for notebooks and scripts: load a spec, analyse it, build the model, get the steps.

    import dslc.api as dslc
    spec = dslc.load("examples/digits_cnn.yaml")       # LoadedSpec; raises DslcErrors
    print(dslc.summary(spec))                         # the table `dslc summary` prints
    run = dslc.compile(spec)                           # model, jitted steps and the initial state
    state, metrics = run.steps.train(run.state, batch) # batch: dslc.compiler.steps.Batch

    trained = dslc.train(spec, epochs=5, workdir="runs/mlp")  # as `dslc train`; raises DslcErrors
    dslc.eval(spec, "runs/mlp")                         # Evaluation: metrics on the test split
    dslc.predict(spec, pixels, "runs/mlp")              # float32 outputs of the best checkpoint
    dslc.generate(spec, "Once", "runs/lm", greedy=True)  # a trained decoder's continuation of a text
    dslc.save_weights(run.model(), "mlp.safetensors")   # weights by name (dslc.compiler.weights)
    dslc.load_weights(model, "mlp.safetensors")         # all or nothing: a WeightsError lists every misfit

Loading and analysing never import JAX; `compile`, `train`, `eval`, `predict`, `generate` and the weights functions
do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.load import LoadedSpec
from dslc.spec.load import load as _load

if TYPE_CHECKING:
    from dslc.compiler.analysis.model import Analysis
    from dslc.compiler.check import Checked
    from dslc.runtime.training import Evaluation, Trained
    from dslc.spec.load import Syntax


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
    return Compiled(loaded, analysis, graphdef, state, _checked(make_steps(graphdef, task, unroll=unroll), loaded))


def _checked(steps: Any, loaded: LoadedSpec) -> Any:
    """The steps, each first checking its batch's inputs against the spec's declarations: a wrong shape is a
    located E704 at the input's declaration, not a broadcasting error from deep inside Flax."""
    from dslc.compiler.steps import Steps

    def guarded(step: Any, leading: int) -> Any:
        def call(state: Any, batch: Any) -> Any:
            _check_batch(loaded, batch[0], leading)
            return step(state, batch)
        return call

    return Steps(train=guarded(steps.train, 1), eval=guarded(steps.eval, 1), multi=guarded(steps.multi, 2),
                 eval_multi=guarded(steps.eval_multi, 2))


def _check_batch(loaded: LoadedSpec, inputs: Any, leading: int) -> None:
    """`leading`: the batch axes before each example's shape (1: (batch, ...); 2: the fused (K, batch, ...))."""
    from dslc.spec.errors import DslcError, DslcErrors

    declared = loaded.spec.model.inputs
    problems = []
    if len(inputs) != len(declared):
        problems.append(DslcError("E704", f"the batch holds {len(inputs)} input arrays, the model takes "
                                          f"{len(declared)} ({', '.join(d.name for d in declared)})",
                                  loaded.source_map.nearest(("model", "inputs"))))
    for index, (given, want) in enumerate(zip(inputs, declared, strict=False)):
        shape = tuple(getattr(given, "shape", ()))
        example = shape[leading:]
        fits = len(shape) == leading + len(want.shape) and all(
            dim is None or dim == have for dim, have in zip(want.shape, example, strict=True))
        if not fits:
            span = loaded.source_map.key_or_value(("model", "inputs", index))
            axes = "(batch, ...)" if leading == 1 else "(steps, batch, ...)"
            problems.append(DslcError("E704", f"input '{want.name}' is declared {list(want.shape)} per example, "
                                              f"but the batch gives shape {list(shape)}",
                                      span, hint=f"pass arrays shaped {axes} with each example "
                                                 f"{list(want.shape)}"))
    if problems:
        raise DslcErrors(problems, loaded.source.text)


# -- training, evaluation and prediction: what `dslc train`, `eval` and `predict` run --------------------
def load_text(text: str, syntax: Syntax = "yaml", name: str = "<text>", limits: Limits = DEFAULT_LIMITS) -> LoadedSpec:
    """Load and validate a spec given as text (`syntax`: "yaml" or "dsl"); `name` appears in error locations."""
    from dslc.spec.load import load_text as _load_text

    return _load_text(text, syntax, name, limits)


def train(spec: LoadedSpec | str | Path, *, quiet: bool = True, **options: Any) -> Trained:
    """Train and evaluate as `dslc train` does; `options` are `dslc.runtime.training.TrainOptions` fields
    (epochs, batch, lr, seed, device, workdir, resume, overwrite, fuse, ...). Raises `DslcErrors` for an
    invalid spec, data or work directory; `trained.nothing_left` after `resume=True` of a finished run."""
    from dslc.runtime.progress import PlainReporter
    from dslc.runtime.training import TrainOptions, devnull_reporter, train_and_evaluate

    if options.get("workdir") is not None:
        options["workdir"] = Path(options["workdir"])
    reporter = devnull_reporter() if quiet else PlainReporter()
    return train_and_evaluate(spec, TrainOptions(**options), reporter=reporter)


def eval(spec: LoadedSpec | str | Path, checkpoint: str | Path | None = None,  # noqa: A001 - `dslc eval`'s name
         split: str = "test", *, device: str = "auto") -> Evaluation:
    """A trained checkpoint's metrics on a split (default checkpoint: the spec's run's best, else its latest)."""
    from dslc.runtime.training import evaluate_checkpoint

    return evaluate_checkpoint(spec, Path(checkpoint) if checkpoint is not None else None, split, device=device)


def predict(spec: LoadedSpec | str | Path, inputs: Any, checkpoint: str | Path | None = None, *,
            batch: int | None = None, device: str = "auto") -> Any:
    """A trained model's float32 outputs on raw examples: one array (a model with one input) or a dict of
    arrays by input name, prepared as training prepared its data (default checkpoint as in `eval`)."""
    from dslc.runtime.commands.predict import predict_checkpoint

    loaded = spec if isinstance(spec, LoadedSpec) else load(spec)
    where = Path(checkpoint) if checkpoint is not None else None
    return predict_checkpoint(loaded, inputs, "inputs", where, batch=batch, device=device).outputs


def generate(spec: LoadedSpec | str | Path, prompt: str, checkpoint: str | Path | None = None, *,
             max_tokens: int = 100, greedy: bool = False, temperature: float = 1.0, top_k: int | None = None,
             top_p: float | None = None, seed: int = 0, device: str = "auto") -> str:
    """A trained decoder's continuation of `prompt`, as `dslc generate` prints it (default checkpoint as in
    `eval`): greedy, or sampled at `temperature` within the `top_k` and the `top_p` nucleus, from `seed`."""
    from dslc.compiler.generate import Sampling
    from dslc.runtime.commands.generate import generate_text

    sampling = Sampling(greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p)
    where = Path(checkpoint) if checkpoint is not None else None
    return "".join(generate_text(spec, prompt, where, max_tokens=max_tokens, sampling=sampling, seed=seed,
                                 device=device))


# -- weights by name: safetensors files named by the model's variable paths (docs/architecture.md#compiler) -----
def save_weights(model: Any, path: str | Path) -> None:
    """Write a built model's parameters and batch statistics to a safetensors file."""
    from dslc.compiler.weights import save_weights as _save

    _save(model, path)


def load_weights(model: Any, path: str | Path, rename: Mapping[str, str] | None = None) -> None:
    """Load a safetensors file into a built model in place (`rename`: the file's names -> the model's);
    raises `dslc.compiler.weights.WeightsError`, changing nothing, when the file does not fit exactly."""
    from dslc.compiler.weights import load_weights as _load_weights

    _load_weights(model, path, rename)
