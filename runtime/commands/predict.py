"""`dslc predict SPEC --checkpoint DIR --input FILE`: a trained model's outputs on new examples.

The input is raw data in the form of the training data (for `digits`: 64 pixel values 0..16 per
row); it is reshaped, cast and normalised the way training did it, with the statistics of the
run's own train split (`dslc.runtime.data.prepare_inputs`), as stored with the checkpoint. Where
training normalised the targets (`normalize_target`), the outputs are given back in the data's
units. The model runs in inference mode, batch by batch at one fixed batch size (the last batch
padded), so it compiles once.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dslc.runtime.options import (
    add_data_root_option,
    add_device_option,
    add_limit_options,
    add_session_options,
    limits_from,
    positive,
)
from dslc.runtime.progress import plural
from dslc.spec.errors import DslcError, DslcErrors, show_value
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.load import LoadedSpec

if TYPE_CHECKING:
    import numpy as np

    from dslc.runtime.arrays import Statistics
    from dslc.runtime.predictions import Predicted

INPUT_SUFFIXES = (".npy", ".npz", ".csv")
OUTPUT_SUFFIXES = (".npy", ".csv")

DESCRIPTION = """\
Restore a checkpoint of `dslc train SPEC` and run the model (inference mode: dropout off, batch
statistics read) on the examples of FILE.

input (--input FILE): raw examples in the same form as the training data; dslc reshapes them to the
model's input shape and normalises them exactly as training did, with the statistics of the run's
train split. Each example may also be given already in the model input's shape.
  .npy  one array, examples first, for a model with one input
  .npz  one array per model input, keyed by the input's name
  .csv  a header row, then one example per row (a model with one input); if the spec trained on a
        CSV file, its feature columns are taken by name and the label column is ignored
For `data: digits` a row is 64 pixel values 0..16, as scikit-learn's load_digits().data.

