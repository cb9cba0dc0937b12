# MobileNetV2 1.0/224 (Sandler et al. 2018) as torchvision builds it: inverted residual blocks (expand 1x1,
# depthwise 3x3, linear 1x1 projection) with relu6, batch norm (eps 1e-5), a 1280-wide last convolution,
# dropout 0.2 and a 1000-way classifier. 3,504,872 trainable parameters.
# depthwise_project is the first block (no expansion); inverted_down changes the width or the resolution
# (no shortcut); inverted keeps both and adds its input back.
# dslc: ignore-file[W104] the published layout: linear bottlenecks (no activation after the projection)
dslc 1

block depthwise_project(channels, out) {
  conv2d($channels, 3, padding=[[1, 1], [1, 1]], use_bias=false, groups=depthwise)
  batchnorm(momentum=0.9)
  relu6
  conv2d($out, 1, use_bias=false)
  batchnorm(momentum=0.9)
}

block inverted_down(hidden, out, stride) {
  conv2d($hidden, 1, use_bias=false)
  batchnorm(momentum=0.9)
  relu6
  conv2d($hidden, 3, stride=$stride, padding=[[1, 1], [1, 1]], use_bias=false, groups=depthwise)
  batchnorm(momentum=0.9)
  relu6
  conv2d($out, 1, use_bias=false)
  batchnorm(momentum=0.9)
}

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

model mobilenet_v2(image: [224, 224, 3]) {
  stem: conv2d(32, 3, stride=2, padding=[[1, 1], [1, 1]], use_bias=false)
  batchnorm(momentum=0.9)
  relu6
  depthwise_project(32, 16)
  inverted_down(96, 24, 2)
  inverted(144, 24)
  inverted_down(144, 32, 2)
  inverted(192, 32) * 2
  inverted_down(192, 64, 2)
  inverted(384, 64) * 3
  inverted_down(384, 96, 1)
  inverted(576, 96) * 2
  inverted_down(576, 160, 2)
  inverted(960, 160) * 2
  inverted_down(960, 320, 1)
  conv2d(1280, 1, use_bias=false)
  batchnorm(momentum=0.9)
  relu6
  global_avgpool
  dropout(0.2)
  classifier: dense(1000)
}
