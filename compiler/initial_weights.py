"""A spec's initial weights (`train.init`): which of the model's tensors each entry loads, and what `dslc check`
can tell of a safetensors file from its header alone. No JAX and no numpy: `dslc check` imports this.

docs/export.md#pretrained-weights. A model's tensors are named `layers.<layer>.<variable>` (`dslc weights SPEC`
lists them); an entry's `layers` selects layers by name, a block use by its name (every layer inside it, each
repetition: `base` selects `base.1/conv2d_1`, ...), or one repetition (`base.2`). A file's names are rewritten by
the entry's `rename` pairs, then (with `layout: pytorch`) PyTorch's variable names (`weight`, `running_mean`, ...)
become Flax's. The tensors a selection covers must all be in the file; a file tensor that lands in the selection
and matches no tensor of the model is an error; file tensors outside the selection are not used (a base taken
from a whole model's file).
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from dslc.compiler.analysis.model import Analysis
from dslc.spec.errors import DslcError, Span
from dslc.spec.vocab import InitFrom, SafetensorsInit

MAX_HEADER_BYTES = 100 * 2**20  # the safetensors library's own bound on a header
FLOAT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"})
# PyTorch's variable names, as Flax names them: the last part of a tensor's name.
PYTORCH_NAMES = {"running_mean": "mean", "running_var": "var"}
PYTORCH_WEIGHT = ("kernel", "scale", "embedding")  # `weight` is one of these, whichever the model's layer has
PYTORCH_SKIPPED = frozenset({"num_batches_tracked"})  # a batch norm's counter: Flax keeps none
LISTED = 8  # names an error lists before "and N more"


class InitFault(ValueError):
    """A file that cannot be read as its entry's format (E711)."""


@dataclass(frozen=True)
class TensorInfo:
    dtype: str  # safetensors' name: F32, BF16, I64, ...
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def read_header(path: Path) -> dict[str, TensorInfo]:
    """The tensors a safetensors file holds, from its JSON header (8 bytes of length first): nothing else is read."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            if len(head) < 8:
                raise InitFault(f"it ends after {len(head)} bytes, before its header's length")
            (length,) = struct.unpack("<Q", head)
            if length > MAX_HEADER_BYTES:
                raise InitFault(f"its header claims {length:,} bytes (at most {MAX_HEADER_BYTES:,})")
            text = handle.read(length)
    except OSError as exc:
        raise InitFault(exc.strerror or str(exc)) from None
    if len(text) < length:
        raise InitFault(f"it ends inside its {length:,}-byte header")
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InitFault("its header is not JSON: not a safetensors file") from None
    if not isinstance(header, dict):
        raise InitFault("its header is not a JSON object: not a safetensors file")
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not (isinstance(entry, dict) and isinstance(entry.get("dtype"), str) and isinstance(shape, list)
                and all(isinstance(dim, int) and dim >= 0 for dim in shape)):
            raise InitFault(f"its header's entry {name!r} is not a tensor (dtype, shape, data_offsets)")
        tensors[name] = TensorInfo(entry["dtype"], tuple(shape))
    return tensors


def renamed(name: str, rename: Sequence[tuple[str, str]]) -> str:
    """`name` with the first matching (from, to) prefix pair applied."""
    for old, new in rename:
        if name.startswith(old):
            return new + name[len(old):]
    return name


def in_flax_terms(names: Iterable[str], model_names: Iterable[str]) -> dict[str, str]:
    """PyTorch's tensor names (already renamed into the model's layers) -> the model's: `weight` becomes the
    model's `kernel`, `scale` or `embedding` there, `running_mean`/`running_var` its `mean`/`var`; a batch norm's
    `num_batches_tracked` is left out."""
    known = set(model_names)
    mapped = {}
    for name in names:
        prefix, _, last = name.rpartition(".")
        if last in PYTORCH_SKIPPED:
            continue
        if last == "weight":
            last = next((flax for flax in PYTORCH_WEIGHT if f"{prefix}.{flax}" in known), "kernel")
        mapped[name] = f"{prefix}.{PYTORCH_NAMES.get(last, last)}" if prefix else PYTORCH_NAMES.get(last, last)
    return mapped


def selected_layers(entry: InitFrom, layer_names: Iterable[str]) -> list[str]:
    """The model's layers that `entry` loads: all of them without `layers`."""
    names = list(layer_names)
    if not entry.layers:
        return names
    return [name for name in names if any(_under(name, chosen) for chosen in entry.layers)]


