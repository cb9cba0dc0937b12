from dslc.spec.layers._recurrent import RECURRENT_DOC, RecurrentParams
from dslc.spec.layers.base import LayerKind

__doc__ = RECURRENT_DOC.format(title="Simple (Elman) recurrent layer")

KIND = LayerKind("rnn", RecurrentParams, __doc__, "recurrent", positional=("units",))
