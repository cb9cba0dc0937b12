"""The lint rules: one entry per rule, its code and its check (its name and examples: `LINT_EXAMPLES`)."""

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

RULES: tuple[Rule, ...] = (
    Rule("W101", dead_layers),
    Rule("W102", layers_without_effect),
    Rule("W103", activation_applied_twice),
    Rule("W104", collapsing_weighted_layers),
    Rule("W105", bias_before_batchnorm),
    Rule("W106", dropout_after_last_weighted),
    Rule("W107", spatial_axis_of_one),
    Rule("W108", unusual_learning_rate_or_batch),
    Rule("W109", missing_data_paths),
)
