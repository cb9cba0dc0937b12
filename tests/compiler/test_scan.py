"""Repeated blocks compiled once (`scan: true`): a scanned model's loss, gradients and updated state (parameters,
batch statistics, dropout streams) equal the unrolled model's; only interchangeable instances are scanned; a CLI
run with `scan: true` trains and saves the parameters under the names the unscanned model has.

Tiny models throughout, so that each test compiles in a few seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from safetensors.numpy import load_file

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import Run, build_model
from dslc.compiler.scan import Scan
from dslc.compiler.steps import Batch, init_state, make_steps
from dslc.spec.load import LoadedSpec, load_text
from tests.cli_helpers import dslc

DECODER = """\
dslc: 1
blocks:
  layer:
    layers:
      - decoder_block: {heads: 2, mlp_dim: 32, dropout: 0.2}
model:
  name: tiny_lm
  inputs: {tokens: {shape: [8], dtype: int32}}
  layers:
    - embedding: {vocab: 32, dim: 16}
    - layer: {}
      repeat: 4
    - layernorm
    - dense: {units: 32}
train:
  loss: softmax_cross_entropy
  optimizer: {sgd: {lr: 0.5, momentum: 0.9}}  # not adam: it would scale the noise of zero gradients (key biases)
  batch: 8
  steps: 1
  data: {text: {path: t.txt}}
"""

RESIDUAL = """\
dslc: 1
blocks:
  residual:
    layers:
      - conv2d: {filters: 4, kernel: 3, padding: same, use_bias: false}
      - batchnorm: {momentum: 0.5}
        name: bn
      - add: {}
        from: [input, bn]
      - relu
model:
  name: tiny_resnet
  inputs: {image: [6, 6, 1]}
  layers:
    - conv2d: {filters: 4, kernel: 3, padding: same}
    - residual: {}
      repeat: 3
    - global_avgpool
    - dense: {units: 3}
train:
  loss: softmax_cross_entropy
  optimizer: {sgd: {lr: 0.5, momentum: 0.9}}
  batch: 8
  steps: 1
  data: digits
"""


def loaded(text: str) -> LoadedSpec:
    return load_text(text, "yaml")


def host(tree: Any) -> Any:
    """Arrays on the host; RNG keys as their key data."""
    return jax.tree.map(lambda leaf: np.asarray(jax.random.key_data(leaf) if jax.dtypes.issubdtype(
        leaf.dtype, jax.dtypes.prng_key) else leaf), tree)


def steps(spec: LoadedSpec, batch: Batch, *, scan: bool, remat: bool = False, count: int = 2) -> tuple[Any, ...]:
    """`count` updates: the state after them (parameters, batch statistics and RNG streams, optimizer state)
    and each step's metrics, on the host."""
    train = spec.spec.train
    assert train is not None
    graphdef, state = init_state(build_model(spec, analyse(spec), seed=0, scan=scan, remat=remat), train)
    step = make_steps(graphdef, train).train
    metrics = []
    for _ in range(count):
        state, metric = step(state, batch)
        metrics.append(host(metric))
    return host(state.params), host(state.rest), host(state.opt_state), metrics


def assert_same(scanned: tuple[Any, ...], unrolled: tuple[Any, ...]) -> None:
    for ours, theirs in zip(scanned, unrolled, strict=True):
        assert jax.tree.structure(ours) == jax.tree.structure(theirs)  # same names: nothing stacked is stored
        for x, y in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def kinds(spec: LoadedSpec, **options: bool) -> list[str]:
    model = build_model(spec, analyse(spec), **options)
    assert model.runs is not None
    return [f"scan x{len(run.layers)}" if isinstance(run, Scan) else str(run.block) for run in model.runs]


def tokens() -> Batch:
    ids = jnp.asarray(np.random.default_rng(0).integers(0, 32, (8, 9)), jnp.int32)
    return Batch((ids[:, :-1],), ids[:, 1:], None)


