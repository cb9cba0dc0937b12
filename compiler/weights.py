"""A model's weights by name, in safetensors files.

A tensor's name is the dotted path of its variable in the NNX graph, as `nnx.state(model)` nests it:
`layers.<layer name>.<attribute>...`, e.g. `layers.conv_1.kernel`, `layers.bn_1.mean`,
`layers.encoder.attention.query.kernel`. A weights file holds every parameter (`nnx.Param`, frozen ones
included) and every batch statistic (`nnx.BatchStat`: a batch norm's running mean and variance, which
decide what an inference computes); random-number state is not a weight.

Loading is all or nothing: every name and shape is checked first, and a missing, unexpected or mis-shaped
tensor is a `WeightsError` listing each of them (an unexpected name with the missing name it most resembles);
only then are the arrays assigned, each cast to its variable's dtype.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np
from flax import nnx
from safetensors.numpy import load_file, save_file

SAVED = (nnx.Param, nnx.BatchStat)  # the variable types a weights file holds
LISTED = 20  # names an error lists per kind of problem before "and N more"


class WeightsError(ValueError):
    """Weights that do not fit the model: the message lists every missing, unexpected and mis-shaped tensor."""


def saved_variables(model: nnx.Module) -> dict[str, nnx.Variable[Any]]:
    """The model's saved variables by dotted path, in graph order."""
    return {".".join(str(key) for key in path): node for path, node in nnx.iter_graph(model)
            if isinstance(node, SAVED)}


def parameter_names(model: nnx.Module) -> dict[str, tuple[int, ...]]:
    """Every tensor a weights file of `model` holds (parameters and batch statistics), with its shape.

    Works on an abstract model (`nnx.eval_shape(lambda: build_model(...))`) too: nothing is allocated.
    """
    return {name: tuple(variable.get_value().shape) for name, variable in saved_variables(model).items()}


def save_weights(model: nnx.Module, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write every parameter and batch statistic of `model` to a safetensors file at `path` (`metadata`: text the
    file's header carries beside the tensors)."""
    arrays = {name: np.asarray(variable.get_value()) for name, variable in saved_variables(model).items()}
    save_file(arrays, str(path), metadata=metadata)


def load_weights(model: nnx.Module, path: str | Path, rename: Mapping[str, str] | None = None) -> None:
    """Load a safetensors file into `model` in place; `rename` maps names in the file to the model's names
    (names it does not mention are kept). Raises `WeightsError` before changing anything if the file does
    not fit the model exactly."""
    arrays = load_file(str(path))
    renamed = {(rename or {}).get(name, name): array for name, array in arrays.items()}
    if len(renamed) != len(arrays):
        raise WeightsError(f"{path}: the renaming maps several tensors to one name")
    assign_weights(model, renamed, source=str(path))


def assign_weights(model: nnx.Module, arrays: Mapping[str, Any], source: str = "the weights") -> None:
    """Set every parameter and batch statistic of `model` from `arrays` (name -> array), all or nothing.

    For weights converted in memory (a reference implementation's tensors renamed and transposed into
    dslc's layout) without a file in between.
    """
    variables = saved_variables(model)
    _check_fit(variables, arrays, source)
    for name, variable in variables.items():
        variable.set_value(jnp.asarray(arrays[name], dtype=variable.get_value().dtype))


def _check_fit(variables: Mapping[str, nnx.Variable[Any]], arrays: Mapping[str, Any], source: str) -> None:
    missing = [name for name in variables if name not in arrays]
    unexpected = [name for name in arrays if name not in variables]
    misshaped = [f"{name}: {_shape(arrays[name])} given, the model's is {_shape(variable.get_value())}"
                 for name, variable in variables.items()
                 if name in arrays and tuple(np.shape(arrays[name])) != tuple(variable.get_value().shape)]
    problems = [*_listed("missing", missing),
                *_listed("unexpected", [_with_guess(name, missing) for name in unexpected]),
                *_listed("mis-shaped", misshaped)]
    if problems:
        raise WeightsError(f"{source} do not fit the model ({len(variables)} tensors; nothing was loaded):\n"
                           + "\n".join(problems))


def _shape(array: Any) -> str:
    return "[" + ", ".join(str(dim) for dim in np.shape(array)) + "]"


def _with_guess(name: str, missing: list[str]) -> str:
    """An unexpected name, with the missing name it most resembles (the likely misspelling)."""
    guess = difflib.get_close_matches(name, missing, n=1, cutoff=0.8)  # dotted paths share long prefixes
    return f"{name} (did you mean '{guess[0]}'?)" if guess else name


def _listed(kind: str, lines: list[str]) -> list[str]:
    if not lines:
        return []
    shown = [f"  {kind}: {line}" for line in lines[:LISTED]]
    return shown + ([f"  ... and {len(lines) - LISTED} more {kind}"] if len(lines) > LISTED else [])
