"""Equivalence with PyTorch: a ConvNeXt against transformers' `ConvNextModel`, and the vision layers against
`torch.nn.functional` (bilinear upsampling, ceil-mode pooling, adaptive pooling, group norm).

On demand (`python -m pytest -m reference tests/reference/test_vision.py -n 0`): needs torch and transformers.
Random weights in float32, copied by a name map through `dslc.compiler.weights` (Linear `(out, in)` ->
`(in, out)`, conv OIHW -> HWIO); inputs NCHW in PyTorch, NHWC in dslc.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import SpecModel, build_model
from dslc.compiler.weights import assign_weights
from dslc.spec.layers import _flax
from dslc.spec.load import load_text

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
F = torch.nn.functional

pytestmark = pytest.mark.reference
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}

# A two-stage ConvNeXt (widths 8 and 16, one block each) spelled out layer by layer, so that each dslc name
# maps to one PyTorch name.
CONVNEXT = """dslc: 1
model:
  name: convnext_reference
  inputs: {image: [32, 32, 3]}
  layers:
    - conv2d: {filters: 8, kernel: 4, stride: 4}
      name: stem
    - layernorm: {epsilon: 1.0e-6}
      name: stem_norm
    - conv2d: {filters: 8, kernel: 7, padding: [[3, 3], [3, 3]], groups: depthwise}
      name: s0_dwconv
    - layernorm: {epsilon: 1.0e-6}
      name: s0_norm
    - dense: {units: 32, activation: gelu}
      name: s0_pw1
    - dense: {units: 8}
      name: s0_pw2
    - layer_scale: {init: 0.5}
      name: s0_scale
    - add: {}
      from: [stem_norm, s0_scale]
      name: s0_out
    - layernorm: {epsilon: 1.0e-6}
      name: down_norm
    - conv2d: {filters: 16, kernel: 2, stride: 2}
      name: down_conv
    - conv2d: {filters: 16, kernel: 7, padding: [[3, 3], [3, 3]], groups: depthwise}
      name: s1_dwconv
    - layernorm: {epsilon: 1.0e-6}
      name: s1_norm
    - dense: {units: 64, activation: gelu}
      name: s1_pw1
    - dense: {units: 16}
      name: s1_pw2
    - layer_scale: {init: 0.5}
      name: s1_scale
    - add: {}
      from: [down_conv, s1_scale]
      name: features
    - global_avgpool
    - layernorm: {epsilon: 1.0e-6}
      name: head_norm
"""


def _block(stage: int) -> dict[str, str]:
    prefix = f"encoder.stages.{stage}.layers.0"
    return {f"s{stage}_dwconv": f"{prefix}.dwconv", f"s{stage}_norm": f"{prefix}.layernorm",
            f"s{stage}_pw1": f"{prefix}.pwconv1", f"s{stage}_pw2": f"{prefix}.pwconv2"}


# dslc layer -> PyTorch module prefix (its `weight` and `bias`); the layer scales are one tensor each.
MODULES = {"stem": "embeddings.patch_embeddings", "stem_norm": "embeddings.layernorm", **_block(0), **_block(1),
           "down_norm": "encoder.stages.1.downsampling_layer.0", "down_conv": "encoder.stages.1.downsampling_layer.1",
           "head_norm": "layernorm"}
SCALES = {"s0_scale": "encoder.stages.0.layers.0.layer_scale_parameter",
          "s1_scale": "encoder.stages.1.layers.0.layer_scale_parameter"}


def _weight(array: np.ndarray) -> np.ndarray:
    """A PyTorch weight in Flax's layout: Linear (out, in) -> (in, out); conv OIHW -> HWIO; norms as they are."""
    if array.ndim == 2:
        return array.T
    if array.ndim == 4:
        return array.transpose(2, 3, 1, 0)
    return array


def convnext_weights(torch_state: dict[str, Any]) -> dict[str, np.ndarray]:
    """{dslc weight name: array} from a `ConvNextModel` state dict."""
    state = {name: value.detach().numpy() for name, value in torch_state.items()}
    weights: dict[str, np.ndarray] = {}
    for layer, prefix in MODULES.items():
        first = "scale" if "norm" in layer else "kernel"
        weights[f"layers.{layer}.{first}"] = _weight(state[f"{prefix}.weight"])
        weights[f"layers.{layer}.bias"] = state[f"{prefix}.bias"]
    for layer, name in SCALES.items():
        weights[f"layers.{layer}.scale"] = state[name]
    return weights


def built(text: str) -> SpecModel:
    loaded = load_text(text, "yaml")
    return build_model(loaded, analyse(loaded))


