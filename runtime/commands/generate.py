"""`dslc generate SPEC --checkpoint DIR --prompt TEXT`: a trained decoder continues a text.

The run is restored as `dslc predict` restores it; the prompt is tokenised, prefilled in one call, and each
new token costs one position through the attention layers' key/value caches (`dslc.compiler.generate`). The
text streams to standard output as it is made.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from dslc.runtime.options import (
    add_data_root_option,
    add_device_option,
    add_limit_options,
    add_session_options,
    limits_from,
    positive,
)
from dslc.spec.errors import DslcError, DslcErrors, show_value
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.load import LoadedSpec

DESCRIPTION = """\
Continue --prompt with a trained decoder (a model over token ids [length] that gives scores (length, vocab)),
streaming the text to standard output. Each new token is one position through the attention layers' key/value
caches; the prompt is computed in one call.

Tokens: the run's text is bytes (text(path) data), so the prompt is encoded as UTF-8 bytes and the output
decoded from them (an incomplete or invalid sequence shows as U+FFFD). A prompt longer than the model's input
length keeps its last tokens; a text that grows past it slides the window (the last length - 1 tokens are
computed again, then decoding goes on).

Sampling: --greedy takes the most likely token; otherwise tokens are drawn from softmax(logits / temperature),
cut to the --top-k most likely and to the smallest set of them whose probability reaches --top-p; --seed
makes the draw reproducible. Generation stops after --max-tokens, or at the tokenizer's end token.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("generate", help="continue a text prompt with a trained decoder (sampling, KV cache)",
                            description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR",
                        help="a run's --workdir (its latest checkpoint), its best/ folder, or one checkpoint folder "
                             "(default: runs/<model name>/best, or runs/<model name> where there is no best)")
    parser.add_argument("--prompt", type=_prompt, required=True, metavar="TEXT", help="the text to continue")
    parser.add_argument("--max-tokens", type=positive(int), default=100, metavar="N",
                        help="most tokens to generate (default: 100)")
    parser.add_argument("--greedy", action="store_true", help="always the most likely token (no sampling)")
    parser.add_argument("--temperature", type=positive(float), default=1.0, metavar="T",
                        help="divides the logits before sampling: below 1 sharper, above 1 flatter (default: 1)")
    parser.add_argument("--top-k", type=positive(int), metavar="K", help="sample among the K most likely tokens")
    parser.add_argument("--top-p", type=_probability, metavar="P",
                        help="sample among the smallest set of most likely tokens whose probability reaches P")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="the sampling's seed (default: 0)")
    add_device_option(parser, "where to run the model (default: a GPU or TPU if present, else the CPU)")
    add_session_options(parser)
    add_limit_options(parser)
    add_data_root_option(parser)
    parser.set_defaults(run=run)


def _prompt(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("the prompt is empty: give at least one character to continue")
    return text


def _probability(text: str) -> float:
    value = positive(float)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be a probability in (0, 1], got {text}")
    return float(value)


def run(args: argparse.Namespace) -> int:
    from dslc.compiler.generate import Sampling

    sampling = Sampling(greedy=args.greedy, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p)
    for piece in generate_text(args.file, args.prompt, args.checkpoint, max_tokens=args.max_tokens,
                               sampling=sampling, seed=args.seed, device=args.device,
                               compile_cache=args.compile_cache, limits=limits_from(args), notes=sys.stderr):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


@dataclass
class _Streamer:
    """Text pieces from token ids as they come: the decoded text so far, less what was given, held back while it
    ends in U+FFFD (a character whose bytes have not all come yet)."""

    tokenizer: Any
    ids: list[int]
    given: int = 0

    def add(self, token: int) -> str:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        return "" if text.endswith("\ufffd") else self._rest(text)

    def flush(self) -> str:
        return self._rest(self.tokenizer.decode(self.ids))

    def _rest(self, text: str) -> str:
        piece, self.given = text[self.given:], len(text)
        return piece


def generate_text(spec: str | Path | LoadedSpec, prompt: str, checkpoint: Path | None = None, *,
                  max_tokens: int = 100, sampling: Any = None, seed: int = 0, device: str = "auto",
                  compile_cache: str | None = None, limits: Limits = DEFAULT_LIMITS,
                  notes: Any = None) -> Iterator[str]:
    """The continuation of `prompt` by a trained run, as text pieces in order (`sampling`: a
    `dslc.compiler.generate.Sampling`, default: from the logits at temperature 1); `notes`: a stream for notes
    (a prompt cut to the window). Raises `DslcErrors` (E809) for a model that cannot generate."""
    import jax
    from flax import nnx

    from dslc.compiler.build import SpecModel, build_model
    from dslc.compiler.check import check_loaded
    from dslc.compiler.generate import Generator, Sampling, check_decodable, decoder_of
    from dslc.compiler.steps import model_from_state
    from dslc.runtime.checkpoint import default_checkpoint, locate_checkpoint
    from dslc.runtime.session import open_trained
    from dslc.spec.load import load

    loaded = spec if isinstance(spec, LoadedSpec) else load(spec, limits)
    _, analysis = check_loaded(loaded).valid()
    decoder = decoder_of(loaded, analysis)  # both before the checkpoint is read: the model as the spec says
    check_decodable(loaded, analysis, nnx.eval_shape(lambda: build_model(loaded, analysis)))
    session, restored = open_trained(loaded, checkpoint, limits, device, compile_cache)
    workdir = locate_checkpoint(checkpoint or default_checkpoint(loaded.spec.model.name))[0].path
    tokenizer = _tokenizer(session.loaded, session.train, workdir)
    ids = tokenizer.encode(prompt)
    if not ids:
        raise ValueError("the prompt encodes to no token")
    outside = [i for i in ids if not 0 <= i < decoder.vocab]
    if outside:
        raise DslcErrors([DslcError("E809", f"the prompt's token {outside[0]} is outside the model's vocabulary "
                                            f"of {decoder.vocab} ids", stage="run",
                                    hint="generate from a model whose vocabulary holds the tokenizer's ids")])
    if len(ids) > decoder.length and notes is not None:
        print(f"note: the prompt's {len(ids)} tokens are more than the model's {decoder.length} positions; it "
              f"continues the last {decoder.length} (from {show_value(tokenizer.decode(ids[-decoder.length:]))})",
              file=notes)
    with jax.default_device(session.device):
        model = cast(SpecModel, model_from_state(session.graphdef, restored.state))
        generator = Generator(model, decoder, sampling or Sampling())
        streamer = _Streamer(tokenizer, [])
        for token in generator.tokens(ids, max_tokens, seed, tokenizer.end_id):
            piece = streamer.add(token)
            if piece:
                yield piece
        rest = streamer.flush()
        if rest:
            yield rest


def _tokenizer(loaded: LoadedSpec, train: Any, workdir: Path) -> Any:
    """The run's tokenizer (`encode`, `decode`, `end_id`): its text data's (bytes, bpe or a file:
    runtime/tokenizers.py), bytes for a model trained on other data."""
    from dslc.runtime.tokenizers import ByteTokenizer, tokenizer_for
    from dslc.spec.vocab import Text

    return tokenizer_for(loaded, train, workdir) if isinstance(train.data, Text) else ByteTokenizer()