# An EfficientNet of the same layer kinds at digits size (8x8x1, 10 classes): examples/zoo/efficientnet_b0.yaml.
# dslc: ignore-file[W104] the published layout: linear bottlenecks (no activation after the projection)
dslc 1

block mbconv_first(channels, squeeze, out) {
  conv2d($channels, 3, padding=[[1, 1], [1, 1]], use_bias=false, groups=depthwise)
  batchnorm(momentum=0.9)
  features: silu
  global_avgpool(keepdims=true)
  conv2d($squeeze, 1, activation=silu)
  gate: conv2d($channels, 1, activation=sigmoid)
  multiply(from=[features, gate])
  conv2d($out, 1, use_bias=false)
  batchnorm(momentum=0.9)
}

block mbconv(hidden, squeeze, out, kernel, pad, rate) {
  conv2d($hidden, 1, use_bias=false)
  batchnorm(momentum=0.9)
  silu
  conv2d($hidden, $kernel, padding=[[$pad, $pad], [$pad, $pad]], use_bias=false, groups=depthwise)
  batchnorm(momentum=0.9)
  features: silu
  global_avgpool(keepdims=true)
  conv2d($squeeze, 1, activation=silu)
  gate: conv2d($hidden, 1, activation=sigmoid)
  multiply(from=[features, gate])
  conv2d($out, 1, use_bias=false)
  batchnorm(momentum=0.9)
  branch: stochastic_depth($rate)
  add(from=[input, branch])
}

model efficientnet_b0_tiny(image: [8, 8, 1]) {
  stem: conv2d(16, 3, stride=2, padding=[[1, 1], [1, 1]], use_bias=false)
  batchnorm(momentum=0.9)
  silu
  mbconv_first(16, 4, 16)
  mbconv(16, 4, 16, 5, 2, 0.1)
  conv2d(16, 1, use_bias=false)
  batchnorm(momentum=0.9)
  silu
  global_avgpool
  dropout(0.2)
  classifier: dense(10)
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
