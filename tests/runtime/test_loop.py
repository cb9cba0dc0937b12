"""The training loop's staging: batches gathered on the device from a resident train split equal the host's."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from dslc.runtime import loop
from dslc.runtime.data import Dataset, Split


def _dataset(examples: int = 50) -> Dataset:
    rng = np.random.default_rng(0)
    train = Split((rng.standard_normal((examples, 3, 2), dtype=np.float32),
                   rng.integers(-5, 5, (examples, 4)).astype(np.int32)), rng.integers(0, 10, examples).astype(np.int32))
    empty = Split(tuple(x[:0] for x in train.inputs), train.target[:0])
    return Dataset(train, empty, empty)


@pytest.mark.parametrize("size", [1, 4])
def test_batches_gathered_on_the_device_equal_the_hosts(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    dataset = _dataset()
    order = dataset.batch_indices("train", 8, epoch=3, seed=1, shuffle=True)  # 7 batches, the last padded
    chunk = loop.Chunk(start=3, size=size)  # 4 batches: up to the last, padded one
    resident = loop._Stager(dataset, placement=None)
    monkeypatch.setattr(loop, "RESIDENT_BYTES", 0)
    host = loop._Stager(dataset, placement=None)
    assert resident.resident is not None and host.resident is None
    on_device, on_host = resident(order, chunk, 3), host(order, chunk, 3)
    assert jax.tree.structure(on_device) == jax.tree.structure(on_host)
    for a, b in zip(jax.tree.leaves(on_device), jax.tree.leaves(on_host), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    expected_shape = (8, 3, 2) if size == 1 else (size, 8, 3, 2)
    assert on_device.inputs[0].shape == expected_shape
    assert float(np.asarray(on_device.weight).sum()) == (8 if size == 1 else 4 * 8 - 6)  # 6 padding rows
