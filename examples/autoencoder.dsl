# A convolutional autoencoder that reconstructs the 8x8 digits through a 4x4x8 bottleneck.
dslc 1

model autoencoder(image: [8, 8, 1]) {
  # encoder: 8x8x1 -> 4x4x8
  conv2d(16, 3, padding=same, activation=relu)
  code: conv2d(8, 3, stride=2, padding=same, activation=relu)
  # decoder: 4x4x8 -> 8x8x1
  conv2d_transpose(16, 3, stride=2, padding=same, activation=relu)
  reconstruction: conv2d(1, 3, padding=same, activation=sigmoid)
}

train {
  loss = mse
  optimizer = adam(0.001)
  batch = 64
  epochs = 30
  metrics = [mse]
  data = digits(target=input)   # the target is the image itself
}
