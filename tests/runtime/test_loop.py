"""The training loop's staging: batches gathered on the device from a resident train split equal the host's."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from dslc.runtime import loop
from dslc.runtime.chunks import chunk_rows
from dslc.runtime.data import Dataset, Split


def _dataset(examples: int = 50) -> Dataset:
    rng = np.random.default_rng(0)
    train = Split((rng.standard_normal((examples, 3, 2), dtype=np.float32),
                   rng.integers(-5, 5, (examples, 4)).astype(np.int32)), rng.integers(0, 10, examples).astype(np.int32))
    empty = Split(tuple(x[:0] for x in train.inputs), train.target[:0])
    return Dataset(train, empty, empty)


@pytest.mark.parametrize("fuse", [1, 4])
def test_batches_gathered_on_the_device_equal_the_hosts(monkeypatch: pytest.MonkeyPatch, fuse: int) -> None:
    dataset = _dataset()  # 7 batches of 8 an epoch, the last padded
    plan = loop.Plan(epochs=3, batch=8, seed=1, fuse=fuse)
    position = 7 + 4  # epoch 2, after its first 4 steps
    resident = loop._Stager(dataset, None, plan, position)
    monkeypatch.setattr(loop, "RESIDENT_BYTES", 0)
    host = loop._Stager(dataset, None, plan, position)
    assert resident.resident is not None and host.resident is None
    todo = [(epoch, chunk) for epoch in (2, 3) for chunk in loop.chunks(7, fuse) if epoch == 3 or chunk.start >= 4]
    for epoch, chunk in todo:
        on_device, on_host = resident(chunk, epoch), host(chunk, epoch)
        assert jax.tree.structure(on_device) == jax.tree.structure(on_host)
        for a, b in zip(jax.tree.leaves(on_device), jax.tree.leaves(on_host), strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        index, weight = chunk_rows(dataset.batch_indices("train", 8, epoch, 1, shuffle=True), chunk)
        np.testing.assert_array_equal(np.asarray(on_host.target), dataset.train.target[index])
        np.testing.assert_array_equal(np.asarray(on_host.weight), weight)
        assert on_device.inputs[0].shape == ((8, 3, 2) if chunk.size == 1 else (chunk.size, 8, 3, 2))
    with pytest.raises(StopIteration):  # the run's last chunk was the last the pipeline made
        resident(loop.Chunk(0, 1), 4)
