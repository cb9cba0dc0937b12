# A two-level U-Net of the same layer kinds (28x28x1 in, 12x12x2 out) on random per-pixel labels:
# examples/zoo/unet.yaml.
dslc 1

block double_conv(filters) {
  conv2d($filters, 3, activation=relu)
  conv2d($filters, 3, activation=relu)
}

model unet_tiny(image: [28, 28, 1]) {
  down1: double_conv(8)
  maxpool(2)
  double_conv(8)
  up1: conv2d_transpose(8, 2, stride=2)
  skip1: cropping(4, from=down1)
  concat(from=[skip1, up1])
  double_conv(8)
  classes: conv2d(2, 1)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 8
  steps = 10
  metrics = [accuracy]
  data = synthetic(task=random, samples=64)
  seed = 0
}
