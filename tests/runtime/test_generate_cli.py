"""`dslc generate` end to end: a tiny byte decoder trained a few steps on a text the test writes."""

from __future__ import annotations

from pathlib import Path

import pytest

import dslc.api as api
from dslc.runtime.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
SPEC = """\
dslc: 1
model:
  name: tiny_bytes
  inputs: {bytes: {shape: [16], dtype: int32}}
  layers:
    - embedding: {vocab: 256, dim: 16}
      name: embed
    - position_embedding: {positions: 16}
    - decoder_block: {heads: 2, mlp_dim: 32}
    - layernorm
    - dense: {units: 256, use_bias: false, tied_to: embed}
train:
  loss: softmax_cross_entropy
  optimizer: {adam: {lr: 0.01}}
  batch: 16
  epochs: 1
  data: {text: {path: "story.txt", stride: 8}}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spec (spec.yaml) and its run (run/), trained a few steps."""
    folder = tmp_path_factory.mktemp("generate")
    (folder / "story.txt").write_text("abc abd abe, the cat sat on the mat. " * 40, encoding="utf-8")
    (folder / "spec.yaml").write_text(SPEC, encoding="utf-8")
    assert main(["train", str(folder / "spec.yaml"), "--workdir", str(folder / "run"), "--quiet"]) == 0
    return folder


def generate(trained: Path, *options: str) -> list[str]:
    return ["generate", str(trained / "spec.yaml"), "--checkpoint", str(trained / "run"), "--prompt", "abc",
            "--max-tokens", "20", *options]


def test_generate_prints_a_continuation(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(generate(trained, "--top-k", "40", "--top-p", "0.9", "--temperature", "0.8", "--seed", "3")) == 0
    sampled = capsys.readouterr().out
    assert sampled.endswith("\n") and 0 < len(sampled[:-1].encode("utf-8", errors="surrogatepass")) <= 20 * 3
    assert main(generate(trained, "--top-k", "40", "--top-p", "0.9", "--temperature", "0.8", "--seed", "3")) == 0
    assert capsys.readouterr().out == sampled  # seeded
    assert main(generate(trained, "--greedy")) == 0
    greedy = capsys.readouterr().out
    assert greedy[:-1] == api.generate(trained / "spec.yaml", "abc", trained / "run", max_tokens=20, greedy=True)


def test_a_model_that_is_no_decoder_is_one_located_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(EXAMPLES / "digits_mlp.yaml"), "--prompt", "abc"]) == 2
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "error" in line] == [
        f"{EXAMPLES / 'digits_mlp.yaml'}:5:12: error[E809]: generation needs a model over token ids [length] (one "
        "integer input), but digits_mlp takes (8, 8, 1) float32"]
    assert "Traceback" not in err


def test_an_empty_prompt_is_refused(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["generate", str(trained / "spec.yaml"), "--prompt", ""])
    assert exited.value.code == 2 and "the prompt is empty" in capsys.readouterr().err
