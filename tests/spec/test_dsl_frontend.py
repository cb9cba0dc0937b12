"""The DSL front end: the same tree and IR as YAML, every construct, and located errors."""

from __future__ import annotations

import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest

from dslc.spec.dsl_frontend import _parser, parse_dsl
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.ir import BlockCall, LayerCall, Ref, Spec
from dslc.spec.limits import DEFAULT_LIMITS, DEPTH_CEILING, Limits
from dslc.spec.load import load, load_text
from dslc.spec.source import Source
from dslc.spec.tree import Map, Scalar, Seq, to_plain
from dslc.spec.yaml_frontend import parse_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
YAML_EXAMPLES = sorted(EXAMPLES.glob("*.yaml"))
HEADER = "dslc 1\nmodel m(x: [4]) {\n"


def parse(text: str, limits: Limits = DEFAULT_LIMITS) -> Map:
    return parse_dsl(Source("t.dsl", text), limits)


def spec_of(text: str) -> Spec:
    return load_text(text, "dsl", "t.dsl").spec


def layers(body: str) -> tuple:
    """The model's steps for a model body of `body` over one input `x: [4]`."""
    return spec_of(f"{HEADER}{body}\n}}\n").model.layers


def errors_of(text: str, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, int, int]]:
    with pytest.raises((DslcError, DslcErrors)) as info:
        parse(text, limits)
    errors = info.value.errors if isinstance(info.value, DslcErrors) else [info.value]
    return [(error.code, error.span.line, error.span.col) for error in errors]


# -- both syntaxes mean the same -------------------------------------------------------------------
@pytest.mark.parametrize("path", YAML_EXAMPLES, ids=lambda p: p.stem)
def test_every_example_pair_loads_to_the_same_ir(path: Path) -> None:
    dsl = path.with_suffix(".dsl")
    assert dsl.exists(), f"write {dsl.name}"
    assert load(dsl).spec == load(path).spec


YAML_SPEC = """\
dslc: 1
blocks:
  unit:
    params: [width, {rate: 0.5}]
    layers:
      - dense: {units: $width}
        name: fc
      - dropout: {rate: $rate}
model:
  name: m
  inputs: {x: [4], ids: {shape: [3], dtype: int32}}
  layers:
    - relu: {}
      from: x
    - unit: {width: 4}
      repeat: 2
      name: u
      trainable: false
    - add: {}
      from: [x, u]
    - dense: {units: 2}
      from: u
  outputs: [u]
train:
  loss: mse
  optimizer: {sgd: {lr: {cosine: {init: 0.1, decay_steps: 10}}, nesterov: true}}
  batch: 2
  steps: 3
  metrics: [mae, {top_k: {k: 2}}]
  data: {synthetic: {task: random}}
  checkpoint: {every: 2, best: "val loss"}
  early_stopping: {patience: 4, monitor: mae, min_delta: 0.01}
"""

DSL_SPEC = """\
dslc 1
block unit(width, rate=0.5) {
  fc: dense(units=$width) -> dropout(rate=$rate)
}
model m(x: [4], ids: int32[3]) -> u {
  relu(from=x)
  u: unit(width=4, trainable=false) * 2
  add(from=[x, u]); dense(units=2, from=u)
}
train { loss = mse; optimizer = sgd(lr=cosine(init=0.1, decay_steps=10), nesterov=true); batch = 2; steps = 3
  metrics = [mae, top_k(k=2)]; data = synthetic(task=random); checkpoint = {every = 2, best = "val loss"}
  early_stopping = {patience = 4, monitor = mae, min_delta = 0.01} }
"""


def test_the_dsl_builds_the_tree_the_yaml_front_end_builds() -> None:
    yaml_tree = parse_yaml(Source("t.yaml", YAML_SPEC), DEFAULT_LIMITS)
    assert to_plain(parse(DSL_SPEC)) == to_plain(yaml_tree)
    assert spec_of(DSL_SPEC) == load_text(YAML_SPEC, "yaml").spec


# -- the tree ---------------------------------------------------------------------------------------
def step_nodes(body: str) -> tuple:
    model = parse(f"{HEADER}{body}\n}}\n").get("model").value
    return model.get("layers").value.items


def test_a_bare_kind_is_a_scalar_and_a_call_a_mapping_with_attributes_lifted_out() -> None:
    bare, call = step_nodes("relu\nfc: dense(3, activation=relu, from=x, trainable=false)")
    assert bare == Scalar("relu", bare.span)
    assert call.keys() == ["dense", "name", "from", "trainable"]
    assert to_plain(call) == {"dense": {0: 3, "activation": "relu"}, "name": "fc", "from": "x", "trainable": False}


