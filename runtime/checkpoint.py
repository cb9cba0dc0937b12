"""A training run's work directory: its identity, and its checkpoints through orbax-checkpoint.

Layout (docs/architecture.md#checkpoints-and-resume, docs/safety.md#paths):

    dslc-run.json        the marker: this folder is dslc's, which spec and seed it trains
    spec.json            the spec's canonical IR, as trained (command-line overrides applied)
    checkpoints/<step>/  the latest `keep` checkpoints
    best/<step>/         the checkpoint with the best monitored validation value
    metrics.jsonl, tensorboard/, run.json   written by `dslc.runtime.runlog`

orbax writes each checkpoint into a temporary folder and renames it when complete, so a
run killed at any moment leaves only whole checkpoints; `latest_step` sees committed ones
only. orbax's `max_to_keep` deletes any sub-folder whose name looks like a step number, so
dslc opens checkpoint folders only inside a directory that carries its marker, and refuses
to write into a non-empty folder without one.

A checkpoint holds the `TrainState` (typed PRNG keys stored as their raw key data) and a
JSON record: where the run is (step, the current epoch's losses so far, the monitors'
state) and the environment that determinism is promised for (versions, backend, flags).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import threading
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslc.runtime.rewrite import write_atomically
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.ir import Spec, Train

if TYPE_CHECKING:
    from dslc.compiler.steps import TrainState

# JAX is imported where a checkpoint is read or written, not here: the work directory's guard
# (`WorkDir.prepare`) runs before any JAX import, so a refused run costs no JAX start-up.

MARKER = "dslc-run.json"
SPEC_FILE = "spec.json"
LATEST, BEST = "checkpoints", "best"
# What a resume may change: how long to train and how to checkpoint and stop. All else must match.
RUN_LENGTH_FIELDS = ("epochs", "steps", "checkpoint", "early_stopping")
_OWNED = (LATEST, BEST, "tensorboard", "metrics.jsonl", "run.json", SPEC_FILE, MARKER)
# What text data leaves in a work directory before its run starts (`dslc tokenizer train`, runtime/text.py): a folder
# holding only these is still an empty one to train in.
DATA_FILES = ("tokenizer.json", "tokens")


def _error(code: str, message: str, hint: str | None = None) -> DslcErrors:
    return DslcErrors([DslcError(code, message, hint=hint, stage="run")])


def write_error(where: Path, exc: BaseException, last: int | None = None) -> DslcErrors:
    """E806: a full disk, a file-size limit, a folder dslc may not write; what is still safe."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).split(": ")[-1]
    kept = f"; the last committed checkpoint (step {last}) is intact" if last is not None else ""
    return _error("E806", f"{where}: cannot write the work directory ({_short(reason)}){kept}",
                  hint="free disk space or choose a writable --workdir, then run again with --resume")


def _short(text: str) -> str:
    return " ".join(text.split())[:200]


# -- the run's identity -----------------------------------------------------------------------
def canonical_ir(spec: Spec, train: Train) -> dict[str, Any]:
    """The spec's IR as JSON data, with the train section as this run trains it."""
    return spec.model_copy(update={"train": train}).model_dump(mode="json")


def run_identity(spec: Spec, train: Train, seed: int) -> dict[str, Any]:
    """What a resumed run must share with the run it continues."""
    trained = canonical_ir(spec, train)
    trained["train"] = {key: value for key, value in trained["train"].items() if key not in RUN_LENGTH_FIELDS}
    text = json.dumps(trained, sort_keys=True, separators=(",", ":"))
    return {"spec_sha256": hashlib.sha256(text.encode()).hexdigest(), "model": spec.model.name, "seed": seed}


