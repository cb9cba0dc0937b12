# A small causal language model on bytes: predicts each next byte of English text (scikit-learn's descriptions of
# its bundled data sets, 15 KB).
# dslc: ignore-file[W109] write the text first: python examples/write_data.py descriptions
dslc 1

block layer {
  decoder_block(4, 256, dropout=0.1, activation=gelu)
}

model text_bytes(bytes: int32[64]) {
  embed: embedding(256, 64)
  position_embedding(64)
  layer * 2
  layernorm
  dense(256, use_bias=false, tied_to=embed)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 32
  epochs = 30
  metrics = [accuracy]
  data = text("data/descriptions.txt", stride=16)
  seed = 0
  early_stopping = {patience = 3, monitor = loss}
}
