# Five dense layers with no activation between them: deep by layer count, but the composition of
# affine maps is one affine map, so under the hierarchy policy it is shallow (one level).
# dslc: ignore-file[W104] the point of this example: the stack collapses to one level
dslc 1

model linear_stack(features: [64]) {
  dense(256)
  dense(256)
  dense(128)
  dense(64)
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = sgd(0.01)
  batch = 32
  epochs = 5
  data = synthetic(task=random, samples=2000)
}
