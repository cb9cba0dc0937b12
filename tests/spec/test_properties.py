"""Property-based tests of the spec pipeline (hypothesis).

1. Round trip: random *valid* `Spec` IRs, generated from the layer registry and the
   train vocabularies, print and load back to the same IR, and printing the reloaded
   IR gives the same text (YAML, and the DSL once its front end exists).
2. Mutation: the examples, damaged at the byte, token and (YAML) tree level, either
   load or raise `DslcErrors` whose errors are located and documented: never any other
   exception.

The default run is sized for CI (well under a minute). The `fuzz` variants run the same
properties with many more examples; they are skipped unless selected:

    pytest -m fuzz tests/spec/test_properties.py        # DSLC_FUZZ_EXAMPLES=N to change the count
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path

import annotated_types
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.functional_validators import AfterValidator

from dslc.spec.codes import CODES
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.ir import (
    BlockCall,
    BlockDef,
    BlockParam,
    Input,
    LayerCall,
    Model,
    Ref,
    Spec,
    Step,
    Train,
)
from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import Arity
from dslc.spec.load import LoadedSpec, load_source, load_text
from dslc.spec.lower import CALL_ATTRIBUTES
from dslc.spec.printer import print_yaml
from dslc.spec.source import decode_source
from dslc.spec.vocab import _relative_path

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
HAS_DSL = importlib.util.find_spec("dslc.spec.dsl_frontend") is not None
SYNTAXES = ("yaml", "dsl") if HAS_DSL else ("yaml",)
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml")) + (sorted(EXAMPLES.glob("*.dsl")) if HAS_DSL else [])
SYNTAX_OF = {".yaml": "yaml", ".dsl": "dsl"}

# Examples per test in the default (CI) run: a round trip costs about 50 ms, a mutant a few ms.
ROUND_TRIP_EXAMPLES = 120
MUTANT_EXAMPLES = {"byte": 400, "token": 400, "tree": 150}
FUZZ_EXAMPLES = int(os.environ.get("DSLC_FUZZ_EXAMPLES", "5000"))
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def printer(syntax: str) -> Callable[[Spec], str]:
    if syntax == "dsl":
        from dslc.spec.dsl_printer import print_dsl
        return print_dsl
    return print_yaml


# -- values from type annotations -------------------------------------------------------------------
# Layer parameters and train choices are pydantic models; their annotations and constraints
# (ge/gt/le/lt, min_length, literal choices, unions) say which values are valid.

INT_MIN, INT_MAX = -(2**31), 2**63 - 1
# Lone surrogates are left out: no UTF-8 file can hold one, and YAML has no escape for one.
TEXT = st.characters(exclude_categories=("Cs",))
SAFE_PATHS = ("data.npz", "data/train.npz", "x.npy", "sub/dir/y.npy", "table.csv", "a-b_c.1.npz")


def _bounds(metadata: list) -> dict[str, object]:
    bounds: dict[str, object] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            bounds.update(_bounds(item.metadata))
        elif isinstance(item, annotated_types.Ge):
            bounds["ge"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            bounds["gt"] = item.gt
        elif isinstance(item, annotated_types.Le):
            bounds["le"] = item.le
        elif isinstance(item, annotated_types.Lt):
            bounds["lt"] = item.lt
        elif isinstance(item, annotated_types.MinLen):
            bounds["min_length"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            bounds["max_length"] = item.max_length
        elif isinstance(item, AfterValidator) and item.func is _relative_path:
            bounds["path"] = True
    return bounds


def _ints(bounds: dict) -> st.SearchStrategy[int]:
    low = bounds.get("ge", bounds["gt"] + 1 if "gt" in bounds else INT_MIN)
    high = bounds.get("le", bounds["lt"] - 1 if "lt" in bounds else INT_MAX)
    # Mostly small, realistic sizes; sometimes anywhere in the valid range.
    small = st.integers(max(low, -8), min(high, max(low, -8) + 512)) if max(low, -8) <= min(high, 512) else st.nothing()
    return small | st.integers(low, high)


def _floats(bounds: dict) -> st.SearchStrategy[float]:
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    return st.floats(min_value=low, max_value=high, exclude_min="gt" in bounds, exclude_max="lt" in bounds,
                     allow_nan=False, allow_infinity=False)


def values_for(annotation: object, metadata: list | None = None) -> st.SearchStrategy:
    """Valid values for a (pydantic-strict) annotation; BaseModel types give model instances."""
    bounds = _bounds(metadata or [])
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return values_for(inner, [*(metadata or []), *extra])
    if origin in (typing.Union, types.UnionType):
        return st.one_of([values_for(arg, metadata) for arg in typing.get_args(annotation)])
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(annotation))
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            size = dict(min_size=bounds.get("min_length", 0), max_size=bounds.get("max_length", 4))
            return st.lists(values_for(args[0]), **size).map(tuple)
        return st.tuples(*(values_for(arg) for arg in args))
    if annotation is type(None):
        return st.none()
    if annotation is bool:
        return st.booleans()
    if annotation is int:
        return _ints(bounds)
    if annotation is float:
        return _floats(bounds)
    if annotation is str:
        if bounds.get("path"):
            return st.sampled_from(SAFE_PATHS)
        return st.text(TEXT, max_size=12)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return instances_of(annotation)
    raise NotImplementedError(f"no strategy for {annotation!r}")  # a new kind of field: teach this function


def field_values(model: type[BaseModel], skip: tuple[str, ...] = ("kind",)) -> st.SearchStrategy[dict]:
    """Valid parameters of `model`: every required field, and a random subset of the optional ones."""

    @st.composite
    def build(draw) -> dict:
        values = {}
        for name, field in model.model_fields.items():
            if name in skip or (not field.is_required() and not draw(st.booleans())):
                continue
            values[name] = draw(values_for(field.annotation, field.metadata))
        return values

    return build()


def instances_of(model: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    return field_values(model).map(lambda values: model(**values))


def layer_params(kind: str) -> st.SearchStrategy[dict]:
    params = REGISTRY[kind].params

    def valid(values: dict) -> bool:
        try:
            params.model_validate(values)
        except ValueError:
            return False
        return True

    # `tied_to` names another layer: a random name would name none (the tie has its own tests: test_embeddings.py)
    return field_values(params, skip=("tied_to",)).filter(valid)


# -- random specs -------------------------------------------------------------------------------------
IDENTIFIERS = ("a", "b", "c", "d", "e", "f", "h", "stem", "head", "body", "proj", "out", "logits", "skip",
               "conv_a", "bn_b", "x1", "layer_2", "_hidden", "Z9", "dense", "relu", "concat",
               # words that are keywords or constants somewhere in one of the syntaxes
               "model", "train", "block", "dslc", "blocks", "layers", "true", "null", "no", "y", "repeat", "name")
INPUT_NAMES = ("x", "image", "tokens", "rows", "feats", "model", "null", "input")
KINDS = sorted(REGISTRY)
MERGE_KINDS = [kind for kind in KINDS if REGISTRY[kind].arity is Arity.MERGE]
SINGLE_KINDS = [kind for kind in KINDS if REGISTRY[kind].arity is not Arity.MERGE]  # attention takes one too


class _Scope:
    """Names a step may use in `from`, and names already taken in this scope."""

    def __init__(self, visible: list[str], taken: set[str]) -> None:
        self.visible = visible
        self.taken = taken


def _name(draw, scope: _Scope) -> str | None:
    if not draw(st.booleans()):
        return None
    name = draw(st.sampled_from(IDENTIFIERS) | st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True))
    if name in scope.taken or name == "input":
        return None
    scope.taken.add(name)
    return name


def _inputs(draw, scope: _Scope, count: int, required: bool) -> tuple[str, ...] | None:
    if not required and not draw(st.integers(0, 4)) == 0:
        return None
    return tuple(draw(st.lists(st.sampled_from(scope.visible), min_size=count, max_size=count + 1 if count > 1
                               else count)))


def _flat_ints(value: object) -> bool:
    return isinstance(value, tuple) and bool(value) and all(type(item) is int for item in value)


@st.composite
def layer_calls(draw, scope: _Scope, first_needs_from: bool, promote: list | None) -> LayerCall:
    """One layer; inside a block (`promote` is a list) some parameters become `$param` references."""
    merge = bool(scope.visible) and draw(st.integers(0, 6)) == 0
    kind = draw(st.sampled_from(MERGE_KINDS if merge else SINGLE_KINDS))
    params = draw(layer_params(kind))
    if promote is not None:
        for key, value in list(params.items()):
            if draw(st.integers(0, 2)) != 0:
                continue
            param = f"p{len(promote)}"
            if _flat_ints(value) and draw(st.booleans()):
                # One item of a list (`kernel: [$k, 3]`); every flat integer list takes sizes >= 1.
                at = draw(st.integers(0, len(value) - 1))
                promote.append((param, st.integers(1, 64)))
                params[key] = (*value[:at], Ref(name=param), *value[at + 1:])
            else:
                # The value drawn (valid with its siblings: options such as `bias_std` depend on others).
                promote.append((param, st.just(value)))
                params[key] = Ref(name=param)
    inputs = _inputs(draw, scope, 2 if merge else 1, required=merge or first_needs_from)
    name = _name(draw, scope)
    trainable = draw(st.integers(0, 5)) != 0
    return LayerCall(kind=kind, params=params, name=name, inputs=inputs, trainable=trainable)


@st.composite
def block_calls(draw, block: BlockDef, arguments: dict[str, st.SearchStrategy], scope: _Scope,
                first_needs_from: bool, promote: list | None) -> BlockCall:
    """A use of `block`; inside another block an argument may pass that block's own parameter on."""
    args: dict[str, object] = {}
    for param in block.params:
        if not (param.required or draw(st.booleans())):
            continue
        if promote is not None and draw(st.integers(0, 2)) == 0:
            outer = f"p{len(promote)}"
            promote.append((outer, arguments[param.name]))
            args[param.name] = Ref(name=outer)
        else:
            args[param.name] = draw(arguments[param.name])
    inputs = _inputs(draw, scope, 1, required=first_needs_from)
    name = _name(draw, scope)
    return BlockCall(block=block.name, args=args, name=name, inputs=inputs, trainable=draw(st.booleans()),
                     repeat=draw(st.integers(1, 3)))


