"""Training checks: each E6xx finding fires at the right line:col in both syntaxes, and never on the examples.

In each case below, `«` marks where an expected error points; it is removed before loading.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.checks import _classes_problem, check_training, metric_mode, metric_name, metric_names, path_problem
from dslc.spec.codes import CODES
from dslc.spec.errors import DslcError
from dslc.spec.layers.base import Tensor
from dslc.spec.load import load, load_text
from dslc.spec.vocab import METRICS, Npz

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
MARK = "«"


def marked(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The text without its marks, and the 1-based (line, col) of each mark."""
    positions, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        while MARK in line:
            col = line.index(MARK)
            positions.append((number, col + 1))
            line = line[:col] + line[col + 1:]
        lines.append(line)
    return "\n".join(lines) + "\n", positions


def findings(text: str, syntax: str = "yaml") -> tuple[list[DslcError], list[tuple[int, int]]]:
    clean, positions = marked(text)
    loaded = load_text(clean, syntax)  # type: ignore[arg-type]
    return check_training(loaded, analyse(loaded)), positions


def yaml_spec(layers: str = "- dense: {units: 3}", train: str = "", loss: str = "softmax_cross_entropy",
              inputs: str = "{x: [8]}", head: str = "") -> str:
    """A small spec; `train` lines are appended to the train section (indented by the caller)."""
    body = "\n".join("    " + line for line in layers.splitlines())
    return (f"dslc: 1\nmodel:\n  name: m\n  inputs: {inputs}\n  layers:\n{body}\n{head}"
            f"train:\n  loss: {loss}\n  optimizer: {{adam: {{lr: 0.01}}}}\n  batch: 8\n  steps: 10\n"
            f"  data: {{synthetic: {{task: random}}}}\n{train}")


YAML_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "several outputs": (yaml_spec("- dense: {units: 3}\n  name: a\n- dense: {units: 2}\n  name: b\n  from: x",
                                  loss="«softmax_cross_entropy", head="  outputs: [a, b]\n"), ("E602",)),
    "softmax on one unit": (yaml_spec("- dense: {units: 1}", loss="«softmax_cross_entropy"), ("E603",)),
    "smoothed softmax on one unit": (yaml_spec("- dense: {units: 1}",
                                               loss="{«softmax_cross_entropy: {label_smoothing: 0.1}}"), ("E603",)),
    "accuracy on one unit": (yaml_spec("- dense: {units: 1}", loss="«softmax_cross_entropy",
                                       train="  metrics: [«accuracy]\n"), ("E603", "E604")),
    "top_k not below the classes": (yaml_spec(train="  metrics: [accuracy, {top_k: {k: «3}}]\n"), ("E604",)),
    "accuracy under a regression loss": (yaml_spec(loss="mse", train="  metrics: [mae, «accuracy]\n"), ("E604",)),
    "mse metric under cross-entropy": (yaml_spec(train="  metrics:\n    - accuracy\n    - «mse\n"), ("E604",)),
    "top_k under sigmoid": (yaml_spec(loss="sigmoid_binary_cross_entropy", train="  metrics: [accuracy, «top_k]\n"),
                            ("E604",)),
    "one metric, not a list": (yaml_spec(loss="huber", train="  metrics: «accuracy\n"), ("E604",)),
    "a metric twice": (yaml_spec(train="  metrics: [{top_k: {k: 2}}, accuracy, {«top_k: {k: 2}}]\n"), ("E605",)),
    "bf16 on integers only": (yaml_spec("- flatten", inputs="{x: {shape: [8], dtype: int32}}", loss="mse",
                                        train="  precision: «bfloat16\n").replace("train:", "«train:"),
                              ("E607", "E606")),
    "everything frozen": (yaml_spec("- dense: {units: 3}\n  trainable: false").replace("train:", "«train:"),
                          ("E607",)),
    "warmup as long as the schedule": (yaml_spec().replace(
        "{adam: {lr: 0.01}}", "{adam: {lr: {warmup_cosine: {peak: 0.1, warmup_steps: «50, decay_steps: 50}}}}"),
        ("E608",)),
    "nesterov without momentum": (yaml_spec().replace("{adam: {lr: 0.01}}", "{sgd: {lr: 0.1, nesterov: «true}}"),
                                  ("E609",)),
    "best names no metric": (yaml_spec(train="  metrics: [accuracy]\n  checkpoint: {best: «acuracy}\n"), ("E610",)),
    "monitor names no metric": (yaml_spec(train="  metrics: [accuracy]\n"
                                                "  early_stopping: {patience: 3, monitor: «acuracy}\n"), ("E612",)),
    "monitor names a metric not asked for": (yaml_spec(train="  early_stopping:\n    patience: 3\n"
                                                             "    monitor: «accuracy\n"), ("E612",)),
    "digits into 8 inputs": (yaml_spec("- dense: {units: 10}").replace("{synthetic: {task: random}}", "«digits"),
                             ("E611",)),
    "digits labels into 3 classes": (yaml_spec(inputs="{x: [8, 8, 1]}", layers="- flatten\n- dense: {units: 3}")
                                     .replace("{synthetic: {task: random}}", "«digits"), ("E611",)),
    "digits labels under mse": (yaml_spec(inputs="{x: [64]}", layers="- dense: {units: 10}", loss="mse")
                                .replace("{synthetic: {task: random}}", "«digits"), ("E611",)),
    "digits images into classes": (yaml_spec(inputs="{x: [64]}", layers="- dense: {units: 64}")
                                   .replace("{synthetic: {task: random}}", "{«digits: {target: input}}"),
                                   ("E611",)),
    "digits images into the wrong size": (yaml_spec(inputs="{x: [64]}", layers="- dense: {units: 32}", loss="mae")
                                          .replace("{synthetic: {task: random}}", "{«digits: {target: input}}"),
                                          ("E611",)),
}