def test_a_scanned_decoder_trains_as_the_unrolled_one_dropout_included() -> None:
    spec = loaded(DECODER)
    assert kinds(spec, scan=True) == ["None", "scan x4", "None", "None"]
    unrolled = steps(spec, tokens(), scan=False)
    assert_same(steps(spec, tokens(), scan=True), unrolled)  # loss, gradient norm, updated parameters, counters
    assert_same(steps(spec, tokens(), scan=True, remat=True), unrolled)


def test_a_scanned_residual_block_updates_each_instance_batch_statistics() -> None:
    spec = loaded(RESIDUAL)
    assert kinds(spec, scan=True) == ["None", "scan x3", "None", "None"]
    rng = np.random.default_rng(1)
    batch = Batch((jnp.asarray(rng.normal(size=(8, 6, 6, 1)), jnp.float32),),
                  jnp.asarray(rng.integers(0, 3, 8), jnp.int32), None)
    scanned, unrolled = steps(spec, batch, scan=True), steps(spec, batch, scan=False)
    assert_same(scanned, unrolled)
    means = [scanned[1]["layers"][f"residual_1.{i}/bn"]["mean"] for i in (1, 2, 3)]
    assert not np.allclose(means[0], means[1]) and not np.allclose(means[1], means[2])  # per instance
    model = build_model(spec, analyse(spec), scan=True)  # inference uses the running statistics through the scan
    plain = build_model(spec, analyse(spec))
    np.testing.assert_allclose(model(batch.inputs[0]), plain(batch.inputs[0]), rtol=1e-5, atol=1e-6)


def test_only_interchangeable_instances_are_scanned() -> None:
    widening = DECODER.replace("- decoder_block: {heads: 2, mlp_dim: 32, dropout: 0.2}", "- dense: {units: 16}")
    widening = widening.replace("dim: 16}", "dim: 8}")  # the first instance widens 8 -> 16: the others scan
    assert kinds(loaded(widening), scan=True) == ["None", "layer_1.1", "scan x3", "None", "None"]
    two_uses = DECODER.replace("      repeat: 4\n", "      repeat: 2\n    - layer: {}\n      repeat: 3\n")
    assert kinds(loaded(two_uses), scan=True) == ["None", "scan x2", "scan x3", "None", "None"]  # one scan a use
    experts = DECODER.replace("- decoder_block: {heads: 2, mlp_dim: 32, dropout: 0.2}",
                              "- moe: {experts: 2, hidden: 8}")
    assert kinds(loaded(experts), scan=True) == ["None", "layer_1.1", "layer_1.2", "layer_1.3", "layer_1.4",
                                                 "None", "None"]  # a sown auxiliary loss: unrolled
    assert kinds(loaded(DECODER), remat=True) == ["None", *(f"layer_1.{i}" for i in (1, 2, 3, 4)), "None", "None"]
    assert all(isinstance(run, Run) for run in build_model(loaded(DECODER), analyse(loaded(DECODER)),
                                                           remat=True).runs or ())


def test_the_cli_trains_with_scan_and_saves_the_unscanned_names(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("the quick brown fox jumps over the lazy dog. " * 12)
    spec = tmp_path / "lm.yaml"
    spec.write_text(DECODER.replace("vocab: 32", "vocab: 256").replace("units: 32", "units: 256")
                    + "  scan: true\n")

    def run(*args: str) -> str:
        result = dslc(*args)  # in this process: JAX is already imported
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("train", str(spec), "--workdir", str(tmp_path / "run"))
    run("weights", str(spec), "--checkpoint", str(tmp_path / "run"), "--save", str(tmp_path / "w.safetensors"))
    listed = run("weights", str(spec))  # the unscanned model's names, nothing allocated
    names = {line.split()[0] for line in listed.splitlines() if line.startswith("layers.")}
    saved = load_file(tmp_path / "w.safetensors")
    assert set(saved) == names and "layers.layer_1.4/decoder_block_1.mlp.mlp_in.kernel" in names
