# A convolutional base learned on the digits 0-4, to be reused (frozen) by examples/frozen_base.yaml on 5-9:
#   python examples/write_data.py digits_halves
#   dslc train examples/digits_base.yaml
#   dslc export examples/digits_base.yaml --checkpoint runs/digits_base -o examples/data/digits_base.safetensors --format safetensors
# dslc: ignore-file[W109] the data is written by python examples/write_data.py digits_halves
dslc 1

block conv_stage(filters) {
  conv2d($filters, 3, padding=same, activation=relu)
  conv2d($filters, 3, padding=same, activation=relu)
  maxpool(2)
}

model digits_base(image: [32, 32, 1]) {
  base: conv_stage(32) * 5
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
  data = npz("data/digits_0_4.npz")
}
