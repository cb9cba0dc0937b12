# A vision transformer's patch embedding on the digits: a 2x2 stride-2 convolution cuts each 8x8 image into
# 16 patches of 2x2 pixels and projects each to 32 features (one matrix per patch, as ViT's linear
# projection), a reshape turns the 4x4 grid into a sequence of 16 tokens, and a transformer encoder reads it.
dslc 1

model patch_embedding(image: [8, 8, 1]) {
  patches: conv2d(32, 2, stride=2)
  tokens: reshape([16, 32])
  transformer_encoder(4, 64)
  layernorm
  global_avgpool
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.001)
  batch = 64
  epochs = 20
  metrics = [accuracy]
  data = digits
  seed = 0
}
