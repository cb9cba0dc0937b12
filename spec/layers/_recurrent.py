"""Parameters and rules shared by the recurrent kinds (rnn, lstm, gru).

Input `(time, features)`: `features` must be known, `time` may be unknown.
Conventions, with `F` input features, `u` units and `g` gates (rnn 1, lstm 4,
gru 3), per direction (`bidirectional: true` doubles both):

- Parameters, as Flax NNX's cells hold them: an input kernel `F x u`, a
  recurrent kernel `u x u` and one bias of `u` per gate, so
  `g * (F*u + u*u + u)`: rnn (`SimpleCell`) `F*u + u*u + u`, lstm
  (`LSTMCell`) `4 * (F*u + u*u + u)`, gru (`GRUCell`) `3 * (F*u + u*u + u)`.
  A gru with `convention: reset_after` (PyTorch's and Keras's default) has a
  second, recurrent bias per gate: `3 * (F*u + u*u + 2*u)`.
- `dropout` (input features) and `recurrent_dropout` (state units fed to the
  recurrent products) act in training only, one mask per sequence for every
  time step, as Keras; they change no count.
- FLOPs: the matrix products only, `time * 2 * g * (F*u + u*u)`; the gate
  non-linearities and element-wise updates are not counted. Unknown when
  `time` is.
- D0 classes: W then N (the gates, or the cell's `activation`); a simple rnn
  with `activation: linear` is affine in its input, so it is W alone. D4
  unrolls every recurrent kind in time (`LayerKind.recurrent`).
"""

from collections.abc import Callable
from typing import Any

from dslc.spec.layers._shapes import N, W, expect_rank, known, one, times, to_floating
from dslc.spec.layers.activations import Activation
from dslc.spec.layers.base import Construct, Cost, LayerKind, LayerParams, NodeClass, PositiveInt, Rate, Tensor


class RecurrentParams(LayerParams):
    units: PositiveInt
    return_sequences: bool = False  # (time, units) instead of the last step's (units)
    bidirectional: bool = False     # doubles the output features
    activation: Activation = "tanh"
    dropout: Rate = 0.0             # of the input features, when training
    recurrent_dropout: Rate = 0.0   # of the state units fed back, when training


RECURRENT_DOC = """{title}: `(time, features) -> (units)`, or `(time, units)` with `return_sequences`.

`bidirectional: true` runs a second layer backwards in time and concatenates,
giving `2 * units` features.

`features` must be known; `time` may be unknown. Parameters, as Flax NNX's
`{cell}` holds them, with `F` features and `u` units: {count} per direction.
"""


def _directions(params: RecurrentParams) -> int:
    return 2 if params.bidirectional else 1


@to_floating
def infer(params: RecurrentParams, inputs: tuple[Tensor, ...]) -> Tensor:
    x = one(inputs)
    expect_rank(x, 2, "(time, features)")
    known(x, -1, "the feature axis (the last)")
    features = _directions(params) * params.units
    return Tensor((x.shape[0], features) if params.return_sequences else (features,), x.dtype)


def recurrent_cost(gates: int, biases: Callable[[Any], int] = lambda params: 1,
                   ) -> Callable[[RecurrentParams, tuple[Tensor, ...], Tensor], Cost]:
    """The cost of a cell with `gates` gates and `biases(params)` biases per gate (bias additions are free)."""

    def cost(params: RecurrentParams, inputs: tuple[Tensor, ...], output: Tensor) -> Cost:
        x = one(inputs)
        time, features = x.shape[0], known(x, -1, "the feature axis (the last)")
        u, directions = params.units, _directions(params)
        return Cost(params=directions * gates * (features * u + u * u + biases(params) * u),
                    flops=times(directions, time, 2 * gates * (features * u + u * u)))

    return cost


def recurrent_classes(gated: bool) -> Callable[[RecurrentParams], tuple[NodeClass, ...]]:
    def classes(params: RecurrentParams) -> tuple[NodeClass, ...]:
        return (W, N) if gated or params.activation != "linear" else (W,)

    return classes


def recurrent_build(cell: str) -> Callable[[RecurrentParams, tuple[Tensor, ...], str], Construct]:
    """`_flax.Recurrent` running Flax's `cell` (rnn: `SimpleCell`, lstm: `LSTMCell`, gru: `GRUCell`)."""

    def build(params: RecurrentParams, inputs: tuple[Tensor, ...], dtype: str) -> Construct:
        return Construct("Recurrent", {"cell": cell, "in_features": one(inputs).shape[-1], **params.model_dump(),
                                       "dtype": dtype})

    return build


def recurrent_kind(name: str, doc: str, gates: int, params: type[RecurrentParams] = RecurrentParams,
                   cost: Callable[[RecurrentParams, tuple[Tensor, ...], Tensor], Cost] | None = None) -> LayerKind:
    """The registry entry of a recurrent kind: `gates` of the cell (1 rnn, 4 lstm, 3 gru); gated cells are N.

    `cost` defaults to one bias per gate (`recurrent_cost(gates)`).
    """
    return LayerKind(name, params, doc, "recurrent", positional=("units",), recurrent=True,
                     infer=infer, cost=cost or recurrent_cost(gates), classes=recurrent_classes(gated=gates > 1),
                     build=recurrent_build(name))