def test_positional_arguments_are_keyed_by_index_at_their_value() -> None:
    [step] = step_nodes("conv2d(8, 3, stride=2)")
    arguments = step.get("conv2d").value
    assert arguments.keys() == [0, 1, "stride"]
    second = arguments.get(1)
    assert second.key_span == second.value.span
    assert (second.key_span.line, second.key_span.col, second.key_span.end_col) == (3, 11, 12)


def test_a_label_gives_the_name_at_the_label() -> None:
    [step] = step_nodes("  head: dense(2)")
    name = step.get("name")
    assert name.value.value == "head"
    assert (name.key_span.line, name.key_span.col, name.key_span.end_col) == (3, 3, 7)


def test_typed_inputs_and_outputs() -> None:
    model = parse("dslc 1\nmodel m(a: [2, null], b: int32[7]) -> p, q {\n relu\n}\n").get("model").value
    assert to_plain(model.get("inputs").value) == {"a": (2, None), "b": {"shape": (7,), "dtype": "int32"}}
    assert to_plain(model.get("outputs").value) == ("p", "q")


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("-2", -2), ("+7", 7), ("10_000", 10000), ("1e-3", 1e-3), (".5", 0.5), ("2.", 2.0),
    ("-1.5E+2", -150.0), ("true", True), ("false", False), ("null", None), ("same", "same"),
    ('"1e-3"', "1e-3"), ('"true"', "true"), ('"a\\"b\\\\c\\n\\t\\u00e9\\U0001F600"', 'a"b\\c\n\té\U0001f600'),
])
def test_literals(text: str, value: object) -> None:
    scalar = parse(f"train {{ k = {text} }}\n").get("train").value.get("k").value
    assert isinstance(scalar, Scalar)
    assert scalar.value == value and type(scalar.value) is type(value)
    assert scalar.quoted == text.startswith('"')


def test_quoted_strings_are_never_references() -> None:
    train = parse('train { a = $x; b = "$x" }').get("train").value
    assert train.get("a").value.ref == "x"
    assert train.get("b").value.ref is None


def test_values_nest_calls_lists_and_mappings() -> None:
    train = parse("train { v = f(1, g(k=[2, {a = 3}])) }").get("train").value
    assert to_plain(train.get("v").value) == {"f": {0: 1, 1: {"g": {"k": (2, {"a": 3})}}}}


def test_keywords_are_names_where_no_keyword_is_expected() -> None:
    steps = layers("model: dense(2)\ntrue: relu\nblock: add(from=[model, \"true\"])")
    assert [step.name for step in steps] == ["model", "true", "block"]
    assert steps[2].inputs == ("model", "true")
    spec = spec_of("dslc 1\nblock block(model, train=2) {\n  null: dense($model, from=input)\n}\n"
                   "model model(train: [4]) -> dslc {\n  model: block(3, from=train)\n  dslc: dense(2)\n}\n")
    assert spec.blocks[0].name == "block" and spec.blocks[0].layers[0].name == "null"
    assert [p.name for p in spec.blocks[0].params] == ["model", "train"]
    assert spec.model.name == "model" and spec.model.inputs[0].name == "train" and spec.model.outputs == ("dslc",)


# -- every construct ----------------------------------------------------------------------------------
def test_chains_newlines_and_semicolons_are_the_same_sequence() -> None:
    expected = layers("dense(3)\nrelu\ndense(2)")
    assert layers("dense(3) -> relu -> dense(2)") == expected
    assert layers("dense(3); relu; dense(2)") == expected
    assert layers("dense(3) ->\n  relu\n  -> dense(2)") == expected  # a new line around '->' continues the chain
    assert layers("\n# lead\n\n  dense(3)  # trailing\n\n relu ;\n dense(2) ;\n\n") == expected


def test_positional_and_keyword_arguments() -> None:
    [conv] = layers("conv2d(8, 3, padding=same, stride=2)")
    assert conv == LayerCall(kind="conv2d", params={"filters": 8, "kernel": 3, "padding": "same", "stride": 2})


def test_newlines_and_trailing_commas_inside_brackets() -> None:
    [conv] = layers("conv2d(\n  8,\n  [3, 3,],  # kernel\n  padding = same,\n)")
    assert conv.params == {"filters": 8, "kernel": (3, 3), "padding": "same"}


def test_repeat_by_star_or_keyword_labels_from_and_trainable() -> None:
    text = "dslc 1\nblock b(n) {\n dense($n)\n}\nmodel m(x: [4]) {\n {body}\n}\n"
    by_star = spec_of(text.replace("{body}", "s: b(4, trainable=false, from=x) * 3")).model.layers
    by_keyword = spec_of(text.replace("{body}", "b(n=4, repeat=3, name=s, from=[x], trainable=false)")).model.layers
    assert by_star == by_keyword == (BlockCall(block="b", args={"n": 4}, name="s", inputs=("x",), trainable=False,
                                               repeat=3),)


