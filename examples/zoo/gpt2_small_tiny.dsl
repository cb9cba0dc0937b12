# GPT-2 small's layout at toy size (64 tokens, 16 positions, 2 blocks 32 wide with 2 heads), trained a few steps
# on synthetic token sequences: the same layer kinds as gpt2_small.
dslc 1

block h {
  decoder_block(2, 64, epsilon=1e-5, activation=gelu_tanh)
}

model gpt2_small_tiny(ids: int32[16]) {
  wte: embedding(64, 32, embedding_init=normal, embedding_std=0.02)
  wpe: position_embedding(16)
  dropout(0.1)
  h * 2
  ln_f: layernorm(epsilon=1e-5)
  lm_head: dense(64, use_bias=false, tied_to=wte)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.01)
  batch = 8
  epochs = 2
  data = synthetic(task=random, samples=40)
  seed = 0
}
