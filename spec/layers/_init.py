"""Initialisers: the one vocabulary of `<p>_init` options (`kernel_init`, `bias_init`, `embedding_init`, ...).

A kind with a parameter `<p>` declares three fields, `<p>_init`, `<p>_std` and `<p>_value`, inherits
`Initialised` (which checks them together) and passes `init_arguments(params, "<p>", ...)` to its Flax class:

    kernel_init: Initializer | None = None
    kernel_std: Std | None = None
    kernel_value: float | None = None

Written flat, as layer options hold single values in both syntaxes: `kernel_init: normal, kernel_std: 0.02`
(YAML) or `kernel_init=normal, kernel_std=0.02` (DSL). Unset, the layer keeps Flax's default (LeCun normal
kernels, zero biases). `MEANINGS` says what each name draws (the reference prints it).
"""

from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from dslc.spec.layers.base import LayerParams

Initializer = Literal["zeros", "ones", "constant", "normal", "truncated_normal",
                      "xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
                      "he_uniform", "he_normal", "kaiming_uniform", "kaiming_normal", "lecun_normal", "lecun_uniform"]
Std = Annotated[float, Field(gt=0.0)]

# fan_in, fan_out: the inputs and outputs of one output unit, its window included (a 3x3 conv: 9 * channels).
MEANINGS = {
    "zeros": "0", "ones": "1", "constant": "every entry `<p>_value`",
    "normal": "normal, mean 0, std `<p>_std`",
    "truncated_normal": "normal with std `<p>_std` cut at +-2 std (ViT; the samples' std is about 0.88 `<p>_std`)",
    "xavier_uniform": "uniform on +-sqrt(6 / (fan_in + fan_out)) (Glorot)",
    "xavier_normal": "std sqrt(2 / (fan_in + fan_out)) (Glorot)",
    "glorot_uniform": "as `xavier_uniform`", "glorot_normal": "as `xavier_normal`",
    "he_uniform": "uniform on +-sqrt(6 / fan_in) (PyTorch's `kaiming_uniform_` for ReLU)",
    "he_normal": "std sqrt(2 / fan_in)",
    "kaiming_uniform": "as `he_uniform`", "kaiming_normal": "as `he_normal`",
    "lecun_normal": "std sqrt(1 / fan_in) (Flax's default kernel)",
    "lecun_uniform": "uniform on +-sqrt(3 / fan_in)",
}
VARIANCE_SCALED_NORMALS = "The variance-scaling normals draw from a normal cut at 2 std, rescaled to the stated std."

WITH_STD = ("normal", "truncated_normal")
WITH_VALUE = ("constant",)


# The initialisers that need no fan-in or fan-out; the others scale by them, which a vector (a bias) has not.
UNSCALED = ("zeros", "ones", "constant", "normal", "truncated_normal")
VECTORS = ("bias",)  # the `<p>` that are one-dimensional


def _problem(params: LayerParams, prefix: str) -> str | None:
    name, std, value = (getattr(params, f"{prefix}_{suffix}") for suffix in ("init", "std", "value"))
    if prefix in VECTORS and name is not None and name not in UNSCALED:
        return (f"{prefix}_init {name} scales by fan-in and fan-out, which a {prefix} vector does not have; use "
                f"{', '.join(UNSCALED)}")
    if name in WITH_STD and std is None:
        return f"{prefix}_init {name} needs {prefix}_std (the standard deviation)"
    if name in WITH_VALUE and value is None:
        return f"{prefix}_init {name} needs {prefix}_value"
    if std is not None and name not in WITH_STD:
        return f"{prefix}_std applies to {prefix}_init {' or '.join(WITH_STD)}"
    if value is not None and name not in WITH_VALUE:
        return f"{prefix}_value applies to {prefix}_init {' or '.join(WITH_VALUE)}"
    return None


class Initialised(LayerParams):
    """Checks every `<p>_init` of the kind against its `<p>_std` and `<p>_value`: each given where it applies."""

    @model_validator(mode="after")
    def _initialisers_complete(self) -> Self:
        for field in type(self).model_fields:
            if field.endswith("_init") and (problem := _problem(self, field.removesuffix("_init"))):
                raise ValueError(problem)
        return self


def init_arguments(params: LayerParams, *prefixes: str) -> dict[str, Any]:
    """The Flax class's `<p>_init` arguments, each `(name, std or value)`; none for an unset one (Flax's default)."""
    arguments: dict[str, Any] = {}
    for prefix in prefixes:
        name = getattr(params, f"{prefix}_init")
        if name is not None:
            suffix = "std" if name in WITH_STD else "value"
            arguments[f"{prefix}_init"] = (name, getattr(params, f"{prefix}_{suffix}"))
    return arguments
