"""`diff_specs` on loaded specs: layer matching (names, alignment, moves), blocks, train, consequences, renderings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dslc.compiler.analysis.analyse import analyse
from dslc.compiler.diff import SpecDiff, diff_specs
from dslc.compiler.diff.align import align
from dslc.compiler.diff.jsonout import to_json
from dslc.compiler.diff.markdown import to_markdown
from dslc.compiler.diff.steps import step_views
from dslc.compiler.diff.text import to_text
from dslc.compiler.diff.values import ABSENT, show
from dslc.spec.ir import LayerCall
from dslc.spec.load import load, load_text

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
TWINS = sorted(p for p in EXAMPLES.glob("*.yaml") if p.with_suffix(".dsl").exists())

MLP = """\
dslc: 1
model:
  name: mlp
  inputs: {image: [8, 8, 1]}
  layers:
    - flatten
    - dense: {units: 128, activation: relu}
    - dropout: {rate: 0.1}
    - dense: {units: 64, activation: relu}
    - dense: {units: 10}
      name: logits
train:
  loss: softmax_cross_entropy
  optimizer: {adam: {lr: 0.002}}
  batch: 64
  epochs: 30
  data: digits
"""

RESIDUAL = """\
dslc: 1
blocks:
  residual:
    params: [filters]
    layers:
      - conv2d: {filters: $filters, kernel: 3, padding: same}
        name: conv_a
      - relu: {}
        name: act
      - add: {}
        from: [input, act]
model:
  name: res
  inputs: {image: [8, 8, 4]}
  layers:
    - residual: {filters: 4}
      repeat: 2
      name: stage
    - global_avgpool
    - dense: {units: 10}
