"""`python -m dslc` runs the command-line interface."""

from dslc.runtime.cli import run

run()
