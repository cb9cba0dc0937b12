"""`dslc compile SPEC -o DIR`: the canonical IR, the analysis, StableHLO programs and a standalone model file."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from dslc.runtime.options import add_device_option, add_limit_options, limits_from

TARGETS = ("cpu", "cuda", "tpu")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("compile", help="write the IR, analysis, StableHLO programs and a standalone model",
                            description="Compile a spec into DIR: ir.json, analysis.json, forward and train-step "
                                        "StableHLO for each --target (no hardware of the target needed), "
                                        "manifest.json with their SHA-256, and model.py (needs only jax and flax).")
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    parser.add_argument("--target", default="cpu", type=_targets,
                        help=f"comma-separated platforms to lower for: {', '.join(TARGETS)} (default: cpu)")
    parser.add_argument("--seed", type=int, default=0, help="parameter initialisation seed")
    add_device_option(parser, "where to build the model (lowering for --target needs no such device)")
    add_limit_options(parser)
    parser.set_defaults(run=run)


def _targets(text: str) -> tuple[str, ...]:
    targets = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        raise argparse.ArgumentTypeError(f"unknown target(s) {', '.join(unknown) or '(none)'}; "
                                         f"choose from {', '.join(TARGETS)}")
    return targets


def run(args: argparse.Namespace) -> int:
    import jax

    from dslc.compiler.analysis.render import analysis_json
    from dslc.compiler.check import check_spec
    from dslc.compiler.devices import select_device
    from dslc.spec.errors import DslcError, DslcErrors

    stages = 5
    loaded, analysis = check_spec(args.file, limits_from(args)).valid()
    try:  # before anything is written: a run that cannot happen leaves nothing behind
        device = select_device(args.device)
    except DslcError as error:
        raise DslcErrors([error]) from None
    _progress(1, stages, f"loaded {args.file}: model '{loaded.spec.model.name}', {len(loaded.graph.nodes)} layers")
    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    ir = json.dumps(loaded.spec.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    _write(out / "ir.json", ir)
    _write(out / "analysis.json", json.dumps(analysis_json(analysis), indent=2) + "\n")
    _progress(2, stages, f"analysed: {analysis.totals.params:,} parameters; {analysis.depth.sentence}")

    from dslc.compiler.build import build_model
    from dslc.compiler.steps import compute_dtype

    dtype = compute_dtype(loaded.spec.train)
    with jax.default_device(device):
        model = build_model(loaded, analysis, seed=args.seed, dtype=dtype)
    _progress(3, stages, f"built the Flax model on {device.platform} ({dtype} compute, float32 parameters)")

    from dslc.compiler.export import export_programs

    with jax.default_device(device):
        programs = export_programs(loaded, analysis, model, args.target)
    for program in programs:
        _write(out / program.file_name, program.serialized)
    _progress(4, stages, f"lowered {len(programs)} StableHLO program(s) for {', '.join(args.target)}")

    from dslc.compiler.eject import eject_source

    _write(out / "model.py", eject_source(loaded, analysis, dtype))
    _write(out / "manifest.json", json.dumps(_manifest(loaded, ir, programs), indent=2) + "\n")
    _progress(5, stages, f"wrote model.py and manifest.json to {out}")
    return 0


def _manifest(loaded, ir: str, programs) -> dict[str, object]:
    import jax

    from dslc import __version__

    return {
        "dslc": __version__, "jax": jax.__version__, "spec": loaded.source.name,
        "ir_sha256": hashlib.sha256(ir.encode()).hexdigest(),
        "programs": [{"file": p.file_name, "name": p.name, "target": p.target, "sha256": p.sha256}
                     for p in programs],
    }


def _progress(stage: int, stages: int, message: str) -> None:
    print(f"[{stage}/{stages}] {message}", flush=True)


def _write(path: Path, content: str | bytes) -> None:
    from dslc.runtime.rewrite import write_atomically

    write_atomically(path, content)
