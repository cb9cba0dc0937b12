# BERT-base, uncased, with its pooler (Devlin et al. 2018; Hugging Face `BertModel` default config):
# token, token-type and learned position embeddings, summed and layer-normalised, then 12 post-norm encoder
# blocks (768 wide, 12 heads, MLP 3072, exact GELU) and the pooler (the first token through dense + tanh).
# 109,482,240 parameters. Outputs: the last hidden state (512 x 768) and the pooled vector (768).
dslc 1

block layer {
  transformer_encoder(12, 3072, dropout=0.1, norm_first=false, epsilon=1e-12)
}

model bert_base(ids: int32[512], token_types: int32[512]) -> encoder, pooler {
  words: embedding(30522, 768, from=ids)
  types: embedding(2, 768, from=token_types)
  add(from=[words, types])
  positions: position_embedding(512)
  embedding_norm: layernorm(epsilon=1e-12)
  dropout(0.1)
  encoder: layer * 12
  select(0)
  pooler: dense(768, activation=tanh)
}
