"""The lint rules (dslc.compiler.lint): each fires on what it is about and on nothing else, in both syntaxes;
suppression comments; the selection and its configuration files."""

from __future__ import annotations

from pathlib import Path

import pytest

from dslc.compiler.check import check_source
from dslc.compiler.lint import RULES, LintConfig, lint
from dslc.compiler.lint.config import find_config
from dslc.compiler.lint.suppress import Suppressions, suppressions
from dslc.spec.codes import CODES
from dslc.spec.errors import DslcError
from dslc.spec.lint_examples import LINT_EXAMPLES
from dslc.spec.load import Syntax, load_text
from dslc.spec.printer import print_yaml
from dslc.spec.source import Source

CODES_OF_RULES = [rule.code for rule in RULES]


def _in(syntax: Syntax, dsl: str) -> str:
    """The DSL text, or the same spec printed as YAML."""
    return dsl if syntax == "dsl" else print_yaml(load_text(dsl, "dsl").spec)


def warnings(text: str, syntax: Syntax = "dsl", folder: Path | None = None,
             config: LintConfig | None = None) -> list[DslcError]:
    checked = check_source(Source(f"m.{syntax}", text), syntax)
    loaded, analysis = checked.valid()
    return lint(loaded, analysis, config, folder)


def codes(text: str, syntax: Syntax = "dsl", folder: Path | None = None, config: LintConfig | None = None) -> list[str]:
    return [finding.code for finding in warnings(text, syntax, folder, config)]


@pytest.fixture
def data_folder(tmp_path: Path) -> Path:
    (tmp_path / "train.npz").write_bytes(b"")  # the file the examples' good data path names (never read)
    return tmp_path


# --- the registry and its examples -------------------------------------------------------------------------------

def test_every_warning_code_has_one_rule_and_one_example() -> None:
    assert CODES_OF_RULES == sorted(code for code in CODES if code.startswith("W"))
    assert list(LINT_EXAMPLES) == CODES_OF_RULES
    names = [rule.example.name for rule in RULES]
    assert len(set(names)) == len(names) and all(rule.summary == CODES[rule.code] for rule in RULES)


@pytest.mark.parametrize("syntax", ["dsl", "yaml"])
@pytest.mark.parametrize("code", CODES_OF_RULES)
def test_the_bad_example_fires_exactly_its_rule_and_the_good_one_nothing(code: str, syntax: Syntax,
                                                                          data_folder: Path) -> None:
    example = LINT_EXAMPLES[code]
    found = warnings(_in(syntax, example.bad), syntax, data_folder)
    assert [f.code for f in found] == [code]
    assert found[0].level == "warning" and found[0].stage == "lint" and found[0].span is not None
    assert found[0].headline().startswith(f"m.{syntax}:{found[0].span.line}:") and f"warning[{code}]" in str(found[0])
    assert codes(_in(syntax, example.good), syntax, data_folder) == []


# --- the rules, beyond their examples ----------------------------------------------------------------------------

RESIDUAL = """dslc 1

block residual(filters) {
  conv_a: conv2d($filters, 3, padding=same, use_bias=false)
  batchnorm -> relu
  add(from=[input, conv_a])
}

model m(image: [8, 8, 1]) {
  stem: conv2d(16, 3, padding=same, activation=relu)
  stage: residual(16) * 3
  global_avgpool
  dense(10)
}
"""


def test_a_dead_end_in_a_block_is_reported_once_at_its_text_naming_the_dead_layers_before_it() -> None:
    [found] = warnings(RESIDUAL)
    assert found.code == "W101" and found.span is not None and found.span.line == 5
    assert found.message == ("layer 'stage.1/relu_1': its output reaches no model output "
                             "(nor do the dead layers before it: 'stage.1/batchnorm_1')")


def test_the_fixed_residual_block_is_clean() -> None:
    fixed = RESIDUAL.replace("batchnorm -> relu\n  add(from=[input, conv_a])",
                             "batchnorm\n  act: relu\n  add(from=[input, act])")
    assert codes(fixed) == []


