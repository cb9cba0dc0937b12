# An LSTM sequence classifier: each 8x8 digit is read as a sequence of 8 rows of 8 pixels.
dslc 1

model lstm_classifier(rows: [8, 8]) {
  lstm(64, return_sequences=true)
  lstm(64)
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = adam(0.003, clip_norm=1.0)
  batch = 64
  epochs = 25
  metrics = [accuracy]
  data = digits
}
