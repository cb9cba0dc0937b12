"""The lint rules: one entry per rule, with a bad and a good example (complete specs, DSL syntax).

Each bad example fires its rule and no other; each good one fires nothing (tests/compiler/test_lint.py checks
both, in both syntaxes). The examples that read data name `train.npz`, a file that exists beside the good one.
The README's reference lists these entries (`dslc reference`).
"""

from __future__ import annotations

from dslc.compiler.lint.dataflow import dead_layers, dropout_after_last_weighted
from dslc.compiler.lint.layers import bias_before_batchnorm, collapsing_weighted_layers, spatial_axis_of_one
from dslc.compiler.lint.no_effect import layers_without_effect
from dslc.compiler.lint.rule import Rule
from dslc.compiler.lint.training import (
    activation_applied_twice,
    missing_data_paths,
    unusual_learning_rate_or_batch,
)

_DIGITS_TRAIN = """
train {{
  loss = softmax_cross_entropy
  optimizer = adam(lr={lr})
  batch = 64; epochs = 10
  data = {data}
}}"""


def _digits(layers: str, lr: str = "1e-3", data: str = "digits") -> str:
    """A classifier of the 8x8 digits with `layers` between the flattened image and the 10 logits."""
    return (f"dslc 1\n\nmodel digits(image: [8, 8, 1]) {{\n  flatten\n{layers}\n  dense(10)\n}}\n"
            + _DIGITS_TRAIN.format(lr=lr, data=data).lstrip("\n") + "\n")


def _model(layers: str, inputs: str = "x: [16]") -> str:
    return f"dslc 1\n\nmodel m({inputs}) {{\n{layers}\n}}\n"


RULES: tuple[Rule, ...] = (
    Rule("W101", "dead-layer", dead_layers,
         bad=_model("  hidden: dense(32, activation=relu)\n  dense(8, activation=relu)\n  dense(1, from=[hidden])"),
         good=_model("  dense(32, activation=relu)\n  dense(8, activation=relu)\n  dense(1)")),
    Rule("W102", "layer-without-effect", layers_without_effect,
         bad=_model("  dense(32, activation=relu)\n  dropout(0.0)\n  dense(1)"),
         good=_model("  dense(32, activation=relu)\n  dropout(0.2)\n  dense(1)")),
    Rule("W103", "activation-applied-twice", activation_applied_twice,
         bad=_digits("  dense(32, activation=relu)\n  dense(10, activation=softmax)").replace(
             "  dense(10)\n}", "}", 1),
         good=_digits("  dense(32, activation=relu)")),
    Rule("W104", "no-nonlinearity-between", collapsing_weighted_layers,
         bad=_model("  dense(32)\n  dense(1)"),
         good=_model("  dense(32, activation=relu)\n  dense(1)")),
    Rule("W105", "bias-before-batchnorm", bias_before_batchnorm,
         bad=_model("  conv2d(16, 3)\n  batchnorm -> relu\n  global_avgpool\n  dense(10)", "image: [8, 8, 1]"),
         good=_model("  conv2d(16, 3, use_bias=false)\n  batchnorm -> relu\n  global_avgpool\n  dense(10)",
                     "image: [8, 8, 1]")),
    Rule("W106", "dropout-after-last-weighted", dropout_after_last_weighted,
         bad=_model("  dense(32, activation=relu)\n  dense(1)\n  dropout(0.5)"),
         good=_model("  dense(32, activation=relu)\n  dropout(0.5)\n  dense(1)")),
    Rule("W107", "spatial-axis-of-one", spatial_axis_of_one,
         bad=_model("  conv2d(16, 3, padding=same, activation=relu)\n  maxpool(8)\n"
                    "  conv2d(32, 3, padding=same, activation=relu)\n  global_avgpool\n  dense(10)",
                    "image: [8, 8, 1]"),
         good=_model("  conv2d(16, 3, padding=same, activation=relu)\n  maxpool(2)\n"
                     "  conv2d(32, 3, padding=same, activation=relu)\n  global_avgpool\n  dense(10)",
                     "image: [8, 8, 1]")),
    Rule("W108", "unusual-learning-rate-or-batch", unusual_learning_rate_or_batch,
         bad=_digits("  dense(32, activation=relu)", lr="1.0"),
         good=_digits("  dense(32, activation=relu)", lr="1e-3")),
    Rule("W109", "missing-data-path", missing_data_paths,
         bad=_digits("  dense(32, activation=relu)", data='npz("trian.npz")'),
         good=_digits("  dense(32, activation=relu)", data='npz("train.npz")')),
)

RULE_CODES = tuple(rule.code for rule in RULES)
