"""Compiled programs kept between runs: a warm run loads its steps rather than tracing them again.

See docs/performance.md#the-program-cache.

JAX's persistent compilation cache (`session.enable_compile_cache`) saves XLA's compilation on a second run, but
every run still traces each program in Python and lowers it to StableHLO before the cache can even be asked:
for the digits MLP's fused train step about 0.5 s, for its initialisation and evaluation steps 0.3 s more. This
cache keeps the compiled executables themselves (`jax.experimental.serialize_executable`), in a `programs`
folder of the compilation cache's folder, under a key made of everything a program is made from:

- the run's context (`ProgramCache.open`): the spec's IR with the train section as this run trains it, the
  target's normalisation (which the steps close over), how the convolutions are lowered, the devices;
- what no spec says but the tracing and the compilation read: the CPU's instruction set, the versions of
  Python, JAX, jaxlib, Flax, optax and NumPy, the contents of dslc's own source files, JAX's configuration (but
  its cache and logging settings) and the environment's `XLA_FLAGS` and the like;
- the program's name and its arguments' structure, shapes, dtypes and shardings.

A change to any of them is another key, so an entry is never used for a program it was not compiled from; an
entry that cannot be read or loaded is removed and the program compiled again. Like JAX's own cache, an entry is
native code the run loads and executes (through pickle): the folder must be the user's own; nothing in it comes
from a spec. Entries beyond `MAX_BYTES` in all are removed oldest first.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import pickle
import platform
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

FORMAT = 1  # bump when an entry's layout changes
MAX_BYTES = 2 * 2**30
# JAX's own JAX_* variables are in its configuration, which the key holds but for what changes no program
ENVIRONMENT_PREFIXES = ("XLA_", "DSLC_CONV", "LIBTPU_", "TPU_", "CUDA_VISIBLE", "NVIDIA_")
UNKEYED_CONFIG = ("jax_compilation_cache_dir", "jax_enable_compilation_cache", "jax_persistent_cache_",
                  "jax_log_compiles", "jax_explain_cache_misses", "jax_logging_level", "jax_debug_log_modules")
_IN_PROCESS: dict[Path, Callable[..., Any]] = {}  # the entries this process has compiled or loaded, by path


class ProgramCache:
    """`compiled(name, jitted, *args)`: the jitted function compiled for `args`, from the folder when an entry with
    the same key is there, else compiled (and stored). Without a folder it only compiles."""

    def __init__(self, folder: Path | None, context: str = "") -> None:
        self.folder = folder
        self.context = context
        self.loaded: list[str] = []  # the programs this run loaded rather than compiled (run.json's programs_loaded)

    @classmethod
    def open(cls, compile_cache: Path | None, context: dict[str, Any]) -> ProgramCache:
        """The cache in `compile_cache`'s `programs` folder (None: no cache) for a run described by `context`."""
        if compile_cache is None or jax.process_count() > 1:  # an executable of several processes: not kept
            return cls(None)
        whole = {"format": FORMAT, "run": context, "software": _software(), "config": _jax_config(),
                 "environment": {name: value for name, value in sorted(os.environ.items())
                                 if name.startswith(ENVIRONMENT_PREFIXES)},
                 "devices": [(d.id, d.platform, d.device_kind, d.process_index) for d in jax.devices()]}
        return cls(compile_cache / "programs", json.dumps(whole, sort_keys=True, default=repr))

    def compiled(self, name: str, jitted: Any, *args: Any, donate: bool = False) -> Callable[..., Any]:
        """`donate`: the step donates its first argument (the state), as `jitted` does."""
        if self.folder is None:
            return jitted.lower(*args).compile()
        path = self.folder / f"{name}-{self._key(name, args)}.bin"
        found = _IN_PROCESS.get(path) or self._load(path)
        if found is not None:
            self.loaded.append(name)
        else:
            found = _compiled_afresh(name, jitted, args, donate)
            self._store(path, found)
        _IN_PROCESS[path] = found  # a process loads an entry once (a second run in it, through the API or tests)
        return found

    def _key(self, name: str, args: tuple[Any, ...]) -> str:
        leaves, tree = jax.tree.flatten(args)
        signature = [(tuple(leaf.shape), str(leaf.dtype), bool(getattr(leaf, "weak_type", False)),
                      _sharding_key(getattr(leaf, "sharding", None))) for leaf in leaves]
        text = json.dumps([self.context, name, str(tree), signature], default=repr)
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def _load(self, path: Path) -> Callable[..., Any] | None:
        from jax.experimental.serialize_executable import deserialize_and_load

        try:
            blob, in_tree, out_tree = pickle.loads(path.read_bytes())
            return deserialize_and_load(blob, in_tree, out_tree)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a torn or stale entry: compile again, and replace it
            path.unlink(missing_ok=True)
            return None

    def _store(self, path: Path, compiled: Any) -> None:
        from jax.experimental.serialize_executable import serialize

        try:
            entry = pickle.dumps(serialize(compiled))
        except Exception:  # noqa: BLE001 - a program XLA cannot serialise (closed-over constants): not kept
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(entry)
            os.replace(partial, path)  # whole or absent: a run that reads it never sees half an entry
            _prune(path.parent, MAX_BYTES)
        except OSError:  # a read-only or full cache folder: the run goes on without keeping the program
            return


