# A non-sequential graph: two branches over the same input, joined by concat.
dslc 1

model two_branch(image: [8, 8, 1]) {
  local: conv2d(16, 3, padding=same, activation=relu, from=image)
  wide: conv2d(16, 5, padding=same, dilation=2, activation=relu, from=image)
  concat(from=[local, wide])
  global_maxpool
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = sgd(0.05, momentum=0.9)
  batch = 32
  epochs = 10
  metrics = [accuracy, top_k(2)]
  data = digits
}
