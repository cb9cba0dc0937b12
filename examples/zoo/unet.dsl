# U-Net (Ronneberger, Fischer & Brox 2015), as in the paper's figure 1: valid 3x3 convolutions with relu,
# 2x2 max pooling, 2x2 stride-2 up-convolutions halving the channels, the centre of each skip connection
# cropped to meet the upsampled map, and a 1x1 convolution to 2 classes: 572x572x1 in, 388x388x2 out.
# 31,030,658 parameters.
dslc 1

block double_conv(filters) {
  conv2d($filters, 3, activation=relu)
  conv2d($filters, 3, activation=relu)
}

model unet(image: [572, 572, 1]) {
  down1: double_conv(64)
  maxpool(2)
  down2: double_conv(128)
  maxpool(2)
  down3: double_conv(256)
  maxpool(2)
  down4: double_conv(512)
  maxpool(2)
  double_conv(1024)
  up4: conv2d_transpose(512, 2, stride=2)
  skip4: cropping(4, from=down4)
  concat(from=[skip4, up4])
  double_conv(512)
  up3: conv2d_transpose(256, 2, stride=2)
  skip3: cropping(16, from=down3)
  concat(from=[skip3, up3])
  double_conv(256)
  up2: conv2d_transpose(128, 2, stride=2)
  skip2: cropping(40, from=down2)
  concat(from=[skip2, up2])
  double_conv(128)
  up1: conv2d_transpose(64, 2, stride=2)
  skip1: cropping(88, from=down1)
  concat(from=[skip1, up1])
  double_conv(64)
  classes: conv2d(2, 1)
}