# each kernel named after its module (`_compiled_afresh`)
_KEEPABLE: dict[str, str | bool] = {"xla_cpu_generate_unique_c_style_kernel_entry_points": True}


def _compiled_afresh(name: str, jitted: Any, args: tuple[Any, ...], donate: bool) -> Any:
    """`jitted` compiled for `args` so that its serialised form is whole.

    XLA's CPU compiler links each kernel into the process under its name, and a kernel whose name is already there
    (from an earlier compilation, or from an entry of either cache loaded) is left out of the new executable: its
    entry then failed at its first call in another run ("Function wrapped_slice not found"). So the program is
    compiled as a module of a name no other has (a random suffix), with kernels named after their module, and past
    XLA's persistent cache, whose executables are loaded ones (JAX's own thread-local switch). The same program:
    its step, called inside.
    """
    from jax._src import config as jax_config

    def program(*inner: Any) -> Any:
        return jitted(*inner)

    program.__name__ = program.__qualname__ = f"{name}_{secrets.token_hex(6)}"
    switch = getattr(jax_config, "enable_compilation_cache", None)
    with switch(False) if switch is not None else contextlib.nullcontext():
        return jax.jit(program, donate_argnums=0 if donate else ()).lower(*args).compile(compiler_options=_KEEPABLE)


def _sharding_key(sharding: Any) -> Any:
    if sharding is None:
        return None
    mesh = getattr(sharding, "mesh", None)
    devices = ([d.id for d in mesh.devices.flat] if mesh is not None and hasattr(mesh, "devices")
               else sorted(d.id for d in sharding.device_set))
    return [repr(sharding), devices]


def _software() -> dict[str, str]:
    import flax
    import jaxlib
    import numpy
    import optax

    return {"python": sys.version, "machine": platform.machine(), "cpu": _cpu_features(), "jax": jax.__version__,
            "jaxlib": jaxlib.__version__, "flax": flax.__version__, "optax": optax.__version__,
            "numpy": numpy.__version__, "dslc_source": _dslc_source_digest()}


def _cpu_features() -> str:
    """The CPU's instruction-set flags (Linux): XLA compiles CPU code for the host's, so a cache folder shared with
    another kind of machine (a network home) must not hand it this one's code."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith(("flags", "Features"))),
                        platform.processor())
    except OSError:
        return platform.processor()


@functools.cache
def _dslc_source_digest() -> str:
    """A digest of dslc's own Python source: an edited checkout (an editable install) makes other programs."""
    digest = hashlib.sha256()
    for package in ("dslc", "dslc.spec", "dslc.compiler", "dslc.runtime"):
        for root in map(Path, importlib.import_module(package).__path__):
            for file in sorted(root.rglob("*.py")):
                digest.update(f"{package}/{file.relative_to(root)}".encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _jax_config() -> list[tuple[str, str]]:
    return sorted((name, repr(value)) for name, value in jax.config.values.items()
                  if not name.startswith(UNKEYED_CONFIG))


def _prune(folder: Path, limit: int) -> None:
    entries = sorted(folder.glob("*.bin"), key=lambda entry: entry.stat().st_mtime)
    total = sum(entry.stat().st_size for entry in entries)
    for entry in entries:
        if total <= limit:
            break
        total -= entry.stat().st_size
        entry.unlink(missing_ok=True)
