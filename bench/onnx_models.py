"""Which example and zoo models export as ONNX, and how closely onnxruntime follows dslc (run on demand).

    python bench/onnx_models.py [SPEC...]   # default: examples/*.yaml and examples/zoo/*.yaml

Each spec is built with random weights (seed 0), exported by `dslc.compiler.onnx_export.write_onnx` (which
runs onnx's full check), run in onnxruntime on random inputs (batch 3) and compared with the model itself.
Prints a markdown table: model | exported, or the E808 message | max abs difference | ONNX file size.
`--full-zoo` also takes the full-size zoo models; by default their `_tiny` variants stand in for them (the full
ones hold 25M to 135M parameters: minutes of tracing and conversion each on a 2-core machine).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BATCH = 3


def default_specs(full_zoo: bool) -> list[Path]:
    zoo = sorted((ROOT / "examples" / "zoo").glob("*.yaml"))
    if not full_zoo:  # a full model whose `_tiny` variant exists gives way to it (convnext_tiny is a full model)
        zoo = [spec for spec in zoo if not spec.with_name(f"{spec.stem}_tiny.yaml").exists()]
    return sorted((ROOT / "examples").glob("*.yaml")) + zoo


def random_inputs(model: Any, analysis: Any, seed: int = 0) -> list[np.ndarray]:
    """Standard normal floats; integer ids below the smallest embedding table's rows (every id is valid)."""
    from flax import nnx

    rng = np.random.default_rng(seed)
    vocab = min((m.num_embeddings for _, m in nnx.iter_graph(model) if isinstance(m, nnx.Embed)), default=2)
    arrays = []
    for _, tensor in analysis.inputs:
        shape = (BATCH, *tensor.shape)
        if np.issubdtype(np.dtype(tensor.dtype), np.integer):
            arrays.append(rng.integers(0, vocab, shape).astype(tensor.dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(tensor.dtype))
    return arrays


def row(spec: Path, folder: Path) -> tuple[str, str, str, str, float]:
    import onnxruntime

    from dslc.api import analyse, load
    from dslc.compiler.build import build_model
    from dslc.compiler.onnx_export import write_onnx
    from dslc.spec.errors import DslcErrors

    started = time.perf_counter()
    name = str(spec.relative_to(ROOT / "examples")) if spec.is_relative_to(ROOT / "examples") else str(spec)
    loaded = load(spec)
    analysis = analyse(loaded)
    model = build_model(loaded, analysis, seed=0)
    out = folder / f"{spec.stem}.onnx"
    try:
        write_onnx(model, analysis, out)
    except DslcErrors as errors:
        first, more = errors.errors[0].message, len(errors.errors) - 1
        why = f"no: {first}" + (f" (and {more} more layer{'s' if more > 1 else ''} like it)" if more else "")
        return name, why.replace("|", "\\|"), "", "", time.perf_counter() - started
    xs = random_inputs(model, analysis)
    expected = model(*xs, train=False)
    expected = expected if isinstance(expected, tuple) else (expected,)
    size = f"{out.stat().st_size / 1e6:.2f} MB"
    try:
        session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        got = session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs, strict=True)})
    except Exception as exc:  # noqa: BLE001 - a file onnx accepts that onnxruntime cannot run: say so, go on
        return name, f"written, but onnxruntime fails: {str(exc)[:160]}", "", size, time.perf_counter() - started
    diff = max(float(np.max(np.abs(np.asarray(e, np.float32) - g))) for e, g in zip(expected, got, strict=True))
    return name, "yes", f"{diff:.2e}", size, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("specs", nargs="*", type=Path)
    parser.add_argument("--full-zoo", action="store_true", help="the full-size zoo models too")
    args = parser.parse_args()
    specs = [spec.resolve() for spec in args.specs] or default_specs(args.full_zoo)
    print("| model | exported | max abs difference | ONNX file size | seconds |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for spec in specs:
            name, exported, diff, size, seconds = row(spec, Path(folder))
            print(f"| {name} | {exported} | {diff} | {size} | {seconds:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
