# A tiny mixture of experts over the 8 rows of each digit image (a sequence of 8 tokens): 4 gated
# experts, 2 per token (Mixtral's routing), with the load-balancing loss added in training.
# dslc: ignore-file[W104] kept minimal: a linear projection into the experts and a linear head after them
dslc 1

model moe_tiny(rows: [8, 8]) {
  embed: dense(32)
  experts: moe(4, 64, top_k=2)
  global_avgpool
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 128
  epochs = 1
  metrics = [accuracy]
  data = digits
}
