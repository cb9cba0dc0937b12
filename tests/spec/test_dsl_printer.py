"""The DSL printer: canonical text that loads back to the same IR, printed the same way twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dslc.spec.dsl_printer import print_dsl
from dslc.spec.ir import Checkpoint, EarlyStopping, Spec
from dslc.spec.load import load, load_text
from dslc.spec.vocab import Adam, Npz

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ALL_EXAMPLES = sorted([*EXAMPLES.glob("*.yaml"), *EXAMPLES.glob("*.dsl")])


def round_trip(spec: Spec) -> str:
    """Print, load back, check the IR and that printing again gives the same text; return the text."""
    text = print_dsl(spec)
    again = load_text(text, "dsl", "printed.dsl").spec
    assert again == spec
    assert print_dsl(again) == text
    return text


@pytest.mark.parametrize("path", ALL_EXAMPLES, ids=lambda p: p.name)
def test_print_then_load_is_the_identity_for_every_example(path: Path) -> None:
    text = round_trip(load(path).spec)
    assert text.endswith("}\n") and not text.endswith("\n\n")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_both_syntaxes_of_an_example_print_the_same_steps(path: Path) -> None:
    # Train settings equal to their defaults may be written in one file and not the other; steps print alike.
    yaml_text, dsl_text = print_dsl(load(path).spec), print_dsl(load(path.with_suffix(".dsl")).spec)
    assert yaml_text.split("\ntrain {")[0] == dsl_text.split("\ntrain {")[0]


CANONICAL = """\
dslc 1

block residual(filters, kernel=3) {
  conv_a: conv2d($filters, $kernel, padding=same)
  batchnorm
  add(from=[input, conv_a])
}

model net(image: [8, 8, 1], tokens: int32[32]) -> logits, stage {
  stem: conv2d(16, 3, padding=same, activation=relu, from=image)
  stage: residual(16) * 3
  frozen: dense(10, trainable=false)
  logits: dense(10)
}

train {
  loss = softmax_cross_entropy
  optimizer = sgd(warmup_cosine(peak=0.1, warmup_steps=100, decay_steps=2000), momentum=0.9, nesterov=true)
  batch = 128
  steps = 2000
  metrics = [accuracy, top_k(3)]
  data = digits
  checkpoint = {every = 500, keep = 2}
}
"""


def test_the_canonical_form() -> None:
    # Written differently: keywords where positions fit, chains, another order of parameters and settings.
    written = """dslc 1
block residual(filters, kernel=3) { conv_a: conv2d(padding=same, kernel=$kernel, filters=$filters) -> batchnorm
  add(from=[input, conv_a]) }
