# A residual CNN: one block defined once, used with `* 3` (repeat).
dslc 1

block residual(filters, kernel=3) {
  conv_a: conv2d($filters, $kernel, padding=same, use_bias=false)
  batchnorm
  relu
  conv2d($filters, $kernel, padding=same, use_bias=false)
  bn_b: batchnorm
  add(from=[input, bn_b])   # the shortcut: the block's input joins the branch
  relu
}

model resnet_digits(image: [8, 8, 1]) -> logits {
  stem: conv2d(16, 3, padding=same, activation=relu)
  stage: residual(16) * 3
  global_avgpool
  logits: dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = sgd(warmup_cosine(peak=0.1, warmup_steps=100, decay_steps=2000), momentum=0.9, nesterov=true)
  batch = 128
  steps = 2000
  metrics = [accuracy, top_k(3)]
  data = digits
  checkpoint = {every = 500, keep = 2}
}
