"""The `dslc` command line.

Subcommands import only what they need: `check`, `diff`, `fmt`, `convert`, `summary`,
`graph`, `schema` and `reference` never import JAX, and run on the base install; `lsp`
needs the `lsp` extra (and no JAX); the others need the `train` extra and say so when
it is missing (exit 2). Exit codes: 0
clean, 1 a gate or `--check` failed, 2 invalid input, 70 an internal error (a bug: one
line, `--debug` shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from dslc.runtime.options import DEFAULT_MAX_ERRORS, report
from dslc.spec.errors import DslcError, DslcErrors

EXIT_INVALID, EXIT_INTERNAL = 2, 70  # the commands return 0 (clean) and 1 (a gate or --check failed) themselves

# The `train` extra of pyproject.toml (distribution -> the module it installs): the commands that build or run a
# model import these; the base install, for reviewing specs, has none of them.
TRAIN_EXTRA = {"jax": "jax", "jaxlib": "jaxlib", "flax": "flax", "optax": "optax", "scikit-learn": "sklearn",
               "rich": "rich", "flatbuffers": "flatbuffers", "orbax-checkpoint": "orbax",
               "tensorboardX": "tensorboardX", "safetensors": "safetensors",
               "pillow": "PIL", "pyarrow": "pyarrow", "grain": "grain",
               "tokenizers": "tokenizers", "ml_dtypes": "ml_dtypes"}
_TRAIN_MODULES = frozenset(TRAIN_EXTRA.values()) | {"numpy"}  # numpy comes with jax
# The `export` extra (distribution -> module): `dslc export --format onnx` imports these, on top of the train extra.
EXPORT_EXTRA = {"jax2onnx": "jax2onnx", "onnx": "onnx"}
# The `lsp` extra (distribution -> module): `dslc lsp`, the language server, imports these (and no JAX).
LSP_EXTRA = {"pygls": "pygls", "lsprotocol": "lsprotocol"}
# The commands that build or run a model, for which the executable sets the allocator (`dslc.runtime.host_memory`).
RUNS_MODELS = frozenset({"train", "eval", "predict", "compile", "weights", "export", "generate"})


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_named(argv))
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.run
    try:
        return command(args)
    except DslcErrors as errors:  # raised outside a per-file loop: report and stop
        report(errors, sys.stderr, getattr(args, "max_errors", DEFAULT_MAX_ERRORS))
        return EXIT_INVALID
    except DslcError as error:  # one finding raised on its own (no source text for an excerpt)
        print(error.render(), file=sys.stderr)
        return EXIT_INVALID
    except ModuleNotFoundError as exc:
        module = (exc.name or "").partition(".")[0]
        if module in EXPORT_EXTRA.values():
            print(f"dslc {args.command}: needs the export extra ({exc.name} is not installed): "
                  "pip install 'dslc[export]'", file=sys.stderr)
            return EXIT_INVALID
        if module in LSP_EXTRA.values():
            print(f"dslc {args.command}: needs the lsp extra ({exc.name} is not installed): "
                  "pip install 'dslc[lsp]'", file=sys.stderr)
            return EXIT_INVALID
        if module not in _TRAIN_MODULES:
            return _internal_error(args, exc)
        print(f"dslc {args.command}: needs the training extra ({exc.name} is not installed): "
              "pip install 'dslc[train]'", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `dslc ... | head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        return _internal_error(args, exc)


def run() -> NoReturn:
    """The `dslc` executable: `main`, then the process ends without Python's teardown of its modules.

    After a command that imported JAX, Flax and orbax that teardown (their exit handlers, then every module's
    objects freed one by one) took 0.4-0.5 s of a 4 s `dslc train` on the 2-core machine, with nothing left to
    do: every file is closed and every checkpoint committed before `main` returns. So the output is flushed and
    the process exits at once; but where JAX is distributed over several processes, which shut down together
    through its exit handler. A command that builds or runs a model keeps freed memory for its next step
    (`dslc.runtime.host_memory`).
    """
    if _command_named(sys.argv[1:]) in RUNS_MODELS:
        from dslc.runtime.host_memory import keep_freed_memory

        keep_freed_memory()
    code = main()
    if _distributed():
        sys.exit(code)
    if "logging" in sys.modules:  # its handlers flushed and closed, as its own exit handler does
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)


def _distributed() -> bool:
    jax = sys.modules.get("jax")
    return jax is not None and jax.process_count() > 1


def _internal_error(args: argparse.Namespace, exc: Exception) -> int:
    if args.debug:
        raise exc
    print(f"dslc: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", file=sys.stderr)
    return EXIT_INTERNAL


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: with `command`, only that subcommand's (its module alone is imported)."""
    from dslc.runtime import commands

    parser = argparse.ArgumentParser(prog="dslc", description="Declarative model-spec compiler for deep learning.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in commands.registrars([command] if command else commands.COMMANDS):
        register(sub)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` runs, when it is one of dslc's; None (every subcommand is registered, for the
    help, and for argparse's own message on an unknown one) otherwise. dslc's own options take no value, so the
    first argument that is no option names the command."""
    from dslc.runtime.commands import COMMANDS

    at = next((i for i, arg in enumerate(argv) if not arg.startswith("-")), None)
    if at is None or argv[at] not in COMMANDS or {"-h", "--help"} & set(argv[:at]):
        return None
    return argv[at]


class _VersionAction(argparse.Action):
    """`--version`: prints `dslc <version>` and exits. The version is looked up only then: importlib.metadata
    costs every other run about 30 ms."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show the installed version and exit") -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"dslc {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dslc")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


if __name__ == "__main__":
    run()
