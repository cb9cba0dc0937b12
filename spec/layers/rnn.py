from dslc.spec.layers._recurrent import (
    RECURRENT_DOC,
    RecurrentParams,
    infer,
    recurrent_build,
    recurrent_classes,
    recurrent_cost,
)
from dslc.spec.layers.base import LayerKind

__doc__ = RECURRENT_DOC.format(title="Simple (Elman) recurrent layer", cell="SimpleCell", count="`F*u + u*u + u`")

KIND = LayerKind("rnn", RecurrentParams, __doc__, "recurrent", positional=("units",), recurrent=True,
                 infer=infer, cost=recurrent_cost(gates=1), classes=recurrent_classes(gated=False),
                 build=recurrent_build("rnn"))
