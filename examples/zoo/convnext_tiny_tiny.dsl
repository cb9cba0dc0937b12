# A one-block ConvNeXt of the same layer kinds at digits size (8x8x1, 10 classes): examples/zoo/convnext_tiny.yaml.
dslc 1

block convnext_block(dim, hidden) {
  conv2d($dim, 7, padding=[[3, 3], [3, 3]], groups=depthwise)
  layernorm(epsilon=1e-6)
  dense($hidden, activation=gelu)
  dense($dim)
  branch: layer_scale(1e-6)
  add(from=[input, branch])
}

model convnext_tiny_tiny(image: [8, 8, 1]) {
  stem: conv2d(16, 2, stride=2)
  layernorm(epsilon=1e-6)
  convnext_block(16, 64)
  global_avgpool
  layernorm(epsilon=1e-6)
  head: dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 8
  steps = 10
  metrics = [accuracy]
  data = digits
  seed = 0
}
