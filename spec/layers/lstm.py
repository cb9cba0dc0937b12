from dslc.spec.layers._recurrent import (
    RECURRENT_DOC,
    RecurrentParams,
    infer,
    recurrent_build,
    recurrent_classes,
    recurrent_cost,
)
from dslc.spec.layers.base import LayerKind

__doc__ = RECURRENT_DOC.format(title="Long short-term memory layer", cell="LSTMCell",
                               count="`4 * (F*u + u*u + u)` (four gates, one bias each)")

KIND = LayerKind("lstm", RecurrentParams, __doc__, "recurrent", positional=("units",), recurrent=True,
                 infer=infer, cost=recurrent_cost(gates=4), classes=recurrent_classes(gated=True),
                 build=recurrent_build("lstm"))
