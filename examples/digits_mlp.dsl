# A multi-layer perceptron on scikit-learn's bundled 8x8 digits, flattened to 64 features.
dslc 1

model digits_mlp(image: [8, 8, 1]) {
  flatten
  dense(128, activation=relu)
  dropout(0.1)
  dense(64, activation=relu)
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.002)
  batch = 64
  epochs = 30
  metrics = [accuracy]
  data = digits
  seed = 0
  early_stopping = {patience = 8, monitor = accuracy}
}
