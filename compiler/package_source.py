"""The Flax of an exported package (compiler/package.py): a class per block kind and the top-level `Model`.

A block kind's class takes the block's parameters as keyword arguments, keeps its layers as attributes
named after the spec's layer names and wires them in `__call__` as the block's graph does; a repeated
call (`* n`) is an `nnx.List` of instances. A layer's constructor argument (its `Construct`, as dslc
builds it) is written as the block parameter it equals (or a tuple of it) in every instance: one the
layer's call refers to, else a literal where every instance agrees, else any parameter that differs
as it does, else an extra keyword argument of the class (`<layer>_<argument>`: typically an input
width that differs between instances).

A spec is data: every name is written as a sanitised identifier (`identifier`), every value with `repr`.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re
import textwrap
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flax import nnx

from dslc.compiler.package_structure import Call, Instance, Structure
from dslc.spec.errors import DslcError, DslcErrors
from dslc.spec.expand import Graph, GraphNode
from dslc.spec.ir import BlockParam, LayerCall, Ref, Spec, Step, Value
from dslc.spec.layers import _flax
from dslc.spec.layers.base import Construct

INDENT = "    "
MAX_LINE = 110
# What a generated local, attribute or argument must not be called: the names the generated code itself uses.
RESERVED = frozenset({"self", "train", "rngs", "jax", "jnp", "nnx", "x", "inputs", "block", "entry", "Model",
                      "COMPUTE_DTYPE"})
MODULE_ATTRIBUTES = frozenset(dir(nnx.Module))  # an attribute must not shadow a Module method
ModulePath = tuple[str | int, ...]  # where a layer sits in the package's Model: ("stage", 0, "conv_a")


def identifier(name: str, taken: set[str], fallback: str = "layer") -> str:
    """`name` as a fresh Python identifier (ASCII, not a keyword, not reserved, not in `taken`), added to `taken`."""
    text = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not text or text[0].isdigit():
        text = f"{fallback}_{text}"
    if keyword.iskeyword(text) or keyword.issoftkeyword(text) or text in RESERVED or text in MODULE_ATTRIBUTES:
        text += "_"
    candidate, number = text, 2
    while candidate in taken:
        candidate, number = f"{text}_{number}", number + 1
    taken.add(candidate)
    return candidate


def class_name(block: str, taken: set[str]) -> str:
    """`residual_unit` -> `ResidualUnit` (sanitised, unique among the package's classes)."""
    words = [word for word in re.split(r"[^0-9A-Za-z]+", block) if word]
    return identifier("".join(word[:1].upper() + word[1:] for word in words), taken, "Block")


def unsupported(message: str) -> DslcErrors:
    return DslcErrors([DslcError("E808", f"cannot export as a Flax package: {message}",
                                 hint="export it as safetensors or stablehlo", stage="run")])


@cache
def uses_train(module: str) -> bool:
    """Whether the layer class's `__call__` reads `train` (dropout, batch norms): only those are passed it."""
    function = ast.parse(textwrap.dedent(inspect.getsource(_flax.CONSTRUCTORS[module].__call__))).body[0]
    assert isinstance(function, ast.FunctionDef)
    return any(isinstance(node, ast.Name) and node.id == "train" for line in function.body for node in ast.walk(line))


@cache
def _defaults(module: str) -> dict[str, Any]:
    """The layer class's keyword defaults."""
    constructor: Any = _flax.CONSTRUCTORS[module]  # (nnx's metaclass hides the signature of the class itself)
    parameters = inspect.signature(constructor.__init__).parameters.values()
    return {parameter.name: parameter.default for parameter in parameters
            if parameter.default is not inspect.Parameter.empty}


@dataclass
class Item:
    """One step of a scope: a layer (`nodes`, one per instance of the class) or a block call (`calls`)."""

    local: str  # the spec's name of it in its scope
    attr: str
    nodes: list[GraphNode] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)