def _mlp(*layers: str, inputs: str = "x: [16]") -> str:
    body = "\n".join(f"  {layer}" for layer in layers)
    return f"dslc 1\n\nmodel m({inputs}) {{\n{body}\n}}\n"


@pytest.mark.parametrize(("layer", "inputs"), [
    ("flatten", "x: [16]"),
    ("reshape([16])", "x: [16]"),
    ("reshape([4, 16])", "x: [4, 4]"),
    ("stochastic_depth(0.0)", "x: [16]"),
])
def test_w102_identity_layers(layer: str, inputs: str) -> None:
    assert codes(_mlp("dense(16, activation=relu)", layer, "dense(1)", inputs=inputs)) == ["W102"]


def test_w102_says_why() -> None:
    [found] = warnings(_mlp("dense(16, activation=relu)", "flatten", "dense(1)"))
    assert found.message == "layer 'flatten_1' has no effect: flatten keeps the shape (16)"


def test_w102_leaves_layers_that_change_something() -> None:
    assert codes(_mlp("reshape([4, 4])", "flatten", "dense(8, activation=relu)", "dense(1)")) == []
    # A 3x3 max pool with stride 1 and same padding keeps the shape but is no identity.
    assert codes(_mlp("maxpool(3, stride=1, padding=same)", "global_avgpool", "dense(1)",
                      inputs="image: [8, 8, 1]")) == []


def test_w103_sigmoid_under_binary_cross_entropy(data_folder: Path) -> None:
    spec = _mlp("dense(32, activation=relu)", "dense(1, activation=sigmoid)") + (
        '\ntrain {\n  loss = sigmoid_binary_cross_entropy\n  optimizer = adam(lr=1e-3)\n  batch = 32; epochs = 1\n'
        '  data = npz("train.npz")\n}\n')
    [found] = warnings(spec, folder=data_folder)
    assert found.code == "W103" and "applies sigmoid to it again" in found.message
    assert found.span is not None and (found.span.line, found.span.col) == (5, 23)  # at `sigmoid`
    # As a layer of its own.
    assert codes(spec.replace("dense(1, activation=sigmoid)", "dense(1)\n  sigmoid"),
                 folder=data_folder) == ["W103"]
    # Through a layer that only moves values (a flatten that does nothing: W102 too).
    assert codes(spec.replace("dense(1, activation=sigmoid)", "dense(1, activation=sigmoid)\n  flatten"),
                 folder=data_folder) == ["W103", "W102"]
    assert codes(spec.replace("activation=sigmoid", "activation=tanh"), folder=data_folder) == []


def test_w104_sees_through_one_input_affine_layers_but_not_lookups() -> None:
    found = warnings(_mlp("dense(32, use_bias=false)", "batchnorm", "dropout(0.1)", "dense(1)"))
    assert [f.code for f in found] == ["W104"] and "count as one weighted layer under D2" in found[0].message
    assert found[0].related[0][0] == "'dense_1' ends with no activation"
    assert codes(_mlp("embedding(100, 16)", "lstm(8)", "dense(2)", inputs="ids: int32[10]")) == []


def test_w105_only_when_every_reader_is_a_batch_norm() -> None:
    shared = _mlp("conv: conv2d(8, 3, padding=same)", "bn: batchnorm", "add(from=[conv, bn])", "relu",
                  "global_avgpool", "dense(1)", inputs="image: [8, 8, 1]")
    assert codes(shared) == []
    dense = warnings(_mlp("dense(32, use_bias=true)", "batchnorm", "relu", "dense(1)"))
    assert [f.code for f in dense] == ["W105"] and dense[0].span is not None and dense[0].span.col == 22  # at `true`


def test_w106_stochastic_depth_at_the_output_and_not_before_a_weighted_layer() -> None:
    assert codes(_mlp("dense(8, activation=relu)", "dense(1)", "stochastic_depth(0.1)")) == ["W106"]
    assert codes(_mlp("dense(8, activation=relu)", "dropout(0.3)", "dense(1)")) == []


