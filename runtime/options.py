"""Command-line options shared by the subcommands that read spec files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from typing import Any

from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.limits import DEFAULT_LIMITS, Limits


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("budgets (hostile-input limits)")
    group.add_argument("--max-bytes", type=int, default=DEFAULT_LIMITS.max_bytes, help="largest spec file in bytes")
    group.add_argument("--max-depth", type=int, default=DEFAULT_LIMITS.max_depth, help="deepest nesting")
    group.add_argument("--max-aliases", type=int, default=DEFAULT_LIMITS.max_aliases, help="most YAML aliases")
    group.add_argument("--max-layers", type=int, default=DEFAULT_LIMITS.max_layers,
                       help="most layers after expanding blocks")


def limits_from(args: argparse.Namespace) -> Limits:
    return Limits(max_bytes=args.max_bytes, max_depth=args.max_depth, max_aliases=args.max_aliases,
                  max_layers=args.max_layers)


def report(errors: DslcErrors | Iterable[DslcError], stream=None) -> None:
    """Every error with its source excerpt, compiler style."""
    stream = stream or sys.stderr
    source = errors.source if isinstance(errors, DslcErrors) else None
    for error in errors.errors if isinstance(errors, DslcErrors) else errors:
        print(error.render(source), file=stream)


def add_device_option(parser: argparse.ArgumentParser, help: str) -> None:
    """`--device`; `dslc.compiler.devices.select_device` validates it (E601 lists what is present)."""
    parser.add_argument("--device", default="auto", metavar="cpu|gpu|tpu|auto", help=help)


def add_session_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that compile and run a model (`train`, `eval`, `predict`)."""
    parser.add_argument("--compile-cache", metavar="DIR|off",
                        help="persistent XLA compilation cache (default: $DSLC_COMPILE_CACHE or ~/.cache/dslc/xla)")


def positive(kind: type) -> Callable[[str], Any]:
    """An argparse type: a finite number > 0 of `kind`."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
        return value

    return parse


def add_policy_option(parser: argparse.ArgumentParser) -> None:
    from dslc.compiler.analysis.depth import POLICIES

    parser.add_argument("--policy", choices=POLICIES, default="hierarchy",
                        help="which depth policy decides the verdict (all three are always reported)")
