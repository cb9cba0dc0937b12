"""Forward + backward time of one convolution per lowering, for representative shapes (docs/performance.md).

    python bench/conv_lowering.py [--reps R] [--shapes S,...] [--only NAME,...] [--flags [S,...]] [--rounds N]
                                  [--torch PYTHON] [--json]

Each shape is timed as `jax.jit(jax.value_and_grad(sum(tanh(output)), (input, kernel)))` for:

- `xla`: XLA's convolution (`lax.conv_general_dilated` / `lax.conv_transpose`, what `nnx.Conv` calls);
- `im2col`: strided slices into a patch matrix, one `dot_general` (`_flax.im2col_conv_general_dilated`);
- `patches`: `lax.conv_general_dilated_patches` (itself a depthwise convolution) and one `dot_general`;
- `chunks`: XLA's convolution, the kernel's gradient (and an unpadded one's output) over parts of the batch
  (`_flax.chunked_conv_general_dilated`; a batch too small to split is XLA's convolution itself);
- `shifts` (depthwise convolutions): the weighted sum of the input's shifted copies (`_flax.shifted_depthwise_conv`);
- `matmul` (transposed convolutions whose stride equals the kernel): `_flax.transpose_by_matmul`.

The lowerings of a shape run interleaved (A, B, C, A, B, C, ...), each figure the median over R rounds of the
mean of a few calls; ratios are to `xla` in the same process. `--flags` reruns `xla` and `im2col` (`matmul`) for
a few shapes in fresh processes under XLA_FLAGS variants (oneDNN, its custom call, XNNPACK fusions, none), the
variants interleaved over `--rounds`, and reports them against the flagless child's `xla`. `--torch PYTHON`
times PyTorch's eager `conv{1,2,3}d` / `conv_transpose{1,2,3}d` forward + backward (NCHW, its default threads or
`--torch-threads`) in PYTHON, for reference (shapes PyTorch's padding strings cannot state are left out).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Shape:
    name: str
    batch: int
    spatial: tuple[int, ...]
    channels: int
    filters: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...] = ()
    dilation: tuple[int, ...] = ()
    padding: str = "VALID"
    groups: int = 1
    transpose: bool = False

    def geometry(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        n = len(self.kernel)
        return self.stride or (1,) * n, self.dilation or (1,) * n


SHAPES = (
    Shape("w2 conv1 28x28x1->32 3x3", 128, (28, 28), 1, 32, (3, 3)),
    Shape("w2 conv2 13x13x32->64 3x3", 128, (13, 13), 32, 64, (3, 3)),
    Shape("8x8x1->32 3x3 same", 128, (8, 8), 1, 32, (3, 3), padding="SAME"),
    Shape("8x8x32->64 3x3 same", 128, (8, 8), 32, 64, (3, 3), padding="SAME"),
    Shape("8x8x32->64 3x3 valid", 128, (8, 8), 32, 64, (3, 3)),
    Shape("digits 8x8x32->32 3x3 same b64", 64, (8, 8), 32, 32, (3, 3), padding="SAME"),
    Shape("28x28x32->32 3x3 valid", 128, (28, 28), 32, 32, (3, 3)),
    Shape("28x28x64->64 3x3 valid", 128, (28, 28), 64, 64, (3, 3)),
    Shape("28x28x32->32 3x3 same", 128, (28, 28), 32, 32, (3, 3), padding="SAME"),
    Shape("CIFAR-like 32x32x3->32 3x3 same", 128, (32, 32), 3, 32, (3, 3), padding="SAME"),
    Shape("CIFAR-like 16x16x32->64 3x3 same", 128, (16, 16), 32, 64, (3, 3), padding="SAME"),
    Shape("28x28x64->64 3x3 same", 128, (28, 28), 64, 64, (3, 3), padding="SAME"),
    Shape("resnet 56x56x64->64 3x3 b8", 8, (56, 56), 64, 64, (3, 3), padding="SAME"),
    Shape("56x56x64->64 3x3 valid b8", 8, (56, 56), 64, 64, (3, 3)),
    Shape("1x1 28x28x64->64", 128, (28, 28), 64, 64, (1, 1)),
    Shape("1x1 28x28x64->256", 32, (28, 28), 64, 256, (1, 1)),
    Shape("depthwise 28x28x64 3x3", 128, (28, 28), 64, 64, (3, 3), padding="SAME", groups=64),
    Shape("depthwise 16x16x96 3x3 b64", 64, (16, 16), 96, 96, (3, 3), padding="SAME", groups=96),
    Shape("depthwise s2 28x28x64 3x3 b32", 32, (28, 28), 64, 64, (3, 3), stride=(2, 2), padding="SAME", groups=64),
    Shape("depthwise x2 14x14x32 3x3 b64", 64, (14, 14), 32, 64, (3, 3), padding="SAME", groups=32),
    Shape("depthwise 14x14x96 7x7 b32 (ConvNeXt)", 32, (14, 14), 96, 96, (7, 7), padding="SAME", groups=96),
    Shape("depthwise conv1d 128x64 k5", 128, (128,), 64, 64, (5,), padding="SAME", groups=64),
    Shape("grouped(4) 28x28x64->64 3x3", 128, (28, 28), 64, 64, (3, 3), padding="SAME", groups=4),
    Shape("strided 28x28x32->64 3x3 s2", 128, (28, 28), 32, 64, (3, 3), stride=(2, 2), padding="SAME"),
    Shape("dilated 28x28x32->32 3x3 d2", 128, (28, 28), 32, 32, (3, 3), dilation=(2, 2), padding="SAME"),
    Shape("conv1d 128x64->64 k3", 128, (128,), 64, 64, (3,), padding="SAME"),
    Shape("conv1d 128x64->64 k3 valid", 128, (128,), 64, 64, (3,)),
    Shape("conv3d 8x8x8x16->16 3x3x3 b16", 16, (8, 8, 8), 16, 16, (3, 3, 3), padding="SAME"),
    Shape("transpose unet_tiny 4x4x8->8 2x2 s2 b8", 8, (4, 4), 8, 8, (2, 2), stride=(2, 2), transpose=True),
    Shape("transpose 28x28x64->32 2x2 s2 b32", 32, (28, 28), 64, 32, (2, 2), stride=(2, 2), transpose=True),
    Shape("transpose 56x56x128->64 2x2 s2 b8", 8, (56, 56), 128, 64, (2, 2), stride=(2, 2), transpose=True),
    Shape("transpose 14x14x32->32 3x3 s2 b32", 32, (14, 14), 32, 32, (3, 3), stride=(2, 2), padding="SAME",
          transpose=True),
)

FLAGS = {
    "none": "",  # the baseline child, in the same rounds
    "onednn": "--xla_cpu_use_onednn=true",
    "onednn-custom-call": "--xla_cpu_experimental_onednn_custom_call=true",
    "xnn-dot": "--xla_cpu_experimental_xnn_fusion_type=dot",
    "xnn-graph": "--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY",
    "no-xnnpack": "--xla_cpu_use_xnnpack=false",
}


def lowerings(shape: Shape) -> dict:
    """name -> f(x, kernel) for the shape's kind."""
    import jax
    from jax import lax

    from dslc.spec.layers._flax import (
        chunked_conv_general_dilated,
        im2col_conv_general_dilated,
        shifted_depthwise_conv,
        transpose_by_matmul,
    )

    stride, dilation = shape.geometry()
    n = len(shape.kernel)
    len_window = math.prod(shape.kernel)
    letters = "DHW"[3 - n:]
    numbers = (f"N{letters}C", f"{letters}IO", f"N{letters}C")
    if shape.transpose:
        def xla(x, k):
            return lax.conv_transpose(x, k, stride, shape.padding, rhs_dilation=dilation, dimension_numbers=numbers)
        found = {"xla": xla}
        if stride == shape.kernel and set(dilation) == {1}:
            found["matmul"] = transpose_by_matmul
        return found

    def xla(x, k):
        return lax.conv_general_dilated(x, k, stride, shape.padding, rhs_dilation=dilation, dimension_numbers=numbers,
                                        feature_group_count=shape.groups)

    def im2col(x, k):
        return im2col_conv_general_dilated(x, k, stride, shape.padding, rhs_dilation=dilation,
                                           feature_group_count=shape.groups)

    def patches(x, k):
        p = lax.conv_general_dilated_patches(x, shape.kernel, stride, shape.padding, rhs_dilation=dilation,
                                             dimension_numbers=numbers)  # features (C, window)
        g, cg = shape.groups, shape.channels // shape.groups
        p = p.reshape(*p.shape[:-1], g, cg * len_window)
        w = k.reshape(len_window, cg, g, shape.filters // g)
        w = w.transpose(2, 1, 0, 3).reshape(g, cg * len_window, shape.filters // g)
        y = jax.numpy.einsum("...gk,gko->...go", p, w)
        return y.reshape(*y.shape[:-2], shape.filters)

    def chunks(x, k):
        return chunked_conv_general_dilated(x, k, stride, shape.padding, rhs_dilation=dilation,
                                            dimension_numbers=numbers, feature_group_count=shape.groups)

    def shifts(x, k):
        return shifted_depthwise_conv(x, k, stride, shape.padding, rhs_dilation=dilation,
                                      feature_group_count=shape.groups)

    found = {"xla": xla, "im2col": im2col, "patches": patches, "chunks": chunks}
    if shape.groups == shape.channels > 1:
        found["shifts"] = shifts
    return found


def time_shape(shape: Shape, reps: int, only: set[str] | None) -> dict[str, float]:
    """Median ms per forward + backward for each lowering, interleaved."""
    import jax
    import jax.numpy as jnp

    x = jax.random.normal(jax.random.key(0), (shape.batch, *shape.spatial, shape.channels), jnp.float32)
    inner = shape.channels if shape.transpose else shape.channels // shape.groups
    kernel = jax.random.normal(jax.random.key(1), (*shape.kernel, inner, shape.filters), jnp.float32)
    steps = {}
    reference = None
    for name, f in lowerings(shape).items():
        if only and name not in only:
            continue
        step = jax.jit(jax.value_and_grad(lambda x, k, f=f: jnp.sum(jnp.tanh(f(x, k))), argnums=(0, 1)))
        value, grads = step(x, kernel)
        jax.block_until_ready(grads)
        if reference is None:
            reference = (value, grads)
        else:  # a lowering that computes something else is a bug, not a figure
            scale = float(jnp.max(jnp.abs(reference[1][1]))) + 1.0
            pairs = zip(reference[1], grads, strict=True)
            assert all(float(jnp.max(jnp.abs(a - b))) <= 1e-3 * scale for a, b in pairs), name
        start = time.perf_counter()
        jax.block_until_ready(step(x, kernel))
        once = time.perf_counter() - start
        steps[name] = (step, max(1, min(20, int(0.05 / max(once, 1e-6)))))
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(reps):
        for name, (step, calls) in steps.items():
            start = time.perf_counter()
            for _ in range(calls):
                out = step(x, kernel)
            jax.block_until_ready(out)
            times[name].append((time.perf_counter() - start) / calls * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def torch_times(python: str, reps: int, threads: int) -> dict[str, float]:
    """PyTorch eager forward + backward per shape, in its own process (`python`; `threads` 0: its default)."""
    code = TORCH_CHILD
    out = subprocess.run([python, "-c", code, json.dumps([asdict(s) for s in SHAPES]), str(reps), str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


TORCH_CHILD = r"""
import json, statistics, sys, time
import torch
shapes, reps = json.loads(sys.argv[1]), int(sys.argv[2])
if int(sys.argv[3]):
    torch.set_num_threads(int(sys.argv[3]))
result = {}
for s in shapes:
    n = len(s["kernel"]); stride = tuple(s["stride"]) or (1,) * n; dilation = tuple(s["dilation"]) or (1,) * n
    x = torch.randn(s["batch"], s["channels"], *s["spatial"], requires_grad=True)
    if s["transpose"]:
        if s["padding"] != "VALID":
            continue
        w = torch.randn(s["channels"], s["filters"], *s["kernel"], requires_grad=True)
        f = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d,
             3: torch.nn.functional.conv_transpose3d}[n]
        run = lambda: f(x, w, stride=stride, dilation=dilation)
    else:
        w = torch.randn(s["filters"], s["channels"] // s["groups"], *s["kernel"], requires_grad=True)
        f = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[n]
        if s["padding"] == "SAME" and any(st > 1 for st in stride):
            continue  # PyTorch's 'same' needs stride 1
        run = lambda: f(x, w, stride=stride, dilation=dilation, groups=s["groups"], padding=s["padding"].lower())
    def step():
        x.grad = w.grad = None
        torch.tanh(run()).sum().backward()
    step(); start = time.perf_counter(); step(); once = time.perf_counter() - start
    calls = max(1, min(20, int(0.05 / max(once, 1e-6))))
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        times.append((time.perf_counter() - start) / calls * 1000)
    result[s["name"]] = statistics.median(times)
print(json.dumps(result))
"""


def child(flags: str, reps: int, shapes: str) -> dict:
    """This script's xla and im2col columns for `shapes` in a fresh process under XLA_FLAGS=flags."""
    env = {**os.environ, "XLA_FLAGS": flags}
    out = subprocess.run([sys.executable, __file__, "--reps", str(reps), "--only", "xla,im2col,matmul", "--json",
                          "--shapes", shapes],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def flag_rounds(reps: int, shapes: str, rounds: int) -> dict:
    """`child` for every XLA_FLAGS variant, the variants interleaved over `rounds`; medians of the children's."""
    found: dict[str, list[dict]] = {name: [] for name in FLAGS}
    for _ in range(rounds):
        for name, flags in FLAGS.items():
            found[name].append(child(flags, reps, shapes))
    merged = {}
    for name, results in found.items():
        if any("error" in result for result in results):
            merged[name] = next(result for result in results if "error" in result)
            continue
        merged[name] = {shape: {lowering: statistics.median(r[shape][lowering] for r in results)
                                for lowering in results[0][shape]} for shape in results[0]}
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--only", help="comma-separated lowerings")
    parser.add_argument("--shapes", help="comma-separated substrings of shape names")
    parser.add_argument("--flags", metavar="SHAPES", nargs="?", const="w2 conv,28x28x64->64,transpose 28",
                        help="also time these shapes (substrings, default W2's, 28x28x64 3x3 and a transposed one) "
                             "under XLA_FLAGS variants, each in a fresh process")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --flags' children (interleaved)")
    parser.add_argument("--torch", metavar="PYTHON", help="an interpreter with torch, for a reference column")
    parser.add_argument("--torch-threads", type=int, default=0, help="PyTorch's threads (default: its own choice)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (for --flags' children)")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    global SHAPES
    if args.shapes:
        SHAPES = tuple(s for s in SHAPES if any(part in s.name for part in args.shapes.split(",")))
    table = {s.name: time_shape(s, args.reps, only) for s in SHAPES}
    if args.json:
        print(json.dumps(table))
        return
    import jax
    print(f"jax {jax.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, medians of {args.reps}, "
          f"ms per forward + backward; ratios to xla (< 1: faster)")
    torch = torch_times(args.torch, args.reps, args.torch_threads) if args.torch else {}
    columns = ["xla", "im2col", "patches", "chunks", "shifts", "matmul"]
    head = "| shape | " + " | ".join(columns) + " | best/xla |" + (" torch | xla/torch | best/torch |" if torch else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, row in table.items():
        best = min(row.values())
        cells = [f"{row[c]:.2f}" if c in row else "" for c in columns]
        line = f"| {name} | " + " | ".join(cells) + f" | {best / row['xla']:.2f} ({min(row, key=row.get)}) |"
        if torch:
            t = torch.get(name)
            line += (f" {t:.2f} | {row['xla'] / t:.2f} | {best / t:.2f} |" if t else " | | |")
        print(line, flush=True)
    flagged = flag_rounds(args.reps, args.flags, args.rounds) if args.flags else {}
    if flagged:
        print(f"\nXLA_FLAGS variants, fresh processes, {args.rounds} interleaved rounds: ms (ratio to the 'none' "
              "child's xla)", flush=True)
        print("| shape | " + " | ".join(f"{f} xla | {f} alt" for f in flagged) + " |")
        print("|---|" + "---|---|" * len(flagged))
        for name in table:
            if not any(name in result for result in flagged.values()):
                continue
            cells = []
            for result in flagged.values():
                if "error" in result:
                    cells += [result["error"][:40], ""]
                    continue
                r, base = result.get(name, {}), flagged["none"][name]["xla"]
                alt = r.get("im2col", r.get("matmul"))
                cells += [f"{r['xla']:.2f} ({r['xla'] / base:.2f})", f"{alt:.2f} ({alt / base:.2f})" if alt else ""]
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