def test_w107_a_stride_that_leaves_one_position() -> None:
    spec = _mlp("conv2d(8, 4, stride=4)", "relu", "conv2d(8, 3, padding=same, activation=relu)", "global_avgpool",
                "dense(1)", inputs="image: [4, 4, 1]")
    [found] = warnings(spec)
    assert found.code == "W107" and "from (4, 4) to (1, 1)" in found.message
    assert codes(spec.replace("conv2d(8, 3, padding=same", "conv2d(8, 1")) == []  # 1x1 windows need no space


TRAIN = '\ntrain {{\n  loss = mse\n  optimizer = {optimizer}\n  batch = {batch}; epochs = 1\n  data = {data}\n}}\n'


def _trained(optimizer: str = "adam(lr=1e-3)", batch: int = 32, data: str = 'npz("train.npz")') -> str:
    return _mlp("dense(8, activation=relu)", "dense(1)") + TRAIN.format(optimizer=optimizer, batch=batch, data=data)


@pytest.mark.parametrize(("optimizer", "batch", "expected"), [
    ("sgd(lr=5.0)", 32, []),
    ("sgd(lr=50.0)", 32, ["W108"]),
    ("adam(lr=1e-7)", 32, ["W108"]),
    ("adamw(lr=warmup_cosine(peak=0.5, warmup_steps=10, decay_steps=100))", 32, ["W108"]),
    ("adam(lr=1e-3)", 100_000, ["W108"]),
])
def test_w108_ranges(optimizer: str, batch: int, expected: list[str], data_folder: Path) -> None:
    assert codes(_trained(optimizer, batch), folder=data_folder) == expected


def test_w108_points_at_the_schedule_peak(data_folder: Path) -> None:
    spec = _trained("adamw(lr=warmup_cosine(peak=0.5, warmup_steps=10, decay_steps=100))")
    [found] = warnings(spec, folder=data_folder)
    assert "learning rate 0.5" in found.message and found.span is not None
    assert spec.splitlines()[found.span.line - 1][found.span.col - 1:].startswith("0.5,")


@pytest.mark.parametrize(("written", "hint"), [
    ("data/trian.npz", "did you mean 'data/train.npz'?"),  # a typo in the file's name
    ("dta/train.npz", "did you mean 'data/train.npz'?"),  # or in a folder's
    ("data/features.csv", "paths are relative to the spec's folder; training would stop with E701"),  # nothing near
])
def test_w109_suggests_a_near_path(written: str, hint: str, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.npz").touch()
    [found] = warnings(_trained(data=f'npz("{written}")'), folder=tmp_path)
    assert (found.code, found.hint) == ("W109", hint)


def test_w109_checks_each_npy_path_and_needs_a_folder(data_folder: Path) -> None:
    spec = _trained(data='npy(x="train.npz", y="labels.npy")')
    found = warnings(spec, folder=data_folder)
    assert [f.code for f in found] == ["W109"] and "'labels.npy'" in found[0].message
    assert codes(spec) == []  # a text without a folder: no paths to look up


# --- suppression -------------------------------------------------------------------------------------------------

BAD_W104 = LINT_EXAMPLES["W104"].bad  # `dense(32)` then `dense(1)`: W104 at the second


@pytest.mark.parametrize("syntax", ["dsl", "yaml"])
def test_a_trailing_ignore_comment_silences_its_line(syntax: Syntax) -> None:
    text = _in(syntax, BAD_W104)
    [found] = warnings(text, syntax)
    lines = text.splitlines()
    line = found.span.line - 1 if found.span else 0
    lines[line] += "  # dslc: ignore[W101, W104]"
    assert codes("\n".join(lines) + "\n", syntax) == []
    lines[line] = lines[line].replace("W101, W104", "W105")  # another rule: still reported
    assert codes("\n".join(lines) + "\n", syntax) == ["W104"]


@pytest.mark.parametrize("syntax", ["dsl", "yaml"])
def test_an_own_line_ignore_comment_silences_the_next_line(syntax: Syntax) -> None:
    text = _in(syntax, BAD_W104)
    [found] = warnings(text, syntax)
    assert found.span is not None
    lines = text.splitlines()
    indent = lines[found.span.line - 1][:len(lines[found.span.line - 1]) - len(lines[found.span.line - 1].lstrip())]
    lines.insert(found.span.line - 1, f"{indent}# dslc: ignore[W1]")  # a prefix, as in --select
    assert codes("\n".join(lines) + "\n", syntax) == []
    lines.insert(found.span.line, "")  # now the comment applies to a blank line before the layer
    assert codes("\n".join(lines) + "\n", syntax) == ["W104"]


@pytest.mark.parametrize("syntax", ["dsl", "yaml"])
def test_ignore_file_silences_a_rule_everywhere(syntax: Syntax) -> None:
    text = _in(syntax, LINT_EXAMPLES["W104"].bad.replace("dense(1)", "dense(4)\n  dense(1)"))
    assert codes(text, syntax) == ["W104", "W104"]
    assert codes(f"# dslc: ignore-file[W104] deliberate\n{text}", syntax) == []
    assert codes(f"# dslc: ignore-file[W101]\n{text}", syntax) == ["W104", "W104"]


@pytest.mark.parametrize(("text", "syntax"), [("name: '# dslc: ignore-file[W104]'\n", "yaml"),
                                              ('data = npz("# dslc: ignore-file[W104]")\n', "dsl")])
def test_a_directive_inside_a_string_is_no_comment(text: str, syntax: Syntax) -> None:
    assert suppressions(text, syntax) == Suppressions()
    assert suppressions(text.rstrip() + "  # dslc: ignore[W104]\n", syntax) == Suppressions((), {1: ("W104",)})


# --- selection and configuration ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("select", "ignore", "enabled"), [
    (("W",), (), {"W101", "W104", "W109"}),
    (("W1",), ("W104",), {"W101", "W109"}),
    (("W101", "W104"), (), {"W101", "W104"}),
    (("W",), ("W1",), set()),
    (("W104",), ("W1",), {"W104"}),  # the longer selector wins
    (("W104",), ("W104",), set()),  # equal length: ignoring wins
])
def test_the_longest_matching_selector_decides(select: tuple[str, ...], ignore: tuple[str, ...],
                                               enabled: set[str]) -> None:
    config = LintConfig(select, ignore)
    assert {code for code in ("W101", "W104", "W109") if config.enabled(code)} == enabled


