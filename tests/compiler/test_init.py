"""Per-layer initialisers: the built parameters have the statistics each name promises, zeros, ones and
constants are exact, both syntaxes say the same, and incomplete or misplaced options are located spec errors."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
import pytest
from flax import nnx

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.build import SpecModel, build_model
from dslc.spec.errors import DslcErrors
from dslc.spec.layers._init import MEANINGS, Initializer
from dslc.spec.load import load_text

WIDTH = 512  # dense layers WIDTH -> WIDTH: 262,144 draws each, so a std is within about 0.3 %
CHANNELS = 32  # conv 3x3, CHANNELS -> 2 * CHANNELS: fan_in 288, fan_out 576

DSL = f"""dslc 1
model inits(x: [{WIDTH}], image: [6, 6, {CHANNELS}], ids: int32[3]) {{
  normal: dense({WIDTH}, kernel_init=normal, kernel_std=0.02, bias_init=constant, bias_value=0.5, from=x)
  truncated: dense({WIDTH}, kernel_init=truncated_normal, kernel_std=0.1, bias_init=ones, from=x)
  he: dense({WIDTH}, kernel_init=he_normal, bias_init=normal, bias_std=1.0, from=x)
  lecun: dense({WIDTH}, kernel_init=lecun_uniform, from=x)
  zero: dense({WIDTH}, kernel_init=zeros, bias_init=zeros, from=x)
  xavier: conv2d({2 * CHANNELS}, 3, kernel_init=xavier_uniform, from=image)
  glorot: conv2d({2 * CHANNELS}, 3, kernel_init=glorot_normal, from=image)
  kaiming: conv2d_transpose({2 * CHANNELS}, 3, kernel_init=kaiming_uniform, bias_init=constant, bias_value=-1,
                            from=image)
  plain: conv2d({2 * CHANNELS}, 3, from=image)
  table: embedding({WIDTH}, {WIDTH}, embedding_init=normal, embedding_std=0.02, from=ids)
  default_table: embedding({WIDTH}, {WIDTH}, from=ids)
}}
"""

YAML = f"""dslc: 1
model:
  name: inits
  inputs: {{x: [{WIDTH}], image: [6, 6, {CHANNELS}]}}
  layers:
    - dense: {{units: {WIDTH}, kernel_init: normal, kernel_std: 0.02, bias_init: constant, bias_value: 0.5}}
      name: normal
      from: x
"""


@pytest.fixture(scope="module")
def model() -> SpecModel:
    loaded = load_text(DSL, "dsl")
    analysis = analyse(loaded)
    return nnx.jit(lambda: build_model(loaded, analysis))()  # one compiled program, not a dispatch per initialiser


def _array(model: SpecModel, layer: str, name: str = "kernel") -> np.ndarray:
    return np.asarray(getattr(model.layers[layer], name).get_value())


def test_normal_and_truncated_normal_have_their_std(model: SpecModel) -> None:
    assert _array(model, "normal").std() == pytest.approx(0.02, rel=0.01)
    assert abs(_array(model, "normal").mean()) < 1e-3
    assert _array(model, "table", "embedding").std() == pytest.approx(0.02, rel=0.01)  # GPT-2's tables
    assert _array(model, "default_table", "embedding").std() == pytest.approx(1 / math.sqrt(WIDTH), rel=0.01)
    truncated = _array(model, "truncated")
    assert np.abs(truncated).max() <= 0.2  # cut at 2 std
    assert truncated.std() == pytest.approx(0.1 * 0.8796, rel=0.01)  # the std of a unit normal cut at +-2


def test_variance_scaling_follows_the_fans(model: SpecModel) -> None:
    assert _array(model, "he").std() == pytest.approx(math.sqrt(2 / WIDTH), rel=0.01)
    lecun_bound = math.sqrt(3 / WIDTH)
    assert np.abs(_array(model, "lecun")).max() <= lecun_bound
    assert _array(model, "lecun").std() == pytest.approx(lecun_bound / math.sqrt(3), rel=0.01)
    fan_in, fan_out = 9 * CHANNELS, 9 * 2 * CHANNELS
    xavier = _array(model, "xavier")
    assert np.abs(xavier).max() <= math.sqrt(6 / (fan_in + fan_out))
    assert xavier.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    assert _array(model, "glorot").std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)
    kaiming = _array(model, "kaiming")  # (3, 3, in, out): the fan in is the window times the input channels
    assert kaiming.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    assert _array(model, "plain").std() == pytest.approx(math.sqrt(1 / fan_in), rel=0.02)  # Flax's LeCun default


def test_zeros_ones_and_constants_are_exact(model: SpecModel) -> None:
    assert not _array(model, "zero").any() and not _array(model, "zero", "bias").any()
    assert (_array(model, "truncated", "bias") == 1.0).all()
    assert (_array(model, "normal", "bias") == 0.5).all()
    assert (_array(model, "kaiming", "bias") == -1.0).all()
    assert _array(model, "he", "bias").std() == pytest.approx(1.0, rel=0.15)  # 512 draws
    assert not _array(model, "plain", "bias").any()  # Flax's default bias


def test_every_name_has_its_meaning() -> None:
    assert list(MEANINGS) == list(get_args(Initializer))


def test_both_syntaxes_give_the_same_options() -> None:
    dsl = load_text(DSL, "dsl").spec.model.layers[0]
    assert load_text(YAML, "yaml").spec.model.layers[0] == dsl


@pytest.mark.parametrize(("options", "message"), [
    ("kernel_init: normal", "dense: kernel_init normal needs kernel_std (the standard deviation)"),
    ("kernel_init: he_normal, kernel_std: 0.1", "dense: kernel_std applies to kernel_init normal or truncated_normal"),
    ("kernel_std: 0.1", "dense: kernel_std applies to kernel_init normal or truncated_normal"),
    ("bias_init: constant", "dense: bias_init constant needs bias_value"),
    ("bias_init: ones, bias_value: 2", "dense: bias_value applies to bias_init constant"),
    ("kernel_init: normal, kernel_std: 0", "dense: kernel_std must be > 0.0, got 0"),
    ("kernel_init: kaiming", "did you mean 'kaiming_normal'?"),
    ("bias_init: he_uniform", "dense: bias_init he_uniform scales by fan-in and fan-out, which a bias vector does "
                              "not have"),
])
def test_incomplete_or_misplaced_options_are_spec_errors(options: str, message: str) -> None:
    text = f"dslc: 1\nmodel:\n  name: m\n  inputs: {{x: [4]}}\n  layers:\n    - dense: {{units: 2, {options}}}\n"
    with pytest.raises(DslcErrors) as error:
        load_text(text, "yaml")
    (found,) = error.value.errors
    assert message in f"{found.message} {found.hint}"
