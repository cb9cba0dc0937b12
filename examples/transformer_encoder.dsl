# A small transformer encoder over the 8 rows of each digit image (a sequence of 8 tokens).
dslc 1

block encoder(heads, mlp_dim, dropout=0.1) {
  transformer_encoder($heads, $mlp_dim, dropout=$dropout)
}

model transformer_encoder(rows: [8, 8]) {
  embed: dense(64)
  encoder(4, 128) * 2
  layernorm
  global_avgpool
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adamw(warmup_cosine(peak=0.001, warmup_steps=50, decay_steps=1000), weight_decay=0.01)
  batch = 64
  steps = 1000
  metrics = [accuracy]
  data = digits
  precision = bfloat16
}
