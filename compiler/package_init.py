"""The `__init__.py` and README.md of an exported Flax package (compiler/package.py).

`__init__.py` holds what turns raw examples into predictions outside dslc: `load()` (the model with its
weights, read from safetensors with numpy alone), `preprocess` (as `dslc.runtime.data.prepare_inputs`),
`postprocess` (as `dslc predict` reads the outputs, by the loss: runtime/predictions.py) and `predict`.
Only the post-processing of this model's loss is written. Spec strings appear only as `repr` literals.
"""

from __future__ import annotations

from dslc.spec.vocab import BINARY_LOSSES, CLASS_LOSS

HEAD = '''"""A trained model as a standalone Flax package, exported by dslc: it needs jax, flax and numpy only.

`load()` builds `Model` (model.py) with its trained weights (weights.safetensors); `preprocess`
turns raw examples into the model's inputs as training prepared them; `postprocess` turns its
outputs into predictions; `predict` does all three. See README.md.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .model import Model

'''

READER = '''

HERE = Path(__file__).parent
FILE_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "U8": "u1", "BOOL": "?"}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """A .safetensors file's arrays by name: 8 bytes of header length, a JSON header, then little-endian data."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    header.pop("__metadata__", None)
    body = memoryview(data)[8 + length:]
    arrays = {}
    for name, entry in header.items():
        start, stop = entry["data_offsets"]
        arrays[name] = np.frombuffer(body[start:stop], FILE_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return arrays


def load() -> Model:
    """The model with its trained parameters and batch statistics."""
    model = Model(rngs=nnx.Rngs(0))
    weights = read_safetensors(HERE / "weights.safetensors")
    state = nnx.state(model, nnx.Any(nnx.Param, nnx.BatchStat))
    values = nnx.to_pure_dict(state)
    _fill(values, weights, "")
    if weights:
        raise ValueError(f"weights.safetensors holds arrays the model lacks: {sorted(weights)[:5]}")
    nnx.replace_by_pure_dict(state, values)
    nnx.update(model, state)
    return model


def _fill(values: dict, weights: dict[str, np.ndarray], prefix: str) -> None:
    """Each array of `values` (a module's state, nested by attribute) replaced by the weight of its dotted name."""
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _fill(value, weights, f"{name}.")
            continue
        weight = weights.pop(name, None)
        if weight is None or weight.shape != value.shape:
            raise ValueError(f"weights.safetensors: {name} is missing or not of shape {value.shape}")
        values[key] = jnp.asarray(weight)
'''

PREPROCESS = '''

def preprocess(*raw: np.ndarray) -> tuple[np.ndarray, ...]:
    """Raw examples (one array per input, examples first, in the form of the training data) as the model's
    inputs: reshaped to the input's shape, cast to its dtype and normalised with the run's statistics."""
    if len(raw) != len(INPUTS):
        raise TypeError(f"expected {len(INPUTS)} arrays (one per input: {INPUTS}), got {len(raw)}")
    inputs = []
    for index, (array, shape, dtype) in enumerate(zip(raw, SHAPES, DTYPES, strict=True)):
        x = np.asarray(array)
        if None not in shape:
            x = x.reshape(len(x), *shape)
        x = x.astype(dtype)
        if f"input{index}.shift" in NORMALIZATION:  # (x - shift) / scale, per feature, in float64
            shift, scale = NORMALIZATION[f"input{index}.shift"], NORMALIZATION[f"input{index}.scale"]
            x = ((x.astype(np.float64) - shift) / scale).astype(dtype)
        inputs.append(x)
    return tuple(inputs)
'''

FORWARD = '''

@nnx.jit
def forward(model: Model, *inputs: jax.Array) -> jax.Array | tuple[jax.Array, ...]:
    """The model's outputs in inference mode (compiled once per input shape)."""
    return model(*inputs, train=False)


def predict(*raw: np.ndarray, model: Model | None = None) -> dict[str, np.ndarray]:
    """Raw examples in, predictions out (as `dslc predict` gives them); `model` defaults to `load()`."""
    model = model if model is not None else load()
    return postprocess(forward(model, *preprocess(*raw)))
'''

FIRST_OUTPUT = '''    outputs = outputs[0] if isinstance(outputs, tuple) else outputs  # as dslc predict: the first
'''

