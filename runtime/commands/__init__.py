"""One module per `dslc` subcommand; each exposes `register(subparsers)`."""

from dslc.runtime.commands import check, convert, diff, fmt, graph, reference, schema, summary

REGISTRARS = (check.register, summary.register, fmt.register, convert.register, schema.register, reference.register,
              diff.register, graph.register)