def test_convnext_matches_transformers() -> None:
    torch.manual_seed(0)
    config = transformers.ConvNextConfig(num_channels=3, patch_size=4, num_stages=2, hidden_sizes=[8, 16],
                                         depths=[1, 1], hidden_act="gelu", layer_scale_init_value=0.5,
                                         drop_path_rate=0.0, layer_norm_eps=1e-6)
    reference = transformers.ConvNextModel(config).eval()
    with torch.no_grad():  # move the norms off their (1, 0) initial values so that a swapped name shows
        for name, value in reference.named_parameters():
            if "layernorm" in name or "downsampling_layer.0" in name or "layer_scale" in name:
                value.add_(0.1 * torch.randn_like(value))
    model = built(CONVNEXT)
    assign_weights(model, convnext_weights(reference.state_dict()), "ConvNextModel")
    image = np.random.default_rng(0).standard_normal((2, 3, 32, 32), dtype=np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(image)).pooler_output.numpy()
    got = np.asarray(model(jnp.asarray(image.transpose(0, 2, 3, 1))))
    print(f"convnext max abs diff {np.abs(got - expected).max():.2e}")
    np.testing.assert_allclose(got, expected, **TOLERANCE)


def _nchw(x: np.ndarray) -> Any:
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy())


def _nhwc(x: Any) -> np.ndarray:
    return x.numpy().transpose(0, 2, 3, 1)


IMAGE = np.random.default_rng(1).standard_normal((2, 7, 9, 3), dtype=np.float32)


@pytest.mark.parametrize("factor", [(2, 2), (3, 2)])
def test_bilinear_upsampling_matches_interpolate_without_aligned_corners(factor: tuple[int, int]) -> None:
    got = np.asarray(_flax.Upsample(factor, method="bilinear")(jnp.asarray(IMAGE)))
    expected = _nhwc(F.interpolate(_nchw(IMAGE), scale_factor=factor, mode="bilinear", align_corners=False))
    print(f"bilinear {factor} max abs diff {np.abs(got - expected).max():.2e}")
    np.testing.assert_allclose(got, expected, **TOLERANCE)


# On 7x9: 2/2 and avg 2/3 round up on both axes; max 2/2 with padding 1 would round up to a last window that
# starts in the padding, which PyTorch (and dslc) drop. Average pooling is compared without padding only:
# PyTorch counts explicit padding in the divisor (count_include_pad), dslc does not (as Keras).
@pytest.mark.parametrize(("op", "window", "stride", "padding"), [
    ("max", 3, 2, 0), ("max", 2, 2, 0), ("max", 3, 2, 1), ("max", 2, 2, 1), ("avg", 2, 2, 0), ("avg", 2, 3, 0),
])
def test_ceil_mode_pooling_matches_torch(op: str, window: int, stride: int, padding: int) -> None:
    text = (f"dslc: 1\nmodel:\n  name: m\n  inputs: {{x: [7, 9, 3]}}\n  layers:\n"
            f"    - {op}pool: {{window: {window}, stride: {stride}, padding: [[{padding}, {padding}], "
            f"[{padding}, {padding}]], ceil_mode: true}}\n")
    got = np.asarray(built(text)(jnp.asarray(IMAGE)))
    pool = F.max_pool2d if op == "max" else F.avg_pool2d
    expected = _nhwc(pool(_nchw(IMAGE), window, stride, padding, ceil_mode=True))
    print(f"{op}pool {window}/{stride} pad {padding} max abs diff {np.abs(got - expected).max():.2e}")
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_adaptive_average_pooling_matches_torch() -> None:
    got = np.asarray(_flax.AdaptiveAvgPool((7, 9), (3, 4))(jnp.asarray(IMAGE)))
    expected = _nhwc(F.adaptive_avg_pool2d(_nchw(IMAGE), (3, 4)))
    print(f"adaptive avgpool max abs diff {np.abs(got - expected).max():.2e}")
    np.testing.assert_allclose(got, expected, **TOLERANCE)


def test_group_norm_matches_torch() -> None:
    x = np.random.default_rng(2).standard_normal((2, 5, 4, 6), dtype=np.float32)
    got = np.asarray(_flax.GroupNorm(6, groups=3, rngs=nnx.Rngs(0))(jnp.asarray(x)))
    expected = _nhwc(F.group_norm(_nchw(x), 3, eps=1e-5))
    print(f"groupnorm max abs diff {np.abs(got - expected).max():.2e}")
    np.testing.assert_allclose(got, expected, **TOLERANCE)
