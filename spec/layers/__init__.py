"""The layer registry: every module in this package defines `KIND` (or `KINDS`).

Adding a layer kind means adding one module here, one line in `_MODULES` (the
kind's name -> its module) and its tests. The registry is lazy: its names come
from `_MODULES`, and looking a kind up imports that kind's module alone, so a
spec of dense layers never imports the convolutions (`dslc check` starts
faster). tests/spec/test_registry.py imports every module and checks that
`_MODULES` names exactly their kinds, in the order they are found. Nothing
from a spec ever reaches the import machinery: only `_MODULES`' own module
names are imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from types import ModuleType

from dslc.spec.layers.base import LayerKind

# Each kind's module in this package, ordered by module name, then as the module lists its kinds.
_MODULES: dict[str, str] = {
    **dict.fromkeys(("relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "relu6", "hard_swish",
                     "hard_sigmoid", "softplus"), "activations"),
    "adaptive_avgpool": "adaptive_avgpool",
    "add": "add",
    "attention": "attention",
    "avgpool": "avgpool",
    "batchnorm": "batchnorm",
    "class_token": "class_token",
    "concat": "concat",
    "conv1d": "conv1d",
    "conv1d_transpose": "conv1d_transpose",
    "conv2d": "conv2d",
    "conv2d_transpose": "conv2d_transpose",
    "conv3d": "conv3d",
    "conv3d_transpose": "conv3d_transpose",
    "cropping": "cropping",
    "decoder_block": "decoder_block",
    "dense": "dense",
    "dropout": "dropout",
    "embedding": "embedding",
    "flatten": "flatten",
    "gated_mlp": "gated_mlp",
    "global_avgpool": "global_avgpool",
    "global_maxpool": "global_maxpool",
    "groupnorm": "groupnorm",
    "gru": "gru",
    "layer_scale": "layer_scale",
    "layernorm": "layernorm",
    "lstm": "lstm",
    "maxpool": "maxpool",
    "moe": "moe",
    "multiply": "multiply",
    "position_embedding": "position_embedding",
    "reshape": "reshape",
    "rmsnorm": "rmsnorm",
    "rnn": "rnn",
    "select": "select",
    "stochastic_depth": "stochastic_depth",
    "transformer_encoder": "transformer_encoder",
    "upsample": "upsample",
    "zero_padding": "zero_padding",
}


def kinds_of(module: ModuleType) -> tuple[LayerKind, ...]:
    """The kinds a layer module defines: its `KINDS`, or its one `KIND`."""
    return getattr(module, "KINDS", ()) or (module.KIND,)


class _Registry(Mapping[str, LayerKind]):
    """Kind name -> `LayerKind`, read-only; a kind's module is imported when the kind is first looked up."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = modules
        self._kinds: dict[str, LayerKind] = {}

    def __getitem__(self, name: str) -> LayerKind:
        kind = self._kinds.get(name)
        if kind is None:
            module = import_module(f"{__name__}.{self._modules[name]}")  # KeyError: no such kind
            self._kinds.update((each.name, each) for each in kinds_of(module))
            kind = self._kinds[name]
        return kind

    def __contains__(self, name: object) -> bool:  # Mapping's would import the kind's module
        return name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


REGISTRY: Mapping[str, LayerKind] = _Registry(_MODULES)

__all__ = ["REGISTRY", "LayerKind", "kinds_of"]