def environment() -> dict[str, Any]:
    """What bitwise determinism is promised for: versions, backend, devices, XLA flags, threads."""
    from importlib.metadata import PackageNotFoundError, version

    import jax

    versions: dict[str, str | None] = {}
    for package in ("dslc", "jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "numpy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {"versions": versions, "python": platform.python_version(), "platform": platform.platform(),
            "backend": jax.default_backend(), "devices": sorted({d.device_kind for d in jax.devices()}),
            "xla_flags": os.environ.get("XLA_FLAGS", ""), "cpu_count": os.cpu_count()}


# -- the work directory -----------------------------------------------------------------------
@dataclass(frozen=True)
class WorkDir:
    path: Path  # made absolute: orbax refuses relative paths

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(os.path.abspath(self.path)))

    @property
    def marker(self) -> Path:
        return self.path / MARKER

    def identity(self) -> dict[str, Any] | None:
        """The marker's content, or None where there is no marker."""
        try:
            return json.loads(self.marker.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError) as exc:
            raise _error("E805", f"{self.marker}: unreadable dslc marker ({exc})") from None

    def prepare(self, identity: dict[str, Any], ir: dict[str, Any], *, resume: bool, overwrite: bool,
                write: bool = True) -> None:
        """Make this folder the work directory of the run `identity` (see `dslc train --help`).

        Every process of a multi-process run checks (they all reach the same verdict); only the
        one with `write` changes anything.
        """
        found = self.identity()
        if found is None and self.path.exists() and any(entry.name not in DATA_FILES for entry in self.path.iterdir()):
            raise _error("E801", f"{self.path} is not empty and is not a dslc work directory (no {MARKER})",
                         hint="choose an empty or new folder with --workdir; dslc never writes into other folders")
        if found is not None and resume:
            differences = [key for key in identity if found.get(key) != identity[key]]
            if differences:
                raise _error("E802", f"{self.path} holds a run of a different spec or seed "
                                     f"({', '.join(differences)} differ{'s' if len(differences) == 1 else ''})",
                             hint="resume with the spec and seed it was trained with, or choose another --workdir")
        if found is not None and not resume:
            last = self.latest_step()
            if last is not None and not overwrite:
                raise _error("E803", f"{self.path} holds an earlier run (checkpoint at step {last})",
                             hint="--resume continues it, --overwrite starts over (deleting its checkpoints), "
                                  "--workdir chooses another folder")
            for name in _OWNED if write else ():  # only dslc's own files: the marker proved the folder is dslc's
                target = self.path / name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
        if not write:
            return
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if found is None or not resume:
                write_atomically(self.path / SPEC_FILE, json.dumps(ir, indent=2, sort_keys=True) + "\n")
                write_atomically(self.marker, json.dumps({"dslc": "training run", **identity}, indent=2) + "\n")
        except OSError as exc:
            raise write_error(self.path, exc) from None

    def forget_data(self) -> None:
        """Delete the text tokenizer and token cache of a dslc work directory (an --overwrite run makes them anew)."""
        if self.identity() is None:
            return
        for name in DATA_FILES:
            target = self.path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()

    def latest_step(self) -> int | None:
        steps = _committed_steps(self.path / LATEST)
        return steps[-1] if steps else None


def _committed_steps(folder: Path) -> list[int]:
    """Steps of the complete checkpoints in `folder` (orbax marks each with commit_success.txt)."""
    if not folder.is_dir():
        return []
    return sorted(int(entry.name) for entry in folder.iterdir()
                  if entry.name.isdigit() and (entry / "commit_success.txt").exists())


# -- checkpoints --------------------------------------------------------------------------------
def _storable(state: TrainState) -> dict[str, Any]:
    """The state as plain arrays: orbax stores numbers, so typed PRNG keys become their key data."""
    import jax

    from dslc.compiler.random_draws import is_key

    return jax.tree.map(lambda leaf: jax.random.key_data(leaf) if is_key(leaf) else leaf, state._asdict())


def _restored(stored: dict[str, Any], template: TrainState) -> TrainState:
    import jax

    from dslc.compiler.random_draws import is_key
    from dslc.compiler.steps import TrainState

    def back(raw: Any, like: Any) -> Any:
        return jax.random.wrap_key_data(raw, impl=jax.random.key_impl(like)) if is_key(like) else raw

    return TrainState(**jax.tree.map(back, stored, template._asdict()))


@dataclass(frozen=True)
class Stored:
    """A state as saved: plain arrays (see `snapshot`)."""

    arrays: dict[str, Any]


