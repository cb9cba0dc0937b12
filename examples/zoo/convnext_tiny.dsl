# ConvNeXt-Tiny (Liu et al. 2022) as Keras builds it (keras.applications.ConvNeXtTiny): a 4x4/4 stem,
# stages of 3, 3, 9 and 3 blocks of widths 96, 192, 384 and 768, layer scale 1e-6, no drop path.
# 28,589,128 parameters.
# dslc: ignore-file[W104] the published layout: the downsampling conv feeds the depthwise conv directly
dslc 1

block convnext_block(dim, hidden) {
  conv2d($dim, 7, padding=[[3, 3], [3, 3]], groups=depthwise)
  layernorm(epsilon=1e-6)
  dense($hidden, activation=gelu)
  dense($dim)
  branch: layer_scale(1e-6)
  add(from=[input, branch])
}

block downsample(dim) {
  layernorm(epsilon=1e-6)
  conv2d($dim, 2, stride=2)
}

model convnext_tiny(image: [224, 224, 3]) {
  stem: conv2d(96, 4, stride=4)
  layernorm(epsilon=1e-6)
  convnext_block(96, 384) * 3
  downsample(192)
  convnext_block(192, 768) * 3
  downsample(384)
  convnext_block(384, 1536) * 9
  downsample(768)
  convnext_block(768, 3072) * 3
  global_avgpool
  layernorm(epsilon=1e-6)
  head: dense(1000)
}
