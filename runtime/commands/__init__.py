"""One module per `dslc` subcommand; each exposes `register(subparsers)`."""

from dslc.runtime.commands import (
    check,
    compile,
    convert,
    diff,
    eval,
    export,
    fmt,
    generate,
    graph,
    lsp,
    predict,
    reference,
    schema,
    summary,
    tokenizer,
    train,
    weights,
)

REGISTRARS = (check.register, summary.register, train.register, eval.register, predict.register, diff.register,
              graph.register, compile.register, fmt.register, convert.register, schema.register, reference.register,
              weights.register, export.register, tokenizer.register, generate.register,
              lsp.register)
