"""Command-line options shared by the subcommands that read spec files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.limits import DEFAULT_LIMITS, DEPTH_CEILING, Limits

DEFAULT_MAX_ERRORS = 100  # errors shown per file: a hostile file can hold 100,000 (megabytes of output)


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("budgets (hostile-input limits)")
    group.add_argument("--max-bytes", type=int, default=DEFAULT_LIMITS.max_bytes, help="largest spec file in bytes")
    group.add_argument("--max-items", type=int, default=DEFAULT_LIMITS.max_items,
                       help="most YAML nodes (keys, values, lists, mappings) or DSL tokens in a spec file")
    group.add_argument("--max-depth", type=depth, default=DEFAULT_LIMITS.max_depth,
                       help=f"deepest nesting (at most {DEPTH_CEILING})")
    group.add_argument("--max-aliases", type=int, default=DEFAULT_LIMITS.max_aliases, help="most YAML aliases")
    group.add_argument("--max-layers", type=int, default=DEFAULT_LIMITS.max_layers,
                       help="most layers after expanding blocks")
    group.add_argument("--limit-params", type=budget, default=DEFAULT_LIMITS.max_params, metavar="N",
                       help="most parameters (trainable, frozen, batch statistics); like every budget, exceeding "
                            "it makes the spec invalid (exit 2), unlike check's --max-params gate (exit 1)")
    group.add_argument("--limit-activations", type=budget, default=DEFAULT_LIMITS.max_activation_bytes,
                       metavar="BYTES", help="most activation memory: the inputs and every layer's output, per "
                                              "example and, when the spec trains, per step (x batch) (e.g. 16GiB)")
    group.add_argument("--limit-flops", type=budget, default=DEFAULT_LIMITS.max_flops, metavar="N",
                       help="most FLOPs per example (a multiply-add is 2)")
    parser.add_argument("--max-errors", type=budget, default=DEFAULT_MAX_ERRORS, metavar="N",
                        help="show at most N errors per file, then how many more there are (0: all; default "
                             "%(default)s)")


def add_data_root_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-root", type=data_root, metavar="DIR",
                        help="resolve the spec's data paths in DIR instead of the spec's folder; they may not leave "
                             "it (the spec keeps relative paths, so it stays portable)")


def limits_from(args: argparse.Namespace) -> Limits:
    return Limits(max_bytes=args.max_bytes, max_items=args.max_items, max_depth=args.max_depth,
                  max_aliases=args.max_aliases, max_layers=args.max_layers, max_params=args.limit_params,
                  max_activation_bytes=args.limit_activations, max_flops=args.limit_flops,
                  data_root=getattr(args, "data_root", None),  # the commands that read data have these options
                  data_scan_bytes=getattr(args, "data_scan_bytes", 0))


def data_root(text: str) -> str:
    """An argparse type: an existing folder, as an absolute path."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"not a folder: {text!r}")
    return str(path.resolve())


def depth(text: str) -> int:
    """An argparse type: a depth budget, 1 to `DEPTH_CEILING`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= DEPTH_CEILING:
        raise argparse.ArgumentTypeError(f"not a whole number from 1 to {DEPTH_CEILING}: {text!r}")
    return value


def budget(text: str) -> int:
    """An argparse type: an integer >= 0, also written with underscores or as a power (10**12, 1e12, 16GiB)."""
    value = _budget_value(text.strip().replace("_", ""))
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"not a whole number >= 0: {text!r}")
    return value


_UNITS = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def _budget_value(text: str) -> int | None:
    lowered = text.lower()
    for unit, scale in _UNITS.items():
        if lowered.endswith(unit):
            value = _budget_value(text[:-len(unit)].strip())
            return None if value is None else value * scale
    base, power, exponent = text.partition("**")
    if not power:
        base, power, exponent = lowered.partition("e")
    if not (base.isascii() and base.isdigit() and len(base) <= 30):
        return None
    if not power:
        return int(base)
    if not (exponent.isascii() and exponent.isdigit() and len(exponent) <= 2):
        return None
    return int(base) * 10 ** int(exponent) if power == "e" else int(base) ** int(exponent)


def report(errors: DslcErrors | Sequence[DslcError], stream=None, max_errors: int = DEFAULT_MAX_ERRORS) -> None:
    """The first `max_errors` errors (0: all) with their source excerpts, compiler style, then how many more."""
    stream = stream or sys.stderr
    source = errors.source if isinstance(errors, DslcErrors) else None
    shown, hidden = capped(errors.errors if isinstance(errors, DslcErrors) else errors, max_errors)
    for error in shown:
        print(error.render(source), file=stream)
    if hidden:
        print(f"  ... {hidden_text(hidden, max_errors)}", file=stream)


def capped(errors: Sequence[DslcError], max_errors: int) -> tuple[Sequence[DslcError], int]:
    """The errors to show (the first `max_errors`; 0: all) and how many are left out."""
    if max_errors and len(errors) > max_errors:
        return errors[:max_errors], len(errors) - max_errors
    return errors, 0


def hidden_text(hidden: int, max_errors: int) -> str:
    return f"{hidden:,} more error(s) not shown (at most {max_errors:,} per file; raise it with --max-errors)"


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