@pytest.mark.parametrize("name", YAML_CASES)
def test_each_check_fires_at_its_position(name: str) -> None:
    text, codes = YAML_CASES[name]
    errors, positions = findings(text)
    assert sorted((e.code, e.span.line, e.span.col) for e in errors) == \
        sorted((code, *position) for code, position in zip(codes, positions, strict=True)), \
        [e.render() for e in errors]
    assert all(e.stage == "train" and e.code in CODES for e in errors)


DSL_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "several outputs": ("""\
dslc 1
model m(x: [8]) -> a, b {
  a: dense(3)
  b: dense(2, from=x)
}
train {
  loss = «softmax_cross_entropy; optimizer = adam(0.01); batch = 8; steps = 10
  data = synthetic(task=random)
}""", ("E602",)),
    "positional top_k": ("""\
dslc 1
model m(x: [8]) { dense(3) }
train {
  loss = softmax_cross_entropy; optimizer = adam(0.01); batch = 8; steps = 10
  metrics = [accuracy, top_k(«4), «accuracy]
  data = synthetic(task=random)
}""", ("E604", "E605")),
    "nested schedule": ("""\
dslc 1
model m(x: [8]) { dense(3) }
train {
  loss = softmax_cross_entropy; batch = 8; steps = 10
  optimizer = sgd(warmup_cosine(peak=0.1, warmup_steps=«60, decay_steps=50), momentum=0.9)
  data = synthetic(task=random)
}""", ("E608",)),
    "frozen, bf16, nesterov, best": ("""\
dslc 1
model m(x: [8]) { dense(3, trainable=false) }
«train {
  loss = softmax_cross_entropy; batch = 8; steps = 10
  optimizer = sgd(lr=0.1, nesterov=«true)
  precision = bfloat16
  checkpoint = {best = «top_5}
  data = synthetic(task=random)
}""", ("E607", "E609", "E610")),
    "early stopping on a top_k name": ("""\
dslc 1
model m(x: [8]) { dense(4) }
train {
  loss = softmax_cross_entropy; optimizer = adam(0.01); batch = 8; steps = 10
  metrics = [top_k(3)]; data = synthetic(task=random)
  early_stopping = {monitor = «top3_accuracy, patience = 2}
}""", ("E612",)),
}