@st.composite
def step_lists(draw, scope: _Scope, blocks: list[tuple[BlockDef, dict]], promote: list | None,
               first_needs_from: bool, max_steps: int) -> tuple[Step, ...]:
    steps: list[Step] = []
    for index in range(draw(st.integers(1, max_steps))):
        needs_from = first_needs_from and index == 0
        if blocks and draw(st.integers(0, 3)) == 0:
            block, arguments = draw(st.sampled_from(blocks))
            step: Step = draw(block_calls(block, arguments, scope, needs_from, promote))
        else:
            step = draw(layer_calls(scope, needs_from, promote))
        if step.name:
            scope.visible.append(step.name)
        steps.append(step)
    return tuple(steps)


@st.composite
def block_defs(draw) -> list[tuple[BlockDef, dict]]:
    """Blocks, each calling only blocks defined before it (no recursion), with the strategies of their arguments."""
    blocks: list[tuple[BlockDef, dict]] = []
    for _ in range(draw(st.integers(0, 3))):
        promoted: list[tuple[str, st.SearchStrategy]] = []
        layers = draw(step_lists(_Scope(["input"], {"input"}), list(blocks), promoted, False, 4))
        params = []
        for name, values in promoted:
            if draw(st.booleans()):
                params.append(BlockParam(name=name, required=True))
            else:
                params.append(BlockParam(name=name, default=draw(values)))
        if draw(st.booleans()):  # an unused parameter with a default
            params.append(BlockParam(name="unused", default=draw(st.integers(0, 9) | st.none())))
            promoted.append(("unused", st.integers(0, 9)))
        # A block named like a call attribute cannot be called (reported: lowering accepts its definition).
        taken = {*REGISTRY, *CALL_ATTRIBUTES, *(b.name for b, _ in blocks)}
        names = [name for name in IDENTIFIERS if name not in taken]
        block = BlockDef(name=draw(st.sampled_from(names)), params=tuple(params), layers=layers)
        blocks.append((block, dict(promoted)))
    return blocks


