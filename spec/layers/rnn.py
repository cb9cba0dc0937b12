from dslc.spec.layers._recurrent import RECURRENT_DOC, recurrent_kind

__doc__ = RECURRENT_DOC.format(title="Simple (Elman) recurrent layer", cell="SimpleCell", count="`F*u + u*u + u`")

KIND = recurrent_kind("rnn", __doc__, gates=1)
