"""A standalone Python file defining the spec's Flax NNX model: it needs jax and flax, not dslc.

The file holds the layer classes of `spec/layers/_flax.py` verbatim and a generated `Model`
whose layers are built from the same `Construct`s as the in-memory `SpecModel`, under the same
state paths (`layers/<layer name>/...`), so parameters move between the two with `nnx.update`.
Every user string (layer and input names) is written with `repr`, so a spec cannot inject code.
"""

from __future__ import annotations

import inspect

from dslc.compiler.analysis.model import Analysis
from dslc.compiler.build import constructs
from dslc.spec.layers import _flax
from dslc.spec.load import LoadedSpec

INDENT = "    "
MAX_LINE = 110


def eject_source(loaded: LoadedSpec, analysis: Analysis, dtype: str = "float32") -> str:
    graph = loaded.graph
    built = constructs(graph, analysis, dtype)
    frozen = {node.name for node in graph.nodes if not node.trainable}
    inputs = [name for name, _ in analysis.inputs]
    shapes = ", ".join(f"{name} {tensor.shape} {tensor.dtype}" for name, tensor in analysis.inputs)
    header = [
        f'"""The model {loaded.spec.model.name!r}, ejected by dslc from {loaded.source.name!r}.',
        "",
        f"Inputs (batch axis first, then): {shapes}. Outputs: {', '.join(graph.outputs)}.",
        "Needs only jax and flax: `Model(rngs=nnx.Rngs(0))(*inputs, train=False)`.",
        '"""',
        "",
    ]
    layer_lines = []
    for name, construct in built.items():
        if construct.module not in _flax.CONSTRUCTORS:  # the registry names its classes; never anything else
            raise ValueError(f"unknown module class {construct.module!r}")
        arguments = [f"{key}={value!r}" for key, value in construct.arguments.items()] + ["rngs=rngs"]
        line = f"{INDENT * 3}{name!r}: {construct.module}({', '.join(arguments)}),"
        if len(line) <= MAX_LINE:
            layer_lines.append(line)
        else:  # one argument a line, as a formatter would
            layer_lines.append(f"{INDENT * 3}{name!r}: {construct.module}(")
            layer_lines.extend(f"{INDENT * 4}{argument}," for argument in arguments)
            layer_lines.append(f"{INDENT * 3}),")
    call_lines = []
    for node in graph.nodes:
        sources = ", ".join(f"values[{source!r}]" for source in node.inputs)
        train = "False" if node.name in frozen else "train"  # frozen layers always run in inference mode
        # a tied head gets its embedding's module: the one table, under the embedding's path
        table = f", table=self.layers[{node.tied_to!r}]" if node.tied_to else ""
        call = f"{INDENT * 2}values[{node.name!r}] = self.layers[{node.name!r}]({sources}{table}, train={train})"
        if len(call) > MAX_LINE:
            call = (f"{INDENT * 2}values[{node.name!r}] = self.layers[{node.name!r}](\n"
                    f"{INDENT * 3}{sources}{table}, train={train}\n{INDENT * 2})")
        call_lines.append(call)
    outputs = ", ".join(f"values[{name!r}]" for name in graph.outputs)
    result = outputs if len(graph.outputs) == 1 else f"({outputs},)"
    model = [
        "",
        "",
        f"INPUTS = {tuple(inputs)!r}",
        f"COMPUTE_DTYPE = {dtype!r}",
        "",
        "",
        "class Model(nnx.Module):",
        f'{INDENT}"""{loaded.spec.model.name}: `model(*inputs, train=False)`, inputs in the order of INPUTS."""',
        "",
        f"{INDENT}def __init__(self, *, rngs: nnx.Rngs) -> None:",
        f"{INDENT * 2}self.layers = nnx.data({{",
        *layer_lines,
        f"{INDENT * 2}}})",
        "",
        f"{INDENT}def __call__(self, *inputs: jax.Array, train: bool = False):",
        f"{INDENT * 2}if len(inputs) != len(INPUTS):",
        f'{INDENT * 3}raise TypeError(f"the model takes {{len(INPUTS)}} inputs {{INPUTS}}, got {{len(inputs)}}")',
        f"{INDENT * 2}values = {{name: _entry(x) for name, x in zip(INPUTS, inputs)}}",
        *call_lines,
        f"{INDENT * 2}return {result}",
        "",
        "",
        "def _entry(x: jax.Array) -> jax.Array:",
        f'{INDENT}"""Floating inputs are cast to the compute dtype; integer ids stay integers."""',
        f"{INDENT}x = jnp.asarray(x)",
        f"{INDENT}return x.astype(COMPUTE_DTYPE) if jnp.issubdtype(x.dtype, jnp.floating) else x",
    ]
    return "\n".join(header) + _library_source() + "\n".join(model) + "\n"


def _library_source() -> str:
    """`_flax.py` without its module docstring (the ejected file has its own)."""
    source = inspect.getsource(_flax)
    docstring = f'"""{_flax.__doc__}"""'
    return source.replace(docstring, "# The layer classes (copied from dslc's spec/layers/_flax.py).", 1)
