"""GPU benchmark (needs a GPU): W4, the transformer in bf16, and the GPU path of the other workloads.

Method and target: docs/performance.md.

    python bench/gpu.py                 # about 8 minutes on an H100
    python bench/gpu.py --rounds 1      # a quick look

Every spec runs two ways, each in a fresh process per round:

- `dslc train SPEC --device gpu`, the CLI's own training path: steps/s over run.json's timed window (validation
  each epoch and checkpoint saves included, compilation and the first dispatch left out) and time to first step;
- dslc's own jitted train step (`dslc.api.compile`) in a bare loop on one device-resident batch: the step's
  ceiling, without data staging, validation or saves.

MFU (model FLOPs utilisation) = steps/s x batch x 3 x the analysis's forward FLOPs per example / the device's
peak dense FLOP/s in the step's compute dtype (bf16; TF32 for float32, which XLA's default precision uses on
Hopper). 3x forward is the usual count of a training step (forward, and backward at twice the forward).

Specs: the transformer example as written (digits, batch 64, bf16), W4 at a size a GPU can fill
(bench/specs/w4_transformer.yaml) and the same in float32, and W1-W3. Writes bench/RESULTS-gpu.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import HERE, ROOT, SPECS, dslc_train, machine, package_version, run_child, spread

# Dense peak FLOP/s of one device, by the start of JAX's device_kind, per compute dtype (vendor data sheets).
PEAKS = {
    "NVIDIA H100": {"bfloat16": 989.4e12, "float32": 494.7e12},  # SXM; float32 dots run as TF32
    "NVIDIA H200": {"bfloat16": 989.4e12, "float32": 494.7e12},
    "NVIDIA A100": {"bfloat16": 312e12, "float32": 156e12},
}


def specs(scratch: Path) -> dict[str, tuple[Path, int]]:
    """name -> (spec, epochs of the CLI run)."""
    w4 = SPECS / "w4_transformer.yaml"
    w4_f32 = scratch / "w4_transformer_f32.yaml"
    w4_f32.write_text(w4.read_text().replace("precision: bfloat16", "precision: float32"))
    return {
        "transformer example (bf16)": (ROOT / "examples" / "transformer_encoder.yaml", 20),
        "W4 transformer 102M (bf16)": (w4, 16),
        "W4 transformer 102M (float32)": (w4_f32, 6),
        "W1 MLP": (SPECS / "w1_mlp.yaml", 20),
        "W2 CNN": (SPECS / "w2_cnn.yaml", 6),
        "W3 tiny MLP": (SPECS / "w3_tiny_mlp.yaml", 4),
    }


def bare_step(spec: Path, steps: int, batch_size: int | None) -> dict[str, Any]:
    """Child: dslc's jitted train step, `steps` times on one batch (of `batch_size`, default the spec's); three
    timed windows."""
    import dataclasses

    import jax
    import numpy as np

    import dslc.api as api
    from dslc.compiler.steps import Batch

    loaded = api.load(spec)
    if batch_size is not None:
        train = loaded.spec.train.model_copy(update={"batch": batch_size})
        loaded = dataclasses.replace(loaded, spec=loaded.spec.model_copy(update={"train": train}))
    compiled = api.compile(loaded)
    train = compiled.spec.spec.train
    [shape] = [tuple(tensor.shape) for _, tensor in compiled.analysis.inputs]
    rng = np.random.default_rng(0)
    x = jax.device_put(rng.standard_normal((train.batch, *shape), dtype=np.float32))
    y = jax.device_put(rng.integers(0, 10, train.batch, dtype=np.int32))
    batch = Batch((x,), y)
    state, metrics = compiled.steps.train(compiled.state, batch)
    jax.block_until_ready(metrics)
    rates = []
    for _ in range(3):
        clock = time.perf_counter()
        for _ in range(steps):
            state, metrics = compiled.steps.train(state, batch)
        jax.block_until_ready(metrics)
        rates.append(steps / (time.perf_counter() - clock))
    device = jax.devices()[0]
    return {"steps_per_s": statistics.median(rates), "device_kind": device.device_kind,
            "flops": compiled.analysis.totals.flops, "batch": train.batch, "dtype": train.precision,
            "params": compiled.analysis.totals.params, "loss_finite": bool(metrics["finite"])}


def peak(device_kind: str, dtype: str) -> float | None:
    for prefix, peaks in PEAKS.items():
        if device_kind.startswith(prefix):
            return peaks[dtype]
    return None


def mfu(steps_per_s: float, info: dict[str, Any]) -> str:
    top = peak(info["device_kind"], info["dtype"])
    if top is None or info["flops"] is None:
        return "n/a"
    return f"{100 * steps_per_s * info['batch'] * 3 * info['flops'] / top:.2g}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-gpu.md")
    parser.add_argument("--child-step", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=30, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_step:
        print(json.dumps(bare_step(args.child_step, args.steps, args.batch)))
        return

    began = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, (spec, epochs) in specs(Path(scratch)).items():
            cli, bare, info = [], [], {}
            for _ in range(args.rounds):
                run = dslc_train(spec, epochs, extra=("--device", "gpu"))
                cli.append(run)
                child = run_child([sys.executable, str(Path(__file__)), "--child-step", str(spec)])
                info = child.check(f"the bare step of {spec.name}").last_json()
                bare.append(info["steps_per_s"])
            cli_rates = [run["steps_per_s"] for run in cli]
            row = (f"| {name} | {info['params']:,} | {info['batch']} | {spread(cli_rates, digits=1)} "
                   f"| {mfu(statistics.median(cli_rates), info)} | {spread(bare, digits=1)} "
                   f"| {mfu(statistics.median(bare), info)} "
                   f"| {statistics.median(cli_rates) / statistics.median(bare):.2f}x "
                   f"| {spread([run['wall_to_first_step'] for run in cli], ' s', 1)} "
                   f"| {cli[0]['fuse']} | {cli[0]['losses'][0]:.3f} -> {cli[0]['losses'][-1]:.3f} |")
            print(row, flush=True)
            rows.append(row)
    minutes = (time.perf_counter() - began) / 60
    import jax

    report = "\n".join([
        "# GPU benchmark results", "",
        f"Written by `python bench/gpu.py` ({args.rounds} rounds), "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {minutes:.1f} minutes.", "",
        f"- Device: {jax.devices()[0].device_kind}; host: {machine()}.",
        "- Versions: " + ", ".join(f"{name} {package_version(name)}" for name in
                                   ("jax", "jaxlib", "flax", "optax", "numpy")) + f", python {sys.version.split()[0]}.",
        "- steps/s: medians (min-max) over the rounds. MFU: steps/s x batch x 3 x forward FLOPs per example (dslc's "
        "analysis) over the device's dense peak (bf16 989 TFLOP/s; float32 runs as TF32, 495 TFLOP/s).",
        "- CLI: `dslc train SPEC --device gpu`, its timed window (validation, host copies for checkpoints and "
        "saves in). Bare step: dslc's jitted step looped on one device-resident batch.", "",
        "| spec | params | batch | CLI steps/s | CLI MFU | bare step steps/s | bare MFU | CLI / bare "
        "| time to first step | steps/dispatch | train loss first -> last epoch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows, ""])
    args.out.write_text(report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
