# BERT-base's layout at a toy size (the same layer kinds): 16 tokens of 32, one post-norm encoder block, the
# pooler, and a two-class head on the pooled vector, trained on synthetic ids (drawn from [0, 10), hence 10
# token types). Eight examples, one batch: a few steps must fit them. Dropout is off (rate 0; BERT's is 0.1):
# a few steps on one batch need none, and its random streams would triple the step's compile time.
dslc 1

block layer {
  transformer_encoder(2, 64, norm_first=false, epsilon=1e-12)
}

model bert_base_tiny(ids: int32[16], token_types: int32[16]) {
  words: embedding(32, 32, from=ids)
  types: embedding(10, 32, from=token_types)
  add(from=[words, types])
  positions: position_embedding(16)
  embedding_norm: layernorm(epsilon=1e-12)
  dropout(0.0)  # dslc: ignore[W102] kept for the layout (see above)
  encoder: layer
  select(0)
  pooler: dense(32, activation=tanh)
  classifier: dense(2)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 8
  epochs = 6
  metrics = [accuracy]
  data = synthetic(task=random, samples=10)
}
