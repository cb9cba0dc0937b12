"""`dslc train` of a byte-level language model with accumulation, remat, z-loss, perplexity and bits per byte;
tokens/s and MFU in the progress line and run.json; the peak FLOP/s table and MFU arithmetic. `dslc` runs in the
test's process (tests/cli_helpers.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from dslc.compiler.devices_peak import peak_flops
from dslc.runtime.throughput import Throughput
from tests.cli_helpers import dslc

LENGTH = 16
SPEC = f"""\
dslc: 1
blocks:
  layer:
    layers:
      - decoder_block: {{heads: 2, mlp_dim: 32}}
model:
  name: bytes_lm
  inputs: {{bytes: {{shape: [{LENGTH}], dtype: int32}}}}
  layers:
    - embedding: {{vocab: 256, dim: 16}}
    - layer: {{}}
      repeat: 2
    - dense: {{units: 256}}
train:
  loss: {{softmax_cross_entropy: {{z_loss: 0.0001}}}}
  optimizer: {{adamw: {{lr: 0.01, weight_decay: 0.1}}}}
  batch: 8
  epochs: 1
  metrics: [perplexity, bits_per_byte]
  data: {{text: {{path: text.txt}}}}
  accumulate: 2
  remat: true
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    (tmp_path / "text.txt").write_text("the quick brown fox jumps over the lazy dog. " * 60)
    path = tmp_path / "lm.yaml"
    path.write_text(SPEC)
    return path


def test_a_byte_model_trains_with_accumulation_and_remat_and_reports_tokens_per_second(spec: Path) -> None:
    result = dslc("train", str(spec), "--fuse", "2", "--workdir", str(spec.parent / "run"))
    assert result.returncode == 0, result.stderr
    summary = json.loads((spec.parent / "run" / "run.json").read_text())
    assert summary["tokens_per_second"] == pytest.approx(summary["examples_per_second"] * LENGTH)
    assert summary["mfu"] == "unknown"  # a CPU has no listed peak
    epoch_line = next(line for line in result.stderr.splitlines() if line.startswith("epoch 1/1"))
    assert "tok/s, MFU unknown" in epoch_line and "ex/s" in epoch_line
    test = summary["test"]  # perplexity is exp(cross-entropy), bits per byte the same in bits
    assert test["bits_per_byte"] == pytest.approx(math.log2(test["perplexity"]), rel=1e-5)
    assert test["loss"] > math.log(test["perplexity"])  # the loss holds the z-loss too


def test_accumulate_must_divide_the_batch(spec: Path) -> None:
    spec.write_text(SPEC.replace("accumulate: 2", "accumulate: 3"))
    result = dslc("check", str(spec))
    assert result.returncode == 2 and "error[E614]: accumulate: 3 micro-batches do not divide the batch of 8" \
        in result.stdout, result.stdout
    spec.write_text(SPEC.replace("data: {text: {path: text.txt}}", "data: {text: {path: text.txt, tokenizer: "
                                                                   "{bpe: {vocab: 300}}}}"))
    result = dslc("check", str(spec))
    assert result.returncode == 2 and "error[E615]: metric 'bits_per_byte' needs text read as bytes" \
        in result.stdout, result.stdout


def test_peaks_are_listed_devices_only_and_mfu_is_their_arithmetic() -> None:
    assert peak_flops("NVIDIA H100 80GB HBM3", "bfloat16") == pytest.approx(989.4e12)
    assert peak_flops("NVIDIA H100 PCIe", "float32") == pytest.approx(378e12)
    assert peak_flops("NVIDIA A100-SXM4-80GB", "bfloat16") == pytest.approx(312e12)
    assert peak_flops("TPU v5 lite", "bfloat16") == pytest.approx(197e12)
    assert peak_flops("cpu", "float32") is None and peak_flops("NVIDIA GeForce GTX 1080", "bfloat16") is None
    run = Throughput(tokens=64, flops=3 * 16.9e6, peak=989.4e12)
    assert run.mfu(1000.0) == pytest.approx(3 * 16.9e6 * 1000 / 989.4e12)
    assert run.summary(1000.0) == {"tokens_per_second": 64000.0, "mfu": pytest.approx(5.124e-5, rel=1e-3)}
    assert run.line(1000.0) == "1,000 ex/s, 64,000 tok/s, MFU 0.0%"
    assert Throughput(tokens=None, flops=1e9, peak=None).line(12.0) == "12 ex/s, MFU unknown"
