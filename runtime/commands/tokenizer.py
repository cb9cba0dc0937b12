"""`dslc tokenizer train SPEC`: train the spec's bpe tokenizer into the work directory, as `dslc train` would first."""

from __future__ import annotations

import argparse
from pathlib import Path

from dslc.runtime.options import add_data_root_option, add_limit_options, limits_from


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("tokenizer", help="train a text spec's bpe tokenizer (tokenizer.json in --workdir)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser("train", help="train the bpe tokenizer on the train split's text",
                               description="Train SPEC's bpe(vocab=N) tokenizer on the train split's text and save "
                                           "it as tokenizer.json in the work directory, where `dslc train` finds "
                                           "and uses it (it trains one itself when there is none). A tokenizer.json "
                                           "already there is kept. Exit 0: trained or kept; 2: invalid spec or data, "
                                           "or a spec without a bpe tokenizer.")
    train.add_argument("file", metavar="SPEC")
    train.add_argument("--workdir", type=Path, help="the run's work directory (default: runs/<model name>)")
    add_limit_options(train)
    add_data_root_option(train)
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    from dslc.compiler.check import check_spec
    from dslc.runtime.tokenizers import TOKENIZER_FILE, tokenizer_for
    from dslc.spec.errors import DslcError, DslcErrors
    from dslc.spec.vocab import Bpe, Text

    loaded, _ = check_spec(args.file, limits_from(args)).valid()
    train = loaded.spec.train
    if train is None or not isinstance(train.data, Text) or not isinstance(train.data.tokenizer, Bpe):
        where = loaded.source_map.nearest(("train", "data", "tokenizer"))
        raise DslcErrors([DslcError("E611", "the spec's data has no bpe tokenizer to train", where, stage="data",
                                    hint="data = text(PATH, tokenizer=bpe(vocab=N))")], loaded.source.text)
    workdir = args.workdir or Path("runs") / loaded.spec.model.name
    path = workdir / TOKENIZER_FILE
    existed = path.is_file()
    try:
        tokenizer = tokenizer_for(loaded, train, workdir)
    except DslcError as error:
        raise DslcErrors([error], loaded.source.text) from None
    print(f"{'kept' if existed else 'wrote'} {path}: {tokenizer.vocab_size:,} tokens")
    return 0
