"""`python -m dslc` runs the command-line interface."""

from dslc.runtime.cli import main

raise SystemExit(main())
