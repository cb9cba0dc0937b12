"""What `train`, `eval` and `predict` share: a spec made ready to run on a device.

`open_session` loads and checks the spec (every error before `import jax` where it can be),
loads its data, turns on the persistent compilation cache, builds the model and jits its
steps. The caller restores a checkpoint into `session.state` where it has one; a fresh state may still be in the
making (`session.fresh`, a `dslc.runtime.pending.PendingState`) while the caller compiles the steps.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.ir import Train
from dslc.spec.limits import Limits
from dslc.spec.load import LoadedSpec, load

CACHE_ENV = "DSLC_COMPILE_CACHE"


@dataclass
class Session:
    loaded: LoadedSpec
    train: Train  # the spec's train section with the command line's overrides
    seed: int
    analysis: Any  # dslc.compiler.analysis.model.Analysis
    dataset: Any  # dslc.runtime.data.Dataset
    device: Any  # jax.Device
    graphdef: Any  # nnx.GraphDef
    # The freshly initialised TrainState (on `placement`'s mesh: replicated or sharded), or a PendingState whose
    # thread still makes it: `state` waits for it, `dslc.runtime.pending.abstract_state` does not.
    fresh: Any
    steps: Any  # Steps
    placement: Any  # dslc.runtime.parallel.Placement: the devices, how batches and the state split
    conv_lowering: str | None = None  # which lowering each convolution got (conv_lowering.describe), if any
    programs: Any = None  # dslc.runtime.programs.ProgramCache: compiled programs kept between runs

    @property
    def state(self) -> Any:
        from dslc.runtime.pending import ready

        return ready(self.fresh)

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(self.dataset, self.train.batch)


@dataclass(frozen=True)
class Prepared:
    """A spec checked for training, with its data loaded: all found before `import jax`."""

    analysis: Any  # dslc.compiler.analysis.model.Analysis
    dataset: Any  # dslc.runtime.data.Dataset


def steps_per_epoch(dataset: Any, batch: int) -> int:
    """Train steps in one epoch: the last batch may be partial (its padding rows weigh 0)."""
    return math.ceil(len(dataset.train) / batch)


def load_for_training(spec: str | Path | LoadedSpec, limits: Limits,
                      overrides: Callable[[Train], dict[str, Any]] | None = None) -> tuple[LoadedSpec, Train]:
    """The spec and its train section with `overrides(train)` applied (validated like the spec); E102 without one.

    A spec file's every error `dslc check` finds stops it here, before any JAX is imported (a spec loaded
    before is checked by `check_for_training`)."""
    from dslc.compiler.check import check_spec

    loaded = spec if isinstance(spec, LoadedSpec) else check_spec(spec, limits).valid()[0]
    train = loaded.spec.train
    if train is None:
        raise DslcErrors([DslcError("E102", "the spec has no train section", loaded.source_map.nearest(("model",)),
                                    hint="add train: {loss: ..., optimizer: ..., batch: ..., epochs: ..., data: ...}")],
                         loaded.source.text)
    update = overrides(train) if overrides else {}
    if update:
        train = train.model_validate({**dict(train), **update})
    return loaded, train


def check_for_training(loaded: LoadedSpec, train: Train, seed: int, workdir: Path | None = None,
                       workers: int = 0) -> Prepared:
    """The spec with `train` (its train section after the command line's overrides) checked as `dslc check`
    checks it, and its data loaded: everything a spec can get wrong, without JAX. `workdir`: the run's work
    directory (a text tokenizer and token cache live there); `workers`: processes that tokenise text."""
    from dslc.compiler.check import check_loaded
    from dslc.runtime.data import load_dataset

    if train != loaded.spec.train:  # an overridden batch or schedule must fit the model's budgets too
        loaded = replace(loaded, spec=loaded.spec.model_copy(update={"train": train}))
    _, analysis = check_loaded(loaded).valid()
    try:
        dataset = load_dataset(loaded, analysis, seed, train, workdir=workdir, workers=workers)
    except DslcError as error:
        raise DslcErrors([error], loaded.source.text) from None
    return Prepared(analysis, dataset)


def open_session(loaded: LoadedSpec, train: Train, seed: int, device_name: str, compile_cache: str | None,
                 devices: int | None = 1, shard_params: int = 1, prepared: Prepared | None = None,
                 initial_weights: bool = False, conv_lowering: str | None = None) -> Session:
    """`devices`: how many devices of the chosen platform to train on (None: all of them); `shard_params`:
    how many ways to split the parameters and optimiser state among them (1: replicated); `prepared`:
    `check_for_training`'s result where the caller already has it; `initial_weights`: load `train.init` into the
    new model (a run that starts, not one that resumes or is evaluated); `conv_lowering`: how convolutions are
    computed (`dslc.compiler.conv_lowering`'s modes; None: $DSLC_CONV_LOWERING or 'auto')."""
    # Everything a spec or its data can get wrong is found before `import jax` (about 1 s)
    prepared = prepared or check_for_training(loaded, train, seed)
    analysis, dataset = prepared.analysis, prepared.dataset

    import jax
    from flax import nnx

    from dslc.compiler.build import build_model, conv_lowerings
    from dslc.compiler.conv_lowering import describe
    from dslc.compiler.devices import select_devices
    from dslc.compiler.random_draws import seed_key
    from dslc.compiler.steps import compute_dtype, init_state, make_steps, make_task
    from dslc.runtime.parallel import placement
    from dslc.runtime.pending import abstract_state
    from dslc.runtime.programs import ProgramCache

    try:
        where = placement(select_devices(device_name), devices, train.batch, shard_params)
    except DslcError as error:
        raise DslcErrors([error]) from None
    device = where.local_device
    programs = ProgramCache.open(enable_compile_cache(compile_cache), {
        "spec": _program_ir(loaded, train),  # the target's scaling is closed over; the inputs' is applied before
        "target_scaling": dataset.statistics.target and dataset.statistics.target.to_json(),
        "conv_lowering": conv_lowering or os.environ.get("DSLC_CONV_LOWERING"), "shards": where.shards,
        "mesh": [d.id for d in where.mesh.devices.flat], "build_device": where.build_device.id})
    with jax.default_device(where.build_device):
        per_device = train.batch // where.size  # each device trains on its share of a batch
        chosen, mode, platform = conv_lowerings(loaded.graph, analysis, mode=conv_lowering,
                                                platform=where.build_device.platform, batch=per_device)
        task = in_target_units(make_task(train), dataset.statistics.target)

        def build(key: jax.Array) -> nnx.Module:
            return build_model(loaded, analysis, seed=key, dtype=compute_dtype(train), remat=train.remat,
                               scan=train.scan, conv_lowering=mode, platform=platform, batch=per_device)

        if initial_weights and train.init:
            from dslc.runtime.pretrained import load_initial_weights

            model = nnx.jit(build)(seed_key(seed))
            load_initial_weights(model, train, loaded, analysis)
            graphdef, made = init_state(model, task)
            state = where.place(made)
        else:
            graphdef, state = _initial_state(programs, build, task, seed_key(seed), where)
    shardings = where.state_shardings(abstract_state(state)) if where.shards > 1 else None
    steps = make_steps(graphdef, task, state_shardings=shardings)
    return Session(loaded, train, seed, analysis, dataset, device, graphdef, state, steps, where,
                   describe(chosen, mode, platform), programs)


def _program_ir(loaded: LoadedSpec, train: Train) -> dict[str, Any]:
    """The spec's IR as the program cache keys it: without the train fields that no program reads (how long the run
    is, when it saves and stops, the spec's seed, which the initialisation takes as an argument), so that another
    `--epochs` loads the same programs rather than compiling them all again."""
    from dslc.runtime.checkpoint import RUN_LENGTH_FIELDS, canonical_ir

    ir = canonical_ir(loaded.spec, train)
    ir["train"] = {key: value for key, value in ir["train"].items() if key not in (*RUN_LENGTH_FIELDS, "seed")}
    return ir


def _initial_state(programs: Any, build: Callable[[Any], Any], task: Any, key: Any,
                   where: Any) -> tuple[Any, Any]:
    """The model's graph definition and its fresh training state on `where`'s mesh, made by one compiled program
    whose argument is the seed's key: one program (and one cache entry) for every seed, rather than one dispatch and
    compilation per initialiser.

    The program is traced here, which gives the graph definition and the state's shapes; it is compiled (or loaded)
    and run on a thread of its own, a `PendingState`, so that the caller compiles the train and evaluation steps
    meanwhile. With several processes it runs here: placing the state is a step they take together."""
    import jax

    from dslc.compiler.steps import init_state
    from dslc.runtime.pending import PendingState, shapes_of

    made: dict[str, Any] = {}

    def initial(key: jax.Array) -> Any:
        made["graphdef"], state = init_state(build(key), task)
        return state

    program = jax.jit(initial)
    shapes = program.trace(key).out_info  # the graph definition too (a loaded program skips only the compilation)

    def make() -> Any:
        return where.place(programs.compiled("init", program, key)(key))

    if jax.process_count() > 1:
        return made["graphdef"], make()
    return made["graphdef"], PendingState(shapes_of(shapes, where.sharding), make, where.build_device)


def in_target_units(task: Any, target: Any) -> Any:
    """`task` (a `Task`) with its metrics (mse, mae) computed in the data's own units where the targets were
    normalised (`target`: their `Scaling`, or None). The loss stays in the normalised units the model
    trains in, so that it and its gradients keep their scale whatever the data's units."""
    if target is None:
        return task
    import numpy as np

    shift, scale = target.shift.astype(np.float32), target.scale.astype(np.float32)

    def original(metric: Callable[..., Any]) -> Callable[..., Any]:
        return lambda outputs, values: metric(outputs * scale + shift, values * scale + shift)

    return replace(task, metrics=tuple((name, original(metric)) for name, metric in task.metrics))


def enable_compile_cache(folder: str | None) -> Path | None:
    """JAX's persistent compilation cache in `folder` ("off": none; None: $DSLC_COMPILE_CACHE or the user cache).

    A second run of the same spec then loads its compiled steps instead of compiling them.
    """
    import jax

    folder = folder or os.environ.get(CACHE_ENV) or str(_user_cache() / "xla")
    if folder == "off":
        return None
    path = Path(folder).expanduser()
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # tiny models compile fast; cache them too
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "dslc"


def open_trained(spec: str | Path | LoadedSpec, checkpoint: Path | None, limits: Limits, device_name: str,
                 compile_cache: str | None, check: Callable[[Prepared], None] | None = None) -> tuple[Session, Any]:
    """The session of a trained run and its restored checkpoint (`dslc eval`, `dslc predict`).

    `checkpoint` is a run's work directory (its latest checkpoint), its `best/` folder, or one
    checkpoint's folder; None: the spec's default work directory (`default_checkpoint`). The spec's
    model must be the one trained there; the train section, seed and data split are the run's own
    (from its spec.json and marker). `check` sees the loaded data before `import jax`.
    """
    from pydantic import ValidationError

    from dslc.runtime.checkpoint import SPEC_FILE, Checkpoints, default_checkpoint, locate_checkpoint
    from dslc.spec.ir import Spec

    loaded = spec if isinstance(spec, LoadedSpec) else load(spec, limits)
    workdir, which, step = locate_checkpoint(checkpoint or default_checkpoint(loaded.spec.model.name))
    try:
        trained = Spec.model_validate_json((workdir.path / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise DslcErrors([DslcError("E805", f"{workdir.path / SPEC_FILE}: unreadable ({type(exc).__name__})",
                                    stage="run")]) from None
    if trained.model != loaded.spec.model or trained.train is None:
        raise DslcErrors([DslcError("E802", f"{workdir.path} was trained from a different model than "
                                            f"{loaded.source.name}",
                                    hint="give the spec the run was trained with (its IR is in spec.json there)",
                                    stage="run")])
    identity = workdir.identity() or {}
    prepared = check_for_training(loaded, trained.train, identity["seed"], workdir.path)
    if check is not None:
        check(prepared)
    session = open_session(loaded, trained.train, identity["seed"], device_name, compile_cache, prepared=prepared)
    import jax

    checkpoints = Checkpoints(workdir, keep=1, read_only=True)
    try:
        with jax.default_device(session.device):
            restored = checkpoints.restore(session.state, which, step)
    finally:
        checkpoints.close()
    return session, restored
