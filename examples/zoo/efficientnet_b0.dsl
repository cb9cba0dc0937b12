# EfficientNet-B0 (Tan & Le 2019) as torchvision builds it: MBConv blocks (expand 1x1, depthwise 3x3 or 5x5,
# squeeze-and-excitation to a quarter of the block's input width, linear 1x1 projection) with SiLU and batch
# norm, stochastic depth 0.2 * i / 16 on block i (0 to 15; only residual blocks use it), a 1280-wide head,
# dropout 0.2 and a 1000-way classifier. 5,288,548 trainable parameters.
# mbconv_first is the first block (no expansion); mbconv_down changes the width or the resolution (no
# shortcut); mbconv keeps both and adds its input back.
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

block mbconv_down(hidden, squeeze, out, kernel, pad, stride) {
  conv2d($hidden, 1, use_bias=false)
  batchnorm(momentum=0.9)
  silu
  conv2d($hidden, $kernel, stride=$stride, padding=[[$pad, $pad], [$pad, $pad]], use_bias=false, groups=depthwise)
  batchnorm(momentum=0.9)
  features: silu
  global_avgpool(keepdims=true)
  conv2d($squeeze, 1, activation=silu)
  gate: conv2d($hidden, 1, activation=sigmoid)
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

model efficientnet_b0(image: [224, 224, 3]) {
  stem: conv2d(32, 3, stride=2, padding=[[1, 1], [1, 1]], use_bias=false)
  batchnorm(momentum=0.9)
  silu
  mbconv_first(32, 8, 16)
  mbconv_down(96, 4, 24, 3, 1, 2)
  mbconv(144, 6, 24, 3, 1, 0.025)
  mbconv_down(144, 6, 40, 5, 2, 2)
  mbconv(240, 10, 40, 5, 2, 0.05)
  mbconv_down(240, 10, 80, 3, 1, 2)
  mbconv(480, 20, 80, 3, 1, 0.075)
  mbconv(480, 20, 80, 3, 1, 0.0875)
  mbconv_down(480, 20, 112, 5, 2, 1)
  mbconv(672, 28, 112, 5, 2, 0.1125)
  mbconv(672, 28, 112, 5, 2, 0.125)
  mbconv_down(672, 28, 192, 5, 2, 2)
  mbconv(1152, 48, 192, 5, 2, 0.15)
  mbconv(1152, 48, 192, 5, 2, 0.1625)
  mbconv(1152, 48, 192, 5, 2, 0.175)
  mbconv_down(1152, 48, 320, 3, 1, 1)
  conv2d(1280, 1, use_bias=false)
  batchnorm(momentum=0.9)
  silu
  global_avgpool
  dropout(0.2)
  classifier: dense(1000)
}