"""


def diff(old: str, new: str) -> SpecDiff:
    old_loaded, new_loaded = load_text(old, "yaml", "old.yaml"), load_text(new, "yaml", "new.yaml")
    return diff_specs(old_loaded, analyse(old_loaded), new_loaded, analyse(new_loaded))


def edit(text: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return text


def statuses(result: SpecDiff) -> list[tuple[str, str]]:
    return [(change.status, change.name) for change in result.layers.changes]


@pytest.mark.parametrize("yaml_path", TWINS, ids=lambda p: p.name)
def test_a_spec_and_its_dsl_twin_are_unchanged(yaml_path: Path) -> None:
    old, new = load(yaml_path), load(yaml_path.with_suffix(".dsl"))
    result = diff_specs(old, analyse(old), new, analyse(new))
    assert result.unchanged, to_text(result)
    assert to_text(result) == f"{result.new_model}: nothing changed (the model, its blocks and the train section " \
                              "mean the same)\n"
    assert to_json(result)["changed"] is False


def test_a_changed_parameter_and_activation_show_old_and_new_at_the_new_location() -> None:
    result = diff(MLP, edit(MLP, ("rate: 0.1", "rate: 0.25"), ("64, activation: relu", "64, activation: gelu")))
    assert statuses(result) == [("changed", "dropout_1"), ("changed", "dense_2")]
    dropout, dense = result.layers.changes
    assert [(c.key, c.old, c.new) for c in dropout.changes] == [("rate", 0.1, 0.25)]
    assert [(c.key, c.old, c.new) for c in dense.changes] == [("activation", "relu", "gelu")]
    assert dropout.location == "new.yaml:8:7" and dropout.changes[0].location == "new.yaml:8:23"
    assert result.layers.unchanged == 3
    assert result.consequences.totals["params"].delta == 0 and not result.consequences.layers


def test_inserting_a_layer_is_one_insertion_whatever_the_automatic_names_do() -> None:
    inserted = "    - dense: {units: 128, activation: tanh}\n"
    result = diff(MLP, edit(MLP, ("    - dense: {units: 64", inserted + "    - dense: {units: 64")))
    assert statuses(result) == [("added", "dense_2")]  # the old dense_2 is now dense_3: not a change
    assert result.layers.unchanged == 5
    # What it does: the params of the new layer; no other layer's shape or parameter count changed.
    assert result.consequences.totals["params"].delta == 128 * 128 + 128
    assert result.consequences.layers == ()
    hierarchy = result.consequences.verdict
    assert (hierarchy.policy, hierarchy.old_value, hierarchy.new_value) == ("hierarchy", 3, 4)


def test_a_removed_layer() -> None:
    result = diff(MLP, edit(MLP, ("    - dropout: {rate: 0.1}\n", "")))
    assert statuses(result) == [("removed", "dropout_1")]
    assert result.layers.changes[0].location == "old.yaml:8:7"  # where it was


def test_a_moved_layer_is_one_move() -> None:
    moved = edit(MLP, ("    - dropout: {rate: 0.1}\n", ""), ("64, activation: relu}\n", "64, activation: relu}\n"
                                                                  "    - dropout: {rate: 0.1}\n"))
    result = diff(MLP, moved)
    assert statuses(result) == [("moved", "dropout_1")]
    assert result.layers.changes[0].changes == ()
    assert result.layers.unchanged == 4


def test_explicit_names_match_first_and_a_rename_is_a_change_of_name() -> None:
    renamed = edit(MLP, ("name: logits", "name: head"))
    result = diff(MLP, renamed)
    assert statuses(result) == [("changed", "head")]
    change = result.layers.changes[0]
    assert change.old_name == "logits" and [(c.key, c.old, c.new) for c in change.changes] == [
        ("name", "logits", "head")]
    # A named layer that moved and changed is still the same layer.
    swapped = edit(MLP, ("    - dense: {units: 10}\n      name: logits\n", ""),
                   ("    - flatten\n", "    - flatten\n    - dense: {units: 12}\n      name: logits\n"))
    result = diff(MLP, swapped)
    logits = next(c for c in result.layers.changes if c.name == "logits")
    assert logits.status == "moved" and [(c.key, c.old, c.new) for c in logits.changes] == [("units", 10, 12)]


def test_a_layer_replaced_one_for_one_is_a_changed_kind_else_removed_and_added() -> None:
    relu = edit(MLP, ("    - dropout: {rate: 0.1}\n", "    - relu\n"))
    gelu = diff(relu, edit(relu, ("    - relu\n", "    - gelu\n")))
    assert statuses(gelu) == [("changed", "gelu_1")]
    assert gelu.layers.changes[0].kind == "relu -> gelu" and gelu.layers.changes[0].old_name == "relu_1"
    assert [c.key for c in gelu.layers.changes[0].changes] == ["kind"]  # the defaults of two kinds are no change
    two = diff(relu, edit(relu, ("    - relu\n", "    - gelu\n    - tanh\n")))
    assert sorted(statuses(two)) == [("added", "gelu_1"), ("added", "tanh_1"), ("removed", "relu_1")]


def test_a_default_written_out_is_no_change() -> None:
    result = diff(MLP, edit(MLP, ("{units: 10}", "{units: 10, use_bias: true}")))
    assert result.unchanged


def test_a_block_body_change_shows_once_at_the_definition_with_its_call_sites() -> None:
    new = edit(RESIDUAL, ("kernel: 3, padding: same", "kernel: 1, padding: same"))
    result = diff(RESIDUAL, new)
    assert result.layers.changes == ()  # the call did not change
    (block,) = result.blocks
    assert (block.status, block.name, block.call_sites) == ("changed", "residual", ("stage (new.yaml:16:7)",))
    assert block.body is not None
    (conv,) = block.body.changes
    assert conv.name == "conv_a" and [(c.key, c.old, c.new) for c in conv.changes] == [("kernel", 3, 1)]
    # The consequences name the expanded layers: each instance's conv has fewer parameters.
    assert [(e.name, e.old_params, e.new_params) for e in result.consequences.layers] == [
        ("stage.1/conv_a", 4 * 9 * 4 + 4, 4 * 4 + 4), ("stage.2/conv_a", 4 * 9 * 4 + 4, 4 * 4 + 4)]


def test_a_block_parameter_default_and_added_block() -> None:
    new = edit(RESIDUAL, ("params: [filters]", "params: [{filters: 4}]"),
               ("model:", "  extra:\n    layers:\n      - relu\nmodel:"))
    result = diff(RESIDUAL, new)
    assert [(b.status, b.name) for b in result.blocks] == [("changed", "residual"), ("added", "extra")]
    (param,) = result.blocks[0].params
    assert (param.key, param.old, param.new) == ("params.filters", "(required)", 4)


def test_train_keys_old_and_new_and_a_changed_choice_is_one_change() -> None:
    new = edit(MLP, ("{adam: {lr: 0.002}}", "{sgd: {lr: 0.1, momentum: 0.9}}"), ("epochs: 30", "epochs: 40"),
               ("data: digits", "data: {digits: {normalize: standard}}"))
    result = diff(MLP, new)
    assert [(c.key, show(c.old), show(c.new)) for c in result.train] == [
        ("optimizer", "adam(lr=0.002)", "sgd(lr=0.1, momentum=0.9)"), ("epochs", "30", "40"),
        ("data.normalize", "minmax", "standard")]
    assert result.layers.changes == () and not result.unchanged


def test_a_train_section_removed_is_one_change() -> None:
    result = diff(MLP, MLP[:MLP.index("train:")])
    assert [(c.key, c.new) for c in result.train] == [("train", ABSENT)]
    assert to_text(result).splitlines()[3].startswith("  train: {loss=softmax_cross_entropy, optimizer=adam(lr=0.002), "
                                                      "batch=64, epochs=30, data=digits} -> (not set)  (old.yaml:13:3)")


def test_model_keys_and_a_verdict_change_under_each_policy() -> None:
    shallow = edit(MLP, ("name: mlp", "name: small"), ("[8, 8, 1]", "[8, 8, 2]"),
                   ("    - dense: {units: 64, activation: relu}\n", ""))
    result = diff(MLP, shallow)
    assert [(c.key, c.old, c.new) for c in result.model] == [("name", "mlp", "small"),
                                                             ("inputs.image", (8, 8, 1), (8, 8, 2))]
    verdicts = {v.policy: (v.old, v.new) for v in result.consequences.verdicts}
    assert verdicts == {"seeds-strict": ("deep", "shallow"), "hierarchy": ("deep", "shallow"),
                        "cap": ("deep", "shallow")}
    text = to_text(result)
    assert "depth verdict, hierarchy (the spec's policy): deep -> shallow (H 3 -> 2)" in text
    assert text.splitlines()[0].endswith("verdict deep -> shallow")


def test_text_lists_each_section() -> None:
    new = edit(MLP, ("rate: 0.1", "rate: 0.2"), ("epochs: 30", "epochs: 5"))
    assert to_text(diff(MLP, new)).splitlines()[:6] == [
        "mlp: layers: 1 changed; train: 1 key; params unchanged, FLOPs unchanged, verdict deep (unchanged)",
        "layers: 0 added, 0 removed, 0 moved, 1 changed, 4 unchanged",
        "  ~ dropout_1  dropout  (new.yaml:8:7)",
        "      rate: 0.1 -> 0.2  (new.yaml:8:23)",
        "train:",
        "  epochs: 30 -> 5  (new.yaml:16:11)",
    ]


def test_markdown_is_a_summary_line_then_tables() -> None:
    new = edit(MLP, ("rate: 0.1", "rate: 0.2"), ("units: 64,", "units: 32,"), ("epochs: 30", "epochs: 5"))
    md = to_markdown(diff(MLP, new))
    lines = md.splitlines()
    assert lines[0].startswith("**dslc diff** mlp: layers: 2 changed; train: 1 key; params -")
    assert "| | layer | kind | status | changes | where |" in lines
    assert "| ✏️ | `dropout_1` | `dropout` | changed | `rate`: `0.1` → `0.2` | `new.yaml:8:7` |" in lines
    assert "| `epochs` | `30` | `5` | `new.yaml:16:11` |" in lines
    assert "| **hierarchy** | H | deep (3) | deep (3) |" in lines
    assert "<details><summary>2 layer(s) with a new output shape or parameter count</summary>" in lines
    assert "| `logits` | 10 | 650 → 330 | `new.yaml:10:7` |" in lines  # its input narrowed
    assert to_markdown(diff(MLP, MLP)).startswith("**dslc diff** mlp: nothing changed")


def test_json_has_stable_keys() -> None:
    data = to_json(diff(MLP, edit(MLP, ("rate: 0.1", "rate: 0.2"))))
    json.dumps(data)  # serialisable as is
    assert list(data) == ["version", "old", "new", "changed", "summary", "model", "layers", "blocks", "train",
                          "consequences"]
    change = data["layers"]["changes"][0]  # type: ignore[index]
    assert list(change) == ["status", "name", "old_name", "kind", "location", "changes"]
    assert change["changes"][0] == {"key": "rate", "old": 0.1, "new": 0.2, "old_text": "0.1", "new_text": "0.2",
                                    "location": "new.yaml:8:23"}
    consequences = data["consequences"]
    assert list(consequences) == ["layers", "totals", "depth"]  # type: ignore[arg-type]
    assert list(consequences["totals"]) == ["params", "trainable", "frozen", "state", "flops",  # type: ignore[index]
                                            "activation_bytes"]
    assert consequences["depth"]["verdicts"]["hierarchy"] == {  # type: ignore[index]
        "measure": "H", "old_value": 3, "new_value": 3, "old": "deep", "new": "deep", "changed": False}


def test_a_long_stack_of_equal_layers_aligns_one_insertion_and_one_change() -> None:
    # Signatures repeat thousands of times here: the alignment must stay near-linear (difflib was cubic).
    old = tuple(LayerCall(kind="dense", params={"units": 4}) for _ in range(5000))
    new = (*old[:2000], LayerCall(kind="relu"), *old[2000:4000], LayerCall(kind="dense", params={"units": 5}),
           *old[4001:])
    old_views, new_views = step_views(old), step_views(new)
    pairs = align(old_views, new_views)
    assert [(p.old, p.new) for p in pairs if p.old is None or p.new is None] == [(None, 2000)]
    changed = [p for p in pairs if p.old is not None and p.new is not None
               and old_views[p.old].fields != new_views[p.new].fields]
    assert [(p.old, p.new) for p in changed] == [(4000, 4001)] and not any(p.moved for p in pairs)