def test_selection_applies_to_lint() -> None:
    spec = _mlp("dense(32)", "batchnorm", "act: relu", "dense(4, activation=relu)", "dense(1, from=[act])")
    assert codes(spec) == ["W105", "W101"]
    assert codes(spec, config=LintConfig(ignore=("W105",))) == ["W101"]
    assert codes(spec, config=LintConfig(select=("W105",))) == ["W105"]


def test_the_nearest_configuration_file_with_a_lint_table_applies(tmp_path: Path) -> None:
    rules = CODES_OF_RULES
    (tmp_path / "pyproject.toml").write_text('[tool.dslc.lint]\nselect = ["W1"]\nignore = ["w104"]\n')
    inner = tmp_path / "models" / "cnn"
    inner.mkdir(parents=True)
    (tmp_path / "models" / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no lint table: skipped
    assert find_config(inner, rules) == LintConfig(("W1",), ("W104",))
    (inner / "dslc.toml").write_text('[lint]\nignore = ["W101"]\n')
    assert find_config(inner, rules) == LintConfig(("W",), ("W101",))
    assert find_config(inner, rules).overridden(["W105"], ["W109"]) == LintConfig(("W105",), ("W101", "W109"))


@pytest.mark.parametrize(("text", "message"), [
    ("[lint\n", "cannot read the lint configuration"),
    ('[lint]\nselect = "W1"\n', "must be a list of rule codes"),
    ('[lint]\nignore = ["E101"]\n', "'E101' selects no rule"),
    ('[lint]\nselct = ["W1"]\n', "unknown lint setting 'selct'"),
])
def test_a_wrong_configuration_is_a_located_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "dslc.toml").write_text(text)
    with pytest.raises(DslcError) as caught:
        find_config(tmp_path, CODES_OF_RULES)
    assert caught.value.code == "E205" and message in caught.value.message
    assert caught.value.span is not None and caught.value.span.file == str(tmp_path.resolve() / "dslc.toml")
