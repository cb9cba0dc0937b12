"""`diff_specs`: two loaded specs and their analyses -> a `SpecDiff` of everything the specs say.

The IR is compared, never the text: a spec and its conversion to the other syntax are the same spec.
"""

from __future__ import annotations

from dataclasses import dataclass

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.diff.blocks import BlockChange, diff_blocks
from dslc.compiler.diff.consequences import Consequences, consequences
from dslc.compiler.diff.model import diff_model_keys
from dslc.compiler.diff.steps import Side, StepsDiff, diff_steps
from dslc.compiler.diff.train import diff_train
from dslc.compiler.diff.values import ValueChange
from dslc.spec.load import LoadedSpec


@dataclass(frozen=True)
class SpecDiff:
    old_file: str
    new_file: str
    old_model: str
    new_model: str
    model: tuple[ValueChange, ...]  # the model's name, inputs and outputs
    layers: StepsDiff  # the model's steps (a block call as a call: its block's body is in `blocks`)
    blocks: tuple[BlockChange, ...]
    train: tuple[ValueChange, ...]
    consequences: Consequences

    @property
    def unchanged(self) -> bool:
        """True when the two specs say the same (the consequences then follow: nothing else can differ)."""
        return not (self.model or self.layers.changes or self.blocks or self.train)


def diff_specs(old_loaded: LoadedSpec, old_analysis: Analysis, new_loaded: LoadedSpec,
               new_analysis: Analysis) -> SpecDiff:
    old, new = old_loaded.spec, new_loaded.spec
    old_map, new_map = old_loaded.source_map, new_loaded.source_map
    layers = diff_steps(Side(old.model.layers, old_map, ("model", "layers")),
                        Side(new.model.layers, new_map, ("model", "layers")))
    blocks = diff_blocks(old, old_map, new, new_map)
    return SpecDiff(
        old_file=old_analysis.file, new_file=new_analysis.file, old_model=old.model.name, new_model=new.model.name,
        model=diff_model_keys(old.model, new.model, new_map), layers=layers, blocks=blocks.changes,
        train=diff_train(old.train, new.train, new_map, old_map),
        consequences=consequences(old, old_analysis, new_analysis, layers, blocks.bodies))