@st.composite
def trains(draw) -> Train:
    values = {}
    for name, field in Train.model_fields.items():
        if name in ("epochs", "steps"):
            continue
        if field.is_required() or draw(st.booleans()):
            values[name] = draw(values_for(field.annotation, field.metadata))
    length = draw(st.sampled_from(("epochs", "steps")))
    values[length] = draw(_ints({"ge": 1}))
    return Train(**values)


@st.composite
def specs(draw) -> Spec:
    blocks = draw(block_defs())
    input_names = draw(st.lists(st.sampled_from(INPUT_NAMES), min_size=1, max_size=2, unique=True))
    inputs = tuple(Input(name=name, shape=draw(values_for(Input.model_fields["shape"].annotation)),
                         **({} if draw(st.booleans()) else {"dtype": draw(values_for(Input.model_fields["dtype"]
                                                                                     .annotation))}))
                   for name in input_names)
    scope = _Scope(list(input_names), set(input_names))
    layers = draw(step_lists(scope, blocks, None, len(inputs) > 1, 6))
    named = [step.name for step in layers if step.name]
    outputs = None
    if named and draw(st.booleans()):
        outputs = tuple(draw(st.lists(st.sampled_from(named), min_size=1, max_size=3, unique=True)))
    model = Model(name=draw(st.sampled_from(IDENTIFIERS)), inputs=inputs, layers=layers,
                  outputs=outputs)
    train = draw(st.none() | trains())
    return Spec(blocks=tuple(block for block, _ in blocks), model=model, train=train)


