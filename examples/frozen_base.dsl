# A frozen, pretrained convolutional base under a trainable two-layer head: very-deep by layer count,
# shallow by what training actually learns (the hierarchy and CAP policies).
# dslc: ignore-file[W109] bring your own data/features.npz
dslc 1

block conv_stage(filters) {
  conv2d($filters, 3, padding=same, activation=relu)
  conv2d($filters, 3, padding=same, activation=relu)
  maxpool(2)
}

model frozen_base(image: [64, 64, 3]) {
  base: conv_stage(32, trainable=false) * 5
  flatten
  dense(128, activation=relu)
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.001)
  batch = 32
  epochs = 5
  data = npz("data/features.npz")
}
