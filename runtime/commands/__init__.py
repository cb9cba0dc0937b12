"""One module per `dslc` subcommand, named as the command; each exposes `register(subparsers)`.

The modules are imported on demand (`registrars`): a run of `dslc check` imports the check command's module alone,
not every command's (their imports cost a process about 30 ms).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from importlib import import_module

# The commands in the order `dslc --help` lists them.
COMMANDS = ("check", "summary", "train", "eval", "predict", "diff", "graph", "compile", "fmt", "convert", "schema",
            "reference", "weights", "export", "tokenizer", "generate", "lsp")

Registrar = Callable[[argparse._SubParsersAction], None]


def registrars(names: Iterable[str] = COMMANDS) -> list[Registrar]:
    """The `register` functions of the commands `names` (each a member of COMMANDS)."""
    return [import_module(f"{__name__}.{name}").register for name in names]