# -- the round-trip property ------------------------------------------------------------------------------
def check_round_trip(spec: Spec, syntax: str) -> None:
    write = printer(syntax)
    text = write(spec)
    try:
        loaded = load_text(text, syntax, f"printed.{syntax}")
    except DslcErrors as errors:
        raise AssertionError(f"the printed spec does not load:\n{errors}\n--- printed:\n{text}") from None
    assert loaded.spec == spec, f"--- printed:\n{text}"
    assert write(loaded.spec) == text


def _round_trip_test(syntax: str, max_examples: int):
    @settings(max_examples=max_examples, **SETTINGS)
    @given(spec=specs())
    def test(spec: Spec) -> None:
        check_round_trip(spec, syntax)

    return test


def test_generated_specs_are_valid_and_varied() -> None:
    """The generator itself: what it builds loads as built, and it reaches the features it is meant to."""
    seen: set[str] = set()

    @settings(max_examples=60, **SETTINGS)
    @given(spec=specs())
    def run(spec: Spec) -> None:
        loaded = load_text(print_yaml(spec), "yaml")
        seen.update(node.kind for node in loaded.graph.nodes)
        text = print_yaml(spec)
        features = {"blocks": bool(spec.blocks), "train": spec.train is not None, "$param": "$" in text,
                    "repeat": "repeat:" in text, "from": "from:" in text, "outputs": spec.model.outputs is not None,
                    "several inputs": len(spec.model.inputs) > 1, "frozen": "trainable: false" in text}
        seen.update(name for name, present in features.items() if present)

    run()
    features = {"blocks", "train", "$param", "repeat", "from", "outputs", "several inputs", "frozen"}
    assert features <= seen
    assert len(seen - features) >= 10  # layer kinds


# -- mutations ----------------------------------------------------------------------------------------
def check_rejects_cleanly(data: bytes, syntax: str) -> LoadedSpec | None:
    """Loading `data` succeeds or raises `DslcErrors` of located, documented errors; nothing else."""
    try:
        source = decode_source(data, f"mutant.{syntax}")
    except DslcError as error:
        assert error.code == "E003" and error.span is not None
        return None
    except DslcErrors as errors:  # characters no spec may hold raw, shown with their line
        assert {error.code for error in errors.errors} <= {"E018", "E019"} and errors.source is not None
        return None
    try:
        return load_source(source, syntax)
    except DslcErrors as errors:
        assert errors.errors
        for error in errors.errors:
            assert error.code in CODES and error.code != "E900", error.headline()
            assert error.span is not None and error.span.line >= 1 and error.span.col >= 1, error.headline()
            error.render(source.text)  # rendering never fails either
        return None


def _example_bytes(syntax: str) -> list[bytes]:
    return [path.read_bytes() for path in EXAMPLE_FILES if SYNTAX_OF[path.suffix] == syntax]


