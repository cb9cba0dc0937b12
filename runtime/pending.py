"""A fresh training state still being made on a background thread, and what is known of it already.

XLA compiles a program on one core. A cold run used to compile its initialisation, run it, and only then compile
its train step, while the second core had only the evaluation steps to compile. The train and evaluation steps need
the state's shapes, dtypes and shardings alone, which tracing the initialisation gives at once; so `open_session`
hands out a `PendingState` whose thread compiles and runs the initialisation while the loop compiles its steps
(docs/performance.md#overlapped-compilation). Whoever needs the arrays themselves waits for them with `ready`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jax


class PendingState:
    """The state `make()` returns, made on a thread of its own; `abstract`: its shapes, dtypes and shardings."""

    def __init__(self, abstract: Any, make: Callable[[], Any], device: jax.Device) -> None:
        self.abstract = abstract
        self._made: list[Any] = []
        self._failed: list[BaseException] = []

        def run() -> None:
            try:
                with jax.default_device(device):  # JAX's default device is per thread
                    self._made.append(make())
            except BaseException as error:  # noqa: BLE001 - raised again in the thread that waits for the state
                self._failed.append(error)

        self._thread = threading.Thread(target=run, name="dslc-initialise", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Until the state is made, or its making failed (`result` raises that)."""
        self._thread.join()

    def result(self) -> Any:
        self.wait()
        if self._failed:
            raise self._failed[0]
        return self._made[0]


def ready(state: Any) -> Any:
    """The state's arrays: `state` itself, or a `PendingState`'s once made."""
    return state.result() if isinstance(state, PendingState) else state


def abstract_state(state: Any) -> Any:
    """The shapes, dtypes and shardings of a state's leaves (or a `PendingState`'s), for compiling the steps that
    take it without waiting for (or holding on to) its buffers."""
    if isinstance(state, PendingState):
        return state.abstract
    return shapes_of(state, lambda leaf: leaf.sharding)


def shapes_of(tree: Any, sharding: Callable[[Any], Any]) -> Any:
    """`tree`'s leaves (arrays or shapes) as shapes and dtypes, each with the sharding `sharding(leaf)` gives."""
    return jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding(leaf),
                                                          weak_type=getattr(leaf, "weak_type", False)), tree)