@pytest.mark.parametrize("name", DSL_CASES)
def test_each_check_fires_at_its_position_in_the_dsl(name: str) -> None:
    text, codes = DSL_CASES[name]
    errors, positions = findings(text, "dsl")
    assert sorted((e.code, e.span.line, e.span.col) for e in errors) == \
        sorted((code, *position) for code, position in zip(codes, positions, strict=True)), \
        [e.render() for e in errors]


def test_messages_and_hints() -> None:
    errors, _ = findings(YAML_CASES["softmax on one unit"][0])
    assert "one unit" in errors[0].message and "sigmoid_binary_cross_entropy" in (errors[0].hint or "")
    errors, _ = findings(YAML_CASES["several outputs"][0])
    assert "2 outputs (a, b)" in errors[0].message and "not supported" not in errors[0].message
    assert "one output only" in errors[0].message
    assert errors[0].related and errors[0].related[0][1].line == 11  # the `outputs:` list
    errors, _ = findings(YAML_CASES["best names no metric"][0])
    assert errors[0].hint == "did you mean 'accuracy'?"
    errors, _ = findings(YAML_CASES["monitor names no metric"][0])
    assert "'acuracy' is not reported by this run (it reports loss, accuracy)" in errors[0].message
    assert errors[0].hint == "did you mean 'accuracy'?"
    errors, _ = findings(DSL_CASES["early stopping on a top_k name"][0], "dsl")
    assert errors[0].hint == "did you mean 'top_3_accuracy'?"
    errors, _ = findings(YAML_CASES["top_k not below the classes"][0])
    assert "k=3" in errors[0].message and "3" in errors[0].message


def test_the_examples_pass() -> None:
    for path in sorted(EXAMPLES.glob("*.*")):
        if path.suffix in (".yaml", ".dsl"):
            loaded = load(path)
            assert check_training(loaded, analyse(loaded)) == [], path.name


def test_no_train_section_no_findings() -> None:
    loaded = load_text("dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers: [dense: {units: 1}]\n", "yaml")
    assert check_training(loaded, analyse(loaded)) == []


def test_class_axis_problems() -> None:
    assert _classes_problem(Tensor((5, 10))) is None
    assert "no class axis" in (_classes_problem(Tensor(())) or "")
    assert "unknown" in (_classes_problem(Tensor((4, None))) or "")
    assert "one unit" in (_classes_problem(Tensor((1,))) or "")


def test_metric_names() -> None:
    assert metric_name(METRICS.choices["top_k"](k=3)) == "top_3_accuracy"
    loaded = load(EXAMPLES / "two_branch.yaml")
    assert metric_names(loaded.spec.train) == ("loss", "accuracy", "top_2_accuracy")  # type: ignore[arg-type]


def test_metric_mode() -> None:
    """Which way each reported name improves: what early stopping and the best checkpoint compare by."""
    modes = {"accuracy": "max", "top_k": "max", "mse": "min", "mae": "min", "perplexity": "min",
             "bits_per_byte": "min"}
    assert set(modes) == set(METRICS.choices)  # a new metric kind must be given its mode here
    for kind, mode in modes.items():
        assert metric_mode(metric_name(METRICS.choices[kind]())) == mode, kind
    assert metric_mode("top_1_accuracy") == "max" and metric_mode("loss") == "min"


def test_dslc_check_reports_a_monitor_that_names_no_metric(tmp_path: Path) -> None:
    output = []
    for name, cases, suffix in (("monitor names no metric", YAML_CASES, "yaml"),
                                ("early stopping on a top_k name", DSL_CASES, "dsl")):
        text, [(line, col)] = marked(cases[name][0])
        path = tmp_path / f"m.{suffix}"
        path.write_text(text)
        output.append(f"{path}:{line}:{col}: error[E612]: ")
    result = subprocess.run([sys.executable, "-m", "dslc", "check", str(tmp_path / "m.yaml"), str(tmp_path / "m.dsl")],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert all(line in result.stdout for line in output), result.stdout


def test_checks_import_no_jax(tmp_path: Path) -> None:
    """`dslc check` runs these checks and must start without JAX (docs/architecture.md#the-import-rule)."""
    code = "import sys, dslc.compiler.checks; sys.exit('jax' in sys.modules or 'flax' in sys.modules)"
    # Run outside the checkout, where its `dslc/` folder could shadow the installed package.
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=tmp_path).returncode == 0


