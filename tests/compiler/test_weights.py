"""Weights by name: the names are the model's variable paths, a file round-trips parameters and batch statistics,
and a file that does not fit (missing, unexpected, mis-shaped tensors) is refused whole with every problem listed."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import load_file, save_file

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import SpecModel, build_model
from dslc.compiler.random_draws import flat_drawing
from dslc.compiler.weights import WeightsError, assign_weights, load_weights, parameter_names, save_weights
from dslc.spec.load import load, load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"

SPEC = """
dslc: 1
model:
  name: small
  inputs: {x: [6, 6, 2]}
  layers:
    - conv2d: {filters: 3, kernel: 3, use_bias: false}
      name: conv
    - batchnorm: {}
      name: bn
    - flatten: {}
    - dense: {units: 4}
      name: head
"""


def _model(seed: int = 0) -> SpecModel:
    loaded = load_text(SPEC, "yaml")
    return build_model(loaded, analyse(loaded), seed=seed)


def _arrays(model: SpecModel) -> dict[str, np.ndarray]:
    """A snapshot of every parameter and batch statistic."""
    return {str(path): np.array(node.get_value()) for path, node in nnx.iter_graph(model)
            if isinstance(node, nnx.Param | nnx.BatchStat)}


def test_names_are_the_variable_paths_with_shapes() -> None:
    assert parameter_names(_model()) == {
        "layers.conv.kernel": (3, 3, 2, 3),
        "layers.bn.scale": (3,), "layers.bn.bias": (3,), "layers.bn.mean": (3,), "layers.bn.var": (3,),
        "layers.head.kernel": (48, 4), "layers.head.bias": (4,),
    }


def test_round_trip_keeps_parameters_and_batch_statistics(tmp_path: Path) -> None:
    source = _model(seed=1)
    source.layers["bn"].mean.set_value(source.layers["bn"].mean.get_value() + 0.5)  # as after training
    source.layers["bn"].var.set_value(source.layers["bn"].var.get_value() * 3.0)
    save_weights(source, tmp_path / "w.safetensors")
    target = _model(seed=2)
    load_weights(target, tmp_path / "w.safetensors")
    x = jax.random.normal(flat_drawing(0), (2, 6, 6, 2))
    np.testing.assert_array_equal(np.asarray(target(x)), np.asarray(source(x)))
    np.testing.assert_array_equal(np.asarray(target.layers["bn"].var.get_value()),
                                  np.asarray(source.layers["bn"].var.get_value()))


def _refused(model: SpecModel, arrays: dict[str, np.ndarray]) -> str:
    before = {name: value.copy() for name, value in _arrays(model).items()}
    with pytest.raises(WeightsError) as error:
        assign_weights(model, arrays)
    after = _arrays(model)
    assert all(np.array_equal(before[name], after[name]) for name in before), "a refused file changed the model"
    return str(error.value)


def test_missing_unexpected_and_misshaped_are_all_listed_and_nothing_loads() -> None:
    model = _model()
    arrays = {name: np.zeros(shape, np.float32) for name, shape in parameter_names(model).items()}
    arrays["layers.head.kernal"] = arrays.pop("layers.head.kernel")
    del arrays["layers.bn.var"]
    arrays["layers.conv.kernel"] = np.zeros((3, 3, 3, 2), np.float32)
    arrays["layers.extra.bias"] = np.zeros(2, np.float32)
    message = _refused(model, arrays)
    assert "nothing was loaded" in message
    assert "missing: layers.bn.var" in message and "missing: layers.head.kernel" in message
    assert "unexpected: layers.head.kernal (did you mean 'layers.head.kernel'?)" in message
    assert "unexpected: layers.extra.bias\n" in message + "\n"
    assert "mis-shaped: layers.conv.kernel: [3, 3, 3, 2] given, the model's is [3, 3, 2, 3]" in message


def test_a_long_list_is_cut_with_a_count() -> None:
    model = _model()
    arrays = {name: np.zeros(shape, np.float32) for name, shape in parameter_names(model).items()}
    arrays.update({f"extra.{index}": np.zeros(1, np.float32) for index in range(25)})
    message = _refused(model, arrays)
    assert message.count("unexpected:") == 20 and "... and 5 more unexpected" in message


def test_rename_maps_file_names_and_dtype_is_cast(tmp_path: Path) -> None:
    model = _model()
    arrays = {name: np.full(shape, 0.25, np.float64) for name, shape in parameter_names(model).items()}
    arrays["conv.weight"] = arrays.pop("layers.conv.kernel")
    save_file(arrays, str(tmp_path / "theirs.safetensors"))
    load_weights(model, tmp_path / "theirs.safetensors", rename={"conv.weight": "layers.conv.kernel"})
    kernel = model.layers["conv"].kernel.get_value()
    assert kernel.dtype == np.float32 and float(kernel[0, 0, 0, 0]) == 0.25
    with pytest.raises(WeightsError, match="unexpected: conv.weight"):
        load_weights(model, tmp_path / "theirs.safetensors")


def test_a_real_spec_model_saves_every_tensor(tmp_path: Path) -> None:
    loaded = load(EXAMPLES / "resnet_digits.yaml")
    analysis = analyse(loaded)
    model = nnx.eval_shape(lambda: build_model(loaded, analysis))  # filled below: no initialiser runs
    other = nnx.clone(model)
    names = parameter_names(model)
    counted = sum(layer.params + layer.state for layer in analysis.layers)
    assert sum(int(np.prod(shape)) for shape in names.values()) == counted
    random = np.random.default_rng(0)
    assign_weights(model, {name: random.uniform(0.5, 1.5, size=shape) for name, shape in names.items()})  # var > 0
    save_weights(model, tmp_path / "resnet.safetensors")
    stored = load_file(str(tmp_path / "resnet.safetensors"))
    assert {name: value.shape for name, value in stored.items()} == names
    load_weights(other, tmp_path / "resnet.safetensors")
    x = random.normal(size=(2, *analysis.inputs[0][1].shape)).astype(np.float32)
    outputs = np.asarray(model(x))
    assert np.isfinite(outputs).all()
    np.testing.assert_array_equal(np.asarray(other(x)), outputs)


def test_the_command_lists_names_and_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    from dslc.runtime.cli import main

    assert main(["weights", str(EXAMPLES / "resnet_digits.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layers.logits.bias", "[10]"]
    assert ["layers.stage.1/batchnorm_1.mean", "[16]"] in [line.split() for line in lines]
