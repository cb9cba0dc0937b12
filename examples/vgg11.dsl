# VGG-11 (configuration A) as torchvision builds it: 132,863,336 parameters, 11 weighted layers.
dslc 1

model vgg11(image: [224, 224, 3]) {
  conv2d(64, 3, padding=same, activation=relu)
  maxpool(2)
  conv2d(128, 3, padding=same, activation=relu)
  maxpool(2)
  conv2d(256, 3, padding=same, activation=relu)
  conv2d(256, 3, padding=same, activation=relu)
  maxpool(2)
  conv2d(512, 3, padding=same, activation=relu)
  conv2d(512, 3, padding=same, activation=relu)
  maxpool(2)
  conv2d(512, 3, padding=same, activation=relu)
  conv2d(512, 3, padding=same, activation=relu)
  maxpool(2)
  flatten
  dense(4096, activation=relu)
  dropout(0.5)
  dense(4096, activation=relu)
  dropout(0.5)
  dense(1000)
}
