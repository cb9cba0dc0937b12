# A small classifier on scikit-learn's bundled breast-cancer table (569 tumours, 30 features), read from CSV.
# dslc: ignore-file[W109] write data/breast_cancer.csv first: python examples/write_data.py breast_cancer
dslc 1

model breast_cancer(features: [30]) {
  dense(16, activation=relu)
  dense(2)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003)
  batch = 32
  epochs = 40
  metrics = [accuracy]
  data = csv("data/breast_cancer.csv", validation=0.1, test=0.2, normalize=standard, label_column=label)
  seed = 0
}
