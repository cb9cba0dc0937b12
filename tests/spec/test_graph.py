"""Lowering and block expansion: names, scopes, repeats, block arguments, graph errors."""

from __future__ import annotations

import textwrap
import time

import pytest

from dslc.spec.errors import DslcErrors
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.load import load_text

HEADER = "dslc: 1\n"


def load(text: str, limits: Limits = DEFAULT_LIMITS):
    return load_text(HEADER + textwrap.dedent(text), "yaml", "t.yaml", limits)


def errors(text: str, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, int, int]]:
    with pytest.raises(DslcErrors) as info:
        load(text, limits)
    return [(e.code, e.span.line, e.span.col) for e in info.value.errors]


RESIDUAL = """\
    blocks:
      res:
        params: [filters, {kernel: 3}]
        layers:
          - conv2d: {filters: $filters, kernel: $kernel, padding: same}
            name: a
          - add: {}
            from: [input, a]
    model:
      name: m
      inputs: {x: [8, 8, 4]}
      layers:
        - res: {filters: 4}
          name: stage
          repeat: 2
        - dense: {units: 3}
          trainable: false
"""


def test_blocks_expand_with_scoped_names_and_bound_arguments() -> None:
    graph = load(RESIDUAL).graph
    assert [n.name for n in graph.nodes] == ["stage.1/a", "stage.1/add_1", "stage.2/a", "stage.2/add_1", "dense_1"]
    assert graph.node("stage.1/add_1").inputs == ("x", "stage.1/a")
    assert graph.node("stage.2/add_1").inputs == ("stage.1/add_1", "stage.2/a")
    assert graph.node("stage.2/a").params.filters == 4 and graph.node("stage.2/a").params.kernel == 3
    assert graph.node("stage.2/a").scope == ("stage.2",)
    assert graph.outputs == ("dense_1",)
    assert not graph.node("dense_1").trainable and graph.node("stage.1/a").trainable


def test_a_bad_block_argument_is_reported_at_the_call() -> None:
    text = RESIDUAL.replace("- res: {filters: 4}", "- res: {filters: -4}")
    assert errors(text) == [("E202", 14, 22)]


def test_frozen_block_call_freezes_every_layer_in_it() -> None:
    graph = load(RESIDUAL.replace("          repeat: 2", "          repeat: 2\n          trainable: false")).graph
    assert [n.trainable for n in graph.nodes] == [False, False, False, False, False]


def test_forward_references_and_outputs() -> None:
    graph = load("""\
        model:
          name: m
          inputs: {x: [4]}
          layers:
            - add: {}
              from: [l, r]
              name: sum
            - dense: {units: 2}
              name: l
              from: x
            - dense: {units: 2}
              name: r
              from: x
          outputs: [sum, l]
    """).graph
    assert [n.name for n in graph.nodes] == ["l", "r", "sum"]
    assert graph.outputs == ("sum", "l")


@pytest.mark.parametrize(("layers", "expected"), [
    ("- dense: {units: 2}\n  from: nope", ("E401", 7, 13)),
    ("- dense: {units: 2}\n  name: a\n- dense: {units: 2}\n  name: a", ("E402", 8, 7)),
    ("- dense: {units: 2}\n  name: a\n  from: b\n- dense: {units: 2}\n  name: b\n  from: a", ("E403", 6, 7)),
    ("- add: {}", ("E406", 6, 7)),
    ("- dense: {units: 2}\n  from: [x, x]", ("E406", 6, 7)),
    ("- attention: {heads: 1}\n  from: [x, x, x]", ("E406", 6, 7)),  # queries and at most one memory
    ("- dense: {units: 2}\n  repeat: 2", ("E101", 7, 7)),
    ("- nope", ("E104", 6, 7)),
    ("- dense: {units: 2}\n  nmae: a", ("E101", 7, 7)),
    ("- dense: {units: 2}\n  conv2d: {filters: 1, kernel: 1}", ("E106", 7, 7)),
    ("- dense: {units: $u}", ("E305", 6, 22)),
    ("- dense: 7", None),
])
def test_graph_errors_are_located(layers: str, expected: tuple[str, int, int] | None) -> None:
    indented = "\n".join("    " + line for line in layers.split("\n"))
    body = "model:\n  name: m\n  inputs: {x: [4]}\n  layers:\n" + indented
    if expected is None:
        assert load(body).graph.nodes[0].params.units == 7
    else:
        assert errors(body)[0] == expected


def test_block_errors() -> None:
    text = """\
        blocks:
          loop:
            layers:
              - loop
          dense:
            layers: [relu]
          needs:
            params: [n]
            layers:
              - dense: {units: $m}
        model:
          name: m
          inputs: {x: [4]}
          layers:
            - needs
    """
    found = errors(text)
    assert ("E304", 6, 3) in found  # a block named like a layer kind
    assert ("E301", 11, 24) in found  # $m is not a parameter of 'needs'


def test_recursive_block_and_missing_argument() -> None:
    assert errors("""\
        blocks:
          loop:
            layers: [loop]
        model: {name: m, inputs: {x: [4]}, layers: [loop]}
    """)[0][0] == "E303"
    assert errors("""\
        blocks:
          needs:
            params: [n]
            layers: [{dense: {units: $n}}]
        model: {name: m, inputs: {x: [4]}, layers: [needs]}
    """) == [("E302", 6, 45)]


def test_layer_budget_bounds_expansion() -> None:
    text = """\
        blocks:
          b: {layers: [relu, relu, relu, relu]}
          c: {layers: [{b: {}, repeat: 1000}]}
        model: {name: m, inputs: {x: [4]}, layers: [{c: {}, repeat: 1000}]}
    """
    assert errors(text, Limits(max_layers=10_000))[0][0] == "E007"


def test_a_list_of_more_layers_than_the_budget_is_rejected_before_it_is_lowered() -> None:
    """149,000 entries within the item budget took 9 s to lower before expansion counted them (E007)."""
    twelve = ", ".join(["relu"] * 12)  # the 11th entry is 60 columns after the first
    model = "model: {name: m, inputs: {x: [4]}, layers: [%s]}\n"
    assert errors(model % twelve, Limits(max_layers=10)) == [("E007", 2, 45 + 60)]
    block = f"blocks:\n  b: {{layers: [{twelve}]}}\n"
    assert errors(block + model % "b", Limits(max_layers=10)) == [("E007", 3, 16 + 60)]
    started = time.thread_time()  # CPU time, whatever else the machine is doing
    with pytest.raises(DslcErrors) as info:
        load(model % ", ".join(["relu"] * 60_000))
    assert time.thread_time() - started < 5
    assert [e.message for e in info.value.errors] == \
        ["layer entry count 60000 exceeds the budget of 50000 (raise it with --max-layers)"]


def test_all_errors_of_a_file_come_in_one_run() -> None:
    found = errors("""\
        model:
          name: m
          inputs: {x: [4]}
          layers:
            - dense: {units: 0}
            - dnse: {units: 1}
        train: {loss: mse, optimizer: {adam: {lr: .nan}}, batch: 0, epochs: 1, data: digits}
    """)
    assert [code for code, _, _ in found] == ["E202", "E104", "E204", "E202"]


def test_train_fields_are_checked_even_when_a_choice_is_unknown() -> None:
    found = errors("""\
        model: {name: m, inputs: {x: [4]}, layers: [relu]}
        train: {loss: mse, optimizer: {adamm: {lr: 1}}, batch: 0, epochs: 1, data: digits, precision: fp16}
    """)
    assert [code for code, _, _ in found] == ["E105", "E202", "E203"]
