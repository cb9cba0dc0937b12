"""`dslc lsp`: the language server over stdin and stdout, for editors (README "Editors"). Needs the lsp extra."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lsp", help="run the language server over stdio (for editors; needs the lsp extra)",
                            description="Run the language server on stdin and stdout: diagnostics, hover, inlay "
                                        "hints, symbols, formatting and go-to-definition for .dsl and .yaml specs.")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dslc import __version__
    from dslc.runtime.lsp.server import build_server  # a missing pygls surfaces here: cli.main names the extra

    build_server(__version__).start_io()
    return 0
