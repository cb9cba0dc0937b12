# A frozen, pretrained convolutional base under a trainable two-layer head: very-deep by layer count,
# shallow by what training actually learns (the hierarchy and CAP policies). The base was learned on the
# digits 0-4 by examples/digits_base.yaml; this head learns 5-9 on it (its comment says how to make the file).
# dslc: ignore-file[W109] the data and the base's weights are written by the commands in digits_base.yaml
dslc 1

block conv_stage(filters) {
  conv2d($filters, 3, padding=same, activation=relu)
  conv2d($filters, 3, padding=same, activation=relu)
  maxpool(2)
}

model frozen_base(image: [32, 32, 1]) {
  base: conv_stage(32, trainable=false) * 5
  flatten
  dense(128, activation=relu)
  dense(5)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.001)
  batch = 32
  epochs = 8
  metrics = [accuracy]
  data = npz("data/digits_5_9.npz")
  init = [safetensors("data/digits_base.safetensors", layers=[base])]
}