def snapshot(state: TrainState) -> Stored:
    """A copy of `state` to save later, made on its device(s) and not waited for.

    The loop donates the state's buffers to its next step, so a new best state must be copied before it goes on;
    a copy on the device is dispatched like any step and costs no wait, where a copy to the host (`jax.device_get`)
    stopped the loop until the device had finished and the whole state had crossed over. It holds one more state
    in device memory until the next save writes it. With several processes the copy is gathered to the host, as it
    always was there: the multi-process path keeps the saves it was tested with.
    """
    import jax

    if jax.process_count() > 1:  # several processes: a host copy, gathered from all (they save it together)
        from dslc.runtime.parallel import to_host

        return Stored(to_host(_storable(state)))
    return Stored(jax.device_put(_storable(state), may_alias=False))  # one call for the tree: a third the time


@dataclass(frozen=True)
class Restored:
    state: TrainState
    record: dict[str, Any]
    step: int
    folder: Path


class Checkpoints:
    """The latest `keep` checkpoints and the best one of a work directory, saved in the background.

    A save returns once the state is copied off the device; the files are written while
    training goes on, and the next save (or `close`) waits for the previous one to commit.
    """

    def __init__(self, workdir: WorkDir, keep: int, *, read_only: bool = False) -> None:
        # orbax logs routine choices as warnings and a failed write as errors before re-raising it in the
        # main thread, where dslc reports it once (E806)
        for name in ("absl", "asyncio"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        _quiet_orbax_threads()
        self._keep = {LATEST: keep, BEST: 1}
        self._read_only = read_only
        self.folders = {LATEST: workdir.path / LATEST, BEST: workdir.path / BEST}
        self._managers: dict[str, Any] = {}

    def import_early(self) -> None:
        """Import orbax in a background thread now, while the device trains, rather than at the first save: the
        run's end waited about 0.3 s for it. An import the loop starts meanwhile waits for this one."""
        threading.Thread(target=lambda: self._ocp, name="dslc-import-orbax", daemon=True).start()

    @property
    def _ocp(self) -> Any:
        """orbax, imported at the first save or restore (about 0.2 s): a run's first step never waits for it."""
        import orbax.checkpoint as ocp

        return ocp

    def _manager(self, which: str) -> Any:
        if which not in self._managers:
            ocp, read_only = self._ocp, self._read_only
            options = ocp.CheckpointManagerOptions(max_to_keep=None if read_only else self._keep[which],
                                                   save_interval_steps=0 if read_only else 1,
                                                   create=not read_only, read_only=read_only,
                                                   cleanup_tmp_directories=not read_only,  # a killed save's leftovers
                                                   enable_async_checkpointing=not read_only)
            self._managers[which] = ocp.CheckpointManager(self.folders[which], options=options,
                                                          item_names=("state", "record"))
        return self._managers[which]

    def save(self, state: TrainState | Stored, record: Mapping[str, Any], *, best: bool = False) -> None:
        """Save a state (or a `snapshot` of one) at its step; into best/ as the new best with `best`."""
        ocp = self._ocp
        stored = state if isinstance(state, Stored) else Stored(_storable(state))
        step = int(stored.arrays["step"])
        manager = self._manager(BEST if best else LATEST)
        if step in manager.all_steps():
            return  # already saved at this step (e.g. the epoch's end and the run's end coincide)
        try:  # orbax first waits for the previous save: its failure surfaces here too
            manager.save(step, args=ocp.args.Composite(state=ocp.args.StandardSave(stored.arrays),
                                                       record=ocp.args.JsonSave(dict(record))))
        except Exception as exc:  # noqa: BLE001 - tensorstore reports a full disk as ValueError, os as OSError
            raise write_error(self.folders[LATEST].parent, exc, self._last_committed(LATEST)) from None

    def restore(self, template: TrainState, which: str = LATEST, step: int | None = None) -> Restored | None:
        """The last committed checkpoint of `which` (or the one at `step`) shaped like `template`."""
        ocp = self._ocp
        manager = self._manager(which)
        manager.reload()
        step = manager.latest_step() if step is None else step
        if step is None:
            return None
        try:
            loaded = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(_storable(template)),
                                                                   record=ocp.args.JsonRestore()))
        except Exception as exc:  # noqa: BLE001 - orbax raises many kinds for a damaged or foreign checkpoint
            raise _error("E805", f"{self.folders[which] / str(step)}: the checkpoint cannot be restored into this "
                                 f"spec's model ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
        return Restored(_restored(loaded.state, template), dict(loaded.record), step, self.folders[which] / str(step))

    def close(self) -> None:
        """Wait for the saves in flight to commit (E806 if one could not be written)."""
        failure: DslcErrors | None = None
        for which, manager in self._managers.items():
            try:
                manager.wait_until_finished()
                manager.close()
            except Exception as exc:  # noqa: BLE001 - as in `save`
                failure = failure or write_error(self.folders[which].parent, exc, self._last_committed(LATEST))
        self._managers.clear()
        if failure is not None:
            raise failure

    def _last_committed(self, which: str) -> int | None:
        steps = _committed_steps(self.folders[which])
        return steps[-1] if steps else None


def _quiet_orbax_threads() -> None:
    """orbax re-raises a background write's failure in the main thread (reported once, as E806); its
    threads, and tensorstore's callbacks into a closed event loop, would print it again as tracebacks.
    Other exceptions still print."""
    if getattr(threading.excepthook, "dslc_quiet", False):
        return
    thread_hook, main_hook, unraisable_hook = threading.excepthook, sys.excepthook, sys.unraisablehook

    def from_orbax(tb: Any) -> bool:
        return any("orbax" in frame.filename or "asyncio" in frame.filename for frame in traceback.extract_tb(tb))

    def quiet_thread(args: threading.ExceptHookArgs) -> None:
        if not from_orbax(args.exc_traceback):
            thread_hook(args)

    def quiet_callback(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if not from_orbax(tb):
            main_hook(kind, value, tb)

    def quiet_unraisable(args: Any) -> None:
        if not from_orbax(args.exc_traceback):
            unraisable_hook(args)

    quiet_thread.dslc_quiet = True  # type: ignore[attr-defined]
    threading.excepthook, sys.excepthook, sys.unraisablehook = quiet_thread, quiet_callback, quiet_unraisable


def default_checkpoint(model: str) -> Path:
    """Where `eval` and `predict` look without --checkpoint: runs/<model>/best, or runs/<model> (its latest)."""
    workdir = Path("runs") / model
    return workdir / BEST if _committed_steps(workdir / BEST) else workdir


def stored_weights(path: Path) -> dict[str, Any]:
    """The parameters and batch statistics of a run's checkpoint (`path` as `locate_checkpoint` takes it: a work
    directory's latest, its best/ folder's, or one checkpoint's) by name, `layers.<layer>.<variable>` as
    `dslc.compiler.weights` names them, read without the model they belong to."""
    import numpy as np
    import orbax.checkpoint as ocp

    workdir, which, step = locate_checkpoint(path)
    checkpoints = Checkpoints(workdir, keep=1, read_only=True)
    try:
        manager = checkpoints._manager(which)
        step = manager.latest_step() if step is None else step
        restored = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
    except Exception as exc:  # noqa: BLE001 - orbax raises many kinds for a damaged or foreign checkpoint
        raise _error("E805", f"{workdir.path / which / str(step)}: unreadable ({type(exc).__name__})") from None
    finally:
        checkpoints.close()
    weights: dict[str, Any] = {}

    def walk(tree: Any, prefix: str) -> None:
        if isinstance(tree, Mapping):
            for key, value in tree.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        elif np.asarray(tree).dtype.kind == "f":  # random-number state (keys, counts) is not a weight
            weights[prefix] = np.asarray(tree)

    for part in ("params", "rest"):  # trainable, then frozen parameters and batch statistics
        walk(restored.state[part], "")
    return weights


def locate_checkpoint(path: Path) -> tuple[WorkDir, str, int | None]:
    """A work directory, its `best/` or `checkpoints/` folder, or one step's folder in them."""
    path = path.resolve() if path.exists() else path
    if path.name.isdigit() and path.parent.name in (LATEST, BEST):
        where, which, step = path.parent.parent, path.parent.name, int(path.name)
    elif path.name in (LATEST, BEST):
        where, which, step = path.parent, path.name, None
    else:
        where, which, step = path, LATEST, None
    workdir = WorkDir(where)
    if workdir.identity() is None:
        raise _error("E804", f"{path}: no dslc training run here (no {MARKER})",
                     hint="give the --workdir of a `dslc train` run, its best/ folder or one checkpoint folder")
    steps = _committed_steps(where / which)
    if (step is None and not steps) or (step is not None and step not in steps):
        what = f"checkpoint at step {step}" if step is not None else "committed checkpoint"
        raise _error("E804", f"{path}: no {what} in {where / which}")
    return workdir, which, step
