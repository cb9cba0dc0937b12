from dslc.spec.layers._recurrent import RECURRENT_DOC, recurrent_kind

__doc__ = RECURRENT_DOC.format(title="Gated recurrent unit layer", cell="GRUCell",
                               count="`3 * (F*u + u*u + u)` (three gates, one bias each)")

KIND = recurrent_kind("gru", __doc__, gates=3)
