from dslc.spec.layers._recurrent import (
    RECURRENT_DOC,
    RecurrentParams,
    infer,
    recurrent_build,
    recurrent_classes,
    recurrent_cost,
)
from dslc.spec.layers.base import LayerKind

__doc__ = RECURRENT_DOC.format(title="Gated recurrent unit layer", cell="GRUCell",
                               count="`3 * (F*u + u*u + u)` (three gates, one bias each)")

KIND = LayerKind("gru", RecurrentParams, __doc__, "recurrent", positional=("units",), recurrent=True,
                 infer=infer, cost=recurrent_cost(gates=3), classes=recurrent_classes(gated=True),
                 build=recurrent_build("gru"))
