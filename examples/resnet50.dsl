# ResNet-50 as torchvision builds it (v1.5: the stride sits on the 3x3 convolution).
# 25,557,032 parameters; 50 weighted layers on the longest path (projection shortcuts are not on it).
dslc 1

block bottleneck(filters, out) {
  conv2d($filters, 1, use_bias=false)
  batchnorm
  relu
  conv2d($filters, 3, padding=[[1, 1], [1, 1]], use_bias=false)
  batchnorm
  relu
  conv2d($out, 1, use_bias=false)
  main: batchnorm
  add(from=[input, main])
  relu
}

block bottleneck_down(filters, out, stride) {
  conv2d($filters, 1, use_bias=false)
  batchnorm
  relu
  conv2d($filters, 3, stride=$stride, padding=[[1, 1], [1, 1]], use_bias=false)
  batchnorm
  relu
  conv2d($out, 1, use_bias=false)
  main: batchnorm
  conv2d($out, 1, stride=$stride, use_bias=false, from=input)
  shortcut: batchnorm
  add(from=[main, shortcut])
  relu
}

model resnet50(image: [224, 224, 3]) {
  conv2d(64, 7, stride=2, padding=[[3, 3], [3, 3]], use_bias=false)
  batchnorm
  relu
  maxpool(3, stride=2, padding=[[1, 1], [1, 1]])
  layer1: bottleneck_down(64, 256, 1)
  bottleneck(64, 256) * 2
  layer2: bottleneck_down(128, 512, 2)
  bottleneck(128, 512) * 3
  layer3: bottleneck_down(256, 1024, 2)
  bottleneck(256, 1024) * 5
  layer4: bottleneck_down(512, 2048, 2)
  bottleneck(512, 2048) * 2
  global_avgpool
  fc: dense(1000)
}
