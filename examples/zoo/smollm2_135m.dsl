# SmolLM2-135M (Hugging Face 2024), a Llama: token embedding, 30 pre-norm decoder blocks (576 wide, 9 query
# heads and 3 key/value heads of 64, rotary embedding with base 100,000, SwiGLU MLP of 1,536, no biases,
# RMSNorm epsilon 1e-5), a final RMSNorm and the output head tied to the token embedding; no position table.
# 134,515,008 parameters.
dslc 1

block layers {
  decoder_block(9, 1536, kv_heads=3, epsilon=1e-5, rope=100000, use_bias=false, gated=true, activation=silu,
                norm=rmsnorm)
}

model smollm2_135m(ids: int32[2048]) {
  embed_tokens: embedding(49152, 576)
  layers * 30
  norm: rmsnorm(epsilon=1e-5)
  lm_head: dense(49152, use_bias=false, tied_to=embed_tokens)
}
