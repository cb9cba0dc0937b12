"""Tokenizers of text data: bytes, byte-level BPE that dslc trains, or a local Hugging Face tokenizer.json.

docs/architecture.md#data. `tokenizer_for` gives the spec's tokenizer for a run's work directory: `bpe(vocab=N)` is
trained on the train split's text only the first time (`train_bpe`, deterministic) and saved there as
tokenizer.json; later calls (a resumed run, `dslc generate`) load that file, so the run's tokens never change.
Hugging Face `tokenizers` is imported only where a spec asks for BPE or a file (`dslc check` reads a tokenizer.json's
size from its JSON alone: compiler/checks.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dslc.spec.errors import DslcError, Span
from dslc.spec.vocab import Bpe, Text, TokenizerFile

if TYPE_CHECKING:
    from dslc.spec.ir import Train
    from dslc.spec.load import LoadedSpec

TOKENIZER_FILE = "tokenizer.json"  # a bpe tokenizer's name in the work directory
END_OF_TEXT = "<|endoftext|>"  # the end token dslc's BPE adds; a file's may be any of END_TOKENS
END_TOKENS = (END_OF_TEXT, "<|end_of_text|>", "</s>", "<eos>", "[SEP]")
BYTE_TOKENS = 256


class Tokenizer(Protocol):
    """What a language model's data and generation need of a tokenizer."""

    @property
    def vocab_size(self) -> int: ...

    @property
    def end_id(self) -> int | None: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


class ByteTokenizer:
    """UTF-8 bytes: tokens 0..255, no end token (a window never spans two documents, so none is needed)."""

    vocab_size = BYTE_TOKENS
    end_id: int | None = None

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def decode(self, ids: list[int]) -> str:
        # a sampled cut may end inside a character; a model with more than 256 scores may sample an id past 255
        return bytes(i if 0 <= i < BYTE_TOKENS else 0xFF for i in ids).decode("utf-8", errors="replace")


class FileTokenizer:
    """A Hugging Face tokenizer.json; pickled as its path, so that worker processes load it themselves."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer as HfTokenizer

        self.path = path
        self.hf = HfTokenizer.from_file(str(path))
        self.vocab_size: int = self.hf.get_vocab_size(with_added_tokens=True)
        self.end_id: int | None = next((self.hf.token_to_id(name) for name in END_TOKENS
                                        if self.hf.token_to_id(name) is not None), None)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return FileTokenizer, (self.path,)

    def encode(self, text: str) -> list[int]:
        return list(self.hf.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: list[int]) -> str:
        return str(self.hf.decode(ids, skip_special_tokens=False))


def tokenizer_for(loaded: LoadedSpec, train: Train, workdir: Path | None) -> Tokenizer:
    """The tokenizer of `train`'s text data; `bpe` trains it into `workdir` when that has no tokenizer.json yet."""
    if not isinstance(train.data, Text):
        raise ValueError("only text data has a tokenizer")
    return text_tokenizer(train.data, loaded, workdir)


def text_tokenizer(data: Text, loaded: LoadedSpec, workdir: Path | None) -> Tokenizer:
    choice = data.tokenizer
    span = loaded.source_map.nearest(("train", "data", "tokenizer"))
    if isinstance(choice, TokenizerFile):
        from dslc.runtime.data import _resolve, _Where

        return _checked(FileTokenizer(_resolve(choice.path, "tokenizer", _Where(loaded))), None, span)
    if not isinstance(choice, Bpe):
        return ByteTokenizer()
    if workdir is None:
        raise DslcError("E701", "a bpe tokenizer lives in a run's work directory, and none was given", span,
                        stage="data", hint="give --workdir")
    path = workdir / TOKENIZER_FILE
    if not path.is_file():
        from dslc.runtime.text import train_texts

        train_bpe(train_texts(data, loaded), choice.vocab, path)
    return _checked(FileTokenizer(path), choice.vocab, span)


def _checked(tokenizer: FileTokenizer, vocab: int | None, span: Span) -> FileTokenizer:
    """A saved bpe tokenizer larger than the spec's `vocab` belongs to another spec: stop rather than train on it."""
    if vocab is not None and tokenizer.vocab_size > vocab:
        raise DslcError("E704", f"{tokenizer.path} has {tokenizer.vocab_size:,} tokens, more than the spec's "
                                f"bpe(vocab={vocab})", span, stage="data",
                        hint="it was trained for another spec: delete it (dslc trains a new one) or use another "
                             "--workdir")
    return tokenizer


def train_bpe(texts: Iterable[str], vocab: int, path: Path) -> None:
    """Train byte-level BPE of at most `vocab` tokens on `texts` and save it at `path` (atomically).

    Every byte is in the initial alphabet, so any text encodes; the end token is the first special token (id 0).
    The trainer's merges depend on the pair counts only, so the same texts give the same file."""
    from tokenizers import Tokenizer as HfTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tokenizer = HfTokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[END_OF_TEXT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    tokenizer.save(str(partial))
    os.replace(partial, path)
