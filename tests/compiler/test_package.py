"""The Flax package's sources (compiler/package*.py) without training: the classes it writes per block kind, the
layers it copies, the weights it maps, and that no spec string can become code."""

from __future__ import annotations

import ast
import importlib
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from dslc.api import analyse, load_text
from dslc.compiler.build import build_model, constructs
from dslc.compiler.package import source_files, weights
from dslc.compiler.package_init import init_source, readme
from dslc.compiler.package_layers import layers_source
from dslc.compiler.package_source import identifier, plan_package
from dslc.compiler.package_structure import Call, Instance, Structure, block_structure
from dslc.spec.expand import Graph

# Nested blocks: `stack` repeats `unit` twice; the two `stack` calls read inputs of different widths (5 and 6),
# which no parameter gives: the width of `proj`'s input becomes an argument of the class.
NESTED = """\
dslc: 1
blocks:
  unit:
    params: [width, {rate: 0.0}]
    layers:
      - dense: {units: $width, activation: relu}
        name: up
      - dropout: {rate: $rate}
      - dense: {units: $width}
        name: down
      - add: {}
        from: [input, down]
  stack:
    params: [width]
    layers:
      - dense: {units: $width}
        name: proj
      - unit: {width: $width}
        repeat: 2
        name: units
      - layernorm
model:
  name: nested
  inputs: {features: [5]}
  layers:
    - stack: {width: 4}
      name: first
    - dense: {units: 6}
    - stack: {width: 3}
      name: second
    - dense: {units: 3}
      name: head
"""


def test_identifiers_are_fresh_python_names() -> None:
    taken: set[str] = set()
    names = [identifier(name, taken) for name in ("conv", "conv", "class", "2x", "a'b\n\"c", "train", "x", "eval")]
    assert names == ["conv", "conv_2", "class_", "layer_2x", "a_b__c", "train_", "x_", "eval_"]
    assert all(name.isidentifier() and name.isascii() for name in names)


def test_layers_copies_only_what_the_classes_need() -> None:
    source = layers_source(["Dense"])
    tree = ast.parse(source)
    defined = {node.name for node in tree.body if isinstance(node, ast.ClassDef | ast.FunctionDef)}
    assert {"Dense", "activate", "initializers"} <= defined and "Conv" not in defined and "Attention" not in defined
    assert "CONSTRUCTORS" not in source and "import functools" not in source  # nothing left unused


def test_a_class_per_block_kind_with_the_same_outputs_as_dslcs_model(tmp_path: Path) -> None:
    loaded = load_text(NESTED)
    analysis = analyse(loaded)
    sources, plan = source_files(loaded, analysis)
    assert sorted(sources) == ["layers.py", "model.py", "stack.py", "unit.py"]
    assert "class Unit(nnx.Module):" in sources["unit.py"] and "class Stack(nnx.Module):" in sources["stack.py"]
    assert "self.units = nnx.List([Unit(width=width, rngs=rngs) for _ in range(2)])" in sources["stack.py"]
    assert "def __init__(self, *, width: int, proj_in_features: int, rngs: nnx.Rngs)" in sources["stack.py"]
    assert "self.layernorm_1 = LayerNorm(num_features=width, rngs=rngs)" in sources["stack.py"]
    assert "self.first = Stack(width=4, proj_in_features=5, rngs=rngs)" in sources["model.py"]
    model = build_model(loaded, analysis, seed=3)
    folder = tmp_path / "nested_package"
    folder.mkdir()
    for name, text in sources.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "__init__.py").write_text(init_source(name="nested", inputs=[("features", (5,), "float32")],
                                                    loss="mse", classes=None, normalized=False, target=False,
                                                    outputs=1), encoding="utf-8")
    save_file(weights(model, plan), str(folder / "weights.safetensors"))
    sys.path.insert(0, str(tmp_path))
    try:
        package = importlib.import_module("nested_package")
        exported = package.load()
        x = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
        np.testing.assert_allclose(np.asarray(package.forward(exported, x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
        assert type(exported.second.units[1]).__name__ == "Unit"
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == "nested_package"]:
            del sys.modules[name]


HOSTILE = "'\"\"\"\nimport os  # "


def _hostile(name: str | None) -> str:
    return "/".join(part + HOSTILE for part in name.split("/")) if name else ""


def _renamed(graph: Graph, structure: Structure) -> tuple[Graph, Structure]:
    """Every layer, instance and input name with quotes and a newline in it (the loader refuses such names: this
    shows that the code generator would not run them either)."""
    nodes = tuple(replace(node, name=_hostile(node.name), inputs=tuple(map(_hostile, node.inputs)),
                          scope=tuple(map(_hostile, node.scope))) for node in graph.nodes)
    inputs = tuple(model_input.model_copy(update={"name": _hostile(model_input.name)}) for model_input in graph.inputs)
    calls = tuple(Call(call.block, tuple(map(_hostile, call.prefix)),
                       [Instance(instance.block, tuple(map(_hostile, instance.path)), instance.arguments,
                                 _hostile(instance.input), _hostile(instance.output)) for instance in call.instances])
                  for call in structure.calls)
    return Graph(inputs, nodes, tuple(map(_hostile, graph.outputs))), Structure(calls)


def test_no_spec_string_becomes_code() -> None:
    loaded = load_text(NESTED)
    built = constructs(loaded.graph, analyse(loaded))
    graph, structure = _renamed(loaded.graph, block_structure(loaded))
    plan = plan_package(loaded.spec, graph, {_hostile(name): construct for name, construct in built.items()},
                        structure)
    sources = [plan.model.source, *(block.source for block in plan.blocks),
               init_source(name=HOSTILE, inputs=[(HOSTILE, (5,), "float32")], loss="mse", classes=(HOSTILE,),
                           normalized=False, target=False, outputs=1)]
    for source in sources:
        tree = ast.parse(source)  # it parses: no name closed a string or a docstring
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
                    for alias in node.names}
        assert "os" not in imported
    assert "self.head_____import_os____ = Dense(" in plan.model.source  # a sanitised attribute name
    assert "import os" not in readme("pkg", HOSTILE.replace("\n", " "), [HOSTILE], []).split("```")[1]


@pytest.mark.parametrize("name", ["my-model", "2fast", "class"])
def test_a_folder_name_that_is_no_package_name_is_refused(tmp_path: Path, name: str) -> None:
    from dslc.compiler.package import check_package_name
    from dslc.spec.errors import DslcErrors

    with pytest.raises(DslcErrors, match="Python identifier"):
        check_package_name(tmp_path / name)


def test_a_folder_that_exists_is_refused(tmp_path: Path) -> None:
    from dslc.compiler.package import check_package_name
    from dslc.spec.errors import DslcErrors

    (tmp_path / "taken").mkdir()
    with pytest.raises(DslcErrors, match="exists already"):
        check_package_name(tmp_path / "taken")
