"""Each layer kind's shape rule, cost and depth classes, against numbers computed by hand.

A kind added without `infer`, `cost` or `classes`, or without a case in `CASES`, fails here.
The conventions (FLOPs of element-wise layers, recurrent cells) are stated in `spec/layers/_shapes.py`,
`_recurrent.py` and `_attention.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import Cost, NodeClass, ShapeError, Tensor

W, N, A = NodeClass.W, NodeClass.N, NodeClass.A


def run(kind: str, params: dict[str, Any], *shapes: tuple, dtype: str = "float32") -> tuple[Tensor, Cost]:
    entry = REGISTRY[kind]
    typed = entry.params.model_validate(params)
    inputs = tuple(Tensor(shape, dtype) for shape in shapes)
    output = entry.infer(typed, inputs)
    return output, entry.cost(typed, inputs, output)


def fails(kind: str, params: dict[str, Any], *shapes: tuple, dtype: str = "float32") -> ShapeError:
    with pytest.raises(ShapeError) as info:
        run(kind, params, *shapes, dtype=dtype)
    return info.value


def classes(kind: str, params: dict[str, Any] | None = None) -> tuple[NodeClass, ...]:
    entry = REGISTRY[kind]
    return entry.classes(entry.params.model_validate(params or {}))


# -- completeness -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_kind_has_its_rules(kind: str) -> None:
    entry = REGISTRY[kind]
    assert callable(entry.infer) and callable(entry.cost) and callable(entry.classes)
    assert entry.recurrent == (kind in {"rnn", "lstm", "gru"})


def test_every_kind_has_a_hand_computed_case() -> None:
    assert {case.kind for case in CASES} == set(REGISTRY)


# -- shapes and costs, by hand ----------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    kind: str
    params: dict[str, Any]
    inputs: tuple[tuple, ...]
    shape: tuple
    weights: int = 0  # learned parameters
    flops: int | None = None  # None: not checked here
    state: int = 0
    dtype: str = "float32"

    def __str__(self) -> str:
        return f"{self.kind}{self.params}{self.inputs}"


CASES = [
    # dense: VGG's first fully connected layer; FLOPs 2*d*units per position (+1 per element for relu).
    Case("dense", {"units": 4096}, ((25088,),), (4096,), 102_764_544, 2 * 25088 * 4096),
    Case("dense", {"units": 4096, "activation": "relu"}, ((25088,),), (4096,), 102_764_544, 2 * 25088 * 4096 + 4096),
    Case("dense", {"units": 3, "use_bias": False}, ((5, 8),), (5, 3), 8 * 3, 2 * 8 * 3 * 5),
    # conv2d 3x3, 3 -> 16 channels, bias: 9*3*16 + 16 = 448.
    Case("conv2d", {"filters": 16, "kernel": 3, "padding": "same"}, ((32, 32, 3),), (32, 32, 16), 448,
         2 * 32 * 32 * 9 * 3 * 16),
    Case("conv2d", {"filters": 16, "kernel": 3, "stride": 2}, ((9, 9, 3),), (4, 4, 16), 448, 2 * 16 * 9 * 3 * 16),
    Case("conv2d", {"filters": 2, "kernel": 3, "stride": 2, "padding": ((1, 1), (0, 2))}, ((8, 8, 1),), (4, 4, 2),
         9 * 2 + 2),
    Case("conv2d", {"filters": 4, "kernel": (1, 7), "padding": "same"}, ((5, 9, 2),), (5, 9, 4), 7 * 2 * 4 + 4),
    # depthwise: one group per channel, 9 * 1 * 16 weights.
    Case("conv2d", {"filters": 16, "kernel": 3, "groups": "depthwise", "use_bias": False, "padding": "same"},
         ((8, 8, 8),), (8, 8, 16), 144, 2 * 64 * 9 * 1 * 16),
    Case("conv2d", {"filters": 8, "kernel": 1, "groups": 2}, ((6, 6, 4),), (6, 6, 8), 1 * 2 * 8 + 8),
    # conv1d, dilation 2: effective kernel 9, (20 - 9) + 1 = 12.
    Case("conv1d", {"filters": 8, "kernel": 5, "dilation": 2}, ((20, 4),), (12, 8), 5 * 4 * 8 + 8, 2 * 12 * 5 * 4 * 8),
    # conv3d same, stride 2: ceil(n / 2).
    Case("conv3d", {"filters": 4, "kernel": 3, "stride": 2, "padding": "same"}, ((7, 8, 9, 2),), (4, 4, 5, 4),
         27 * 2 * 4 + 4, 2 * 80 * 27 * 2 * 4),
    # transposed, valid: n*s + max(k - s, 0) = 10 + 1.
    Case("conv1d_transpose", {"filters": 2, "kernel": 3, "stride": 2}, ((5, 4),), (11, 2), 3 * 4 * 2 + 2,
         2 * 5 * 3 * 4 * 2),
    Case("conv2d_transpose", {"filters": 16, "kernel": 3, "stride": 2, "padding": "same"}, ((4, 4, 8),), (8, 8, 16),
         9 * 8 * 16 + 16, 2 * 16 * 9 * 8 * 16),
    # transposed, explicit: (n-1)*s + 1 + lo + hi - k + 1 = 4 + 1 + (0, 2, 1) - 2 + 1.
    Case("conv3d_transpose", {"filters": 1, "kernel": 2, "stride": 2, "padding": ((0, 0), (1, 1), (0, 1))},
         ((3, 3, 3, 1),), (4, 6, 5, 1), 8 + 1),
    Case("maxpool", {"window": 2}, ((8, 8, 32),), (4, 4, 32), 0, 4 * 4 * 32 * 4),
    Case("maxpool", {"window": 3, "stride": 2}, ((7, 7, 7, 2),), (3, 3, 3, 2), 0, 27 * 2 * 27),
    Case("avgpool", {"window": 3, "stride": 1, "padding": "same"}, ((5, 6),), (5, 6), 0, 5 * 6 * 3),
    Case("avgpool", {"window": (2, 2), "padding": ((0, 1), (0, 1))}, ((5, 5, 1),), (3, 3, 1), 0, 9 * 4),
    Case("global_maxpool", {}, ((7, 7, 512),), (512,), 0, 7 * 7 * 512),
    Case("global_avgpool", {"keepdims": True}, ((4, 5, 8),), (1, 1, 8), 0, 4 * 5 * 8),
    Case("flatten", {}, ((7, 7, 512),), (25088,), 0, 0),
    Case("reshape", {"shape": (-1, 4)}, ((8, 8, 4),), (64, 4), 0, 0),
    Case("reshape", {"shape": (2, 3)}, ((6,),), (2, 3), 0, 0),
    *(Case(name, {}, ((3, 4),), (3, 4), 0, 12)
      for name in ("relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "relu6", "hard_swish", "hard_sigmoid",
                   "softplus")),
    Case("softmax", {"axis": 0}, ((3, 4),), (3, 4), 0, 3 * 12),
    Case("dropout", {"rate": 0.5}, ((3, 4),), (3, 4), 0, 0),
    Case("batchnorm", {}, ((4, 4, 16),), (4, 4, 16), 2 * 16, 5 * 256, state=2 * 16),
    Case("layernorm", {}, ((8, 64),), (8, 64), 2 * 64, 5 * 512),
    Case("embedding", {"vocab": 10000, "dim": 64}, ((200,),), (200, 64), 640_000, 0, dtype="int32"),
    # recurrent, F=8, u=64: rnn 8*64 + 64*64 + 64 = 4672, lstm 4x, gru 3x; FLOPs time * 2 * gates * (F*u + u*u).
    Case("rnn", {"units": 64}, ((10, 8),), (64,), 4672, 10 * 2 * (512 + 4096)),
    Case("lstm", {"units": 64}, ((10, 8),), (64,), 4 * (8 * 64 + 64 * 64 + 64), 10 * 2 * 4 * (512 + 4096)),
    Case("lstm", {"units": 64, "return_sequences": True}, ((8, 8),), (8, 64), 18688, 294_912),
    Case("gru", {"units": 64}, ((10, 8),), (64,), 3 * 4672, 10 * 2 * 3 * (512 + 4096)),
    Case("gru", {"units": 8, "bidirectional": True, "return_sequences": True}, ((5, 4),), (5, 16),
         2 * 3 * (4 * 8 + 8 * 8 + 8), 2 * 5 * 2 * 3 * (32 + 64)),
    # attention, F=64, 4 heads: 4 * (64*64 + 64); FLOPs 2*T*4*F*F + 2*2*T*T*F.
    Case("attention", {"heads": 4}, ((8, 64),), (8, 64), 16640, 2 * 8 * 4 * 64 * 64 + 2 * 2 * 8 * 8 * 64),
    Case("attention", {"heads": 3, "key_dim": 5, "use_bias": False}, ((6, 12),), (6, 12), 3 * 12 * 15 + 15 * 12),
    # encoder, F=64, mlp 128: attention 16640 + norms 256 + feed-forward 8192+128+8192+64.
    Case("transformer_encoder", {"heads": 4, "mlp_dim": 128}, ((8, 64),), (8, 64), 33472,
         278_528 + 8 * (2 * 5 * 64 + 2 * 2 * 64 * 128 + 128 + 2 * 64)),
    Case("add", {}, ((8, 8, 16), (8, 8, 16)), (8, 8, 16), 0, 1024),
    Case("add", {}, ((4,), (4,), (4,)), (4,), 0, 8),
    Case("multiply", {}, ((4, 2), (4, 2)), (4, 2), 0, 8),
    Case("concat", {}, ((8, 8, 16), (8, 8, 32)), (8, 8, 48), 0, 0),
    Case("concat", {"axis": 0}, ((2, 3), (5, 3)), (7, 3), 0, 0),
    # gru reset_after (PyTorch's 3 * (H*I + H*H + 2H)): F=8, u=64, 3 * (512 + 4096 + 128); FLOPs as the flax cell's.
    Case("gru", {"units": 64, "convention": "reset_after"}, ((10, 8),), (64,), 3 * (512 + 4096 + 128),
         10 * 2 * 3 * (512 + 4096)),
    Case("lstm", {"units": 4, "dropout": 0.2, "recurrent_dropout": 0.5}, ((3, 2),), (4,), 4 * (8 + 16 + 4),
         3 * 2 * 4 * (8 + 16)),
    # moe, d=8, E=4, hidden 16, k=2, gated silu: experts 4 * 3 * 8 * 16, router 8 * 4; per position the router
    # 2*8*4 + softmax 3*4, two experts 2 * (2*3*8*16 + 16 * 2) (silu and the gate product), combine 2*2*8.
    Case("moe", {"experts": 4, "hidden": 16}, ((5, 8),), (5, 8), 4 * 3 * 8 * 16 + 8 * 4,
         5 * (64 + 12 + 2 * (768 + 32) + 32)),
    Case("moe", {"experts": 3, "hidden": 2, "top_k": 1, "gated": False, "activation": "relu"}, ((2, 2, 4),),
         (2, 2, 4), 3 * 2 * 4 * 2 + 4 * 3, 4 * (24 + 9 + (2 * 2 * 4 * 2 + 2) + 8)),
    # grouped-query, F=64, 8 heads of 8, 2 kv heads: query 64*64+64, key and value 64*16+16 each, output 64*64
    # (no bias), query/key norms 2*8; FLOPs 2*T*F*64 + 4*T*F*16 + 2*T*64*F + 4*T*T*64.
    Case("attention", {"heads": 8, "kv_heads": 2, "qk_norm": True, "out_bias": False, "rope": 10000}, ((10, 64),),
         (10, 64), 4160 + 2 * 1040 + 4096 + 16, 81_920 + 40_960 + 81_920 + 25_600),
    # cross-attention, queries (6, 8), memory (5, 12), 2 heads of 4: query 8*8+8, key and value 12*8+8, output 8*8+8.
    Case("attention", {"heads": 2, "key_dim": 4}, ((6, 8), (5, 12)), (6, 8), 72 + 2 * 104 + 72,
         2 * 6 * 8 * 8 + 4 * 5 * 12 * 8 + 2 * 6 * 8 * 8 + 4 * 6 * 5 * 8),
    Case("rmsnorm", {}, ((8, 64),), (8, 64), 64, 5 * 512),
    # gated, F=8, hidden 16: 3 projections of 8*16; per position 2*3*8*16 + 16 (silu) + 16 (product).
    Case("gated_mlp", {"hidden": 16}, ((5, 8),), (5, 8), 384, 5 * (768 + 32)),
    Case("gated_mlp", {"hidden": 16, "use_bias": True}, ((8,),), (8,), 384 + 2 * 16 + 8, 800),
    # Llama-like, F=16, 4 heads of 4, 2 kv heads, SwiGLU 32, no biases: attention 256 + 2*128 + 256, two RMS
    # norms 16 each, gated 3*16*32; FLOPs attention 3072 + 3072 + 3072 + 4*6*6*16, per position
    # 2*5*16 (norms) + 2*3*16*32 + 2*32 (gated) + 2*16 (residuals).
    Case("decoder_block", {"heads": 4, "kv_heads": 2, "mlp_dim": 32, "gated": True, "norm": "rmsnorm",
                           "use_bias": False, "rope": 10000}, ((6, 16),), (6, 16), 768 + 32 + 1536,
         11_520 + 6 * (160 + 3072 + 64 + 32)),
    # GPT-2-like, F=8, 2 heads, mlp 32: attention 4*(64+8), two layer norms 2*8 each, feed-forward 8*32+32+32*8+8;
    # FLOPs attention 768 + 1536 + 768 + 4*6*6*8, per position 2*5*8 + 4*8*32 + 32 (gelu) + 2*8.
    Case("decoder_block", {"heads": 2, "mlp_dim": 32}, ((6, 8),), (6, 8), 288 + 32 + 552, 4224 + 6 * 1152),
    # GPT-J-like: parallel branches after one shared norm.
    Case("decoder_block", {"heads": 2, "mlp_dim": 32, "parallel": True, "shared_norm": True}, ((6, 8),), (6, 8),
         288 + 16 + 552, 4224 + 6 * (5 * 8 + 1056 + 16)),
    # ViT-B/16's position table (197 x 768) and class token; one FLOP per element for the addition.
    Case("position_embedding", {"positions": 197}, ((197, 768),), (197, 768), 151_296, 151_296),
    Case("position_embedding", {"positions": 512}, ((128, 768),), (128, 768), 393_216, 98_304),
    Case("class_token", {}, ((196, 768),), (197, 768), 768, 0),
    Case("select", {}, ((197, 768),), (768,), 0, 0),
    Case("select", {"index": -1, "axis": 1}, ((4, 5, 6),), (4, 6), 0, 0, dtype="int32"),
    # multiply broadcasts size-1 axes: a squeeze-and-excitation gate (1, 1, 16) scales (7, 7, 16).
    Case("multiply", {}, ((7, 7, 16), (1, 1, 16)), (7, 7, 16), 0, 7 * 7 * 16),
    Case("multiply", {}, ((1, 5), (4, 1)), (4, 5), 0, 20),
    # ceil_mode: ResNet-style 3x3/2 on 8 -> ceil(5 / 2) + 1 = 4 (floor gives 3); the last window starts at 6 < 8.
    Case("maxpool", {"window": 3, "stride": 2, "ceil_mode": True}, ((8, 8, 2),), (4, 4, 2), 0, 16 * 2 * 9),
    # ceil on 6 padded (1, 0), window 2: ceil(5 / 2) + 1 = 4 (floor gives 3); the last window starts at 6 < 7.
    Case("avgpool", {"window": 2, "padding": ((1, 0),), "ceil_mode": True}, ((6, 3),), (4, 3), 0, 4 * 3 * 2),
    # on 5 padded (1, 1): ceil(5 / 2) + 1 = 4, but the last window would start at 6 >= 5 + 1: 3, as PyTorch.
    Case("avgpool", {"window": 2, "padding": ((1, 1),), "ceil_mode": True}, ((5, 3),), (3, 3), 0, 3 * 3 * 2),
    # the last window would start in the high padding only (6 >= 5 + 1): dropped, as PyTorch does.
    Case("maxpool", {"window": 2, "stride": 3, "padding": ((1, 1),), "ceil_mode": True}, ((5, 1),), (2, 1), 0, 4),
    # groupnorm: scale and bias per channel.
    Case("groupnorm", {"groups": 4}, ((8, 8, 32),), (8, 8, 32), 2 * 32, 5 * 64 * 32),
    Case("upsample", {"factor": 2}, ((4, 5, 3),), (8, 10, 3), 0, 0),
    Case("upsample", {"factor": (2, 3), "method": "bilinear"}, ((4, 5, 3),), (8, 15, 3), 0, 3 * 2 * 8 * 15 * 3),
    Case("zero_padding", {"padding": 3}, ((4, 5, 2),), (10, 11, 2), 0, 0),
    Case("zero_padding", {"padding": ((1, 0), (0, 2), (2, 2))}, ((1, 1, 1, 2),), (2, 3, 5, 2), 0, 0),
    # U-Net's first skip: 568 cropped by 88 on each side meets the 392 upsampled map.
    Case("cropping", {"cropping": 88}, ((568, 568, 64),), (392, 392, 64), 0, 0),
    Case("cropping", {"cropping": ((1, 2),)}, ((6, 3),), (3, 3), 0, 0),
    # adaptive 7 -> 3: windows [0, 3), [2, 5), [4, 7), 9 positions per axis; 5 -> 5 is one each.
    Case("adaptive_avgpool", {"output_size": 3}, ((7, 7, 4),), (3, 3, 4), 0, 9 * 9 * 4),
    Case("adaptive_avgpool", {"output_size": (1, 5)}, ((6, 5, 2),), (1, 5, 2), 0, 6 * 5 * 2),
    Case("layer_scale", {}, ((7, 7, 96),), (7, 7, 96), 96, 7 * 7 * 96),
    Case("stochastic_depth", {"rate": 0.2}, ((7, 7, 96),), (7, 7, 96), 0, 0),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_shape_and_cost(case: Case) -> None:
    output, cost = run(case.kind, case.params, *case.inputs, dtype=case.dtype)
    assert output.shape == case.shape
    assert (cost.params, cost.state) == (case.weights, case.state)
    if case.flops is not None:
        assert cost.flops == case.flops


def test_dtypes() -> None:
    assert run("embedding", {"vocab": 5, "dim": 2}, (3,), dtype="int64")[0] == Tensor((3, 2), "float32")
    assert run("conv2d", {"filters": 2, "kernel": 1}, (4, 4, 3), dtype="bfloat16")[0].dtype == "bfloat16"
    assert run("flatten", {}, (2, 2), dtype="uint8")[0].dtype == "uint8"


def test_a_fused_activation_counts_like_the_separate_layer() -> None:
    fused = run("conv2d", {"filters": 8, "kernel": 3, "activation": "softmax"}, (6, 6, 2))[1].flops
    plain = run("conv2d", {"filters": 8, "kernel": 3}, (6, 6, 2))[1].flops
    assert fused == plain + run("softmax", {}, (4, 4, 8))[1].flops


# -- unknown dimensions -----------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "params", "inputs", "shape"), [
    ("conv2d", {"filters": 4, "kernel": 3}, ((None, 28, 1),), (None, 26, 4)),
    ("conv1d_transpose", {"filters": 4, "kernel": 3, "stride": 2}, ((None, 1),), (None, 4)),
    ("maxpool", {"window": 2}, ((None, 8, 3),), (None, 4, 3)),
    ("global_avgpool", {}, ((None, None, 8),), (8,)),
    ("dense", {"units": 4}, ((None, 8),), (None, 4)),
    ("flatten", {}, ((None, 4),), (None,)),
    ("reshape", {"shape": (-1, 4)}, ((None, 8),), (None, 4)),
    ("reshape", {"shape": (4, 4)}, ((None, 8),), (4, 4)),
    ("relu", {}, ((None, 3),), (None, 3)),
    ("embedding", {"vocab": 9, "dim": 2}, ((None,),), (None, 2)),
    ("lstm", {"units": 8, "return_sequences": True}, ((None, 3),), (None, 8)),
    ("attention", {"heads": 2}, ((None, 8),), (None, 8)),
    ("transformer_encoder", {"heads": 2, "mlp_dim": 4}, ((None, 8),), (None, 8)),
    ("add", {}, ((None, 8), (None, 8)), (None, 8)),
    ("concat", {"axis": 0}, ((None, 3), (2, 3)), (None, 3)),
    ("concat", {}, ((None, 3), (2, 5)), (2, 8)),
])
def test_unknown_dimensions_propagate(kind: str, params: dict, inputs: tuple, shape: tuple) -> None:
    output, cost = run(kind, params, *inputs, dtype="int32" if kind == "embedding" else "float32")
    assert output.shape == shape
    if kind not in {"flatten", "reshape", "concat", "embedding"}:  # these cost nothing, known or not
        assert cost.flops is None


def test_an_unknown_dimension_takes_a_known_one_at_a_merge() -> None:
    assert run("add", {}, (None, 8), (5, 8)) == (Tensor((5, 8)), Cost(flops=40))
    assert run("multiply", {}, (5, None), (None, 8))[0].shape == (5, 8)


def test_unknown_dimensions_leave_parameter_counts_known() -> None:
    assert run("conv2d", {"filters": 16, "kernel": 3}, (None, None, 3))[1].params == 448
    assert run("lstm", {"units": 64}, (None, 8))[1] == Cost(params=18688, flops=None)
    assert run("attention", {"heads": 4}, (None, 64))[1] == Cost(params=16640, flops=None)


# -- errors -----------------------------------------------------------------------------------------
def test_e501_inputs_disagree() -> None:
    error = fails("add", {}, (8, 8, 16), (8, 8, 32))
    assert (error.code, error.param) == ("E501", None)
    assert error.message == "inputs must have the same shape: (8, 8, 16) and (8, 8, 32)"
    assert fails("multiply", {}, (4,), (4, 1)).code == "E501"
    error = fails("concat", {}, (8, 8, 16), (8, 4, 16))
    assert error.code == "E501" and "(8, 8, 16) and (8, 4, 16)" in error.message


@pytest.mark.parametrize(("kind", "params", "shape", "param"), [
    ("conv2d", {"filters": 4, "kernel": 5}, (3, 8, 1), "kernel"),
    ("conv1d", {"filters": 4, "kernel": 3, "dilation": 3}, (6, 1), "kernel"),  # effective kernel 7
    ("conv1d_transpose", {"filters": 1, "kernel": 5, "padding": ((0, 0),)}, (1, 1), "kernel"),
    ("maxpool", {"window": 3}, (2, 2, 1), "window"),
    ("avgpool", {"window": 4, "padding": ((1, 1),)}, (1, 1), "window"),
])
def test_e502_window_larger_than_input(kind: str, params: dict, shape: tuple, param: str) -> None:
    error = fails(kind, params, shape)
    assert (error.code, error.param) == ("E502", param)


def test_padding_can_make_room_for_the_kernel() -> None:
    assert run("conv2d", {"filters": 1, "kernel": 3, "padding": ((1, 1), (1, 1))}, (1, 1, 1))[0].shape == (1, 1, 1)
    assert run("maxpool", {"window": 3, "padding": "same"}, (2, 2, 1))[0].shape == (1, 1, 1)


@pytest.mark.parametrize(("kind", "params", "shapes", "param"), [
    ("conv2d", {"filters": 8, "kernel": 1, "groups": 3}, ((4, 4, 6),), "groups"),  # 8 filters
    ("conv2d", {"filters": 6, "kernel": 1, "groups": 3}, ((4, 4, 4),), "groups"),  # 4 channels
    ("conv2d", {"filters": 6, "kernel": 1, "groups": "depthwise"}, ((4, 4, 4),), "filters"),
    ("conv3d", {"filters": 1, "kernel": (3, 3)}, ((4, 4, 4, 1),), "kernel"),
    ("conv2d", {"filters": 1, "kernel": 1, "stride": (1, 1, 1)}, ((4, 4, 1),), "stride"),
    ("conv1d", {"filters": 1, "kernel": 1, "dilation": (1, 2)}, ((4, 1),), "dilation"),
    ("conv2d_transpose", {"filters": 1, "kernel": 1, "padding": ((0, 0),)}, ((4, 4, 1),), "padding"),
    ("maxpool", {"window": (2, 2)}, ((4, 1),), "window"),
    ("avgpool", {"window": 2, "stride": (1, 1, 1)}, ((4, 4, 1),), "stride"),
    ("attention", {"heads": 3}, ((8, 64),), "heads"),
    ("transformer_encoder", {"heads": 5, "mlp_dim": 8}, ((8, 64),), "heads"),
    ("reshape", {"shape": (3, 5)}, ((4, 4),), "shape"),
    ("reshape", {"shape": (-1, 3)}, ((4, 4),), "shape"),
    ("reshape", {"shape": (-1, -1)}, ((4, 4),), "shape"),
    ("reshape", {"shape": (0, 16)}, ((4, 4),), "shape"),
    ("reshape", {"shape": (3, 4)}, ((None, 8),), "shape"),  # 12 is not a multiple of 8
    ("softmax", {"axis": 2}, ((3, 4),), "axis"),
    ("softmax", {"axis": -3}, ((3, 4),), "axis"),
    ("concat", {"axis": 3}, ((3, 4), (3, 4)), "axis"),
    ("moe", {"experts": 2, "hidden": 4, "top_k": 3}, ((5, 8),), "top_k"),
    ("attention", {"heads": 4, "kv_heads": 3}, ((8, 64),), "kv_heads"),
    ("attention", {"heads": 2, "causal": True}, ((8, 64), (5, 16)), "causal"),  # masks need one sequence
    ("attention", {"heads": 2, "window": 4}, ((8, 64), (5, 16)), "window"),
    ("attention", {"heads": 4, "key_dim": 6, "rope": 10000.0, "rope_fraction": 0.5}, ((8, 64),), "rope_fraction"),
    ("decoder_block", {"heads": 3, "mlp_dim": 8}, ((8, 64),), "heads"),
    ("decoder_block", {"heads": 2, "mlp_dim": 8, "shared_norm": True}, ((8, 64),), "shared_norm"),
])
def test_e503_parameter_does_not_fit_the_input(kind: str, params: dict, shapes: tuple, param: str) -> None:
    error = fails(kind, params, *shapes)
    assert (error.code, error.param) == ("E503", param)


def test_e503_key_dim_lifts_the_heads_constraint() -> None:
    assert run("attention", {"heads": 3, "key_dim": 8}, (8, 64))[0].shape == (8, 64)


@pytest.mark.parametrize(("kind", "params", "shape"), [
    ("conv1d", {"filters": 1, "kernel": 1}, (4, 4, 1)),
    ("conv3d_transpose", {"filters": 1, "kernel": 1}, (4, 4, 1)),
    ("maxpool", {"window": 1}, (4,)),
    ("avgpool", {"window": 1}, (2, 2, 2, 2, 1)),
    ("global_maxpool", {}, (4,)),
    ("dense", {"units": 1}, ()),
    ("batchnorm", {}, ()),
    ("lstm", {"units": 1}, (4,)),
    ("attention", {"heads": 1}, (2, 2, 2)),
    ("transformer_encoder", {"heads": 1, "mlp_dim": 2}, (4,)),
])
def test_e504_wrong_rank(kind: str, params: dict, shape: tuple) -> None:
    assert fails(kind, params, shape).code == "E504"


def test_e504_message_names_the_axes() -> None:
    error = fails("conv2d", {"filters": 4, "kernel": 3}, (8, 8))
    assert error.message == "expects input of rank 3 (height, width, channels), got (8, 8)"


def test_e505_embedding_needs_integer_ids() -> None:
    error = fails("embedding", {"vocab": 10, "dim": 2}, (4,))
    assert error.code == "E505" and "float32" in error.message
    for dtype in ("int32", "int64", "uint8"):
        assert run("embedding", {"vocab": 10, "dim": 2}, (4,), dtype=dtype)[0].shape == (4, 2)


@pytest.mark.parametrize(("kind", "params", "shape"), [
    ("dense", {"units": 4}, (3, None)),
    ("conv2d", {"filters": 4, "kernel": 1}, (4, 4, None)),
    ("conv1d_transpose", {"filters": 4, "kernel": 1}, (4, None)),
    ("batchnorm", {}, (None,)),
    ("layernorm", {}, (3, None)),
    ("gru", {"units": 4}, (5, None)),
    ("attention", {"heads": 2}, (5, None)),
    ("transformer_encoder", {"heads": 2, "mlp_dim": 4}, (5, None)),
])
def test_e506_unknown_dimension_where_a_known_one_is_needed(kind: str, params: dict, shape: tuple) -> None:
    error = fails(kind, params, shape)
    assert error.code == "E506" and "?" in error.message


# -- depth classes (docs/depth.md#d0-node-classes) -------------------------------------------------
CLASS_CASES = [
    ("dense", {"units": 1}, (W,)),
    ("dense", {"units": 1, "activation": "relu"}, (W, N)),
    ("dense", {"units": 1, "activation": "linear"}, (W,)),
    ("conv2d", {"filters": 1, "kernel": 1, "activation": "linear"}, (W,)),
    ("conv1d", {"filters": 1, "kernel": 1, "groups": "depthwise", "activation": "gelu"}, (W, N)),
    ("conv3d", {"filters": 1, "kernel": 1}, (W,)),
    ("conv1d_transpose", {"filters": 1, "kernel": 1}, (W,)),
    ("conv2d_transpose", {"filters": 1, "kernel": 1, "activation": "sigmoid"}, (W, N)),
    ("conv3d_transpose", {"filters": 1, "kernel": 1}, (W,)),
    ("embedding", {"vocab": 2, "dim": 2}, (W,)),
    ("rnn", {"units": 1}, (W, N)),
    ("rnn", {"units": 1, "activation": "linear"}, (W,)),
    ("lstm", {"units": 1, "activation": "linear"}, (W, N)),  # the gates stay non-linear
    ("gru", {"units": 1}, (W, N)),
    ("attention", {"heads": 1}, (W, N)),
    ("transformer_encoder", {"heads": 1, "mlp_dim": 1}, (N, W, N, N, W, N, W)),
    ("transformer_encoder", {"heads": 1, "mlp_dim": 1, "norm_first": False}, (W, N, N, W, N, W, N)),
    *((name, {}, (N,)) for name in ("relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "softmax", "relu6",
                                    "hard_swish", "hard_sigmoid", "softplus")),
    ("maxpool", {"window": 2}, (N,)),
    ("global_maxpool", {}, (N,)),
    ("layernorm", {}, (N,)),
    ("multiply", {}, (N,)),
    ("dropout", {"rate": 0.1}, (A,)),
    ("flatten", {}, (A,)),
    ("reshape", {"shape": (-1,)}, (A,)),
    ("batchnorm", {}, (A,)),
    ("avgpool", {"window": 2}, (A,)),
    ("global_avgpool", {}, (A,)),
    ("add", {}, (A,)),
    ("concat", {}, (A,)),
    ("gru", {"units": 1, "convention": "reset_after", "recurrent_dropout": 0.5}, (W, N)),
    ("moe", {"experts": 2, "hidden": 1}, (W, N, W)),
    ("rmsnorm", {}, (N,)),
    ("gated_mlp", {"hidden": 1}, (W, N, W)),
    ("decoder_block", {"heads": 1, "mlp_dim": 1, "gated": True}, (N, W, N, N, W, N, W)),
    ("decoder_block", {"heads": 1, "mlp_dim": 1, "parallel": True}, (N, W, N, W)),
    ("position_embedding", {"positions": 2}, (A,)),
    ("class_token", {}, (A,)),
    ("select", {}, (A,)),
    ("groupnorm", {"groups": 1}, (N,)),
    ("upsample", {"factor": 2, "method": "bilinear"}, (A,)),
    ("zero_padding", {"padding": 1}, (A,)),
    ("cropping", {"cropping": 1}, (A,)),
    ("adaptive_avgpool", {"output_size": 1}, (A,)),
    ("layer_scale", {}, (A,)),
    ("stochastic_depth", {"rate": 0.1}, (A,)),
]


@pytest.mark.parametrize(("kind", "params", "expected"), CLASS_CASES)
def test_classes(kind: str, params: dict, expected: tuple) -> None:
    assert classes(kind, params) == expected


def test_every_kind_has_a_class_case() -> None:
    covered = {kind for kind, _, _ in CLASS_CASES}
    assert covered == set(REGISTRY)


def test_transformer_classes_reduce_to_attention_and_feed_forward() -> None:
    for norm_first in (True, False):
        found = classes("transformer_encoder", {"heads": 1, "mlp_dim": 1, "norm_first": norm_first})
        assert found.count(W) == 3 and found.count(N) == 4


# -- vision kinds: their own errors ----------------------------------------------------------------
@pytest.mark.parametrize(("kind", "params", "shapes", "code", "param"), [
    ("groupnorm", {"groups": 3}, ((4, 4, 8),), "E503", "groups"),
    ("cropping", {"cropping": ((2, 2), (0, 0))}, ((4, 6, 1),), "E502", "cropping"),
    ("cropping", {"cropping": ((1, 1),)}, ((4, 6, 1),), "E503", "cropping"),
    ("zero_padding", {"padding": 1}, ((4,),), "E504", None),
    ("upsample", {"factor": (2, 2, 2)}, ((4, 4, 1),), "E503", "factor"),
    ("adaptive_avgpool", {"output_size": 2}, ((None, 4, 1),), "E506", None),
    ("maxpool", {"window": 2, "padding": "same", "ceil_mode": True}, ((5, 1),), "E503", "ceil_mode"),
    ("maxpool", {"window": 2, "ceil_mode": True}, ((None, 1),), "E506", "ceil_mode"),
    ("multiply", {}, ((4, 4, 8), (1, 1, 4)), "E501", None),
    ("multiply", {}, ((4, 8), (8,)), "E501", None),
])
def test_vision_kind_errors(kind: str, params: dict, shapes: tuple, code: str, param: str | None) -> None:
    error = fails(kind, params, *shapes)
    assert (error.code, error.param) == (code, param)


def test_multiply_broadcasts_only_size_one_axes() -> None:
    assert run("multiply", {}, (None, 1, 8), (1, 5, 8))[0].shape == (None, 5, 8)
    assert run("multiply", {}, (1, 1, 8), (None, None, 8))[0].shape == (None, None, 8)
    assert "same size or 1" in fails("multiply", {}, (4, 4, 8), (4, 2, 8)).message
    assert run("add", {}, (4, 4, 8), (4, 4, 8))[0].shape == (4, 4, 8)
    assert fails("add", {}, (4, 4, 8), (1, 1, 8)).code == "E501"  # add stays strict
