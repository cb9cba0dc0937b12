"""The lint rules' names and examples (complete specs, DSL syntax): what each rule flags, and the fix.

The rules themselves (`dslc.compiler.lint.registry.RULES`) check specs; this table is what the language reference
shows for each (`dslc reference`), and it lives here because the reference is generated in `spec/`, which imports
nothing from `compiler/`. Each bad example fires its rule and no other; each good one fires nothing
(tests/compiler/test_lint.py checks both, in both syntaxes). The examples that read data name `train.npz`: the
good one is meant beside that file.
"""

from __future__ import annotations

from dataclasses import dataclass

_DIGITS_TRAIN = """train {{
  loss = softmax_cross_entropy
  optimizer = adam({lr})
  batch = 64
  epochs = 10
  data = {data}
}}
"""


def _digits(layers: str, lr: str = "0.001", data: str = "digits", head: str = "dense(10)") -> str:
    """A classifier of the 8x8 digits: the flattened image, `layers`, the 10-way `head`, and a train section."""
    return (f"dslc 1\n\nmodel digits(image: [8, 8, 1]) {{\n  flatten\n{layers}\n  {head}\n}}\n\n"
            + _DIGITS_TRAIN.format(lr=lr, data=data))


def _model(layers: str, inputs: str = "x: [16]") -> str:
    return f"dslc 1\n\nmodel m({inputs}) {{\n{layers}\n}}\n"


_CONV = "  conv2d(16, 3, padding=same, activation=relu)\n  maxpool({window})\n" \
        "  conv2d(32, 3, padding=same, activation=relu)\n  global_avgpool\n  dense(10)"


@dataclass(frozen=True)
class LintExample:
    code: str
    name: str  # kebab-case, like ruff's rule names
    bad: str
    good: str


LINT_EXAMPLES: dict[str, LintExample] = {example.code: example for example in (
    LintExample("W101", "dead-layer",
                bad=_model("  hidden: dense(32, activation=relu)\n  dense(8, activation=relu)\n"
                           "  dense(1, from=hidden)"),
                good=_model("  dense(32, activation=relu)\n  dense(8, activation=relu)\n  dense(1)")),
    LintExample("W102", "layer-without-effect",
                bad=_model("  dense(32, activation=relu)\n  dropout(0.0)\n  dense(1)"),
                good=_model("  dense(32, activation=relu)\n  dropout(0.2)\n  dense(1)")),
    LintExample("W103", "activation-applied-twice",
                bad=_digits("  dense(32, activation=relu)", head="dense(10, activation=softmax)"),
                good=_digits("  dense(32, activation=relu)")),
    LintExample("W104", "no-nonlinearity-between",
                bad=_model("  dense(32)\n  dense(1)"),
                good=_model("  dense(32, activation=relu)\n  dense(1)")),
    LintExample("W105", "bias-before-batchnorm",
                bad=_model("  conv2d(16, 3)\n  batchnorm\n  relu\n  global_avgpool\n  dense(10)", "image: [8, 8, 1]"),
                good=_model("  conv2d(16, 3, use_bias=false)\n  batchnorm\n  relu\n  global_avgpool\n  dense(10)",
                            "image: [8, 8, 1]")),
    LintExample("W106", "dropout-after-last-weighted",
                bad=_model("  dense(32, activation=relu)\n  dense(1)\n  dropout(0.5)"),
                good=_model("  dense(32, activation=relu)\n  dropout(0.5)\n  dense(1)")),
    LintExample("W107", "spatial-axis-of-one",
                bad=_model(_CONV.format(window=8), "image: [8, 8, 1]"),
                good=_model(_CONV.format(window=2), "image: [8, 8, 1]")),
    LintExample("W108", "unusual-learning-rate-or-batch",
                bad=_digits("  dense(32, activation=relu)", lr="1.0"),
                good=_digits("  dense(32, activation=relu)", lr="0.001")),
    LintExample("W109", "missing-data-path",
                bad=_digits("  dense(32, activation=relu)", data='npz("trian.npz")'),
                good=_digits("  dense(32, activation=relu)", data='npz("train.npz")')),
)}