def unknown_selections(entry: InitFrom, layer_names: Iterable[str]) -> list[str]:
    """The names in `entry.layers` that select no layer of the model."""
    names = list(layer_names)
    return [chosen for chosen in entry.layers if not any(_under(name, chosen) for name in names)]


def _under(layer: str, chosen: str) -> bool:
    """Whether layer `layer` is `chosen` or inside the block use (or one repetition) `chosen`."""
    return layer == chosen or layer.startswith((f"{chosen}.", f"{chosen}/"))


def in_selection(tensor: str, layers: Iterable[str]) -> bool:
    """Whether a tensor named as the model names them belongs to one of `layers`."""
    return any(tensor.startswith(f"layers.{layer}.") for layer in layers)


# -- dslc check: what the header tells --------------------------------------------------------------
def check_faults(entry: InitFrom, file: Path, analysis: Analysis, span: Span, layers_span: Span) -> Iterator[DslcError]:
    """Layer names that select nothing (E712); for a safetensors file that exists, an unreadable header (E711), and
    a selection whose tensors the file lacks or hold another count of values than the layers have (E712, E713).
    Names and shapes tensor by tensor need the model built: training checks them before its first step."""
    layer_names = [layer.name for layer in analysis.layers]
    unknown = unknown_selections(entry, layer_names)
    for chosen in unknown:
        yield init_fault("E712", f"init: layers names {chosen!r}, which is no layer or block use of the model",
                     layers_span, hint=_did_you_mean(chosen, layer_names))
    if unknown or not isinstance(entry, SafetensorsInit) or not file.is_file():
        return
    try:
        header = read_header(file)
    except InitFault as fault:
        yield init_fault("E711", f"init: '{entry.path}' cannot be read as safetensors: {fault}", span)
        return
    names = {renamed(name, entry.rename): info for name, info in header.items()}
    if entry.layout == "pytorch":
        flax = in_flax_terms(names, ())
        names = {flax[name]: info for name, info in names.items() if name in flax}
    chosen_layers = selected_layers(entry, layer_names)
    selected = {name: info for name, info in names.items() if in_selection(name, chosen_layers)}
    not_float = [f"{name} ({info.dtype})" for name, info in selected.items() if info.dtype not in FLOAT_DTYPES]
    if not_float:
        yield init_fault("E713", f"init: '{entry.path}' holds tensors that are not floating point: "
                             f"{listed(not_float)}", span, hint="weights are floats; convert them before loading")
    reports = {layer.name: layer for layer in analysis.layers}
    empty = [layer for layer in chosen_layers if reports[layer].params + reports[layer].state
             and not any(in_selection(name, (layer,)) for name in selected)]
    if empty:
        yield init_fault("E712", f"init: '{entry.path}' has no tensor for layer(s) {listed(empty)} (looked for names "
                             f"'layers.{empty[0]}.*' after rename)", span,
                     hint="add a rename pair from the file's names to the model's (`dslc weights SPEC` lists them)")
        return
    counts = [(layer, sum(info.size for name, info in selected.items() if in_selection(name, (layer,))),
               reports[layer].params + reports[layer].state) for layer in chosen_layers]
    wrong = [f"{layer} {have:,} (the model's {want:,})" for layer, have, want in counts if have != want]
    if wrong:
        yield init_fault("E713", f"init: '{entry.path}' holds other numbers of values than the selected layers have "
                             f"(parameters and batch statistics): {listed(wrong)}", span,
                     hint="the file is of another model or size; `dslc weights SPEC` lists the names and shapes "
                          "wanted")


def init_fault(code: str, message: str, span: Span, hint: str | None = None) -> DslcError:
    """A located finding about `train.init` (shared by `dslc check` and training's loader)."""
    return DslcError(code, message, span, hint=hint, stage="train")


def listed(names: Sequence[str]) -> str:
    """Names for a one-line message: the first `LISTED`, then how many more."""
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _did_you_mean(name: str, names: Sequence[str]) -> str:
    import difflib

    top = sorted({layer.split("/")[0].split(".")[0] for layer in names} | set(names))
    close = difflib.get_close_matches(name, top, n=1)
    return f"did you mean {close[0]!r}?" if close else "give layer names or block-use names of the model"
