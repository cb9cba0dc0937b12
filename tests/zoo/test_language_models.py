"""The language models of the zoo: GPT-2 small and SmolLM2-135M at their published sizes, and tiny variants that train.

The full models are only analysed and built abstractly (`nnx.eval_shape`: nothing is allocated); their tiny
variants, with the same layer kinds, train a few steps on synthetic token sequences.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import jax
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.runtime.training import TrainOptions, train_and_evaluate
from dslc.spec.load import load

ZOO = Path(__file__).resolve().parent.parent.parent / "examples" / "zoo"
# Trainable parameters as published (Hugging Face's model cards and `num_parameters()`): tied heads count once.
PUBLISHED = {"gpt2_small": 124_439_808, "smollm2_135m": 134_515_008}
TINY = [f"{name}_tiny" for name in PUBLISHED]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_full_model_has_the_published_parameter_count(name: str) -> None:
    loaded = load(ZOO / f"{name}.yaml")
    analysis = analyse(loaded)
    assert (analysis.totals.trainable, analysis.totals.frozen) == (PUBLISHED[name], 0)
    model = nnx.eval_shape(lambda: build_model(loaded, analysis))
    built = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert built == PUBLISHED[name]


@pytest.mark.parametrize("name", [*sorted(PUBLISHED), *TINY])
def test_dsl_and_yaml_give_the_same_model(name: str) -> None:
    yaml, dsl = load(ZOO / f"{name}.yaml"), load(ZOO / f"{name}.dsl")
    assert dsl.spec == yaml.spec
    assert analyse(dsl).totals == analyse(yaml).totals


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_tiny_variant_has_the_full_models_layer_kinds(name: str) -> None:
    def kinds(path: Path) -> set[str]:
        return {node.kind for node in load(path).graph.nodes}

    assert kinds(ZOO / f"{name}_tiny.yaml") == kinds(ZOO / f"{name}.yaml")


@pytest.mark.parametrize("name", TINY)
def test_tiny_variant_trains(name: str, tmp_path: Path) -> None:
    train_and_evaluate(ZOO / f"{name}.yaml", TrainOptions(workdir=tmp_path, compile_cache="off"))
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    losses = [record["loss"] for record in records if record["split"] == "train"]
    assert len(losses) == 2 and all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0]
