"""Budgets enforced before validation, so that hostile input is rejected in bounded time and memory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1_000_000
    max_depth: int = 64
    max_aliases: int = 32
    max_layers: int = 50_000
    max_number_digits: int = 64  # longer integer literals are rejected before int() sees them

    def exceeded(self, what: str, value: int, budget: int, flag: str) -> str:
        return f"{what} {value} exceeds the budget of {budget} (raise it with {flag})"


DEFAULT_LIMITS = Limits()
