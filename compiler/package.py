"""`dslc export --format flax`: a trained model as a standalone Python package that needs only jax, flax and numpy.

The folder OUT (its name, a Python identifier, is the package's) holds:

- `layers.py`: the layer classes the model uses, copied from `spec/layers/_flax.py` (compiler/package_layers.py);
- one module per block kind: an `nnx.Module` class taking the block's parameters, its layers as attributes
  named after the spec's layer names, a repeated call as an `nnx.List` (compiler/package_source.py);
- `model.py`: `Model`, the spec's top-level layers and block calls under their names;
- `weights.safetensors`: every parameter and batch statistic, named by its attribute path in `Model`
  (`stage.0.conv_a.kernel`); `normalization.safetensors`: the `(shift, scale)` of each normalised input
  and of a normalised target (`TrainedModel.normalization`, runtime/normalization.py);
- `__init__.py`: `load`, `preprocess`, `postprocess`, `predict` (compiler/package_init.py), and README.md.

The package is written into a hidden sibling folder and renamed into place: a failure leaves nothing.
"""

from __future__ import annotations

import keyword
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from flax import nnx
from safetensors.numpy import save_file

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.build import constructs
from dslc.compiler.package_init import init_source, readme
from dslc.compiler.package_layers import layers_source
from dslc.compiler.package_source import ClassPlan, Package, plan_package
from dslc.compiler.package_structure import block_structure
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.load import LoadedSpec

if TYPE_CHECKING:
    from dslc.runtime.trained import TrainedModel  # (a type only: compiler/ does not import runtime/)

BLOCK_HEAD = '"""The block class `{name}` of the exported model."""\n'
MODEL_HEAD = '"""The exported model, `Model`: its layers and blocks under the spec\'s names."""\n'


def check_package_name(out: Path) -> None:
    """E806 unless the folder's name can be imported as a package and nothing is there yet."""
    if not out.name.isidentifier() or keyword.iskeyword(out.name) or not out.name.isascii():
        raise DslcErrors([DslcError("E806", f"{out}: the folder's name {out.name!r} is the package's, so it must be "
                                            "a Python identifier", hint="name it like my_model", stage="run")])
    if out.exists():
        raise DslcErrors([DslcError("E806", f"{out} exists already", hint="remove it or choose another folder",
                                    stage="run")])


def write_package(trained: TrainedModel, out: Path) -> str:
    """The package in the folder `out`; returns what it wrote, for the closing line."""
    check_package_name(out)
    files = package_files(trained, out.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, content in files.items():
            if isinstance(content, str):
                (staging / name).write_text(content, encoding="utf-8")
            else:
                save_file(content, str(staging / name))
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return f"a Flax package ({', '.join(sorted(files))})"


def package_files(trained: TrainedModel, package: str) -> dict[str, str | dict[str, np.ndarray]]:
    """Every file of the package by name: source text, or arrays for a safetensors file."""
    loaded, analysis = trained.loaded, trained.analysis
    sources, plan = source_files(loaded, analysis, str(getattr(trained.model, "dtype", "float32")))
    files: dict[str, str | dict[str, np.ndarray]] = {**sources, "weights.safetensors": weights(trained.model, plan)}
    inputs_affine, target = trained.normalization()
    normalization: dict[str, np.ndarray] = {}
    for index, affine in enumerate(inputs_affine):
        if affine is not None:
            normalization[f"input{index}.shift"], normalization[f"input{index}.scale"] = _float64(affine)
    if target is not None:
        normalization["target.shift"], normalization["target.scale"] = _float64(target)
    if normalization:
        files["normalization.safetensors"] = normalization
    inputs = [(name, tensor.shape, tensor.dtype) for name, tensor in analysis.inputs]
    files["__init__.py"] = init_source(name=trained.name, inputs=inputs, loss=trained.loss,
                                       classes=trained.class_names, normalized=bool(normalization),
                                       target=target is not None, outputs=len(loaded.graph.outputs))
    files["README.md"] = readme(package, " ".join(trained.name.split()), [name for name, _, _ in inputs],
                                [plan.modules[block.name] for block in plan.blocks])
    return files


def source_files(loaded: LoadedSpec, analysis: Analysis, dtype: str = "float32") -> tuple[dict[str, str], Package]:
    """The Flax modules (layers.py, model.py, one per block kind) and the plan they were written from."""
    built = constructs(loaded.graph, analysis, dtype)
    plan = plan_package(loaded.spec, loaded.graph, built, block_structure(loaded))
    files = {
        "layers.py": layers_source(sorted({construct.module for construct in built.values()})),
        "model.py": _module(MODEL_HEAD, plan.model, plan, f"COMPUTE_DTYPE = {dtype!r}", ENTRY),
    }
    for block in plan.blocks:
        files[f"{plan.modules[block.name]}.py"] = _module(BLOCK_HEAD.format(name=block.name), block, plan)
    return files, plan


ENTRY = '''def entry(x: jax.Array) -> jax.Array:
    """A floating input in the compute dtype; integer ids stay integers."""
    x = jnp.asarray(x)
    return x.astype(COMPUTE_DTYPE) if jnp.issubdtype(x.dtype, jnp.floating) else x
'''


def _module(head: str, plan: ClassPlan, package: Package, constants: str = "", functions: str = "") -> str:
    """A module holding one generated class, its imports sorted as isort sorts them."""
    third_party = ["import jax", *(["import jax.numpy as jnp"] if functions else []), "from flax import nnx"]
    by_module: dict[str, set[str]] = {"layers": set(plan.layer_classes)} if plan.layer_classes else {}
    for name in plan.block_classes:
        by_module.setdefault(package.modules[name], set()).add(name)
    local = [_from(f".{module}", names) for module, names in sorted(by_module.items())]
    imports = "\n\n".join(["from __future__ import annotations", "\n".join(third_party), "\n".join(local)])
    top = head + "\n" + imports + "\n\n" + (constants + "\n\n\n" if constants else "\n")
    return top + "\n\n\n".join(part.rstrip("\n") for part in (plan.source, functions) if part) + "\n"


def _from(module: str, names: set[str]) -> str:
    line = f"from {module} import {', '.join(sorted(names))}"
    if len(line) <= 88:
        return line
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in sorted(names)) + ")"


def weights(model: nnx.Module, plan: Package) -> dict[str, np.ndarray]:
    """Every parameter and batch statistic of dslc's `model` by its dotted path in the package's `Model`."""
    state = nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat))
    arrays = {}
    for path, variable in nnx.to_flat_state(state):
        layer, *rest = path[1:]  # ("layers", <graph name>, attribute...)
        name = ".".join(str(part) for part in (*plan.paths[str(layer)], *rest))
        arrays[name] = np.asarray(variable.get_value() if hasattr(variable, "get_value") else variable.value)
    return arrays


def _float64(affine: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return tuple(np.ascontiguousarray(np.asarray(part, np.float64)) for part in affine)  # type: ignore[return-value]
