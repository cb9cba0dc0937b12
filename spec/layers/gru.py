from typing import Literal

from dslc.spec.layers._recurrent import RECURRENT_DOC, RecurrentParams, recurrent_cost, recurrent_kind

__doc__ = RECURRENT_DOC.format(
    title="Gated recurrent unit layer", cell="GRUCell",
    count="`3 * (F*u + u*u + u)` (three gates, one bias each); `convention: reset_after` (PyTorch's `nn.GRU`, "
          "Keras's default) adds a recurrent bias per gate, `3 * (F*u + u*u + 2*u)`") + """
Both conventions apply the reset gate after the recurrent product,
`n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`: `flax` (the default,
Flax's `GRUCell`) has no recurrent biases (`b_hn = 0`; `b_hr` and `b_hz`
would only add to the input biases), `reset_after` has them, as PyTorch and
Keras (`reset_after=True`) do, so their weights load as they are.
"""


class GruParams(RecurrentParams):
    convention: Literal["flax", "reset_after"] = "flax"


def _biases_per_gate(params: GruParams) -> int:
    return 2 if params.convention == "reset_after" else 1


KIND = recurrent_kind("gru", __doc__, gates=3, params=GruParams, cost=recurrent_cost(3, _biases_per_gate))
