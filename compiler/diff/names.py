"""The names a reviewer sees for the steps of a sequence: the explicit name, else the automatic one.

Automatic names are those the expansion gives (`dslc.spec.expand`): `<kind>_<n>` with the next n free
in the sequence, explicit names reserved first; a block call is named after its block. Within a block
body the same rule names its steps (the expanded layer is then `<instance>/<name>`).
"""

from __future__ import annotations

from dslc.spec.ir import LayerCall, Step


def step_kind(step: Step) -> str:
    """The layer kind, or the called block's name (what an automatic name is made of)."""
    return step.kind if isinstance(step, LayerCall) else step.block


def step_names(steps: tuple[Step, ...]) -> list[str]:
    taken = {step.name for step in steps if step.name is not None}
    next_number: dict[str, int] = {}
    names: list[str] = []
    for step in steps:
        if step.name is not None:
            names.append(step.name)
            continue
        kind = step_kind(step)
        number = next_number.get(kind, 1)
        while f"{kind}_{number}" in taken:
            number += 1
        next_number[kind] = number + 1
        taken.add(f"{kind}_{number}")
        names.append(f"{kind}_{number}")
    return names
