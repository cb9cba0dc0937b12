# A small CNN on a folder of images, one sub-folder per class: scikit-learn's 8x8 digits as PNG files,
# written by `python examples/write_data.py digits_folder` (no download).
# dslc: ignore-file[W109] the folder is written by python examples/write_data.py digits_folder
dslc 1

model digits_folder(image: [8, 8, 1]) {
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
  data = images("data/digits_folder", test=0.2, augment={crop = 1})
  seed = 0
}
