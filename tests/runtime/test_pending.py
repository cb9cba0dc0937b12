"""A fresh state made on its own thread while the steps compile (`dslc.runtime.pending`): the same training, its
errors raised where it is waited for, and the evaluation steps compiled only once it is made."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

from dslc.compiler.random_draws import is_key
from dslc.runtime import loop
from dslc.runtime.pending import PendingState, abstract_state, ready
from dslc.runtime.programs import ProgramCache
from dslc.runtime.runlog import RunLog
from dslc.runtime.session import Session, load_for_training, open_session
from dslc.spec.limits import DEFAULT_LIMITS
from dslc.spec.load import load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
# the digits MLP, smaller: 5 steps of 256 an epoch
TINY = ((EXAMPLES / "digits_mlp.yaml").read_text().replace("units: 128", "units: 16").replace("units: 64", "units: 16")
        .replace("batch: 64", "batch: 256"))


def _session() -> Session:
    loaded, train = load_for_training(load_text(TINY, "yaml", "tiny.yaml"), DEFAULT_LIMITS)
    return open_session(loaded, train, 0, "cpu", "off")


def _trained(session: Session, state: Any, workdir: Path) -> list[np.ndarray]:
    plan = loop.Plan(epochs=2, batch=session.train.batch, seed=0, fuse=2)
    result = loop.run_training(session.steps, state, session.dataset, plan, log=RunLog(workdir, write=False),
                               placement=session.placement)
    return [np.asarray(jax.random.key_data(leaf) if is_key(leaf) else leaf) for leaf in jax.tree.leaves(result.state)]


def test_training_from_a_state_still_being_made_is_training_from_the_made_state(tmp_path: Path) -> None:
    pending, made = _session(), _session()
    assert isinstance(pending.fresh, PendingState)
    for left, right in zip(jax.tree.leaves(abstract_state(pending.fresh)), jax.tree.leaves(made.state), strict=True):
        assert (left.shape, left.dtype, left.sharding) == (right.shape, right.dtype, right.sharding)
    from_pending = _trained(pending, pending.fresh, tmp_path / "pending")
    from_made = _trained(made, made.state, tmp_path / "made")
    for ours, theirs in zip(from_pending, from_made, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_failure_to_make_the_state_is_raised_where_it_is_waited_for() -> None:
    def make() -> Any:
        raise MemoryError("no room for the parameters")

    pending = PendingState({"w": jax.ShapeDtypeStruct((2,), np.float32)}, make, jax.devices()[0])
    pending.wait()  # waiting alone does not raise
    with pytest.raises(MemoryError, match="no room"):
        ready(pending)
    assert ready(made := {"w": np.zeros(2)}) is made


def test_the_evaluation_steps_compile_once_the_state_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    session = _session()
    state = session.state
    gate, called = threading.Event(), threading.Event()
    made_by_then: list[bool] = []
    pending = PendingState(abstract_state(state), lambda: gate.wait() and state, jax.devices()[0])
    compile_for_real = ProgramCache.compiled

    def compiled(self: ProgramCache, name: str, jitted: Any, *args: Any, donate: bool = False) -> Any:
        made_by_then.append(gate.is_set())
        called.set()
        return compile_for_real(self, name, jitted, *args, donate=donate)

    monkeypatch.setattr(ProgramCache, "compiled", compiled)
    early = loop._EarlyEvaluation(session.steps, pending, session.dataset, session.train.batch, 2, None,
                                  ProgramCache(None))
    early.start()
    assert not called.wait(timeout=1.0)  # nothing compiled while the state is being made
    gate.set()
    assert early.join("validation") is not None
    assert made_by_then and all(made_by_then)
