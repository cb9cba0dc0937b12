# A MobileNetV2 of the same layer kinds at digits size (8x8x1, 10 classes): examples/zoo/mobilenet_v2.yaml.
dslc 1

block inverted(hidden, out) {
  conv2d($hidden, 1, use_bias=false)
  batchnorm(momentum=0.9)
  relu6
  conv2d($hidden, 3, padding=[[1, 1], [1, 1]], use_bias=false, groups=depthwise)
  batchnorm(momentum=0.9)
  relu6
  conv2d($out, 1, use_bias=false)
  branch: batchnorm(momentum=0.9)
  add(from=[input, branch])
}

model mobilenet_v2_tiny(image: [8, 8, 1]) {
  stem: conv2d(16, 3, stride=2, padding=[[1, 1], [1, 1]], use_bias=false)
  batchnorm(momentum=0.9)
  relu6
  inverted(32, 16)
  conv2d(32, 1, use_bias=false)
  batchnorm(momentum=0.9)
  relu6
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
