# A small CNN for scikit-learn's bundled 8x8 digits (no download needed).
dslc 1

model digits_cnn(image: [8, 8, 1]) {
  conv2d(32, 3, padding=same, activation=relu)
  conv2d(32, 3, padding=same, activation=relu)
  maxpool(2)
  conv2d(64, 3, padding=same, activation=relu)
  global_avgpool
  dropout(0.2)
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 64
  epochs = 40
  metrics = [accuracy]
  data = digits
  seed = 0
}
