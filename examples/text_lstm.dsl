# Embedding -> LSTM -> dense over 200 tokens: three weighted layers (deep by count), two levels of
# learned features (shallow by hierarchy), and very-deep as a credit-assignment path unrolled in time.
# dslc: ignore-file[W109] bring your own data/reviews.npz (token ids and labels)
dslc 1

model text_lstm(tokens: int32[200]) {
  embedding(10000, 64)
  lstm(128)
  dense(2)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.001)
  batch = 32
  epochs = 3
  data = npz("data/reviews.npz")
}
