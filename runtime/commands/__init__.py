"""One module per `dslc` subcommand; each exposes `register(subparsers)`."""

from dslc.runtime.commands import check, convert, fmt, reference, schema

REGISTRARS = (check.register, fmt.register, convert.register, schema.register, reference.register)