INTERESTING_BYTES = (b"\x00", b"\xff", b"\xc3", b"\xe2\x80\xae", b"\t", b"\r", b"\n", b"{", b"}", b"[", b"]", b":",
                     b",", b"-", b"#", b"&a", b"*a", b"!!", b"$", b"'", b'"', b"\\", b"---", b"<<", b"(", b")", b"=",
                     b";", b"->", b"\xef\xbb\xbf", b"\xe2\x80\xa8", b" ")


@st.composite
def byte_mutants(draw, syntax: str) -> bytes:
    data = bytearray(draw(st.sampled_from(_example_bytes(syntax))))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(("insert", "delete", "replace", "truncate")))
        at = draw(st.integers(0, len(data)))
        if operation == "insert":
            data[at:at] = draw(st.sampled_from(INTERESTING_BYTES) | st.binary(min_size=1, max_size=4))
        elif operation == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif operation == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif operation == "truncate":
            del data[at:]
    return bytes(data)


NUMBERS = ("0", "-1", "-0", "1e999", "-1e999", ".nan", ".inf", "-.inf", "nan", "NaN", "inf", "1e-400", "0x7f",
           "0o17", "1_000", "2.5", "-2.5e-3", "1" * 70, "9" * 30, "99999999999999999999", "1e308", "0.0", "+3")
TOKENS = ("$x", "$", "*a", "&a", "!!str", "!!python/object:os.system", "<<:", "---", "...", "{", "}", "[", "]",
          ":", "-", "\"", "'", "|", ">", "null", "~", "true", "dslc:", "model:", "layers:", "from:", "name:",
          "input", "repeat:", "block", "model", "train", "->", "*", "=", "(", ")", ",", ";", "@", "%", "`")
NUMBER = re.compile(r"[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


@st.composite
def token_mutants(draw, syntax: str) -> bytes:
    text = draw(st.sampled_from(_example_bytes(syntax))).decode("utf-8")
    parts = re.split(r"(\s+)", text)  # tokens at even indices, whitespace at odd ones
    tokens = list(range(0, len(parts), 2))
    for _ in range(draw(st.integers(1, 3))):
        i, j = draw(st.sampled_from(tokens)), draw(st.sampled_from(tokens))
        operation = draw(st.sampled_from(("swap", "duplicate", "delete", "number", "token", "join")))
        if operation == "swap":
            parts[i], parts[j] = parts[j], parts[i]
        elif operation == "duplicate":
            parts[i] = parts[i] + " " + parts[i]
        elif operation == "delete":
            parts[i] = ""
        elif operation == "number":
            numbers = [k for k in tokens if NUMBER.search(parts[k])]
            if numbers:
                k = draw(st.sampled_from(numbers))
                parts[k] = NUMBER.sub(lambda _: draw(st.sampled_from(NUMBERS)), parts[k], count=1)
        elif operation == "token":
            parts[i] = draw(st.sampled_from(TOKENS))
        elif operation == "join" and i + 1 < len(parts):
            parts[i + 1] = ""  # glue two tokens together
    return "".join(parts).encode("utf-8")


TREE_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
    | st.sampled_from(("relu", "dense", "same", "$filters", "input", "digits", "adam", "../x.npz", "/etc/passwd")),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6)
TREE_KEYS = st.sampled_from(("dslc", "model", "train", "blocks", "name", "inputs", "layers", "outputs", "from",
                             "repeat", "trainable", "params", "units", "filters", "kernel", "lr", "dense", "relu",
                             "add", "loss", "optimizer", "data", "metrics", "batch", "epochs", "steps")) | st.text(
    max_size=6)


def _containers(node: object, found: list) -> list:
    if isinstance(node, dict | list):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


