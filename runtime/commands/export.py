"""`dslc export SPEC --checkpoint DIR -o OUT --format F`: a trained model taken out of dslc (docs/export.md).

Formats (`FORMATS`): `safetensors` (the weights by the spec's layer names, with the normalisation statistics in
the file's metadata), `stablehlo` (the forward pass with the weights bound, for any JAX platform), `flax` (a
standalone package that needs only jax and flax), `onnx` (through jax2onnx). Each writer takes the restored
model and the output path; a model the format cannot express is E808 naming the layer, and nothing is written.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dslc.runtime.options import add_data_root_option, add_limit_options, add_session_options, limits_from
from dslc.spec.errors import DslcError, DslcErrors

if TYPE_CHECKING:  # the command line imports every command: no numpy or JAX before one runs
    from dslc.runtime.trained import TrainedModel

DESCRIPTION = """\
Restore a checkpoint of `dslc train SPEC` and write the trained model out (docs/export.md):
  safetensors   the weights by the spec's layer names; the run's normalisation in the metadata
  stablehlo     the forward pass with the weights bound, for cpu, cuda and tpu (a folder)
  flax          a standalone package needing only jax and flax (a new folder, named as a Python identifier)
  onnx          the forward pass through jax2onnx (the `export` extra), checked in full before it is written
A model a format cannot express is E808, naming the layer; nothing is written then."""
Writer = Callable[["TrainedModel", Path], str]  # writes OUT; returns what it wrote, for the closing line


def _safetensors(trained: TrainedModel, out: Path) -> str:
    import json

    from dslc.compiler.weights import save_weights

    save_weights(trained.model, out, metadata={"dslc.model": trained.name, "dslc.loss": trained.loss,
                                               "dslc.statistics": json.dumps(trained.statistics.to_json())})
    return "the weights (safetensors)"


def _stablehlo(trained: TrainedModel, out: Path) -> str:
    from dslc.compiler.export import write_bound_forward

    files = write_bound_forward(trained.loaded, trained.analysis, trained.model, out)
    return f"the forward pass with its weights bound ({', '.join(files)})"


def _flax(trained: TrainedModel, out: Path) -> str:
    from dslc.compiler.package import write_package

    return write_package(trained, out)


def _onnx(trained: TrainedModel, out: Path) -> str:
    from dslc.compiler.onnx_export import write_onnx

    write_onnx(trained.model, trained.analysis, out)
    return "the forward pass as ONNX (symbolic batch axis)"


FORMATS: dict[str, tuple[Writer, str]] = {  # name -> (writer, what OUT is)
    "safetensors": (_safetensors, "a .safetensors file"),
    "stablehlo": (_stablehlo, "a folder"),
    "flax": (_flax, "a folder, the package (its name a Python identifier)"),
    "onnx": (_onnx, "an .onnx file"),
}


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="a trained model out of dslc: safetensors, stablehlo, a Flax package, ONNX",
                            description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR",
                        help="a run's --workdir, its best/ folder or one checkpoint folder (default: "
                             "runs/<model name>/best, or runs/<model name> where there is no best)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                        help="; ".join(f"{name}: {what}" for name, (_, what) in FORMATS.items()))
    parser.add_argument("--format", required=True, choices=sorted(FORMATS))
    add_session_options(parser)
    add_limit_options(parser)
    add_data_root_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from dslc.runtime.trained import open_trained_model

    writer, _ = FORMATS[args.format]
    trained = open_trained_model(args.file, args.checkpoint, limits_from(args), "cpu", args.compile_cache)
    try:
        wrote = writer(trained, args.output)
    except OSError as exc:
        raise DslcErrors([DslcError("E806", f"{args.output}: cannot write the export ({exc.strerror or exc})",
                                    hint="choose a writable path", stage="run")]) from None
    print(f"wrote {args.output}: {wrote} of {trained.checkpoint} (step {trained.step})")
    return 0
