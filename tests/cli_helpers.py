"""`dslc` run in the test's own process, its output captured: `from tests.cli_helpers import dslc`.

What a user types, parsed and run by the command's own `main`, with JAX imported once per test process rather than
once per command (2-3 s of CPU each). Tests of what only a real process shows (kill and resume, signal handling,
several processes, which modules a command imports, XLA_FLAGS read at JAX's start) run `python -m dslc` instead.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def _stdin(data: bytes | None) -> Iterator[None]:
    if data is None:
        yield
        return
    previous = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data))
    try:
        yield
    finally:
        sys.stdin = previous


def dslc(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """`dslc ARGS` in this process (`input`: its standard input's bytes); its exit code, stdout and stderr."""
    from dslc.runtime.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _stdin(input), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse's usage errors and --help: the exit status a process would have
            code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
            if exit.code is not None and not isinstance(exit.code, int):
                print(exit.code, file=sys.stderr)  # as Python prints a message it exits with
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())
