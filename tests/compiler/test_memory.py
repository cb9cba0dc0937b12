"""The per-device memory estimate of a train step (`dslc.compiler.memory`): each part's formula, the placement,
remat and precision, the advice, and the device sizes. No JAX."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.memory import (
    ACTIVATION_FACTOR,
    DEVICE_MEMORY,
    Placement,
    Setup,
    advice,
    estimate,
    largest_batch,
    optimizer_slots,
    over_memory,
    parse_memory,
    setup_of,
)
from dslc.spec.load import load_text

MLP = """\
dslc: 1
model:
  name: mlp
  inputs: {x: [100]}
  layers:
    - dense: {units: 50}
    - dense: {units: 10}
      trainable: false
train:
  loss: softmax_cross_entropy
  optimizer: {adam: {lr: 0.001}}
  batch: 32
  epochs: 1
  data: digits
"""

ONE = Placement()  # one device, the state whole

BLOCKS = """\
dslc: 1
blocks:
  mlp:
    layers:
      - dense: {units: 64, activation: relu}
      - dense: {units: 64}
model:
  name: deep
  inputs: {x: [64]}
  layers:
    - mlp: {}
      repeat: 4
    - dense: {units: 10}
train:
  loss: softmax_cross_entropy
  optimizer: {sgd: {lr: 0.1}}
  batch: 64
  epochs: 1
  data: digits
"""


def planned(text: str, placement: Placement = ONE, **changes: object):  # noqa: ANN201
    loaded = load_text(text, "yaml")
    analysis = analyse(loaded)
    setup = replace(setup_of(loaded.spec.train), **changes)
    return loaded, analysis, setup, estimate(analysis, loaded.graph, setup, placement)


def test_parameters_gradients_and_optimizer_state_by_formula() -> None:
    _, analysis, _, plan = planned(MLP)
    trainable, frozen = 100 * 50 + 50, 50 * 10 + 10
    assert (analysis.totals.trainable, analysis.totals.frozen) == (trainable, frozen)
    assert plan.parameters == 4 * (trainable + frozen)
    assert plan.gradients == 4 * trainable  # frozen layers get no gradient and no optimizer state
    assert plan.optimizer == 2 * 4 * trainable  # adam: two moments
    # inputs (float32) + class ids (int32) + weights, per example
    assert plan.batch == 32 * (100 * 4 + 4 + 4)
    # each dense output once (no fused activation), the loss's float32 copies of the logits
    assert plan.activations == 32 * (int(ACTIVATION_FACTOR * 4 * 50) + int(ACTIVATION_FACTOR * 4 * 10) + 24 * 10)
    assert plan.total == sum(plan.parts.values())


def test_optimizer_slots_follow_the_vocabulary() -> None:
    assert optimizer_slots(Setup(optimizer="sgd")) == 0
    assert optimizer_slots(Setup(optimizer="sgd", momentum=True)) == 1
    assert optimizer_slots(Setup(optimizer="adam")) == optimizer_slots(Setup(optimizer="adamw")) == 2
    assert optimizer_slots(Setup(optimizer="rmsprop")) == 1
    assert optimizer_slots(Setup(optimizer="lion")) == 1


def test_accumulate_devices_and_sharding() -> None:
    _, _, _, plain = planned(MLP)
    _, _, _, accumulated = planned(MLP, accumulate=4)
    assert accumulated.gradients == 2 * plain.gradients  # the running sum and one micro-batch's gradients
    assert accumulated.activations == plain.activations // 4  # one micro-batch of 8 at a time
    _, _, _, spread = planned(MLP, Placement(devices=4))
    assert spread.activations == plain.activations // 4 and spread.batch == plain.batch // 4
    assert spread.parameters == plain.parameters  # replicated
    _, _, _, sharded = planned(MLP, Placement(devices=4, shard_params=4))
    assert sharded.parameters == plain.parameters // 4 and sharded.optimizer == plain.optimizer // 4


def test_remat_keeps_each_block_instance_output_and_the_largest_instance() -> None:
    _, _, _, plain = planned(BLOCKS)
    _, _, _, remat = planned(BLOCKS, remat=True)
    instance = int(ACTIVATION_FACTOR * 4 * 64 * 2) + int(ACTIVATION_FACTOR * 4 * 64)  # relu fused: two tensors
    assert plain.activations - remat.activations == 64 * (3 * instance - 4 * 4 * 64)  # 4 outputs kept
    assert plain.optimizer == 0  # sgd without momentum


def test_bfloat16_halves_floating_activations_only() -> None:
    _, _, _, plain = planned(BLOCKS)
    _, _, _, half = planned(BLOCKS, precision="bfloat16")
    loss = 64 * 24 * 10  # the loss computes in float32 whatever the precision
    assert half.activations - loss == pytest.approx((plain.activations - loss) / 2, rel=0.01)
    assert (half.parameters, half.gradients, half.batch) == (plain.parameters, plain.gradients, plain.batch)


def test_the_largest_batch_that_fits_fits_and_the_next_does_not() -> None:
    loaded, analysis, setup, plan = planned(MLP)
    memory = plan.total - 1
    batch = largest_batch(analysis, loaded.graph, setup, Placement(), memory)
    assert 0 < batch < setup.batch
    assert estimate(analysis, loaded.graph, replace(setup, batch=batch), Placement()).total <= memory
    assert estimate(analysis, loaded.graph, replace(setup, batch=batch + 1), Placement()).total > memory


def test_the_error_names_the_biggest_part_and_what_would_fit() -> None:
    loaded, analysis, _, plan = planned(BLOCKS, batch=4096)
    span = loaded.source_map.nearest(("train", "batch"))
    assert over_memory(analysis, loaded.graph, plan, plan.total, span) is None
    memory = plan.total * 6 // 10
    error = over_memory(analysis, loaded.graph, plan, memory, span)
    assert error is not None and error.code == "E616" and error.span == span
    assert "the biggest part is the activations" in error.message
    changes = advice(analysis, loaded.graph, plan, memory)
    assert any(change.startswith("batch ") for change in changes)
    assert any(change.startswith("remat: true") for change in changes)
    assert any(change.startswith("precision: bfloat16") for change in changes)
    assert any(change.startswith("--devices 2 --shard-params 2") for change in changes)


def test_a_spec_without_a_train_section_is_planned_as_adam_at_batch_1() -> None:
    text = MLP[:MLP.index("train:")]
    _, _, setup, plan = planned(text)
    assert setup.assumed and (setup.optimizer, setup.batch) == ("adam", 1)
    assert plan.optimizer == 2 * plan.gradients


@pytest.mark.parametrize(("text", "expected"), [
    ("80GiB", 80 * 2**30), ("512MiB", 512 * 2**20), ("16GB", 16 * 10**9), ("1000", 1000), ("1.5GiB", 3 * 2**29),
    ("h100", DEVICE_MEMORY["h100"]), ("A100-40GB", 40 * 2**30), ("v5e", 16 * 2**30),
    ("lots", None), ("-1GiB", None), ("0", None), ("nan", None), ("", None),
])
def test_device_memory_sizes_and_names(text: str, expected: int | None) -> None:
    assert parse_memory(text) == expected
