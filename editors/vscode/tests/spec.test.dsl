# SYNTAX TEST "source.dslc" "a spec with a block, a model and its train section"
# A comment on a line of its own.
# <- comment.line.number-sign.dslc punctuation.definition.comment.dslc
#  ^^^^^^^^^ comment.line.number-sign.dslc
dslc 1
# <---- keyword.other.header.dslc
#    ^ constant.numeric.version.dslc

block bottleneck(filters, out, stride=1) {
# <----- keyword.other.block.dslc
#     ^^^^^^^^^^ entity.name.function.block.dslc
#               ^ punctuation.section.parameters.begin.dslc
#                ^^^^^^^ variable.parameter.dslc
#                              ^^^^^^ variable.parameter.dslc
#                                    ^ keyword.operator.assignment.dslc
#                                     ^ constant.numeric.dslc
#                                        ^ punctuation.section.block.begin.dslc
  conv2d($filters, 3, stride=$stride, padding=[[1, 1], [1, 1]], use_bias=false)
# ^^^^^^ meta.block.body.dslc entity.name.function.layer.dslc
#        ^^^^^^^^ variable.other.reference.dslc
#                  ^ constant.numeric.dslc
#                     ^^^^^^ variable.parameter.keyword.dslc
#                           ^ keyword.operator.assignment.dslc
#                            ^^^^^^^ variable.other.reference.dslc
#                                               ^ meta.list.dslc meta.list.dslc constant.numeric.dslc
#                                                                        ^^^^^ constant.language.boolean.dslc
  main: batchnorm
# ^^^^ entity.name.label.layer.dslc
#     ^ punctuation.separator.label.dslc
#       ^^^^^^^^^ entity.name.function.layer.dslc
  add(from=[input, main])
# ^^^ entity.name.function.layer.dslc
#     ^^^^ variable.parameter.keyword.dslc
#           ^^^^^ meta.list.dslc variable.other.dslc
}
# <- meta.block.dslc meta.block.body.dslc punctuation.section.block.end.dslc

model two_branch(image: [8, 8, 1], ids: int32[64]) -> logits, pooled {
# <----- keyword.other.model.dslc
#     ^^^^^^^^^^ entity.name.type.model.dslc
#                ^^^^^ variable.parameter.input.dslc
#                     ^ punctuation.separator.colon.dslc
#                       ^ punctuation.section.brackets.begin.dslc
#                        ^ constant.numeric.dslc
#                         ^ punctuation.separator.comma.dslc
#                                  ^^^ variable.parameter.input.dslc
#                                       ^^^^^ storage.type.dtype.dslc
#                                                  ^^ keyword.operator.arrow.dslc
#                                                     ^^^^^^ variable.other.output.dslc
#                                                             ^^^^^^ variable.other.output.dslc
  local: conv2d(16, 3, padding=same, activation=relu, from=image)  # a trailing comment
# ^^^^^ entity.name.label.layer.dslc
#        ^^^^^^ entity.name.function.layer.dslc
#               ^^ constant.numeric.dslc
#                      ^^^^^^^ variable.parameter.keyword.dslc
#                              ^^^^ variable.other.dslc
#                                                                  ^^^^^^^^^^^^^^^^^^^ comment.line.number-sign.dslc
  model: dense(10, activation=null) -> dropout(0.5)
# ^^^^^ entity.name.label.layer.dslc - keyword
#        ^^^^^ entity.name.function.layer.dslc
#                             ^^^^ constant.language.null.dslc
#                                   ^^ keyword.operator.arrow.dslc
#                                      ^^^^^^^ entity.name.function.layer.dslc
#                                              ^^^ constant.numeric.dslc
  bottleneck(64, 256) * 2
#                     ^ keyword.operator.repeat.dslc
#                       ^ constant.numeric.dslc
  global_maxpool
# ^^^^^^^^^^^^^^ entity.name.function.layer.dslc
  dropout(0.0)  # dslc: ignore[W102] kept for the layout
#                 ^^^^ comment.line.number-sign.dslc keyword.other.directive.dslc
#                       ^^^^^^ keyword.other.directive.ignore.dslc
#                              ^^^^ constant.other.rule-code.dslc
  logits: dense(10, scale=1e-3, shift=-2, rate=.5, steps=10_000)
#                         ^^^^ constant.numeric.dslc
#                                     ^^ constant.numeric.dslc
#                                              ^^ constant.numeric.dslc
#                                                        ^^^^^^ constant.numeric.dslc
}

train {
# <----- keyword.other.train.dslc
#     ^ punctuation.section.block.begin.dslc
  loss = softmax_cross_entropy
# ^^^^ meta.train.body.dslc variable.other.setting.dslc
#      ^ keyword.operator.assignment.dslc
#        ^^^^^^^^^^^^^^^^^^^^^ variable.other.dslc
  optimizer = sgd(warmup_cosine(peak=0.1, warmup_steps=100), momentum=0.9, nesterov=true)
#             ^^^ entity.name.function.call.dslc
#                 ^^^^^^^^^^^^^ entity.name.function.call.dslc
#                               ^^^^ variable.parameter.keyword.dslc
#                                                                                   ^^^^ constant.language.boolean.dslc
  metrics = [accuracy, top_k(2)]
#           ^ punctuation.section.brackets.begin.dslc
#                      ^^^^^ entity.name.function.call.dslc
  data = text("data/python_stdlib", tokenizer=bpe(1024))
#             ^^^^^^^^^^^^^^^^^^^^ string.quoted.double.dslc
  early_stopping = {patience = 8, monitor = accuracy}
#                  ^ punctuation.section.mapping.begin.dslc
#                   ^^^^^^^^ meta.mapping.dslc variable.other.key.dslc
#                                           ^^^^^^^^ variable.other.dslc
  batch = 32; epochs = 10
#         ^^ constant.numeric.dslc
#           ^ punctuation.terminator.statement.dslc
#             ^^^^^^ variable.other.setting.dslc
}
# <- meta.train.dslc punctuation.section.block.end.dslc
