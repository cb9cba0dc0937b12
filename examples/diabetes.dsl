# Regression on scikit-learn's bundled diabetes data: 10 features per patient -> disease progression a year on.
# dslc: ignore-file[W109] write the data first: python examples/write_data.py diabetes
# The targets (25..346) are standardised with the train split's statistics: the loss is in their standard
# deviations; the mae metric, eval and predict are in the data's own units.
dslc 1

model diabetes(features: [10]) {
  dense(32, activation=relu)
  dense(1)
}

train {
  loss = mse
  optimizer = adam(0.003)
  batch = 32
  epochs = 30
  metrics = [mae]
  data = npy(normalize=standard, normalize_target=standard, x="data/diabetes_x.npy", y="data/diabetes_y.npy")
  seed = 0
}