model net(image: [8, 8, 1], tokens: int32[32]) -> logits, stage {
  stem: conv2d(activation=relu, filters=16, padding=same, kernel=3, from=[image])
  residual(filters=16, repeat=3, name=stage); frozen: dense(units=10, trainable=false)
  logits: dense(10, trainable=true)
}
train {
  optimizer = sgd(nesterov=true, momentum=0.9, lr=warmup_cosine(decay_steps=2000, warmup_steps=100, peak=0.1))
  loss = softmax_cross_entropy; data = digits; batch = 128; steps = 2000
  checkpoint = {keep = 2, every = 500}; metrics = [accuracy, top_k(k=3)]
}
"""
    spec = load_text(written, "dsl").spec
    assert print_dsl(spec) == CANONICAL
    assert round_trip(spec) == CANONICAL


TRICKY = """\
dslc 1
block unit(width, rate=0.1, note="a \\"quoted\\"\\tnote \\u00e9 \\u200b \\\\",
           pad=[[1, 1], [0, 2]], flag=null, on=true) {
  dense($width) -> relu
  true: dropout(rate=$rate)
}
model tricky(pixels: [8, 8, 1], tokens: int32[16], seq: bfloat16[null, 4]) -> head, model {
  embedding(100, 8, from=tokens) -> flatten
  e: dense(4)
  flatten(from=pixels) -> dense(4, trainable=false)
  block: concat(from=[e, "null"]) ; null: dense(4, from=e)
  head: dense(3, activation=softmax, use_bias=false)
  model: unit(2, rate=0.25, pad=[[2, 2], [2, 2]]) * 2
}
train {
  loss = huber(delta=0.5)
  optimizer = adamw(lr=cosine(init=1e-05, decay_steps=10, alpha=0.0), weight_decay=0.0001, eps=1.5e-08)
  batch = 8; epochs = 1
  metrics = [mae]
  data = npz("data/x y.npz", x="feat\\\\ures", y="true", normalize=standard)
  precision = bfloat16
  seed = 42
  checkpoint = {best = "val loss", keep = 1}
}
"""


def test_tricky_values_round_trip() -> None:
    text = round_trip(load_text(TRICKY, "dsl").spec)
    assert 'note="a \\"quoted\\"\\tnote é \\u200b \\\\"' in text  # invisible characters stay visible
    assert "flag=null, on=true" in text and "pad=[[1, 1], [0, 2]]" in text
    assert "seq: bfloat16[null, 4]" in text and "-> head, model {" in text
    assert 'block: concat(from=[e, "null"])' in text and "null: dense(4, from=e)" in text
    assert "adamw(cosine(init=1e-5, decay_steps=10, alpha=0.0), eps=1.5e-8, weight_decay=0.0001)" in text
    assert 'data = npz("data/x y.npz", ' in text and 'x="feat\\\\ures", y="true"' in text
    assert "checkpoint = {keep = 1, best = \"val loss\"}" in text


def test_only_explicit_settings_print() -> None:
    spec = load_text(TRICKY.replace("  seed = 42\n", "").replace("checkpoint = {best = \"val loss\", keep = 1}",
                                                                 "checkpoint = {}"), "dsl").spec
    text = round_trip(spec)
    assert "seed" not in text and "checkpoint = {}" in text
    assert "b1" not in text and "clip_norm" not in text  # optimizer defaults stay unwritten


def test_an_empty_block_prints_braces() -> None:
    text = "dslc 1\nblock nothing {}\nmodel m(x: [4]) {\n  dense(2)\n}\n"
    spec = load_text(text, "dsl").spec
    assert "block nothing {\n}" in round_trip(spec)


BASE = load_text("dslc 1\nmodel m(x: [4]) {\n  dense(2)\n}\ntrain {\n  loss = mse\n  optimizer = adam(0.1)\n"
                 "  batch = 4\n  steps = 1\n  data = npz(\"d.npz\")\n}\n", "dsl").spec


def with_train(**update: object) -> Spec:
    return BASE.model_copy(update={"train": BASE.train.model_copy(update=update)})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_string_round_trips(text: str) -> None:
    round_trip(with_train(data=Npz(path="d.npz", x=text)))


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.0, exclude_min=True, allow_infinity=False))
def test_any_float_round_trips(value: float) -> None:
    round_trip(with_train(optimizer=Adam(lr=value)))


@pytest.mark.parametrize(("value", "text"), [(1e-05, "1e-5"), (0.001, "0.001"), (1.5e-08, "1.5e-8"), (5e-324, "5e-324"),
                                           (1.7976931348623157e308, "1.7976931348623157e308"), (1e16, "1e16"),
                                           (123456789.125, "123456789.125"), (3.0, "3.0")])
def test_floats_print_shortest_with_a_plain_exponent(value: float, text: str) -> None:
    assert f"adam({text})" in round_trip(with_train(optimizer=Adam(lr=value)))


def test_checkpoint_prints_its_fields_set() -> None:
    text = round_trip(with_train(checkpoint=Checkpoint(every=None, best="loss")))
    assert "checkpoint = {every = null, best = loss}" in text


def test_early_stopping_round_trips_through_both_printers() -> None:
    from dslc.spec.printer import print_yaml

    spec = with_train(early_stopping=EarlyStopping(patience=5, monitor="top_3_accuracy", min_delta=0.001))
    assert "early_stopping = {patience = 5, monitor = top_3_accuracy, min_delta = 0.001}" in round_trip(spec)
    text = print_yaml(spec)
    assert "early_stopping: {patience: 5, monitor: top_3_accuracy, min_delta: 0.001}" in text
    assert load_text(text, "yaml").spec == spec
    # Only the fields set print: the defaults stay unwritten in both syntaxes.
    spec = with_train(early_stopping=EarlyStopping(patience=2))
    assert "early_stopping = {patience = 2}" in round_trip(spec)
    assert "early_stopping: {patience: 2}" in print_yaml(spec)


def test_strings_that_read_as_something_else_are_quoted() -> None:
    for value, shown in [("true", '"true"'), ("model", '"model"'), ("$x", '"$x"'), ("1e-3", '"1e-3"'),
                         ("", '""'), ("a b", '"a b"'), ("x\n", '"x\\n"'), ("plain_name", "plain_name")]:
        assert f"x={shown})" in round_trip(with_train(data=Npz(path="d.npz", x=value)))


def test_an_empty_block_round_trips_through_both_printers() -> None:
    from dslc.spec.printer import print_yaml

    spec = load_text("dslc: 1\nblocks: {u: {layers: []}}\nmodel: {name: m, inputs: {x: [4]}, layers: [u, relu]}\n",
                     "yaml").spec
    assert load_text(print_yaml(spec), "yaml").spec == spec
    assert load_text(print_dsl(spec), "dsl").spec == spec
