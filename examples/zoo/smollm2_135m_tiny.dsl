# SmolLM2-135M's Llama layout at toy size (64 tokens, 2 blocks 32 wide, 4 query and 2 key/value heads of 8,
# rotary base 100,000, SwiGLU 64, RMSNorm), trained a few steps on synthetic token sequences.
dslc 1

block layers {
  decoder_block(4, 64, kv_heads=2, epsilon=1e-5, rope=100000, use_bias=false, gated=true, activation=silu, norm=rmsnorm)
}

model smollm2_135m_tiny(ids: int32[16]) {
  embed_tokens: embedding(64, 32)
  layers * 2
  norm: rmsnorm(epsilon=1e-5)
  lm_head: dense(64, use_bias=false, tied_to=embed_tokens)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.01)
  batch = 8
  epochs = 2
  data = synthetic(task=random, samples=40)
  seed = 0
}
