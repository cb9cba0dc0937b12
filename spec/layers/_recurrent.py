"""Parameters shared by the recurrent kinds (rnn, lstm, gru)."""

from dslc.spec.layers.base import Activation, LayerParams, PositiveInt


class RecurrentParams(LayerParams):
    units: PositiveInt
    return_sequences: bool = False  # (time, units) instead of the last step's (units)
    bidirectional: bool = False     # doubles the output features
    activation: Activation = "tanh"


RECURRENT_DOC = """{title}: `(time, features) -> (units)`, or `(time, units)` with `return_sequences`.

`bidirectional: true` runs a second layer backwards in time and concatenates,
giving `2 * units` features.
"""
