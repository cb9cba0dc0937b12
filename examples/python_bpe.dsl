# A small GPT over Python source code: byte-level BPE that dslc trains on the train split's text (1,024 tokens,
# saved as tokenizer.json in the work directory), then a causal transformer that predicts each next token.
# Each standard-library module is one document: windows never span two, and validation and test hold whole modules.
# dslc: ignore-file[W109] write the text first: python examples/write_data.py python_stdlib
dslc 1

block layer {
  decoder_block(4, 256, dropout=0.0, activation=gelu)
}

model python_bpe(tokens: int32[64]) {
  embed: embedding(1024, 64)
  position_embedding(64)
  layer * 2
  layernorm
  dense(1024, use_bias=false, tied_to=embed)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 32
  epochs = 3
  metrics = [accuracy]
  data = text("data/python_stdlib", tokenizer=bpe(1024))
  seed = 0
}
