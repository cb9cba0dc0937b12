"""Budgets that bound what hostile input can cost: the reading stages' (bytes, items, depth, aliases, layers,
number literals) and, once shapes are known, the model's (parameters, activation memory, FLOPs)."""

from __future__ import annotations

from dataclasses import dataclass

# The highest depth budget allowed. Later stages (the YAML tree builder, pydantic's validation of nested values,
# block expansion) recurse once or a few times per level: at 300 levels they reached Python's recursion limit.
DEPTH_CEILING = 128


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1_000_000
    # YAML nodes (keys, values, lists, mappings) or DSL tokens, counted as a front end reads them: within the
    # byte budget, 300,000 tiny items took seconds and hundreds of MB. The bench's chain of 10,000 dense
    # layers is 70,000 nodes, 90,000 tokens in the DSL; longer stacks are written with blocks and repeats.
    max_items: int = 100_000
    max_depth: int = 64  # at most DEPTH_CEILING
    max_aliases: int = 32
    max_layers: int = 50_000
    max_number_digits: int = 64  # longer integer literals are rejected before int() sees them
    # Checked after shape inference (`dslc.compiler.analysis.budgets`), before anything is built.
    max_params: int = 10**10  # trainable + frozen + batch statistics
    max_activation_bytes: int = 16 * 2**30  # the inputs and every layer's output, per example and per training step
    max_flops: int = 10**15  # per example
    # Not a budget but a confinement: the folder that data paths resolve in and may not leave (`--data-root`;
    # docs/safety.md#paths). None: the spec's own folder.
    data_root: str | None = None
    # What `dslc check` may read of the data (`--data-scan-bytes`; 0: nothing): a CSV file's labels up to this size,
    # and an image folder's headers at 4 KiB each. Training reads everything anyway, so only `dslc check` sets it.
    data_scan_bytes: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.max_depth <= DEPTH_CEILING:
            raise ValueError(f"max_depth must be between 1 and {DEPTH_CEILING}, got {self.max_depth}")

    def exceeded(self, what: str, value: int, budget: int, flag: str) -> str:
        return f"{what} {value} exceeds the budget of {budget} (raise it with {flag})"

    def over(self, statement: str, budget: int, flag: str) -> str:
        """`statement` gives the count ('the model has 1,024 parameters', see `count_text`)."""
        return f"{statement}, which exceeds the budget of {count_text(budget)} (raise it with {flag})"


DEFAULT_LIMITS = Limits()


def count_text(value: int) -> str:
    """'1,234,567'; from 10^36 on, 'at least 10^N' (a hostile spec's counts can have thousands of
    digits, and Python refuses to turn an integer of more than 4,300 digits into text)."""
    if value < 10**36:
        return f"{value:,}"
    power = int((value.bit_length() - 1) * 0.30102999566398)  # log10(2) rounded down: 10^power <= value
    return f"at least 10^{power + 1 if value >= 10 ** (power + 1) else power}"