POSTPROCESS = {
    "classes": '''

def postprocess(outputs: jax.Array | tuple[jax.Array, ...]) -> dict[str, np.ndarray]:
    """Softmax cross-entropy logits as predictions: the likeliest class and each class's probability."""
{first}    logits = np.asarray(outputs, np.float32).astype(np.float64)
    exponentials = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probabilities = (exponentials / exponentials.sum(axis=-1, keepdims=True)).astype(np.float32)
    result = {{"prediction": logits.argmax(axis=-1), "probabilities": probabilities}}
{classes}    return result
''',
    "binary": '''

def postprocess(outputs: jax.Array | tuple[jax.Array, ...]) -> dict[str, np.ndarray]:
    """Sigmoid binary cross-entropy logits as predictions: each unit's probability and its 0/1 label."""
{first}    logits = np.asarray(outputs, np.float32).astype(np.float64)
    small = np.exp(-np.abs(logits))  # stable for large logits of either sign
    probabilities = np.where(logits >= 0, 1 / (1 + small), small / (1 + small)).astype(np.float32)
    return {{"prediction": (probabilities >= 0.5).astype(np.int64), "probabilities": probabilities}}
''',
    "values": '''

def postprocess(outputs: jax.Array | tuple[jax.Array, ...]) -> dict[str, np.ndarray]:
    """The outputs as values{units}."""
{first}    values = np.asarray(outputs, np.float32)
{undo}    return {{"values": values}}
''',
}

CLASS_NAMES = '''    result["class"] = np.asarray(CLASSES)[result["prediction"]]
'''
UNDO = '''    shift, scale = NORMALIZATION["target.shift"], NORMALIZATION["target.scale"]
    values = (values.astype(np.float64) * scale + shift).astype(np.float32)  # normalize_target undone
'''


def init_source(*, name: str, inputs: list[tuple[str, tuple[int | None, ...], str]], loss: str,
                classes: tuple[str, ...] | None, normalized: bool, target: bool, outputs: int) -> str:
    """`inputs`: (name, example shape, dtype) per model input; `normalized`: a normalization.safetensors is
    written; `target`: it holds the target's statistics; `outputs`: how many the model returns."""
    constants = [
        f"MODEL_NAME = {name!r}",
        f"INPUTS = {tuple(input_name for input_name, _, _ in inputs)!r}  # the model's inputs, in its call's order",
        f"SHAPES = {tuple(shape for _, shape, _ in inputs)!r}  # each input's example shape (None: any size)",
        f"DTYPES = {tuple(dtype for _, _, dtype in inputs)!r}",
        f"LOSS = {loss!r}  # what the outputs are: it decides the post-processing",
    ]
    if classes is not None:
        constants.append(f"CLASSES = {classes!r}  # class id i is CLASSES[i]")
    kind = "classes" if loss == CLASS_LOSS else "binary" if loss in BINARY_LOSSES else "values"  # as predictions.py
    first = FIRST_OUTPUT if outputs > 1 else ""
    post = POSTPROCESS[kind].format(first=first, classes=CLASS_NAMES if classes is not None else "",
                                    undo=UNDO if target else "", units=" in the data's units" if target else "")
    normalization = ('NORMALIZATION = read_safetensors(HERE / "normalization.safetensors")  # (shift, scale) arrays'
                     if normalized else "NORMALIZATION: dict[str, np.ndarray] = {}  # training normalised nothing")
    return (HEAD + "\n".join(constants) + "\n" + READER + "\n\n" + normalization + "\n" + PREPROCESS + post
            + FORWARD)


def readme(package: str, model: str, inputs: list[str], blocks: list[str]) -> str:
    """How to use the package (Markdown: the names are shown in code spans, never run); `blocks`: their modules."""
    arrays = "raw" if len(inputs) == 1 else ", ".join(f"raw_{index}" for index in range(len(inputs)))
    listed = ", ".join(f"`{name.replace('`', '')}`" for name in inputs)
    modules = "".join(f", `{module}.py`" for module in blocks)
    return f"""# {package}: the model `{model.replace('`', '')}` as a Flax package

Exported by `dslc export --format flax`. It needs jax, flax and numpy only (not dslc):

```python
import {package}

model = {package}.load()  # Model (model.py) with the trained weights of weights.safetensors
print({package}.predict({arrays}, model=model))  # raw examples in, predictions out
```

Each raw array holds examples first, in the form of the training data (one per input: {listed});
`preprocess` prepares them as training did and `postprocess` reads the outputs as `dslc predict` does.
The code: `model.py` (the model), `layers.py` (its layer classes){modules} (a class per block kind).
"""
