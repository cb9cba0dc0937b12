# GPT-2 small (Radford et al. 2019) as Hugging Face builds it (GPT2LMHeadModel): token and learned position
# embeddings, 12 pre-norm decoder blocks (768 wide, 12 heads, 3,072-unit gelu_tanh MLP, biases everywhere,
# LayerNorm epsilon 1e-5), a final LayerNorm and the output head tied to the token embedding.
# 124,439,808 parameters.
dslc 1

block h {
  decoder_block(12, 3072, dropout=0.1, epsilon=1e-5, activation=gelu_tanh)
}

model gpt2_small(ids: int32[1024]) {
  wte: embedding(50257, 768, embedding_init=normal, embedding_std=0.02)
  wpe: position_embedding(1024)
  dropout(0.1)
  h * 12
  ln_f: layernorm(epsilon=1e-5)
  lm_head: dense(50257, use_bias=false, tied_to=wte)
}