@st.composite
def tree_mutants(draw) -> bytes:
    """A YAML example loaded as plain data, changed in its structure, dumped again."""
    tree = yaml.safe_load(draw(st.sampled_from(_example_bytes("yaml"))))
    for _ in range(draw(st.integers(1, 3))):
        container = draw(st.sampled_from(_containers(tree, [])))
        keys = list(container) if isinstance(container, dict) else list(range(len(container)))
        operation = draw(st.sampled_from(("delete", "replace", "rename", "add", "copy")))
        if not keys:
            operation = "add"
        key = draw(st.sampled_from(keys)) if keys else None
        if operation == "delete":
            del container[key]
        elif operation == "replace":
            container[key] = draw(TREE_VALUES)
        elif operation == "rename" and isinstance(container, dict):
            container[draw(TREE_KEYS)] = container.pop(key)
        elif operation == "add":
            if isinstance(container, dict):
                container[draw(TREE_KEYS)] = draw(TREE_VALUES)
            else:
                container.insert(draw(st.integers(0, len(container))), draw(TREE_VALUES))
        elif operation == "copy":  # a sibling's value in another place: a layer twice, a key's value moved
            container[key] = container[draw(st.sampled_from(keys))]
    style = draw(st.sampled_from((None, True, False)))
    return yaml.safe_dump(tree, default_flow_style=style, sort_keys=False, allow_unicode=True).encode("utf-8")


def _mutation_test(kind: str, syntax: str, max_examples: int):
    strategy = tree_mutants() if kind == "tree" else (byte_mutants if kind == "byte" else token_mutants)(syntax)

    @settings(max_examples=max_examples, **SETTINGS)
    @given(data=strategy)
    def test(data: bytes) -> None:
        check_rejects_cleanly(data, syntax)

    return test


# -- the tests: CI-sized, and fuzz-sized on demand ------------------------------------------------------
def _require_fuzz(request: pytest.FixtureRequest) -> None:
    expression = request.config.getoption("markexpr") or ""
    if "fuzz" not in expression or "not fuzz" in expression:
        pytest.skip("a long fuzzing run: select it with -m fuzz")


MUTATIONS = [(kind, syntax) for syntax in SYNTAXES for kind in ("byte", "token", "tree")
             if kind != "tree" or syntax == "yaml"]


@pytest.mark.parametrize("syntax", SYNTAXES)
def test_print_then_load_is_the_identity(syntax: str) -> None:
    _round_trip_test(syntax, ROUND_TRIP_EXAMPLES)()


@pytest.mark.parametrize(("kind", "syntax"), MUTATIONS, ids=[f"{k}-{s}" for k, s in MUTATIONS])
def test_mutated_examples_load_or_raise_dslc_errors(kind: str, syntax: str) -> None:
    _mutation_test(kind, syntax, MUTANT_EXAMPLES[kind])()


@pytest.mark.fuzz
@pytest.mark.parametrize("syntax", SYNTAXES)
def test_print_then_load_is_the_identity_fuzz(request: pytest.FixtureRequest, syntax: str) -> None:
    _require_fuzz(request)
    _round_trip_test(syntax, FUZZ_EXAMPLES)()


@pytest.mark.fuzz
@pytest.mark.parametrize(("kind", "syntax"), MUTATIONS, ids=[f"{k}-{s}" for k, s in MUTATIONS])
def test_mutated_examples_fuzz(request: pytest.FixtureRequest, kind: str, syntax: str) -> None:
    _require_fuzz(request)
    _mutation_test(kind, syntax, FUZZ_EXAMPLES)()


def test_yaml_printer_writes_characters_outside_the_bmp_readably() -> None:
    """A regression test: the printer once wrote them as JSON surrogate pairs, which YAML rejects."""
    data = 'data: {npz: {path: a.npz, x: "\U0001F600"}}'
    text = (EXAMPLES / "digits_mlp.yaml").read_text().replace("data: digits", data)
    spec = load_text(text, "yaml").spec
    assert spec.train.data.x == "\U0001F600"
    check_round_trip(spec, "yaml")


def test_non_finite_and_huge_numbers_never_reach_the_ir() -> None:
    """Numbers that overflow to inf, NaN and over-long literals are errors, wherever they are written."""
    base = "dslc: 1\nmodel:\n  name: m\n  inputs: {x: [4]}\n  layers:\n    - dropout: {rate: VALUE}\n"
    for value, code in ((".nan", "E204"), ("1e999", "E204"), ("-.inf", "E204"), ("1" * 80, "E205")):
        with pytest.raises(DslcErrors) as info:
            load_text(base.replace("VALUE", value), "yaml")
        assert [error.code for error in info.value.errors] == [code], value
    assert math.isclose(load_text(base.replace("VALUE", "1e-1"), "yaml").spec.model.layers[0].params["rate"], 0.1)