# -- data paths (E702): static path arithmetic; the runtime resolves them again and refuses escaping symlinks --------
@pytest.mark.parametrize(("path", "problem"), [
    ("/etc/passwd", "is an absolute path"),
    ("C:\\Windows\\x.npz", "is an absolute path"),
    ("C:x.npz", "is an absolute path"),
    ("\\\\server\\share\\x.npz", "is an absolute path"),
    ("~/x.npz", "starts with '~' (a home folder)"),
    ("~root/x.npz", "starts with '~' (a home folder)"),
    ("file:///etc/passwd", "is a URL"),
    ("file:x.npz", "is a URL"),
    ("FILE:x.npz", "is a URL"),
    ("https://example.com/x.npz", "is a URL"),
    ("s3://bucket/x.npz", "is a URL"),
    ("../x.npz", "climbs out with '..'"),
    ("..", "climbs out with '..'"),
    ("data/../../x.npz", "climbs out with '..'"),
    ("data\\..\\..\\x.npz", "climbs out with '..'"),
    ("./../x.npz", "climbs out with '..'"),
])
def test_a_data_path_outside_the_spec_folder_is_a_problem(path: str, problem: str) -> None:
    assert path_problem(path) == problem


@pytest.mark.parametrize("path", ["x.npz", "data/x.npz", "./x.npz", "data/../x.npz", "..x.npz", "x..npz", "a..b/c.npz",
                                  "run:1.npz", "data/file:x.npz"])
def test_a_data_path_inside_the_spec_folder_is_fine(path: str) -> None:
    assert path_problem(path) is None


def _with_data(data: str) -> str:
    return yaml_spec(inputs="{x: [4]}", loss="mse").replace("{synthetic: {task: random}}", data)


@pytest.mark.parametrize(("syntax", "text"), [
    ("yaml", _with_data("{npz: {path: «file:x.npz}}")),
    ("yaml", _with_data("{npz: «file:x.npz}")),
    ("yaml", _with_data("{npy: {x: x.npy, y: «FILE:y.npy}}")),
    ("yaml", _with_data("{csv: {label_column: y, path: «'file:t.csv'}}")),
    ("dsl", 'dslc 1\nmodel m(x: [4]) {\n  dense(3)\n}\ntrain {\n  loss = mse; optimizer = adam(1e-3); batch = 8; '
            'steps = 1\n  data = csv(«"file:t.csv", label_column=y)\n}'),
    ("dsl", 'dslc 1\nmodel m(x: [4]) {\n  dense(3)\n}\ntrain {\n  loss = mse; optimizer = adam(1e-3); batch = 8; '
            'steps = 1\n  data = npy(x=«"file:x.npy", y=«"file:y.npy")\n}'),
])
def test_dslc_check_reports_a_data_path_outside_the_spec_folder(syntax: str, text: str) -> None:
    """The schema already refuses most such paths (E702 too); this rule catches the rest, at the path's value."""
    errors, positions = findings(text, syntax)
    assert [(e.code, e.span.line, e.span.col) for e in errors] == [("E702", *position) for position in positions], \
        [e.render() for e in errors]
    assert all("is a URL" in e.message and e.hint and "relative to the spec" in e.hint for e in errors)


def test_the_data_path_rule_also_guards_specs_built_without_the_schema() -> None:
    """A `Train` made in Python (`model_copy` and `model_construct` skip validation) is checked all the same."""
    loaded = load_text(yaml_spec(inputs="{x: [4]}", loss="mse"), "yaml")
    bad = {"/etc/passwd": "is an absolute path", "~/x.npz": "starts with '~'", "../../x.npz": "climbs out",
           "https://example.com/x.npz": "is a URL"}
    for path, problem in bad.items():
        train = loaded.spec.train.model_copy(update={"data": Npz.model_construct(path=path)})  # type: ignore[union-attr]
        spec = loaded.spec.model_copy(update={"train": train})
        errors = check_training(replace(loaded, spec=spec), analyse(loaded))
        assert [e.code for e in errors] == ["E702"] and problem in errors[0].message, path