def test_block_params_defaults_and_refs() -> None:
    spec = spec_of("dslc 1\nblock b(n, act=relu) {\n dense($n, activation=$act)\n}\nmodel m(x: [4]) {\n b(2)\n}\n")
    [block] = spec.blocks
    assert [(p.name, p.required, p.default) for p in block.params] == [("n", True, None), ("act", False, "relu")]
    assert block.layers[0].params == {"units": Ref(name="n"), "activation": Ref(name="act")}


def test_train_section_with_nested_schedule_metrics_and_checkpoint() -> None:
    train = spec_of(f"{HEADER}dense(2)\n}}\ntrain {{\n loss = mse\n"
                    " optimizer = sgd(warmup_cosine(peak=0.1, warmup_steps=5, decay_steps=9), momentum=0.9)\n"
                    " batch = 4; epochs = 2\n metrics = [mae, mse,]\n data = digits(test=0.25)\n"
                    " checkpoint = {\n   every = 10,\n   keep = 1,\n }\n}\n").train
    assert train.optimizer.kind == "sgd" and train.optimizer.momentum == 0.9
    assert train.optimizer.lr.kind == "warmup_cosine" and train.optimizer.lr.decay_steps == 9
    assert [metric.kind for metric in train.metrics] == ["mae", "mse"]
    assert train.data.test == 0.25
    assert (train.checkpoint.every, train.checkpoint.keep) == (10, 1)


def test_sections_may_come_in_any_order_and_blocks_anywhere() -> None:
    text = "train { loss = mse; optimizer = adam(0.1); batch = 1; steps = 1; data = digits }\n" \
           "model m(x: [4]) {\n b\n}\nblock b {\n relu\n}\ndslc 1\n"
    spec = spec_of(text)
    assert [block.name for block in spec.blocks] == ["b"] and spec.train.steps == 1


# -- errors, at their exact position ------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    (f"{HEADER}  dense(3 4)\n}}\n", [("E020", 3, 11)]),
    (f"{HEADER}  dense(3,\n", [("E020", 3, 8)]),  # at the bracket left open
    (f"{HEADER}  dense(3) relu\n}}\n", [("E020", 3, 12)]),
    (f"{HEADER}  dense(3)\n", [("E020", 2, 17)]),
    ("dslc 1\nfoo\n", [("E020", 2, 1)]),
    ("train {\n  loss: mse\n}\n", [("E020", 2, 7)]),
    (f"{HEADER}  dense(units=2, 3)\n}}\n", [("E020", 3, 18)]),
    (f'{HEADER}  dense(activation="re\\lu")\n}}\n', [("E020", 3, 23)]),
    (f"{HEADER}  dense(3) @\n}}\n", [("E021", 3, 12)]),
    (f'{HEADER}  dense(activation="relu)\n}}\n', [("E021", 3, 20)]),
    (f"{HEADER}  dense(activation='relu')\n}}\n", [("E021", 3, 20)]),
    ("dslc 1\nmodel m(x: [4], x: [2]) {\n relu\n}\n", [("E012", 2, 17)]),
    (f"{HEADER}  dense(units=3, units=4)\n}}\n", [("E012", 3, 18)]),
    (f"{HEADER}  a: dense(3, name=b)\n}}\n", [("E012", 3, 15)]),
    ("dslc 1\nblock b(n) {\n dense($n)\n}\nmodel m(x: [4]) {\n b(n=1, repeat=2) * 3\n}\n", [("E012", 6, 19)]),
    ("train {\n  batch = 1\n  batch = 2\n}\n", [("E012", 3, 3)]),
    ("train { c = {every = 1, every = 2} }\n", [("E012", 1, 25)]),
    ("block b { relu }\nblock b { relu }\n", [("E012", 2, 7)]),
    ("dslc 1\ndslc 1\n", [("E012", 2, 1)]),
    ("", [("E014", 1, 1)]),
    ("# nothing\n\n", [("E014", 1, 1)]),
    (f"{HEADER}  dense({'9' * 65})\n}}\n", [("E205", 3, 9)]),
    (f"{HEADER}  dense(1.{'0' * 64}1)\n}}\n", [("E205", 3, 9)]),
])
def test_errors_are_reported_at_their_position(text: str, expected: list) -> None:
    assert errors_of(text) == expected


def test_every_error_of_a_file_is_reported_in_one_run() -> None:
    text = f"{HEADER}  dense(units=3, units=4)\n  a: relu(name=b)\n}}\ntrain {{ k = 1; k = 2 }}\n"
    assert errors_of(text) == [("E012", 3, 18), ("E012", 4, 11), ("E012", 6, 16)]


def test_duplicates_point_back_at_the_first_definition() -> None:
    with pytest.raises(DslcErrors) as info:
        parse("train {\n  batch = 1\n  batch = 2\n}\n")
    [error] = info.value.errors
    [(note, span)] = error.related
    assert note == "first defined here" and (span.line, span.col) == (2, 3)


