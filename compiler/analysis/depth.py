"""The depth verdict (docs/depth.md): does this model count as deep?

The literature does not agree on one answer, so every measure is computed and reported with
its evidence, and the verdict is given under a named policy:

- `seeds-strict`: D1, the largest number of weighted (W) nodes on an input-to-output path;
- `hierarchy` (default): H, the levels of learned non-linear transformation (D2 collapse of
  affine runs, D3 trainable nodes only);
- `cap`: C, Schmidhuber's credit assignment path: W nodes from the first trainable one to the
  output, recurrent layers unrolled in time (D4).

Every measure is a dynamic programme over the layer graph in topological order (`_walk`): the
state of a node is its rule's step applied to the best state among its inputs. States carry
their path as a shared linked list (`_Trail`), so the evidence (which layers, which path) costs
one pointer per node and no second pass over the graph.

Pure Python: no JAX, no numpy (`dslc check` must start fast).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from dslc.spec.layers.base import NodeClass

W, N, A = NodeClass.W, NodeClass.N, NodeClass.A

POLICIES = ("seeds-strict", "hierarchy", "cap")
MEASURES = {"seeds-strict": "D1 longest", "hierarchy": "H", "cap": "C"}

SHALLOW_MAX = 2  # shallow: d <= 2 (at most one hidden layer)
DEEP_MAX = 10    # deep: 3 <= d <= 10; very deep: d >= 11 (Schmidhuber: "depth > 10")
THRESHOLD = "shallow d <= 2; deep 3 <= d <= 10; very deep d >= 11"

Depth = int | float  # a float only for math.inf (an RNN over an unknown number of steps)


@dataclass(frozen=True)
class DepthNode:
    """One layer of the graph as the depth rules see it."""

    name: str
    inputs: tuple[str, ...]  # names of other DepthNodes or of model inputs
    classes: tuple[NodeClass, ...]  # D0 classes in order: dense+relu = (W, N); lstm = (W, N)
    trainable: bool = True
    recurrent: bool = False
    time_steps: int | None = None  # T at a recurrent layer's input; None: unknown (unbounded)
    receptive: tuple[int, int, int] | None = None  # (kernel, stride, dilation), first spatial axis (R1)


@dataclass(frozen=True)
class PolicyVerdict:
    policy: str
    measure: str  # the name of the deciding measure: "D1 longest", "H" or "C"
    value: Depth
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "measure": self.measure, "value": _json_value(self.value),
                "verdict": self.verdict}


@dataclass(frozen=True)
class RuleResult:
    """One rule's measured value and evidence. `holds`: the measure reaches deep (d >= 3);
    None for rules that are reported but never decide (D0, D4, D5, R1)."""

    rule: str
    title: str
    value: Depth | dict[str, int]
    detail: str
    threshold: str | None = None
    holds: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "value": _json_value(self.value),
                "detail": self.detail, "threshold": self.threshold, "holds": self.holds}

    def to_text(self) -> str:
        value = _json_value(self.value)
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        # Only a single depth is judged; a table of counts (a dict) never is.
        judged = "" if self.holds is None or isinstance(self.value, dict) else f" ({verdict_of(self.value)})"
        return f"{self.rule} {self.title}: {value}{judged}. {self.detail}"


@dataclass(frozen=True)
class DepthReport:
    policy: str
    verdict: str
    sentence: str
    policies: dict[str, PolicyVerdict]
    rules: tuple[RuleResult, ...]

    def rule(self, rule_id: str) -> RuleResult:
        return next(r for r in self.rules if r.rule == rule_id)

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "verdict": self.verdict, "sentence": self.sentence,
                "policies": {name: v.to_json() for name, v in self.policies.items()},
                "rules": [r.to_json() for r in self.rules]}

    def to_text(self) -> str:
        return "\n".join([self.sentence, *(f"  {r.to_text()}" for r in self.rules)])


def verdict_of(d: Depth) -> str:
    """The thresholds (docs/depth.md#thresholds), the same for every measure."""
    if d <= SHALLOW_MAX:
        return "shallow"
    return "deep" if d <= DEEP_MAX else "very deep"


# --- the graph walk ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Trail:
    """A path as a linked list, newest node first: extending a path shares its prefix."""

    name: str
    back: _Trail | None = None

    def names(self) -> list[str]:
        out: list[str] = []
        trail: _Trail | None = self
        while trail is not None:  # iterative: paths can be 10,000 layers long
            out.append(trail.name)
            trail = trail.back
        return out[::-1]


@dataclass(frozen=True, slots=True)
class _Path:
    key: tuple[Depth, ...]  # the rule's state, ordered so that a larger key is the deeper path
    trail: _Trail


@dataclass(frozen=True)
class _Graph:
    nodes: tuple[DepthNode, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    by_name: dict[str, DepthNode]

    def along(self, path: _Path) -> list[DepthNode]:
        """The layers of a path, in order (the model input it starts from is not a layer)."""
        return [self.by_name[name] for name in path.trail.names() if name in self.by_name]


def _graph(nodes: Sequence[DepthNode], inputs: Sequence[str], outputs: Sequence[str]) -> _Graph:
    known = set(inputs)
    if len(known) != len(inputs):
        raise ValueError("duplicate model input names")
    for node in nodes:
        if node.name in known:
            raise ValueError(f"layer {node.name!r}: the name is already taken")
        for name in node.inputs:
            if name not in known:
                raise ValueError(f"layer {node.name!r}: input {name!r} is not an earlier layer or a model input")
        known.add(node.name)
    for name in outputs:
        if name not in known:
            raise ValueError(f"output {name!r} is not a layer or a model input")
    return _Graph(tuple(nodes), tuple(inputs), tuple(outputs), {node.name: node for node in nodes})


S = TypeVar("S")


def _walk(graph: _Graph, start: Callable[[str], S], step: Callable[[S, DepthNode], S],
          merge: Callable[[list[S]], S]) -> S | None:
    """The one dynamic programme: in topological order, a node's state is `step` of the merge
    of its inputs' states; the answer is the merge over the outputs. Nodes that no model input
    reaches have no state (paths run from a model input to an output)."""
    states: dict[str, S] = {name: start(name) for name in graph.inputs}
    for node in graph.nodes:
        incoming = [states[name] for name in node.inputs if name in states]
        if incoming:
            states[node.name] = step(merge(incoming), node)
    finals = [states[name] for name in graph.outputs if name in states]
    return merge(finals) if finals else None


Advance = Callable[[tuple[Depth, ...], DepthNode], tuple[Depth, ...]]


def _best_path(graph: _Graph, start: tuple[Depth, ...], advance: Advance,
               pick: Callable[..., _Path] = max) -> _Path | None:
    """The path whose key `pick` (max or min) prefers; ties keep the first input listed."""
    def begin(name: str) -> _Path:
        return _Path(start, _Trail(name))

    def extend(path: _Path, node: DepthNode) -> _Path:
        return _Path(advance(path.key, node), _Trail(node.name, path.trail))

    def choose(paths: list[_Path]) -> _Path:
        return paths[0] if len(paths) == 1 else pick(paths, key=_key)

    return _walk(graph, begin, extend, choose)


def _key(path: _Path) -> tuple[Depth, ...]:
    return path.key


# --- the rules -------------------------------------------------------------------------------


def _weights(node: DepthNode) -> int:
    return sum(cls is W for cls in node.classes)


def _count_weights(key: tuple[Depth, ...], node: DepthNode) -> tuple[Depth, ...]:
    """D1: one per W class (a separable conv is two)."""
    return (key[0] + _weights(node),)


def _collapse_class(levels: int, closed: bool, cls: NodeClass, counts: bool) -> tuple[int, bool]:
    """D2 for one class: a counted W opens a level unless a run is open; an N closes the run;
    an A (or a W that does not count) leaves the state as it is (affine after affine is affine)."""
    if cls is W and counts:
        return (levels + 1 if closed else levels), False
    if cls is N:
        return levels, True
    return levels, closed


def _collapse(trainable_only: bool) -> Advance:
    """D2 (every W) or D3 (trainable W only; a frozen W acts as A). The key is (levels, closed):
    at a merge the larger wins, and with equal levels a closed run is deeper than an open one,
    since the next W opens a new level after it; so the max over inputs is the max over paths."""

    def advance(key: tuple[Depth, ...], node: DepthNode) -> tuple[Depth, ...]:
        levels, closed = int(key[0]), bool(key[1])
        counts = node.trainable or not trainable_only
        for cls in node.classes:
            levels, closed = _collapse_class(levels, closed, cls, counts)
        return levels, closed

    return advance


def _levels(nodes: list[DepthNode], trainable_only: bool) -> list[list[str]]:
    """The W layers of a path grouped by level (the evidence for D2 and D3)."""
    groups: list[list[str]] = []
    levels, closed = 0, True
    for node in nodes:
        counts = node.trainable or not trainable_only
        for cls in node.classes:
            was_open = not closed
            levels, closed = _collapse_class(levels, closed, cls, counts)
            if cls is W and counts:
                if not was_open:
                    groups.append([])
                if node.name not in groups[-1]:
                    groups[-1].append(node.name)
    return groups


def _unroll(node: DepthNode) -> Depth:
    """D4: an RNN over T steps is T-1 W nodes deeper once unrolled; unknown T is unbounded."""
    return math.inf if node.time_steps is None else max(node.time_steps - 1, 0)


def _cap_advance(key: tuple[Depth, ...], node: DepthNode) -> tuple[Depth, ...]:
    """CAP: key (count, unroll). Count W from the path's first trainable one (0: not started);
    unroll is the largest T-1 of a counted recurrent layer. It is added once per path, not per
    layer: in an L-layer stack over T steps the longest unrolled path is L + T - 1."""
    count, unroll = key
    for cls in node.classes:
        if cls is W and (count > 0 or node.trainable):
            count += 1
    if node.recurrent and count > 0:  # trainable, or after the first trainable: frozen reservoirs add nothing
        unroll = max(unroll, _unroll(node))
    return count, unroll


def _cap_total(path: _Path) -> Depth:
    return path.key[0] + path.key[1]


def _frontier(paths: list[_Path]) -> tuple[_Path, ...]:
    """The paths that no other path beats on both count and unroll. No single path will do at a
    merge: a long path without recurrence can lose to a short one that unrolls, and win again
    once a later recurrent layer unrolls both. At most one path per distinct T survives."""
    kept: list[_Path] = []
    for path in paths:
        if any(k.key[0] >= path.key[0] and k.key[1] >= path.key[1] for k in kept):
            continue
        kept = [k for k in kept if not (path.key[0] >= k.key[0] and path.key[1] >= k.key[1])] + [path]
    return tuple(kept)


def _cap_path(graph: _Graph) -> _Path | None:
    front = _walk(graph, lambda name: (_Path((0, 0), _Trail(name)),),
                  lambda paths, node: tuple(_Path(_cap_advance(p.key, node), _Trail(node.name, p.trail))
                                            for p in paths),
                  lambda fronts: _frontier([p for front in fronts for p in front]))
    return max(front, key=_cap_total) if front else None


def _receptive(nodes: list[DepthNode]) -> tuple[int, list[str]]:
    """R1 (Araujo et al. 2019) along a path: r += (k_eff - 1) * j, j *= s, k_eff = d(k-1) + 1."""
    r, j, layers = 1, 1, []
    for node in nodes:
        if node.receptive is not None:
            k, s, d = node.receptive
            r, j = r + (d * (k - 1)) * j, j * s
            layers.append(node.name)
    return r, layers


# --- evidence in words -----------------------------------------------------------------------


def _plural(n: Depth, word: str) -> str:
    if n == math.inf:
        return f"unbounded {word}s"
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _show(names: Sequence[str], limit: int = 8) -> str:
    """A list of names, its middle elided when long (paths can be thousands of layers)."""
    if len(names) <= limit:
        return ", ".join(names)
    head, tail = names[: limit - 3], names[-2:]
    return f"{', '.join(head)}, … ({len(names) - len(head) - len(tail)} more), {', '.join(tail)}"


def _ends(path: _Path | None) -> str:
    if path is None:
        return "no path from an input to an output"
    names = path.trail.names()
    return f"{names[0]} -> {names[-1]}"


def _weighted_on(graph: _Graph, path: _Path | None, trainable: bool | None = None) -> list[str]:
    if path is None:
        return []
    return [n.name for n in graph.along(path) for cls in n.classes
            if cls is W and (trainable is None or n.trainable == trainable)]


def _groups(groups: list[list[str]]) -> str:
    return _show(["+".join(g) if len(g) <= 4 else f"{g[0]}+…+{g[-1]} ({len(g)})" for g in groups], limit=6)


@dataclass(frozen=True)
class _Measures:
    """Every measure with the path it was taken on."""

    longest: _Path | None
    shortest: _Path | None
    collapsed: _Path | None
    hierarchy: _Path | None
    cap: _Path | None

    @property
    def d1(self) -> int:
        return int(self.longest.key[0]) if self.longest else 0

    @property
    def d1_min(self) -> int:
        return int(self.shortest.key[0]) if self.shortest else 0

    @property
    def d2(self) -> int:
        return int(self.collapsed.key[0]) if self.collapsed else 0

    @property
    def h(self) -> int:
        return int(self.hierarchy.key[0]) if self.hierarchy else 0

    @property
    def c(self) -> Depth:
        return _cap_total(self.cap) if self.cap else 0

    @property
    def unroll(self) -> Depth:
        return self.cap.key[1] if self.cap else 0

    def value(self, policy: str) -> Depth:
        return {"seeds-strict": self.d1, "hierarchy": self.h, "cap": self.c}[policy]


def _measure(graph: _Graph) -> _Measures:
    return _Measures(
        longest=_best_path(graph, (0,), _count_weights),
        shortest=_best_path(graph, (0,), _count_weights, pick=min),
        collapsed=_best_path(graph, (0, True), _collapse(trainable_only=False)),
        hierarchy=_best_path(graph, (0, True), _collapse(trainable_only=True)),
        cap=_cap_path(graph),
    )


def _judged(rule: str, title: str, value: Depth, detail: str) -> RuleResult:
    return RuleResult(rule, title, value, detail, THRESHOLD, value > SHALLOW_MAX)


def _rules(graph: _Graph, m: _Measures) -> Iterator[RuleResult]:
    counts = {cls.name: sum(n.classes.count(cls) for n in graph.nodes) for cls in (W, N, A)}
    frozen = [n.name for n in graph.nodes for cls in n.classes if cls is W and not n.trainable]
    yield RuleResult("D0", "classes", counts,
                     f"{len(graph.nodes)} layers; frozen W: {_show(frozen) if frozen else 'none'}")

    longest = _weighted_on(graph, m.longest)
    yield _judged("D1", "weighted depth", m.d1,
                  f"longest path {_ends(m.longest)}: {m.d1} W ({_show(longest) or 'none'}); "
                  f"shortest: {m.d1_min}")

    levels = _levels(graph.along(m.collapsed), False) if m.collapsed else []
    yield _judged("D2", "affine collapse", m.d2,
                  f"{_ends(m.collapsed)}: {len(_weighted_on(graph, m.collapsed))} W form "
                  f"{_plural(m.d2, 'level')} ({_groups(levels) or 'none'})")

    levels = _levels(graph.along(m.hierarchy), True) if m.hierarchy else []
    frozen_on = _weighted_on(graph, m.hierarchy, trainable=False)
    yield _judged("D3", "learned hierarchy", m.h,
                  f"{_ends(m.hierarchy)}: {_plural(m.h, 'level')} of trainable W ({_groups(levels) or 'none'})"
                  + (f"; frozen W act as affine: {_show(frozen_on)}" if frozen_on else ""))

    yield RuleResult("D4", "recurrence", m.unroll, _recurrence(graph, m))

    merges = [n.name for n in graph.nodes if len(n.inputs) > 1]
    shortest = _weighted_on(graph, m.shortest)
    yield RuleResult("D5", "branches and residuals", m.d1_min,
                     f"{_plural(len(merges), 'merge')}{f' ({_show(merges)})' if merges else ''}; "
                     f"verdicts use the longest path ({m.d1} W); shortest path {_ends(m.shortest)}: "
                     f"{m.d1_min} W ({_show(shortest) or 'none'})")

    counted = _cap_counted(graph, m.cap)
    yield _judged("C", "CAP depth", m.c,
                  f"{_ends(m.cap)} from the first trainable W: {len(counted)} W "
                  f"({_show(counted) or 'none'}) + {_plural(m.unroll, 'unrolled step')} (D4)")

    if any(n.receptive is not None for n in graph.nodes):
        r, layers = _receptive(graph.along(m.longest)) if m.longest else (1, [])
        yield RuleResult("R1", "receptive field", r,
                         f"along the longest path, first spatial axis: {_show(layers) or 'no conv or pooling'}; "
                         "reported, never decisive")


def _cap_counted(graph: _Graph, path: _Path | None) -> list[str]:
    """The W layers that C counts on its path: from the first trainable one on."""
    out: list[str] = []
    for node in graph.along(path) if path else []:
        for cls in node.classes:
            if cls is W and (out or node.trainable):
                out.append(node.name)
    return out


def _recurrence(graph: _Graph, m: _Measures) -> str:
    recurrent = [n for n in graph.nodes if n.recurrent]
    if not recurrent:
        return "no recurrent layer"
    listed = _show([f"{n.name} (T={'unknown' if n.time_steps is None else n.time_steps}"
                    f"{'' if n.trainable else ', frozen'})" for n in recurrent])
    counted = set(_cap_counted(graph, m.cap))
    on_path = [n for n in graph.along(m.cap) if n.recurrent] if m.cap else []
    unrolled = [n for n in on_path if n.name in counted and _unroll(n) == m.unroll]
    if m.unroll and unrolled:
        what = f"cap unrolls {unrolled[0].name}: +{_plural(m.unroll, 'step')}"
    elif any(n.name not in counted for n in on_path):
        what = "cap unrolls nothing: frozen recurrence before the first trainable W adds nothing"
    else:
        what = "cap unrolls nothing on its path"
    return f"{listed}; hierarchy counts each as one level; {what}"


# --- the verdict -----------------------------------------------------------------------------


def _policy_phrase(policy: str, graph: _Graph, m: _Measures) -> list[str]:
    """The deciding measure in words, and why it differs from the plain layer count."""
    if policy == "seeds-strict":
        return [f"seeds-strict: {_plural(m.d1, 'weighted layer')} on the longest path"]
    if policy == "hierarchy":
        parts = [f"hierarchy: {_plural(m.h, 'level')}"]
        if m.d2 < m.d1:
            parts.append(f"{_plural(m.d1, 'weighted layer')} collapse to {_plural(m.d2, 'level')} under D2")
        if m.h < m.d2:
            frozen = sum(1 for n in graph.nodes for cls in n.classes if cls is W and not n.trainable)
            parts.append(f"{_plural(frozen, 'frozen weighted layer')} do not count under D3")
        return parts
    counted = len(_cap_counted(graph, m.cap))
    parts = [f"cap: {'unbounded' if m.c == math.inf else m.c}"
             f" ({_plural(counted, 'weighted layer')} from the first trainable one)"]
    if m.unroll:
        parts.append(f"recurrence unrolls {'over an unknown T' if m.unroll == math.inf else f'{m.unroll} steps'}")
    return parts


def depth_report(nodes: Sequence[DepthNode], inputs: Sequence[str], outputs: Sequence[str],
                 policy: str = "hierarchy") -> DepthReport:
    """Every depth measure of docs/depth.md with its evidence, and the verdict under `policy`.

    `nodes` in topological order; each node's inputs name earlier nodes or model `inputs`.
    Raises ValueError for an unknown policy or a malformed graph.
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown depth policy {policy!r}; expected one of {', '.join(POLICIES)}")
    graph = _graph(nodes, inputs, outputs)
    m = _measure(graph)
    policies = {p: PolicyVerdict(p, MEASURES[p], m.value(p), verdict_of(m.value(p))) for p in POLICIES}
    chosen = policies[policy]
    others = [f"{p} would say {v.verdict}" for p, v in policies.items() if v.verdict != chosen.verdict]
    agree = ", ".join(others) if others else "every policy agrees"
    sentence = f"{chosen.verdict} ({'; '.join([*_policy_phrase(policy, graph, m), agree])})"
    return DepthReport(policy, chosen.verdict, sentence, policies, tuple(_rules(graph, m)))


def _json_value(value: Any) -> Any:
    return "unbounded" if value == math.inf else value