output (--output OUT, default: CSV on stdout), by the loss the model trained with:
  .csv  a header and one row per example:
        softmax_cross_entropy: `prediction` (the class id) then `p0..p{k-1}` (softmax probabilities),
          with `class` (the sub-folder's name) after `prediction` for a model trained on an image folder
        sigmoid_binary_cross_entropy: `prediction` (0 or 1) and `p` (the sigmoid probability), or
          `prediction_i` and `p_i` for each of several outputs
        otherwise: `y0..` (the output values)
  .npy  float32, shape (examples, *output shape): a classifier's probabilities, else the values
A model trained with normalize_target gives its outputs in the data's units (the normalisation undone).
--raw gives the outputs as the model computes them (logits, normalised targets), as `y0..` in a CSV.
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("predict", help="a trained checkpoint's outputs on new examples (.npy/.npz/.csv)",
                            description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", metavar="SPEC")
    parser.add_argument("--checkpoint", type=Path, metavar="DIR",
                        help="a run's --workdir (its latest checkpoint), its best/ folder, or one checkpoint folder "
                             "(default: runs/<model name>/best, or runs/<model name> where there is no best)")
    parser.add_argument("--input", type=Path, required=True, metavar="FILE",
                        help="the examples: .npy, .npz (keys: the model's input names) or .csv (with a header); "
                             "- reads standard input (.npy bytes or CSV text, told apart by their content)")
    parser.add_argument("--output", type=output_path, metavar="OUT",
                        help="where to write the outputs: .npy (float32: a classifier's probabilities, else the "
                             "values) or .csv (default: CSV on stdout)")
    parser.add_argument("--raw", action="store_true",
                        help="the outputs as the model computes them: logits (no softmax or sigmoid), normalised "
                             "targets (normalize_target not undone)")
    parser.add_argument("--batch", type=positive(int), metavar="N",
                        help="examples per model call (default: the run's training batch)")
    add_device_option(parser, "where to run the model (default: a GPU or TPU if present, else the CPU)")
    add_session_options(parser)
    add_limit_options(parser)
    add_data_root_option(parser)
    parser.set_defaults(run=run)


def output_path(text: str) -> Path:
    """An argparse type: a .npy or .csv path in an existing folder (checked before any work)."""
    path = Path(text)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text!r}: the output must end in .npy or .csv (got "
                                         f"{path.suffix or 'no suffix'!r})")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder")
    return path


def run(args: argparse.Namespace) -> int:
    raw = read_input(args.input)  # before JAX and the session: a bad file fails fast
    predicted = predict_checkpoint(args.file, raw, _named(args.input), args.checkpoint, batch=args.batch,
                                   device=args.device, compile_cache=args.compile_cache, limits=limits_from(args),
                                   raw_outputs=args.raw)
    if args.output is None:
        sys.stdout.write(predicted.csv())
        return 0
    import numpy as np

    from dslc.runtime.rewrite import write_atomically

    if args.output.suffix.lower() == ".npy":
        buffer = io.BytesIO()
        np.save(buffer, predicted.array(), allow_pickle=False)
        write_atomically(args.output, buffer.getvalue())
    else:
        write_atomically(args.output, predicted.csv())
    print(f"wrote {plural(len(predicted.outputs), 'prediction')} to {args.output} (checkpoint "
          f"{predicted.checkpoint}, step {predicted.step})")
    return 0


def predict_checkpoint(spec: str | LoadedSpec, raw: np.ndarray | dict[str, np.ndarray] | tuple[list[str], np.ndarray],
                       source: str, checkpoint: Path | None = None, *, batch: int | None = None,
                       device: str = "auto", compile_cache: str | None = None,
                       limits: Limits = DEFAULT_LIMITS, raw_outputs: bool = False) -> Predicted:
    """A trained checkpoint's outputs on raw examples (`source` names them in errors); `raw_outputs`: as the model
    computes them (logits; normalised targets)."""
    import jax

    from dslc.runtime.predictions import Predicted, kind_of
    from dslc.runtime.session import open_trained

    session, restored = open_trained(spec, checkpoint, limits, device, compile_cache)
    statistics = stored_statistics(restored.record, session.dataset)
    try:
        inputs = model_inputs(session, source, raw, statistics)
    except DslcError as error:  # a file error, or one in the spec's data section (then shown in its source)
        raise DslcErrors([error], session.loaded.source.text if error.span else None) from None
    with jax.default_device(session.device):
        outputs = predict(session.graphdef, restored.state, inputs, batch or session.train.batch,
                          _output_shape(session))
    if statistics.target is not None and not raw_outputs:  # normalised targets back in the data's units
        outputs = statistics.target.undo(outputs)
    loss: Any = session.train.loss  # one of the vocabulary's loss models
    names = getattr(session.dataset.train.inputs[0], "classes", None)  # an image folder's (runtime/images.py)
    return Predicted(outputs, kind_of(loss.kind, raw_outputs), names, Path(restored.folder), restored.step)


# -- reading the input ------------------------------------------------------------------------------
def _fail(code: str, message: str, hint: str | None = None) -> DslcErrors:
    return DslcErrors([DslcError(code, message, None, hint=hint, stage="data")])


STDIN = Path("-")
NPY_MAGIC, NPZ_MAGIC = b"\x93NUMPY", b"PK\x03\x04"


def read_input(path: Path) -> np.ndarray | dict[str, np.ndarray] | tuple[list[str], np.ndarray]:
    """The file's contents: an .npy array, the arrays of an .npz by key, or a CSV's (header, float64 rows)."""
    import numpy as np

    if path == STDIN:
        return _read_stdin()
    suffix = path.suffix.lower()
    if suffix not in INPUT_SUFFIXES:
        raise _fail("E701", f"{_named(path)}: cannot read {suffix or 'a file without a suffix'}; give an "
                            ".npy, .npz or .csv file")
    if not path.is_file():
        problem = "is not a file" if path.exists() else "does not exist"
        raise _fail("E701", f"{_named(path)} {problem}")
    if suffix == ".csv":
        return _read_csv(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if suffix == ".npy":
            if not isinstance(loaded, np.ndarray):
                loaded.close()
                raise ValueError("an .npz archive, not an .npy array")
            return loaded
        if isinstance(loaded, np.ndarray):
            raise ValueError("an .npy array, not an .npz archive")
        with loaded as archive:
            return {key: np.asarray(archive[key]) for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        kind = "an .npy array" if suffix == ".npy" else "an .npz archive"
        raise _fail("E701", f"{_named(path)} cannot be read as {kind}: {show_value(str(exc))}") from None


def _named(path: Path) -> str:
    return "standard input" if path == STDIN else f"input file '{path}'"


def _read_stdin() -> np.ndarray | dict[str, np.ndarray] | tuple[list[str], np.ndarray]:
    """Standard input: .npy or .npz bytes (told by their magic numbers), else CSV text."""
    import numpy as np

    data = sys.stdin.buffer.read()
    if not data.startswith((NPY_MAGIC, NPZ_MAGIC)):
        try:
            return _parse_csv(STDIN, data.decode("utf-8").splitlines())
        except UnicodeDecodeError as exc:
            raise _fail("E701", f"standard input is neither .npy bytes nor CSV text ({exc.reason})") from None
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded as archive:
            return {key: np.asarray(archive[key]) for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _fail("E701", f"standard input cannot be read as NumPy data: {show_value(str(exc))}") from None


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return _parse_csv(path, handle.read().splitlines())
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail("E701", f"{_named(path)} cannot be read as CSV: {show_value(str(exc))}") from None


def _parse_csv(path: Path, lines: list[str]) -> tuple[list[str], np.ndarray]:
    import numpy as np

    try:
        rows = [(number, row) for number, row in enumerate(csv.reader(lines), start=1) if row]
    except csv.Error as exc:
        raise _fail("E701", f"{_named(path)} cannot be read as CSV: {show_value(str(exc))}") from None
    if not rows:
        raise _fail("E701", f"{_named(path)} is empty (expected a header row)")
    header = [name.strip() for name in rows[0][1]]
    values = np.empty((len(rows) - 1, len(header)), np.float64)
    for index, (number, row) in enumerate(rows[1:]):
        if len(row) != len(header):
            raise _fail("E704", f"{_named(path)} line {number} has {len(row)} cells, the header has "
                                f"{len(header)}")
        for column, cell in enumerate(row):
            try:
                values[index, column] = float(cell)
            except ValueError:
                raise _fail("E705", f"{_named(path)} line {number}, column {show_value(header[column])}: "
                                    f"{show_value(cell)} is not a number",
                            hint="CSV input must be numeric columns under a header row") from None
    return header, values


def stored_statistics(record: dict[str, Any], dataset: Any) -> Statistics:
    """The normalisation statistics a checkpoint was stored with; those of the data as loaded now for a
    checkpoint written before they were stored."""
    from dslc.runtime.arrays import Statistics

    stored = record.get("statistics")
    return Statistics.from_json(stored) if stored is not None else dataset.statistics


def model_inputs(session: Any, source: str, raw: np.ndarray | dict[str, np.ndarray] | tuple[list[str], np.ndarray],
                 statistics: Statistics | None = None) -> tuple[np.ndarray, ...]:
    """One array per model input, prepared as training prepared its data (`source` names them in errors)."""
    from dslc.runtime.data import feature_columns, prepare_inputs

    names = [name for name, _ in session.analysis.inputs]
    if isinstance(raw, dict):
        missing = [name for name in names if name not in raw]
        if missing:
            raise _fail("E703", f"{source} has no key {show_value(missing[0])} (it has "
                                f"{', '.join(map(show_value, raw)) or 'no arrays'})",
                        hint=f"store one array per model input, named {', '.join(map(show_value, names))}")
        arrays = [raw[name] for name in names]
        what = [f"{source} key {show_value(name)}" for name in names]
    else:
        if len(names) != 1:
            raise _fail("E704", f"{source} holds one array, but the model takes {len(names)} inputs "
                                f"({', '.join(names)})", hint="give an .npz file with one array per input name")
        what = [source]
        if isinstance(raw, tuple):
            arrays = [_csv_features(source, *raw, feature_columns(session.loaded, session.train))]
        else:
            arrays = [raw]
    return prepare_inputs(session.loaded, session.analysis, session.seed, arrays, train=session.train, what=what,
                          statistics=statistics)


def _csv_features(source: str, header: list[str], values: np.ndarray, columns: list[str] | None) -> np.ndarray:
    if columns is None:  # the data is not a CSV file: every column is a feature
        return values
    missing = [name for name in columns if name not in header]
    if missing:
        raise _fail("E703", f"{source} has no column {show_value(missing[0])} (the training data's "
                            f"feature columns are {', '.join(map(show_value, columns))}; it has "
                            f"{', '.join(map(show_value, header))})")
    return values[:, [header.index(name) for name in columns]]


# -- running the model ----------------------------------------------------------------------------
def _output_shape(session: Any) -> tuple[int, ...]:
    output = session.analysis.layer(session.analysis.outputs[0]).output
    return tuple(0 if dim is None else dim for dim in output.shape)


def predict(graphdef: Any, state: Any, inputs: tuple[np.ndarray, ...], batch: int,
            output_shape: tuple[int, ...]) -> np.ndarray:
    """The model's float32 outputs, (n, *output_shape): jitted once, fixed-size batches, the last one padded."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    @jax.jit
    def forward(state: Any, *xs: jax.Array) -> jax.Array:
        outputs = nnx.merge(graphdef, state.params, state.rest)(*xs, train=False)
        if isinstance(outputs, tuple):  # `check_training` refused several outputs (E602)
            raise ValueError("predict supports models with one output only")
        return outputs.astype(jnp.float32)

    n = len(inputs[0])
    if n == 0:
        return np.zeros((0, *output_shape), np.float32)
    size = min(batch, n)
    results = []
    for start in range(0, n, size):
        rows = [x[start:start + size] for x in inputs]
        count = len(rows[0])
        if count < size:
            rows = [np.concatenate([x, np.repeat(x[-1:], size - count, axis=0)]) for x in rows]
        results.append(forward(state, *jax.device_put(rows))[:count])
    return np.concatenate(jax.device_get(results))
