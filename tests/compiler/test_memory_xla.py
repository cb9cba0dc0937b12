"""The planned memory of a train step (`dslc.compiler.memory`, no JAX) against XLA's own memory analysis of the
compiled step (`dslc.compiler.memory_xla`): small zoo models at a small batch, compiled on the CPU, never run.
bench/memory_estimate.py does the same for every zoo model."""

from __future__ import annotations

from pathlib import Path

import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.memory import OVER, UNDER, estimate, setup_of
from dslc.compiler.memory_xla import compiled_step_memory
from dslc.spec.load import load

ZOO = Path(__file__).resolve().parent.parent.parent / "examples" / "zoo"


@pytest.mark.parametrize(("name", "batch"), [("gpt2_small_tiny", 4), ("convnext_tiny_tiny", 4), ("moe_tiny", 4)])
def test_the_estimate_is_within_its_stated_error_of_xla(name: str, batch: int) -> None:
    loaded = load(ZOO / f"{name}.yaml")
    assert loaded.spec.train is not None
    train = loaded.spec.train.model_copy(update={"batch": batch})
    analysis = analyse(loaded)
    planned = estimate(analysis, loaded.graph, setup_of(train))
    xla = compiled_step_memory(loaded, analysis, train)
    assert xla.alias > 0  # the state is donated: updated in place
    assert (1 - UNDER) * xla.total <= planned.total <= (1 + OVER) * xla.total, (planned.parts, xla)
