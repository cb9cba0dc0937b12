"""Weights by name against PyTorch: a small convolutional network's state_dict (batch statistics included),
renamed and transposed into dslc's layout, computes in dslc what it computes in PyTorch.

On demand: `python -m pytest -m reference tests/reference/test_misc.py -n 0` (needs torch).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import build_model
from dslc.compiler.weights import load_weights, parameter_names
from dslc.spec.load import load_text

torch = pytest.importorskip("torch")

SPEC = """dslc 1
model small_cnn(image: [8, 8, 3]) {
  conv: conv2d(16, 3, padding=same, use_bias=false)
  bn: batchnorm(epsilon=1e-5)
  relu
  depthwise: conv2d(16, 3, padding=[[1, 1], [1, 1]], groups=depthwise, stride=2)
  global_avgpool
  fc: dense(5)
}
"""

# `padding=same` with stride 2 pads (0, 1) as TensorFlow does; PyTorch's `padding=1` pads (1, 1): explicit here.
CONV = (2, 3, 1, 0)  # PyTorch's (out, in, h, w) -> Flax's (h, w, in, out)


class SmallCNN(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = torch.nn.BatchNorm2d(16, eps=1e-5)
        self.depthwise = torch.nn.Conv2d(16, 16, 3, padding=1, stride=2, groups=16)
        self.fc = torch.nn.Linear(16, 5)

    def forward(self, x):  # type: ignore[no-untyped-def]
        x = self.depthwise(torch.relu(self.bn(self.conv(x))))
        return self.fc(x.mean(dim=(2, 3)))


def dslc_names(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The name map: PyTorch's state_dict names and layouts -> dslc's."""
    renamed = {"weight": "kernel", "bias": "bias", "running_mean": "mean", "running_var": "var"}
    converted = {}
    for name, array in state.items():
        layer, attribute = name.split(".")
        if attribute == "num_batches_tracked":
            continue
        if layer == "bn" and attribute == "weight":
            converted["layers.bn.scale"] = array
            continue
        if attribute == "weight":
            array = array.transpose(CONV) if array.ndim == 4 else array.T
        converted[f"layers.{layer}.{renamed[attribute]}"] = array
    return converted


@pytest.mark.reference
def test_a_pytorch_state_dict_loads_and_computes_the_same(tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = SmallCNN()
    with torch.no_grad():  # running statistics as after training
        reference.bn.running_mean.uniform_(-0.5, 0.5)
        reference.bn.running_var.uniform_(0.5, 2.0)
        reference.bn.weight.uniform_(0.5, 1.5)
        reference.bn.bias.uniform_(-0.5, 0.5)
    reference.eval()
    loaded = load_text(SPEC, "dsl")
    model = build_model(loaded, analyse(loaded))
    arrays = dslc_names({name: value.numpy() for name, value in reference.state_dict().items()})
    assert set(arrays) == set(parameter_names(model))
    save_file({name: np.ascontiguousarray(array) for name, array in arrays.items()}, str(tmp_path / "cnn.safetensors"))
    load_weights(model, tmp_path / "cnn.safetensors")
    x = np.random.default_rng(0).normal(size=(4, 3, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    got = np.asarray(model(x.transpose(0, 2, 3, 1)))  # NCHW -> NHWC
    difference = float(np.abs(got - expected).max())
    print(f"max abs difference: {difference:.2e}")
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
