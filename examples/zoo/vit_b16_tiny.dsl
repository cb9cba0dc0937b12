# ViT-B/16's layout at a toy size (the same layer kinds) on the 8x8 digits: 2x2 patches give 16 tokens of 32,
# then the class token, position embeddings (17), one pre-norm encoder block, a layer norm and a 10-class head on
# the class token.
dslc 1

block layer {
  transformer_encoder(2, 64)
}

model vit_b16_tiny(image: [8, 8, 1]) {
  patches: conv2d(32, 2, stride=2)
  reshape([16, 32])
  class_token: class_token
  positions: position_embedding(17)
  encoder: layer
  encoder_norm: layernorm(epsilon=1e-6)
  select(0)
  head: dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 8
  epochs = 3
  metrics = [accuracy]
  data = digits
}
