# ViT-B/16 (Dosovitskiy et al. 2020; torchvision `vit_b_16`, 1,000 classes): 16x16 patches of a 224x224 image
# embedded by a strided convolution into 196 tokens of 768, a learned class token in front, learned position
# embeddings (197), 12 pre-norm encoder blocks (12 heads, MLP 3072, exact GELU), a final layer norm, and a
# linear head on the class token. 86,567,656 parameters.
dslc 1

block layer {
  transformer_encoder(12, 3072)
}

model vit_b16(image: [224, 224, 3]) {
  patches: conv2d(768, 16, stride=16)
  reshape([196, 768])
  class_token: class_token
  positions: position_embedding(197)
  encoder: layer * 12
  encoder_norm: layernorm(epsilon=1e-6)
  select(0)
  head: dense(1000)
}
