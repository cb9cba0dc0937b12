"""Located document tree -> `Spec` (the IR as written), collecting every structural error.

This pass checks the shape of the document: sections and keys, layer kinds,
block definitions and calls, `$param` references, graph attributes, and the
`train` section. Layer parameter *values* are validated when blocks are
expanded (`dslc.spec.expand`), where block arguments are known.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TypeGuard, TypeVar

from dslc.spec.errors import DslcError, ErrorSink, Span, closed_set_hint, did_you_mean, show_value, unknown_key_hint
from dslc.spec.ir import (
    DTYPES,
    SPEC_VERSION,
    BlockCall,
    BlockDef,
    BlockParam,
    Checkpoint,
    EarlyStopping,
    Input,
    IRModel,
    LayerCall,
    Model,
    Ref,
    Spec,
    Step,
    Train,
    Value,
)
from dslc.spec.layers import REGISTRY
from dslc.spec.layers.base import LayerParams
from dslc.spec.limits import DEFAULT_LIMITS, Limits
from dslc.spec.sourcemap import IRPath, SourceMap
from dslc.spec.tree import Entry, Map, Node, Scalar, Seq, node_kind, to_plain
from dslc.spec.validation import validate
from dslc.spec.vocab import (
    DATA_SOURCES,
    INITS,
    LOSSES,
    METRICS,
    OPTIMIZERS,
    SCHEDULES,
    TOKENIZERS,
    Choice,
    Vocabulary,
)

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
TOP_KEYS = ("dslc", "blocks", "model", "train")
MODEL_KEYS = ("name", "inputs", "layers", "outputs")
BLOCK_KEYS = ("params", "layers")
LAYER_ATTRIBUTES = ("name", "from", "trainable")
CALL_ATTRIBUTES = ("name", "from", "trainable", "repeat")
TRAIN_CHOICES: dict[str, Vocabulary] = {"loss": LOSSES, "optimizer": OPTIMIZERS, "data": DATA_SOURCES}
# Train settings that are lists of choices (one choice alone stands for a list of one).
TRAIN_LISTS: dict[str, Vocabulary] = {"metrics": METRICS, "init": INITS}
# Choice parameters whose value may itself be a choice (a learning-rate schedule, a text source's tokenizer).
NESTED_CHOICES: dict[str, Vocabulary] = {"lr": SCHEDULES, "tokenizer": TOKENIZERS}
# Train settings that are mappings of their own, validated by their model so errors point inside them.
TRAIN_SETTINGS: dict[str, type[IRModel]] = {"checkpoint": Checkpoint, "early_stopping": EarlyStopping}
BLOCK_INPUT = "input"
N = TypeVar("N", Map, Seq, Scalar)


@dataclass(frozen=True)
class Scope:
    """What `$name` may refer to: the parameters of the block being lowered (None outside blocks)."""

    block_params: tuple[str, ...] | None


@dataclass(frozen=True)
class Lowered:
    """The IR, where each part of it was written, and the layer parameters already validated."""

    spec: Spec
    source_map: SourceMap
    # Layer calls whose parameters use no block parameter are validated while lowering (None: they failed).
    validated: dict[IRPath, LayerParams | None] = field(default_factory=dict)
    # Steps left out because they failed: the paths of the steps that follow them (whose implicit input
    # is gone) and their names (what refers to them is not a second error).
    after_failed: frozenset[IRPath] = frozenset()
    failed_names: frozenset[str] = frozenset()


def lower(doc: Map, sink: ErrorSink, limits: Limits = DEFAULT_LIMITS) -> Lowered | None:
    """The spec's IR with its source map; every structural error goes to `sink`.

    With errors the IR is partial (what failed is left out, so later stages can still look at the
    rest); None when there is no model to look at.
    """
    lowerer = Lowerer(doc.span.file, sink, limits)
    spec = lowerer.spec(doc)
    if spec is None:
        return None
    return Lowered(spec, lowerer.map, lowerer.validated, frozenset(lowerer.after_failed),
                   frozenset(lowerer.failed_names))


class Lowerer:
    def __init__(self, file: str, sink: ErrorSink, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.sink = sink
        self.map = SourceMap(file)
        self.validated: dict[IRPath, LayerParams | None] = {}
        self.after_failed: set[IRPath] = set()
        self.failed_names: set[str] = set()
        self.block_names: set[str] = set()
        self.block_positional: dict[str, tuple[str, ...]] = {}
        self.rejected = 0  # how many values `value` has reported (non-finite numbers, mappings)

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.sink.add(DslcError(code, message, span, hint=hint))

    # -- generic helpers -------------------------------------------------------------------------
    def expect(self, node: Node, cls: type[N], what: str, expected: str) -> TypeGuard[N]:
        if isinstance(node, cls):
            return True
        self.error("E103", f"{what} must be {expected}, got {node_kind(node)}", node.span)
        return False

    def check_keys(self, node: Map, allowed: tuple[str, ...], required: tuple[str, ...], what: str) -> None:
        for entry in node:
            if entry.key not in allowed:
                self.error("E101", f"{what}: unknown key '{entry.key}'", entry.key_span,
                           unknown_key_hint(str(entry.key), allowed, TOP_KEYS))
        for key in required:
            if node.get(key) is None:
                self.error("E102", f"{what}: missing required key '{key}'", node.span)

    def name(self, node: Node, what: str) -> str | None:
        if isinstance(node, Scalar) and isinstance(node.value, str) and NAME.match(node.value):
            return node.value
        self.error("E205", f"{what} must be a name (letters, digits and '_', not starting with a digit), "
                           f"got {show_value(to_plain(node))}", node.span)
        return None

    def names(self, node: Node, what: str) -> tuple[str, ...] | None:
        items = node.items if isinstance(node, Seq) else (node,)
        names = tuple(self.name(item, what) for item in items)
        return None if None in names else names  # type: ignore[return-value]

    def value(self, node: Node, scope: Scope, what: str) -> Value:
        if isinstance(node, Seq):
            return tuple(self.value(item, scope, what) for item in node.items)
        if isinstance(node, Map):
            self.rejected += 1
            self.error("E103", f"{what} must be a single value or a list, got a mapping", node.span)
            return None
        ref = node.ref
        if isinstance(node.value, float) and not math.isfinite(node.value):
            # The IR allows finite numbers only: report here rather than fail building it.
            self.rejected += 1
            self.error("E204", f"{what} must be a finite number, got {show_value(node.value)}", node.span)
            return None
        if ref is None:
            return node.value
        if scope.block_params is None:
            self.error("E305", f"{what}: '${ref}' refers to a block parameter outside any block", node.span)
        elif ref not in scope.block_params:
            self.error("E301", f"{what}: unknown block parameter '${ref}'", node.span,
                       did_you_mean(ref, scope.block_params))
        return Ref(name=ref)

    def named_arguments(self, node: Node | None, positional: tuple[str, ...], what: str, span: Span) -> Map:
        """A call's arguments as a mapping with every positional argument given its name.

        `node` is the value after the kind's name: null (no arguments), a mapping, or a
        single value (shorthand for the first positional parameter).
        """
        if node is None or (isinstance(node, Scalar) and node.value is None and not node.quoted):
            return Map((), span)
        if not isinstance(node, Map):
            if not positional:
                self.error("E103", f"{what} takes no single-value shorthand; give a mapping of parameters",
                           node.span)
                return Map((), node.span)
            return Map((Entry(positional[0], node.span, node),), node.span)
        entries: list[Entry] = []
        seen: set[str] = set()
        for entry in node:
            key = entry.key
            if isinstance(key, int):
                if key >= len(positional):
                    self.error("E108", f"{what} takes {len(positional)} positional argument(s), got more",
                               entry.key_span, f"name the argument: {what}(name=value)")
                    continue
                key = positional[key]
            if key in seen:
                self.error("E109", f"{what}: argument '{key}' given twice", entry.key_span)
                continue
            seen.add(key)
            entries.append(Entry(key, entry.key_span, entry.value))
        return Map(tuple(entries), node.span)

    def kind_and_arguments(self, node: Node, what: str) -> tuple[str, Node, Node | None] | None:
        """A choice written bare (`mse`) or as a one-key mapping (`{adam: {lr: 1e-3}}`)."""
        if isinstance(node, Scalar) and isinstance(node.value, str):
            return node.value, node, None
        if isinstance(node, Map) and len(node.entries) == 1:
            entry = node.entries[0]
            return str(entry.key), Scalar(entry.key, entry.key_span), entry.value
        self.error("E103", f"{what} must be a name or a mapping with one name", node.span)
        return None

    # -- the document ----------------------------------------------------------------------------
    def spec(self, doc: Map) -> Spec | None:
        self.check_keys(doc, TOP_KEYS, ("dslc", "model"), "spec")
        version = doc.get("dslc")
        if version is not None and not (isinstance(version.value, Scalar) and version.value.value == SPEC_VERSION
                                        and type(version.value.value) is int):
            self.error("E107", f"unsupported spec version {show_value(to_plain(version.value))}",
                       version.value.span, f"this dslc reads spec version {SPEC_VERSION}")
        blocks_entry = doc.get("blocks")
        if blocks_entry and self.expect(blocks_entry.value, Map, "blocks", "a mapping of block names"):
            self.block_names = {str(e.key) for e in blocks_entry.value}
            self.block_positional = {str(e.key): _declared_params(e.value) for e in blocks_entry.value}
        blocks = self.blocks(blocks_entry.value) if blocks_entry else ()
        model_entry = doc.get("model")
        model = self.model(model_entry.value, model_entry.key_span) if model_entry else None
        train_entry = doc.get("train")
        if train_entry:
            self.map.record(("train",), train_entry.value.span, train_entry.key_span)
        train = self.train(train_entry.value) if train_entry else None
        if model is None:
            return None
        return Spec(blocks=blocks, model=model, train=train)

    def blocks(self, node: Node) -> tuple[BlockDef, ...]:
        if not isinstance(node, Map):
            return ()
        blocks: list[BlockDef] = []
        for entry in node:
            path: IRPath = ("blocks", len(blocks))  # failed blocks are left out: the next one takes the index
            self.map.record(path, entry.value.span, entry.key_span)
            name = self.name(Scalar(entry.key, entry.key_span), "a block name")
            if name in REGISTRY or name in CALL_ATTRIBUTES:
                what = "a layer kind" if name in REGISTRY else "a layer attribute"
                self.error("E304", f"block '{name}' has the name of {what}", entry.key_span, "rename the block")
            if not self.expect(entry.value, Map, f"block '{name}'", "a mapping with 'layers'"):
                continue
            self.check_keys(entry.value, BLOCK_KEYS, ("layers",), f"block '{name}'")
            params = self.block_params(entry.value.get("params"), f"block '{name}'", (*path, "params"))
            layers_entry = entry.value.get("layers")
            scope = Scope(tuple(p.name for p in params))
            layers = self.steps(layers_entry.value, scope, f"block '{name}'", (*path, "layers")) \
                if layers_entry else ()
            if name and layers_entry:
                blocks.append(BlockDef(name=name, params=params, layers=layers))
        return tuple(blocks)

    def block_params(self, entry: Entry | None, what: str, path: IRPath) -> tuple[BlockParam, ...]:
        """`params: [filters, {stride: 1}]`: bare names are required, one-key mappings give defaults."""
        if entry is None or not self.expect(entry.value, Seq, f"{what}: params", "a list"):
            return ()
        params: list[BlockParam] = []
        seen: set[str] = set()
        for item in entry.value.items:
            if isinstance(item, Map) and len(item.entries) == 1:
                key_entry = item.entries[0]
                name = self.name(Scalar(key_entry.key, key_entry.key_span), f"{what}: a parameter name")
                default = self.value(key_entry.value, Scope(None), f"{what}: default of '{name}'")
                param, key_span = BlockParam(name=name, default=default) if name else None, key_entry.key_span
                self.map.record_tree((*path, len(params)), key_entry.value, key_span)
            else:
                name = self.name(item, f"{what}: a parameter name")
                param, key_span = BlockParam(name=name, required=True) if name else None, item.span
                self.map.record((*path, len(params)), item.span, item.span)
            if param is None:
                continue
            if param.name in seen:
                self.error("E109", f"{what}: parameter '{param.name}' declared twice", key_span)
            seen.add(param.name)
            params.append(param)
        return tuple(params)

    def model(self, node: Node, key_span: Span) -> Model | None:
        self.map.record(("model",), node.span, key_span)
        if not self.expect(node, Map, "model", "a mapping"):
            return None
        self.check_keys(node, MODEL_KEYS, ("name", "inputs", "layers"), "model")
        name_entry, inputs_entry = node.get("name"), node.get("inputs")
        layers_entry, outputs_entry = node.get("layers"), node.get("outputs")
        for entry in (name_entry, outputs_entry):
            if entry is not None:
                self.map.record_tree(("model", str(entry.key)), entry.value, entry.key_span)
        name = self.name(name_entry.value, "model name") if name_entry else None
        inputs = self.inputs(inputs_entry.value) if inputs_entry else ()
        layers = self.steps(layers_entry.value, Scope(None), "model", ("model", "layers")) if layers_entry else ()
        outputs = self.names(outputs_entry.value, "an output name") if outputs_entry else None
        if outputs == () and outputs_entry is not None:  # (an empty list)
            self.error("E404", "the output list is empty", outputs_entry.value.span,
                       "name at least one layer, or leave 'outputs' out to use the last layer")
        if layers_entry and isinstance(layers_entry.value, Seq) and not layers_entry.value.items:
            self.error("E405", "the model has no layers", layers_entry.value.span)
        if name is None or not inputs or not layers_entry:
            return None
        return Model(name=name, inputs=inputs, layers=layers, outputs=outputs)

    def inputs(self, node: Node) -> tuple[Input, ...]:
        """`inputs: {image: [8, 8, 1]}` or `{tokens: {shape: [32], dtype: int32}}`."""
        if not self.expect(node, Map, "model inputs", "a mapping from input names to shapes"):
            return ()
        if not node.entries:
            self.error("E102", "the model needs at least one input", node.span)
        inputs: list[Input] = []
        for entry in node:
            name = self.name(Scalar(entry.key, entry.key_span), "an input name")
            value = entry.value
            path = ("model", "inputs", len(inputs))
            self.map.record(path, value.span, entry.key_span)
            if isinstance(value, Map):
                self.check_keys(value, ("shape", "dtype"), ("shape",), f"input '{name}'")
                data = {str(item.key): to_plain(item.value) for item in value if item.key in ("shape", "dtype")}
            else:
                data = {"shape": to_plain(value)}
                value = Map((Entry("shape", entry.key_span, value),), value.span)
            for item in value:
                self.map.record_tree((*path, str(item.key)), item.value, item.key_span)
            dtype = data.get("dtype")
            dtype_entry = value.get("dtype")
            if isinstance(dtype, str) and dtype not in DTYPES and dtype_entry is not None:
                self.error("E203", f"input '{name}': unknown dtype {show_value(dtype)}",
                           dtype_entry.value.span, did_you_mean(dtype, DTYPES))
                continue
            checked = validate(Input, {"name": name or "_", **data}, value, self.sink, f"input '{name}'")
            if checked is not None and name:
                inputs.append(checked)
        return tuple(inputs)

    # -- layers and block calls ------------------------------------------------------------------
    def steps(self, node: Node, scope: Scope, what: str, path: IRPath) -> tuple[Step, ...]:
        if not self.expect(node, Seq, f"{what}: layers", "a list"):
            return ()
        budget = self.limits.max_layers
        if len(node.items) > budget:  # rejected before lowering 100,000 entries, each a layer or a block call
            message = self.limits.exceeded("layer entry count", len(node.items), budget, "--max-layers")
            self.sink.add(DslcError("E007", message, node.items[budget].span, stage="graph"))
            return ()
        steps: list[Step] = []
        for item in node.items:  # a step that fails is left out: the next one takes its index
            step = self.step(item, scope, (*path, len(steps)))
            if step is not None:
                steps.append(step)
                continue
            self.after_failed.add((*path, len(steps)))
            name = item.get("name") if isinstance(item, Map) else None
            if name is not None and isinstance(name.value, Scalar) and isinstance(name.value.value, str):
                self.failed_names.add(name.value.value)
        return tuple(steps)

    def step(self, node: Node, scope: Scope, path: IRPath) -> Step | None:
        if isinstance(node, Scalar):
            kind = str(node.value) if node.value is not None else "null"
            return self.call(node, kind, node.span, None, {}, scope, path)
        if not isinstance(node, Map):
            self.error("E106", f"a layer entry must be a layer kind or a mapping, got {node_kind(node)}", node.span)
            return None
        kinds = [e for e in node if e.key not in CALL_ATTRIBUTES]
        known = [e for e in kinds if e.key in REGISTRY or e.key in self.block_names]
        if not kinds:
            self.error("E106", "this layer entry names no layer kind", node.span)
            return None
        kind_entry = known[0] if known else kinds[0]
        for extra in kinds:
            if extra is not kind_entry:
                self.error("E106" if extra.key in REGISTRY else "E101",
                           f"'{extra.key}' is not a layer attribute; a layer entry names exactly one kind",
                           extra.key_span, did_you_mean(str(extra.key), CALL_ATTRIBUTES))
        attributes = {str(e.key): e for e in node if e.key in CALL_ATTRIBUTES}
        return self.call(node, str(kind_entry.key), kind_entry.key_span, kind_entry.value, attributes, scope, path)

    def record_call(self, path: IRPath, kind_span: Span, named: Map, attributes: dict[str, Entry]) -> None:
        """A step's key is its kind, its value its arguments; then each argument and attribute."""
        self.map.record(path, named.span, kind_span)
        for entry in named:
            self.map.record_tree((*path, entry.key), entry.value, entry.key_span)
        for key, entry in attributes.items():
            self.map.record_tree((*path, key), entry.value, entry.key_span)

    def call(self, node: Node, kind: str, kind_span: Span, args: Node | None, attributes: dict[str, Entry],
             scope: Scope, path: IRPath) -> Step | None:
        if kind in self.block_names:
            return self.block_call(node, kind, kind_span, args, attributes, scope, path)
        layer_kind = REGISTRY.get(kind)
        if layer_kind is None:
            candidates = [*REGISTRY, *self.block_names]
            self.error("E104", f"unknown layer kind {show_value(kind)}", kind_span,
                       closed_set_hint(kind, candidates))
            return None
        named = self.named_arguments(args, layer_kind.positional, kind, kind_span)
        fields = layer_kind.params.model_fields
        params: dict[str, Value] = {}
        rejected = self.rejected
        for entry in named:
            if entry.key not in fields:
                self.error("E101", f"{kind}: unknown parameter '{entry.key}'", entry.key_span,
                           closed_set_hint(str(entry.key), fields))
                continue
            params[entry.key] = self.value(entry.value, scope, f"{kind}.{entry.key}")
        if "repeat" in attributes:
            self.error("E101", f"{kind}: 'repeat' applies to block calls only", attributes["repeat"].key_span,
                       "define a block holding this layer and repeat the block")
        common = self.attributes(attributes, kind)
        # Parameters that use no block parameter are validated now, so that their errors come in
        # the same run as the structural ones; the others when the block is expanded.
        skip = _has_ref(params)
        if self.rejected != rejected:
            self.validated[path] = None  # a value was rejected (reported): no second error for it
        elif not skip:
            self.validated[path] = validate(layer_kind.params, params, named, self.sink, kind)
        self.record_call(path, kind_span, named, attributes)
        return LayerCall(kind=kind, params=params, **common)  # type: ignore[arg-type]

    def block_call(self, node: Node, block: str, kind_span: Span, args: Node | None, attributes: dict[str, Entry],
                   scope: Scope, path: IRPath) -> BlockCall | None:
        named = self.named_arguments(args, self.block_positional.get(block, ()), block, kind_span)
        values = {str(e.key): self.value(e.value, scope, f"{block}.{e.key}") for e in named}
        common = self.attributes(attributes, block)
        repeat = 1
        if "repeat" in attributes:
            repeat_node = attributes["repeat"].value
            if isinstance(repeat_node, Scalar) and type(repeat_node.value) is int and repeat_node.value >= 1:
                repeat = repeat_node.value
            else:
                self.error("E202", f"{block}: repeat must be an integer >= 1, got {show_value(to_plain(repeat_node))}",
                           repeat_node.span)
        self.record_call(path, kind_span, named, attributes)
        return BlockCall(block=block, args=values, repeat=repeat, **common)  # type: ignore[arg-type]

    def attributes(self, attributes: dict[str, Entry], what: str) -> dict[str, object]:
        common: dict[str, object] = {}
        if "name" in attributes:
            common["name"] = self.name(attributes["name"].value, f"{what}: name")
        if "from" in attributes:
            common["inputs"] = self.names(attributes["from"].value, f"{what}: an input name in 'from'")
        if "trainable" in attributes:
            value = attributes["trainable"].value
            if isinstance(value, Scalar) and isinstance(value.value, bool):
                common["trainable"] = value.value
            else:
                self.error("E201", f"{what}: trainable must be true or false, got {show_value(to_plain(value))}",
                           value.span)
        return {key: value for key, value in common.items() if value is not None}

    # -- train -----------------------------------------------------------------------------------
    def train(self, node: Node) -> Train | None:
        """The train section; an optional setting that fails (a metric, checkpoint, early stopping) is
        reported and left out, so that the checks of the rest still run."""
        if not self.expect(node, Map, "train", "a mapping"):
            return None
        fields = tuple(Train.model_fields)
        self.check_keys(node, fields, ("loss", "optimizer", "batch", "data"), "train")
        data: dict[str, object] = {}
        broken: set[str] = set()  # required choices that failed (reported already)
        for entry in node:
            path: IRPath = ("train", str(entry.key))
            if entry.key in TRAIN_CHOICES:
                data[str(entry.key)] = choice = self.choice(entry.value, TRAIN_CHOICES[str(entry.key)], path,
                                                           entry.key_span)
                if choice is None:
                    broken.add(str(entry.key))
            elif entry.key in TRAIN_LISTS:
                self.map.record(path, entry.value.span, entry.key_span)
                items = entry.value.items if isinstance(entry.value, Seq) else (entry.value,)
                chosen: list[Choice] = []
                for item in items:
                    choice = self.choice(item, TRAIN_LISTS[str(entry.key)], (*path, len(chosen)))
                    if choice is not None:
                        chosen.append(choice)
                data[str(entry.key)] = tuple(chosen)
            elif entry.key in TRAIN_SETTINGS and isinstance(entry.value, Map):
                self.map.record_tree(path, entry.value, entry.key_span)
                setting = validate(TRAIN_SETTINGS[str(entry.key)], to_plain(entry.value),  # type: ignore[arg-type]
                                   entry.value, self.sink, f"train.{entry.key}")
                if setting is not None:
                    data[str(entry.key)] = setting
            elif entry.key in fields:
                self.map.record_tree(path, entry.value, entry.key_span)
                data[str(entry.key)] = to_plain(entry.value)
        steps_entry = node.get("steps")
        if "epochs" in data and steps_entry is not None:
            self.error("E109", "train: give 'epochs' or 'steps', not both", steps_entry.key_span)
        elif "epochs" not in data and "steps" not in data:
            self.error("E102", "train: missing 'epochs' or 'steps'", node.span)
        if not broken:
            return validate(Train, data, node, self.sink, "train")
        # A choice failed (already reported): still check the plain fields, without a second
        # "missing" error for the failed ones.
        scratch = ErrorSink()
        validate(Train, {k: v for k, v in data.items() if k not in broken}, node, scratch, "train")
        for error in scratch.errors:
            if not (error.code == "E102" and any(f"'{key}'" in error.message for key in broken)):
                self.sink.add(error)
        return None

    def choice(self, node: Node, vocabulary: Vocabulary, path: IRPath, key_span: Span | None = None) -> Choice | None:
        self.map.record(path, node.span, key_span)
        found = self.kind_and_arguments(node, vocabulary.noun)
        if found is None:
            return None
        kind, kind_node, args = found
        self.map.record((*path, "kind"), kind_node.span)
        model = vocabulary.choices.get(kind)
        if model is None:
            self.error("E105", f"unknown {vocabulary.noun} {show_value(kind)}", kind_node.span,
                       closed_set_hint(kind, vocabulary.choices))
            return None
        named = self.named_arguments(args, vocabulary.positional.get(kind, ()), kind, kind_node.span)
        params: dict[str, object] = {}
        for entry in named:
            key = str(entry.key)
            nested = NESTED_CHOICES.get(key)
            if nested is not None and isinstance(entry.value, Map):
                params[key] = self.choice(entry.value, nested, (*path, key), entry.key_span)
                if params[key] is None:
                    return None
            elif key == "kind":
                self.error("E101", f"{kind}: unknown key 'kind'", entry.key_span)
                return None
            else:
                self.map.record_tree((*path, key), entry.value, entry.key_span)
                params[key] = to_plain(entry.value)
        return validate(model, {**params, "kind": kind}, named, self.sink, f"{vocabulary.noun} '{kind}'")


def _declared_params(node: Node) -> tuple[str, ...]:
    """A block's parameter names in declaration order (its positional order in the DSL)."""
    params = node.get("params") if isinstance(node, Map) else None
    if params is None or not isinstance(params.value, Seq):
        return ()
    names = []
    for item in params.value.items:
        if isinstance(item, Map) and item.entries:
            names.append(str(item.entries[0].key))
        elif isinstance(item, Scalar):
            names.append(str(item.value))
    return tuple(names)


def _has_ref(value: object) -> bool:
    if isinstance(value, Ref):
        return True
    if isinstance(value, dict):
        return any(_has_ref(item) for item in value.values())
    return isinstance(value, tuple) and any(_has_ref(item) for item in value)