def test_syntax_errors_say_what_was_expected() -> None:
    with pytest.raises(DslcError) as info:
        parse(f"{HEADER}  dense(3 4)\n}}\n")
    assert info.value.message == "unexpected number '4'; expected ')' or ','"
    with pytest.raises(DslcError) as info:
        parse("train {\n  loss: mse\n}\n")
    assert info.value.message == "unexpected ':'; expected '='"
    assert info.value.hint == "settings and mapping entries are written 'key = value'"
    with pytest.raises(DslcError) as info:
        parse(f"{HEADER}  dense(units=\n")
    assert info.value.message == "'(' is not closed before the end of the file"
    assert [(note, span.line, span.col) for note, span in info.value.related] == \
        [("the parser stopped here: unexpected end of file; expected a value", 3, 15)]


@pytest.mark.parametrize(("opener", "closer", "column"), [("f(", ")", 22), ("[", "]", 17), ("{a = ", "}", 33)])
def test_nesting_is_capped_at_the_token_that_exceeds_the_budget(opener: str, closer: str, column: int) -> None:
    text = "train { k = " + opener * 10 + "1" + closer * 10 + " }"  # the train body is depth 1, the 5th opener 6
    assert errors_of(text, Limits(max_depth=5)) == [("E005", 1, column)]


def test_the_item_budget_counts_the_tokens_the_parser_takes() -> None:
    text = "train {\n  k = [1,\n 2]\n}\n"  # train { NL k = [ 1 , 2 ] NL } NL: 13 (a NL after ',' is dropped)
    assert parse(text, Limits(max_items=13)).get("train").value.get("k").value.items[1].value == 2
    with pytest.raises(DslcError) as info:
        parse(text, Limits(max_items=9))
    assert (info.value.code, info.value.span.line, info.value.span.col) == ("E017", 3, 3)
    assert info.value.message == "DSL token count 10 exceeds the budget of 9 (raise it with --max-items)"


def test_the_item_budget_stops_the_parser_early() -> None:
    """A call with 300,000 arguments, or 100,000 layers on one line: rejected at the budget, not parsed."""
    start = time.thread_time()  # CPU time: what the input costs, whatever else the machine is doing
    budget = DEFAULT_LIMITS.max_items
    calls = f"{HEADER}  dense(" + ",".join(["1"] * 300_000) + ")\n}\n"
    # HEADER is 14 tokens (dslc 1 NL model m ( x : [ 4 ] ) { NL): the 1st argument is the 17th, at column 9
    assert errors_of(calls) == [("E017", 3, 9 + 2 * ((budget + 1 - 17) // 2))]
    line = f"{HEADER}  " + " -> ".join(["relu"] * 100_000) + "\n}\n"
    assert errors_of(line) == [("E017", 3, 3 + 8 * ((budget + 1 - 15) // 2))]
    assert time.thread_time() - start < 10


def test_hostile_nesting_is_rejected_fast_and_without_recursion() -> None:
    start = time.thread_time()
    assert errors_of("train { k = " + "[" * 200_000 + " }") == [("E005", 1, 12 + DEFAULT_LIMITS.max_depth)]
    assert time.thread_time() - start < 2
    deep = DEPTH_CEILING - 1  # the deepest nesting a budget allows (the train body is a level)
    frames, limit = len(traceback.extract_stack()), sys.getrecursionlimit()
    sys.setrecursionlimit(frames + 60)  # fewer frames than levels: a parser or walk that recursed per level fails
    try:
        tree = parse("train { k = " + "[" * deep + "]" * deep + " }", Limits(max_depth=DEPTH_CEILING))
    finally:
        sys.setrecursionlimit(limit)
    node = tree.get("train").value.get("k").value
    depth = 0
    while isinstance(node, Seq) and node.items:
        node, depth = node.items[0], depth + 1
    assert depth == deep - 1


# -- the parser -------------------------------------------------------------------------------------
def test_the_parser_is_built_once() -> None:
    assert _parser() is _parser()
    assert _parser().options.parser == "lalr"


def test_the_grammar_builds_in_strict_mode() -> None:
    """No LALR conflict and no terminal collision: the run-time build can skip that analysis."""
    import interegular  # noqa: F401 - strict mode needs it; it is a dev dependency

    strict = _parser(strict=True)
    assert strict.options.strict
    source = Source("t.dsl", "dslc 1\nmodel m(x: [4]) { dense(2) -> relu }\n")
    assert strict.parse(source.text) is not None


def test_importing_the_front_end_does_not_import_lark() -> None:
    code = "import sys, dslc.spec.dsl_frontend, dslc.spec.dsl_printer; print('lark' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
