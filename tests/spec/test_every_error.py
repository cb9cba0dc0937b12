"""Every independent error of a file comes in one run, located through the source map.

tests/fixtures/every_error holds one spec in both syntaxes with one error of each kind: a budget,
an unknown key, a value out of range, a duplicate layer name, a shape, and a training combination.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dslc.compiler.check import check_source
from dslc.spec.errors import DslcErrors, Span
from dslc.spec.load import load_text
from dslc.spec.sourcemap import IRPath

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "every_error"
HEADLINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error\[(?P<code>[EG]\d{3})\]", re.MULTILINE)
# budget, unknown key, value range, layer name, shape, training combination
EXPECTED = {"E008", "E101", "E202", "E402", "E504", "E603"}


@pytest.mark.parametrize("name", ["every_error.yaml", "every_error.dsl"])
def test_dslc_check_reports_every_independent_error_in_one_run(name: str) -> None:
    path = FIXTURES / name
    result = subprocess.run([sys.executable, "-m", "dslc", "check", "--limit-params", "10000", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    codes = {match["code"] for match in HEADLINE.finditer(result.stdout)}
    assert EXPECTED <= codes, result.stdout
    # Over a model whose shapes failed in part, a budget figure is a lower bound: the message says so.
    assert "the model has at least" in result.stdout


def test_both_syntaxes_report_the_same_errors() -> None:
    found = {}
    for name in ("every_error.yaml", "every_error.dsl"):
        path = FIXTURES / name
        result = subprocess.run([sys.executable, "-m", "dslc", "check", "--limit-params", "10000", str(path)],
                                capture_output=True, text=True, timeout=120)
        found[name] = sorted(match["code"] for match in HEADLINE.finditer(result.stdout))
    assert found["every_error.yaml"] == found["every_error.dsl"]


# -- the source map ------------------------------------------------------------------------------
YAML = """\
dslc: 1
blocks:
  residual:
    params: [filters, {kernel: 3}]
    layers:
      - conv2d: {filters: $filters, kernel: $kernel, padding: same}
model:
  name: net
  inputs: {image: [8, 8, 1]}
  layers:
    - conv2d: {filters: 4, kernel: 3}
      name: stem
    - residual: {filters: 4}
      from: stem
    - flatten
    - dense: {units: 10}
train:
  loss: softmax_cross_entropy
  optimizer: {sgd: {lr: {warmup_cosine: {peak: 0.1, warmup_steps: 10, decay_steps: 100}}}}
  batch: 32
  epochs: 2
  metrics: [accuracy, {top_k: {k: 3}}]
  data: digits
"""

DSL = """\
dslc 1

block residual(filters, kernel=3) {
  conv2d($filters, $kernel, padding=same)
}

model net(image: [8, 8, 1]) {
  stem: conv2d(4, 3)
  residual(4, from=stem)
  flatten
  dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = sgd(lr=warmup_cosine(peak=0.1, warmup_steps=10, decay_steps=100))
  batch = 32; epochs = 2
  metrics = [accuracy, top_k(3)]
  data = digits
}
"""


def _text_at(source: str, span: Span) -> str:
    return source.split("\n")[span.line - 1][span.col - 1:]


@pytest.mark.parametrize(("path", "value", "key"), [
    (("model", "name"), "net", None),  # (the DSL writes no `name` key)
    (("model", "inputs", 0), "[8, 8, 1]", "image"),
    (("model", "layers", 0), None, "conv2d"),
    (("model", "layers", 0, "filters"), "4", None),
    (("model", "layers", 0, "name"), "stem", None),
    (("model", "layers", 1), None, "residual"),  # a block call site
    (("model", "layers", 1, "filters"), "4", None),
    (("model", "layers", 1, "from"), "stem", None),
    (("model", "layers", 3, "units"), "10", None),
    (("blocks", 0, "layers", 0, "filters"), "$filters", None),
    (("blocks", 0, "params", 1), "3", "kernel"),
    (("train", "loss", "kind"), "softmax_cross_entropy", None),
    (("train", "optimizer", "kind"), "sgd", None),
    (("train", "optimizer", "lr", "kind"), "warmup_cosine", None),
    (("train", "optimizer", "lr", "warmup_steps"), "10", None),
    (("train", "batch"), "32", "batch"),
    (("train", "metrics", 1, "kind"), "top_k", None),
    (("train", "metrics", 1, "k"), "3", None),  # positional in the DSL, by name in YAML: the same path
])
@pytest.mark.parametrize("syntax", ["yaml", "dsl"])
def test_the_source_map_locates_ir_paths_in_both_syntaxes(syntax: str, path: IRPath, value: str | None,
                                                          key: str | None) -> None:
    text = YAML if syntax == "yaml" else DSL
    loaded = load_text(text, syntax)  # type: ignore[arg-type]
    located = loaded.source_map.get(path)
    assert located is not None, path
    if value is not None:
        assert _text_at(text, located.value).startswith(value), (path, _text_at(text, located.value))
    if key is not None:
        assert located.key is not None and _text_at(text, located.key).startswith(key), path


def test_the_ir_holds_no_positions() -> None:
    yaml, dsl = load_text(YAML, "yaml"), load_text(DSL, "dsl")
    assert yaml.spec == dsl.spec
    assert not hasattr(yaml.spec.model, "_node")


# -- errors inside a block body name the call site -------------------------------------------------
BLOCK_ERRORS = """\
dslc: 1
blocks:
  residual:
    params: [rate]
    layers:
      - dropout: {rate: $rate}
      - conv2d: {filters: 4, kernel: 3}
model:
  name: net
  inputs: {x: [16]}
  layers:
    - residual: {rate: 2.0}
    - dense: {units: 2}
"""


def test_an_error_in_a_block_body_names_the_call_site() -> None:
    checked = check_source(_source(BLOCK_ERRORS), "yaml")
    assert checked.errors is not None
    errors = {error.code: error for error in checked.errors.errors}
    call_site = Span("<text>", 12, 7)
    # a validation error of the body, reported at the argument that gave the value
    assert errors["E202"].span is not None and (errors["E202"].span.line, errors["E202"].span.col) == (12, 24)
    assert [(note, (span.line, span.col)) for note, span in errors["E202"].related] == \
        [("in block 'residual' called here", (call_site.line, call_site.col))]


def test_a_shape_error_of_an_expanded_layer_names_the_call_site() -> None:
    text = BLOCK_ERRORS.replace("{rate: 2.0}", "{rate: 0.5}")
    checked = check_source(_source(text), "yaml")
    assert checked.errors is not None
    shape = next(error for error in checked.errors.errors if error.stage == "shapes")
    assert shape.span is not None and shape.span.line == 7  # the conv2d in the block body
    assert [(note, (span.line, span.col)) for note, span in shape.related] == \
        [("in block 'residual' called here", (12, 7))]
    assert "note: <text>:12:7: in block 'residual' called here" in shape.render()


def test_load_still_raises_every_error_of_the_spec() -> None:
    with pytest.raises(DslcErrors) as caught:
        load_text((FIXTURES / "every_error.yaml").read_text(), "yaml")
    assert {"E101", "E202", "E402"} <= {error.code for error in caught.value.errors}


def _source(text: str):  # noqa: ANN202 - a Source, built the way `load_text` builds it
    from dslc.spec.source import decode_source

    return decode_source(text.encode(), "<text>")
