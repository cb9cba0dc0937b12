"""A spec's initial weights (`train.init`) read and assigned to the freshly built model before training starts.

docs/export.md#pretrained-weights. Which tensors an entry covers, and how names are rewritten, is
`dslc.compiler.initial_weights` (shared with `dslc check`); here the tensors are read (a safetensors file, or a
dslc run's checkpoint), converted from PyTorch's layout where asked, and checked name by name and shape by shape
against the model: every missing, unexpected, mis-shaped or non-float tensor is a located error (E712, E713) and
nothing is assigned until all of an entry's tensors fit. Entries apply in order, a later one overriding.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.initial_weights import (
    InitFault,
    in_flax_terms,
    in_selection,
    init_fault,
    listed,
    read_header,
    renamed,
    selected_layers,
)
from dslc.spec.errors import DslcError, DslcErrors, Span
from dslc.spec.ir import Train
from dslc.spec.load import LoadedSpec
from dslc.spec.vocab import CheckpointInit, InitFrom, SafetensorsInit


def load_initial_weights(model: Any, train: Train, loaded: LoadedSpec, analysis: Analysis) -> None:
    """Assign each `train.init` entry's tensors to `model` (a built `SpecModel`), in order."""
    from dslc.compiler.weights import saved_variables

    variables = saved_variables(model)
    layer_names = [layer.name for layer in analysis.layers]
    kinds = {layer.name: layer.kind for layer in analysis.layers}
    for index, entry in enumerate(train.init):
        span = loaded.source_map.nearest(("train", "init", index, "path"))
        try:
            arrays = _matched(entry, _read(entry, _resolve(entry, loaded, span), span), variables,
                              selected_layers(entry, layer_names), kinds, span)
        except DslcError as error:
            raise DslcErrors([error], loaded.source.text) from None
        for name, array in arrays.items():
            variable = variables[name]
            variable.set_value(np.asarray(array).astype(variable.get_value().dtype))


def _resolve(entry: InitFrom, loaded: LoadedSpec, span: Span) -> Path:
    base, named = loaded.data_folder.resolve(), loaded.data_folder_name
    path = (base / entry.path).resolve()
    if not path.is_relative_to(base):
        raise init_fault("E702", f"init: '{entry.path}' resolves to '{path}', outside {named} '{base}'", span,
                         hint=f"keep weights inside {named} (no symlinks that lead out)")
    if not path.exists():
        raise init_fault("E711", f"init: '{entry.path}' does not exist (looked for '{path}')", span,
                         hint=f"paths are relative to {named}")
    return path


def _read(entry: InitFrom, path: Path, span: Span) -> dict[str, np.ndarray]:
    """The file's tensors by name as its writer named them."""
    if isinstance(entry, SafetensorsInit):
        from safetensors import safe_open

        try:
            read_header(path)  # a bounded look first: a foreign file fails with a reason, not the library's panic
            with safe_open(str(path), "np") as file:
                return {name: file.get_tensor(name) for name in file.keys()}  # noqa: SIM118 - not a dict
        except (InitFault, OSError, ValueError, TypeError) as exc:
            raise init_fault("E711", f"init: '{entry.path}' cannot be read as safetensors: {exc}", span) from None
    assert isinstance(entry, CheckpointInit)
    from dslc.runtime.checkpoint import stored_weights

    try:
        return stored_weights(path)
    except DslcErrors as errors:
        raise init_fault("E711", f"init: '{entry.path}': {errors.errors[0].message}", span) from None


def _matched(entry: InitFrom, tensors: Mapping[str, np.ndarray], variables: Mapping[str, Any], layers: list[str],
             kinds: Mapping[str, str], span: Span) -> dict[str, np.ndarray]:
    """The entry's tensors under the model's names, converted and checked: what is to be assigned."""
    written = {renamed(name, entry.rename): name for name in tensors}  # the model's name -> the file's
    pytorch = isinstance(entry, SafetensorsInit) and entry.layout == "pytorch"
    if pytorch:
        flax = in_flax_terms(written, variables)
        written = {flax[name]: original for name, original in written.items() if name in flax}
    named = {name: tensors[original] for name, original in written.items()}
    chosen = {name: array for name, array in named.items() if in_selection(name, layers)}
    wanted = [name for name in variables if in_selection(name, layers)]
    missing = [name for name in wanted if name not in chosen]
    unexpected = [name for name in chosen if name not in variables]
    if missing or unexpected:
        parts = [f"lacks {len(missing)} tensor(s) of the selected layers: {listed(missing)}"] if missing else []
        parts += [f"holds {len(unexpected)} that match none: {listed(unexpected)}"] if unexpected else []
        raise init_fault("E712", f"init: '{entry.path}' {'; '.join(parts)}", span,
                     "rename maps the file's names to the model's (`dslc weights SPEC` lists them)")
    if pytorch:
        chosen = {name: _from_pytorch(name, array, kinds, entry, span) for name, array in chosen.items()}
    not_float = [f"{name} ({array.dtype})" for name, array in chosen.items() if array.dtype.kind != "f"]
    if not_float:
        raise init_fault("E713", f"init: '{entry.path}' holds tensors that are not floating point: "
                             f"{listed(not_float)}", span, "weights are floats; convert them before loading")
    misshaped = [_misshaped(name, written[name], tensors[written[name]].shape, array.shape,
                            variables[name].get_value().shape)
                 for name, array in chosen.items() if tuple(array.shape) != tuple(variables[name].get_value().shape)]
    if misshaped:
        raise init_fault("E713", f"init: '{entry.path}' has {len(misshaped)} tensor(s) of the wrong shape: "
                             f"{listed(misshaped)}", span,
                     "layout: pytorch converts PyTorch's (out, in, ...) kernels" if not pytorch else None)
    return chosen


def _from_pytorch(name: str, array: np.ndarray, kinds: Mapping[str, str], entry: InitFrom,
                  span: Span) -> np.ndarray:
    """A PyTorch kernel in Flax's layout: dense (out, in) -> (in, out); convolution (out, in, *window) ->
    (*window, in, out). Other tensors (biases, norms' scales, embeddings) have one layout in both."""
    if not name.endswith(".kernel") or array.ndim < 2:
        return array
    layer = name[len("layers."):-len(".kernel")]
    kind = kinds.get(layer, "")
    if kind == "dense" and array.ndim == 2:
        return array.T
    if kind.startswith("conv") and "transpose" not in kind:
        return array.transpose(*range(2, array.ndim), 1, 0)
    raise init_fault("E713", f"init: layout pytorch converts dense and convolution kernels; layer '{layer}' is "
                         f"{kind or 'another kind'}", span, "convert that tensor to Flax's layout before loading")


def _misshaped(name: str, original: str, stored: tuple[int, ...], converted: tuple[int, ...],
               wanted: tuple[int, ...]) -> str:
    """A tensor of the wrong shape, named as the file names it, with its converted shape where that differs."""
    shown = f"{original} is {_shape(stored)}"
    if original != name or tuple(converted) != tuple(stored):
        shown += f" (as {name} in Flax's layout: {_shape(converted)})"
    return f"{shown}, the model's {name} is {_shape(wanted)}"


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"
