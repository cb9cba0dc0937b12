from dslc.spec.layers._recurrent import RECURRENT_DOC, recurrent_kind

__doc__ = RECURRENT_DOC.format(title="Long short-term memory layer", cell="LSTMCell",
                               count="`4 * (F*u + u*u + u)` (four gates, one bias each)")

KIND = recurrent_kind("lstm", __doc__, gates=4)