@dataclass
class ClassPlan:
    """A generated class: the model (`block` None, one pseudo-instance) or a block kind (all its instances)."""

    name: str
    block: str | None
    instances: list[Instance]
    params: list[tuple[str, BlockParam]] = field(default_factory=list)  # (argument name, the block's parameter)
    extras: dict[str, dict[tuple[str, ...], Any]] = field(default_factory=dict)  # argument -> value per instance
    items: list[Item] = field(default_factory=list)
    needs_train: bool = False
    layer_classes: set[str] = field(default_factory=set)
    block_classes: set[str] = field(default_factory=set)
    source: str = ""

    def value(self, instance: Instance, argument: str) -> Any:
        for name, param in self.params:
            if name == argument:
                return instance.arguments.get(param.name)
        return self.extras[argument][instance.path]


@dataclass(frozen=True)
class Package:
    model: ClassPlan
    blocks: list[ClassPlan]  # each after the blocks it uses
    paths: dict[str, ModulePath]  # graph layer name -> where the layer sits in the package's Model
    modules: dict[str, str]  # block class name -> its module's name


def plan_package(spec: Spec, graph: Graph, built: dict[str, Construct], structure: Structure) -> Package:
    by_kind: dict[str, list[Instance]] = {}
    for call in structure.calls:
        for instance in call.instances:
            by_kind.setdefault(instance.block, []).append(instance)
    class_names: set[str] = {"Model", *_flax.CONSTRUCTORS}
    plans: dict[str, ClassPlan] = {}
    for block in _bottom_up(structure):
        plans[block] = ClassPlan(class_name(block, class_names), block, by_kind[block])
    module_names = {"layers", "model", "weights", "normalization"}
    modules = {plan.name: identifier(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", plan.name).lower(), module_names, "block")
               for plan in plans.values()}
    context = _Context(spec, graph, built, structure, plans)
    for plan in plans.values():
        context.fill(plan)
    model = ClassPlan("Model", None, [Instance("", (), {})])
    context.fill(model)
    paths: dict[str, ModulePath] = {}
    context.place(model, model.instances[0], (), paths)
    return Package(model, list(plans.values()), paths, modules)


def _bottom_up(structure: Structure) -> list[str]:
    """The block kinds, each after those called in its body."""
    inside: dict[str, set[str]] = {}
    owner = {instance.path: instance.block for call in structure.calls for instance in call.instances}
    for call in structure.calls:
        if call.prefix:
            inside.setdefault(owner[call.prefix], set()).add(call.block)
    ordered: list[str] = []

    def visit(block: str) -> None:
        if block not in ordered:
            for inner in sorted(inside.get(block, ())):
                visit(inner)
            ordered.append(block)

    for call in structure.calls:
        visit(call.block)
    return ordered


def _written(steps: tuple[Step, ...]) -> dict[str, Step]:
    """A body's steps by their name in it: explicit, else `<kind>_<n>` as the expansion numbers them."""
    taken = {step.name for step in steps if step.name}
    numbers: dict[str, int] = {}
    named: dict[str, Step] = {}
    for step in steps:
        if step.name:
            named[step.name] = step
            continue
        kind = step.kind if isinstance(step, LayerCall) else step.block
        number = numbers.get(kind, 1)
        while f"{kind}_{number}" in taken:
            number += 1
        numbers[kind] = number + 1
        taken.add(f"{kind}_{number}")
        named[f"{kind}_{number}"] = step
    return named


def _refs(value: Any) -> list[str]:
    if isinstance(value, Ref):
        return [value.name]
    if isinstance(value, tuple):
        return [name for item in value for name in _refs(item)]
    return []


def _candidates(step: Step | None, argument: str) -> list[str]:
    """The block parameters a step refers to, those written under `argument` first."""
    if step is None:
        return []
    written: dict[str, Value] = step.params if isinstance(step, LayerCall) else step.args
    first = _refs(written.get(argument))
    return first + [name for value in written.values() for name in _refs(value) if name not in first]


def _as_param(name: str, param: str, instances: list[Instance], values: list[Any]) -> str | None:
    """`name` where every value is the parameter's, `(name, name)` where each is a tuple of it (a kernel size)."""
    bound = [repr(instance.arguments.get(param)) for instance in instances]
    if all(written == repr(value) for written, value in zip(bound, values, strict=True)):
        return name
    sizes = {len(value) if isinstance(value, tuple) else -1 for value in values}
    if len(sizes) == 1 and min(sizes) > 0 and all(
            all(repr(part) == written for part in value) for written, value in zip(bound, values, strict=True)):
        return f"({', '.join([name] * min(sizes))}{',' if min(sizes) == 1 else ''})"
    return None


def _same(values: list[Any]) -> bool:
    return all(repr(value) == repr(values[0]) for value in values)


def _call_line(head: str, arguments: list[str], depth: int, tail: str = "") -> list[str]:
    """`head(arguments)tail` on one line, or one argument a line where that is too long."""
    line = f"{INDENT * depth}{head}({', '.join(arguments)}){tail}"
    if len(line) <= MAX_LINE:
        return [line]
    return [f"{INDENT * depth}{head}(", *(f"{INDENT * (depth + 1)}{argument}," for argument in arguments),
            f"{INDENT * depth}){tail}"]


class _Context:
    def __init__(self, spec: Spec, graph: Graph, built: dict[str, Construct], structure: Structure,
                 plans: dict[str, ClassPlan]) -> None:
        self.spec, self.graph, self.built, self.structure, self.plans = spec, graph, built, structure, plans

    # -- what a scope holds ----------------------------------------------------------------------
    def items_of(self, path: tuple[str, ...]) -> list[tuple[str, GraphNode | Call]]:
        """The steps of the scope `path` in an order that computes each before its use (the graph's)."""
        owner = {instance.path[-1]: call for call in self.structure.calls_in(path) for instance in call.instances}
        prefix = "/".join(path) + "/" if path else ""
        items: list[tuple[str, GraphNode | Call]] = []
        seen: set[int] = set()
        for node in self.graph.nodes:
            if node.scope == path:
                items.append((node.name.removeprefix(prefix), node))
            elif len(node.scope) > len(path) and node.scope[:len(path)] == path:
                call = owner[node.scope[len(path)]]
                if id(call) not in seen:
                    seen.add(id(call))
                    first = call.instances[0].path[-1]
                    items.append((first.rsplit(".", 1)[0] if len(call.instances) > 1 else first, call))
        return items

    def fill(self, plan: ClassPlan) -> None:
        """The plan's items and arguments, and its source."""
        scopes = [self.items_of(instance.path) for instance in plan.instances]
        shape = [(local, type(item).__name__) for local, item in scopes[0]]
        if any([(local, type(item).__name__) for local, item in scope] != shape for scope in scopes):
            raise unsupported(f"the instances of block {plan.block!r} expand to different layers")
        block_def = self.spec.block(plan.block) if plan.block else None
        written = _written(block_def.layers) if block_def else {}
        taken: set[str] = set()
        plan.params = [(identifier(param.name, taken, "param"), param) for param in block_def.params] if block_def \
            else []
        attributes: set[str] = set()
        for index, (local, _) in enumerate(scopes[0]):
            item = Item(local, identifier(local, attributes))
            for scope in scopes:
                entry = scope[index][1]
                if isinstance(entry, GraphNode):
                    item.nodes.append(entry)
                else:
                    item.calls.append(entry)
            plan.items.append(item)
        init = [self.construct_lines(plan, item, written.get(item.local), taken) for item in plan.items]
        plan.source = self.class_source(plan, [line for lines in init for line in lines], self.call_lines(plan))

    def construct_lines(self, plan: ClassPlan, item: Item, step: Step | None, taken: set[str]) -> list[str]:
        """`self.<attr> = <constructor>(...)` for one item."""
        if item.nodes:
            constructs = [self.built[node.name] for node in item.nodes]
            module = constructs[0].module
            if module not in _flax.CONSTRUCTORS or any(
                    construct.module != module or construct.arguments.keys() != constructs[0].arguments.keys()
                    for construct in constructs):
                raise unsupported(f"layer {item.nodes[0].name!r} is built differently in the instances of its block")
            plan.layer_classes.add(module)
            defaults = _defaults(module)
            arguments = []
            for key in constructs[0].arguments:
                text = self.expression(plan, [construct.arguments[key] for construct in constructs], step, key, item,
                                       taken)
                if key not in defaults or text != repr(defaults[key]):  # as a person writes it: defaults left out
                    arguments.append(f"{key}={text}")
            return _call_line(f"self.{item.attr} = {module}", [*arguments, "rngs=rngs"], 2)
        inner = self.plans[item.calls[0].block]
        plan.block_classes.add(inner.name)
        repeat = len(item.calls[0].instances)
        per_instance = []
        for k in range(repeat):
            arguments = []
            for name, param in [*inner.params, *((name, None) for name in inner.extras)]:
                values = [inner.value(call.instances[k], name) for call in item.calls]
                text = self.expression(plan, values, step, param.name if param else name, item, taken)
                if param is None or param.required or text != repr(param.default):
                    arguments.append(f"{name}={text}")
            per_instance.append([*arguments, "rngs=rngs"])
        if repeat == 1:
            return _call_line(f"self.{item.attr} = {inner.name}", per_instance[0], 2)
        if all(arguments == per_instance[0] for arguments in per_instance):
            constructor = _call_line(inner.name, per_instance[0], 0, f" for _ in range({repeat})")
            if len(constructor) == 1:
                return [f"{INDENT * 2}self.{item.attr} = nnx.List([{constructor[0]}])"]
            return [f"{INDENT * 2}self.{item.attr} = nnx.List([", *(INDENT * 3 + line for line in constructor),
                    f"{INDENT * 2}])"]
        return [f"{INDENT * 2}self.{item.attr} = nnx.List([",
                *(line for arguments in per_instance for line in _call_line(inner.name, arguments, 3, ",")),
                f"{INDENT * 2}])"]

    def expression(self, plan: ClassPlan, values: list[Any], step: Step | None, key: str, item: Item,
                   taken: set[str]) -> str:
        """A constructor argument with `values` in the plan's instances: a parameter the step refers to, a literal
        where the instances agree, any parameter where they differ, else a new argument of the class."""
        by_name = {param.name: name for name, param in plan.params}
        for candidate in _candidates(step, key):
            if candidate in by_name and (text := _as_param(by_name[candidate], candidate, plan.instances, values)):
                return text
        if _same(values):
            return repr(values[0])
        for param, name in by_name.items():  # values that differ as a parameter does are that parameter
            if text := _as_param(name, param, plan.instances, values):
                return text
        name = identifier(f"{item.attr}_{key}", taken, "argument")
        plan.extras[name] = {instance.path: value for instance, value in zip(plan.instances, values, strict=True)}
        return name

    # -- the forward pass ----------------------------------------------------------------------------
    def call_lines(self, plan: ClassPlan) -> list[str]:
        instance = plan.instances[0]
        produced: dict[str, int] = {}  # graph name -> the item giving it, in this scope
        for index, item in enumerate(plan.items):
            if item.nodes:
                produced[item.nodes[0].name] = index
            else:
                produced[item.calls[0].instances[-1].output or ""] = index
        sources = [self.sources(item) for item in plan.items]
        outputs = list(self.graph.outputs) if plan.block is None else [instance.output or ""]
        uses: dict[str, list[int]] = {}
        for index, read in enumerate(sources):
            for name in read:
                uses.setdefault(name, []).append(index)
        # a value read once, by the next step only, flows through `x`; the others are named after their layer
        inputs = ([input_.name for input_ in self.graph.inputs] if plan.block is None else [instance.input or ""])
        names: dict[str, str] = {}
        taken = {item.attr for item in plan.items}
        for name in inputs:
            if plan.block is not None:
                names[name] = "x" if set(uses.get(name, [])) <= {0} and name not in outputs else "inputs"
            else:
                names[name] = identifier(name, taken, "input")
        for name, index in produced.items():
            readers = set(uses.get(name, []))
            chained = readers == {index + 1} and name not in outputs
            names[name] = "x" if chained else plan.items[index].attr
        lines = [f"{INDENT * 2}{names[name]} = entry({names[name]})" for name in inputs] if plan.block is None else []
        for index, item in enumerate(plan.items):
            lines += self.step_lines(plan, item, [names[name] for name in sources[index]], names, produced)
        returned = [names[name] for name in outputs]
        last = plan.items[-1]
        final = [last.nodes[0].name if last.nodes else last.calls[0].instances[-1].output]
        if outputs == final and lines[-1].startswith(f"{INDENT * 2}{returned[0]} = ") and last.nodes:
            lines[-1] = lines[-1].replace(f"{returned[0]} = ", "return ", 1)
        else:
            lines.append(f"{INDENT * 2}return {returned[0] if len(returned) == 1 else '(' + ', '.join(returned) + ')'}")
        signature = ", ".join(f"{names[name]}: jax.Array" for name in inputs)
        train = ", *, train: bool = False" if plan.needs_train or plan.block is None else ""
        result = "jax.Array" if len(outputs) == 1 else f"tuple[{', '.join('jax.Array' for _ in outputs)}]"
        return [f"{INDENT}def __call__(self, {signature}{train}) -> {result}:", *lines]

    def sources(self, item: Item) -> list[str]:
        if item.nodes:
            return list(item.nodes[0].inputs)
        return [item.calls[0].instances[0].input or ""]

    def step_lines(self, plan: ClassPlan, item: Item, arguments: list[str], names: dict[str, str],
                   produced: dict[str, int]) -> list[str]:
        if item.nodes:
            node = item.nodes[0]
            if any(other.trainable != node.trainable for other in item.nodes):
                raise unsupported(f"layer {node.name!r} is frozen in some instances of its block only")
            module = self.built[node.name].module
            extra = []
            if node.tied_to:
                if node.tied_to not in produced or not plan.items[produced[node.tied_to]].nodes:
                    raise unsupported(f"layer {node.name!r} is tied to an embedding outside its block")
                extra.append(f"table=self.{plan.items[produced[node.tied_to]].attr}")
            if uses_train(module):
                plan.needs_train = True
                extra.append("train=train" if node.trainable else "train=False")  # frozen: inference mode always
            target = names[node.name]
            return _call_line(f"{target} = self.{item.attr}", [*arguments, *extra], 2)
        inner = self.plans[item.calls[0].block]
        extra = []
        if inner.needs_train:
            plan.needs_train = True
            extra.append("train=train")
        target = names[item.calls[0].instances[-1].output or ""]
        if len(item.calls[0].instances) == 1:
            return _call_line(f"{target} = self.{item.attr}", [*arguments, *extra], 2)
        lines = [] if arguments[0] == target else [f"{INDENT * 2}{target} = {arguments[0]}"]
        return [*lines, f"{INDENT * 2}for block in self.{item.attr}:",
                *_call_line(f"{target} = block", [target, *extra], 3)]

    def class_source(self, plan: ClassPlan, init: list[str], call: list[str]) -> str:
        params = []
        for name, param in plan.params:
            hint = _hint(plan.instances[0].arguments.get(param.name))
            params.append(f"{name}{hint}" + ("" if param.required else f" = {param.default!r}"))
        params += [f"{name}{_hint(next(iter(values.values())))}" for name, values in plan.extras.items()]
        head = _call_line("def __init__", ["self", "*", *params, "rngs: nnx.Rngs"], 1, " -> None:")
        if plan.block is None:
            doc = "The model: `Model(rngs=nnx.Rngs(0))(*inputs, train=False)`, inputs batch-first (see INPUTS)."
        else:
            doc = (f"A block of the model, built from its parameters"
                   f"{' (' + ', '.join(name for name, _ in plan.params) + ')' if plan.params else ''}.")
        return "\n".join([f"class {plan.name}(nnx.Module):", f'{INDENT}"""{doc}"""', "", *head, *init, "",
                          *call]) + "\n"

    # -- where each layer sits -------------------------------------------------------------------------
    def place(self, plan: ClassPlan, instance: Instance, at: ModulePath, paths: dict[str, ModulePath]) -> None:
        index = plan.instances.index(instance)
        for item in plan.items:
            if item.nodes:
                paths[item.nodes[index].name] = (*at, item.attr)
                continue
            call = item.calls[index]
            inner = self.plans[call.block]
            for k, child in enumerate(call.instances):
                where = (*at, item.attr) if len(call.instances) == 1 else (*at, item.attr, k)
                self.place(inner, child, where, paths)


def _hint(value: Any) -> str:
    kinds = {bool: "bool", int: "int", float: "float", str: "str", tuple: "tuple"}
    return f": {kinds[type(value)]}" if type(value) in kinds else ""
