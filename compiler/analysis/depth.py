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
DECIDING_RULE = {"seeds-strict": "D1", "hierarchy": "D3", "cap": "C"}  # the rule whose value is each policy's measure

# The verdicts, in rank order, spelled one way in text, JSON and `dslc check --require`.
SHALLOW, DEEP, VERY_DEEP = "shallow", "deep", "very-deep"
VERDICTS = (SHALLOW, DEEP, VERY_DEEP)
SHALLOW_MAX = 2  # shallow: d <= 2 (at most one hidden layer)
DEEP_MAX = 10    # deep: 3 <= d <= 10; very-deep: d >= 11 (Schmidhuber: "depth > 10")
THRESHOLD = f"{SHALLOW} d <= 2; {DEEP} 3 <= d <= 10; {VERY_DEEP} d >= 11"
# The layer kinds that hold attention; the D0 evidence states how they are counted.
ATTENTION_KINDS = ("attention", "transformer_encoder", "decoder_block")

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
    kind: str = ""  # the layer kind, for the evidence (how an attention layer is counted)


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
    None for rules that are reported but never decide (D0, D4, D5, R1). `detail` is the
    evidence in one sentence; `evidence` adds what `--explain` prints under it (which layers
    collapsed, each merge's branches, why a recurrent layer was not unrolled, ...)."""

    rule: str
    title: str
    value: Depth | dict[str, int]
    detail: str
    threshold: str | None = None
    holds: bool | None = None
    evidence: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "value": _json_value(self.value),
                "detail": self.detail, "threshold": self.threshold, "holds": self.holds,
                "evidence": list(self.evidence)}


@dataclass(frozen=True)
class DepthReport:
    policy: str
    verdict: str
    sentence: str
    policies: dict[str, PolicyVerdict]
    rules: tuple[RuleResult, ...]
    # The trainable W layers of the deepest learned path, grouped by the level of the hierarchy (H) each opens or
    # joins: what an editor shows on a layer's hover.
    levels: tuple[tuple[str, ...], ...] = ()

    def rule(self, rule_id: str) -> RuleResult:
        return next(r for r in self.rules if r.rule == rule_id)

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy, "verdict": self.verdict, "sentence": self.sentence,
                "policies": {name: v.to_json() for name, v in self.policies.items()},
                "rules": [r.to_json() for r in self.rules]}


def verdict_of(d: Depth) -> str:
    """The thresholds (docs/depth.md#thresholds), the same for every measure."""
    if d <= SHALLOW_MAX:
        return SHALLOW
    return DEEP if d <= DEEP_MAX else VERY_DEEP


def margin(d: Depth) -> str:
    """How close a measure sits to the nearest threshold: '2 above the threshold of 3 (deep)'.
    The nearest is the fewest steps that change the verdict: from 7, five down (to 2) or four up (to 11)."""
    if d == math.inf:
        return f"unbounded, above the threshold of {DEEP_MAX + 1} ({VERY_DEEP})"
    thresholds = {SHALLOW_MAX + 1: DEEP, DEEP_MAX + 1: VERY_DEEP}
    nearest = min(thresholds, key=lambda t: d - t + 1 if d >= t else t - d)
    named = f"the threshold of {nearest} ({thresholds[nearest]})"
    if d == nearest:
        return f"at {named}"
    return f"{d - nearest} above {named}" if d > nearest else f"{nearest - d} below {named}"


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
    """The paths that no other path beats on both parts of a two-part key. No single path will do
    at a merge when a later layer weighs the parts differently: for C (count, unroll), a long path
    without recurrence can lose to a short one that unrolls, and win again once a later recurrent
    layer unrolls both; for R1 (field, jump), a narrow path with a larger stride can overtake a wide
    one after the next window. At most one path per distinct second part survives."""
    kept: list[_Path] = []
    for path in paths:
        if any(k.key[0] >= path.key[0] and k.key[1] >= path.key[1] for k in kept):
            continue
        kept = [k for k in kept if not (path.key[0] >= k.key[0] and path.key[1] >= k.key[1])] + [path]
    return tuple(kept)


def _best_of_frontier(graph: _Graph, start: tuple[Depth, ...], advance: Advance,
                      total: Callable[[_Path], Any]) -> _Path | None:
    """The path with the largest `total` over all paths, keeping each node's frontier (`_frontier`)."""
    front = _walk(graph, lambda name: (_Path(start, _Trail(name)),),
                  lambda paths, node: tuple(_Path(advance(p.key, node), _Trail(node.name, p.trail)) for p in paths),
                  lambda fronts: _frontier([p for front in fronts for p in front]))
    return max(front, key=total) if front else None


def _receptive_advance(key: tuple[Depth, ...], node: DepthNode) -> tuple[Depth, ...]:
    """R1 (Araujo et al. 2019), key (field, jump): r += (k_eff - 1) * j, j *= s, k_eff = d(k-1) + 1."""
    if node.receptive is None:
        return key
    k, s, d = node.receptive
    r, j = key
    return r + (d * (k - 1)) * j, j * s


# --- evidence in words -----------------------------------------------------------------------


def plural(n: Depth, noun: str) -> str:
    """A count and its noun, agreeing: '1 level', '3 levels', 'unbounded steps'."""
    if n == math.inf:
        return f"unbounded {noun}s"
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def agreeing(n: Depth, singular: str, plural_form: str) -> str:
    """The verb that agrees with a count: agreeing(1, 'does', 'do') == 'does'."""
    return singular if n == 1 else plural_form


def _show(names: Sequence[str], limit: int = 8, separator: str = ", ") -> str:
    """A list of names, its middle elided when long (paths can be thousands of layers)."""
    if len(names) <= limit:
        return separator.join(names)
    head, tail = names[: limit - 3], names[-2:]
    return f"{separator.join(head)}{separator}… ({len(names) - len(head) - len(tail)} more){separator}" \
           f"{separator.join(tail)}"


def _capped(lines: list[str], limit: int = 8) -> tuple[str, ...]:
    """At most `limit` evidence lines, then how many more there are."""
    if len(lines) <= limit:
        return tuple(lines)
    return (*lines[: limit - 1], f"… and {len(lines) - limit + 1} more")


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
        cap=_best_of_frontier(graph, (0, 0), _cap_advance, _cap_total),
    )


def _judged(rule: str, title: str, value: Depth, detail: str, evidence: tuple[str, ...] = ()) -> RuleResult:
    return RuleResult(rule, title, value, detail, THRESHOLD, value > SHALLOW_MAX, evidence)


def _rules(graph: _Graph, m: _Measures) -> Iterator[RuleResult]:
    counts = {cls.name: sum(n.classes.count(cls) for n in graph.nodes) for cls in (W, N, A)}
    frozen = [n.name for n in graph.nodes for cls in n.classes if cls is W and not n.trainable]
    yield RuleResult("D0", "classes", counts,
                     f"{len(graph.nodes)} layers; frozen W: {_show(frozen) if frozen else 'none'}",
                     evidence=_attention_convention(graph))

    longest = _weighted_on(graph, m.longest)
    yield _judged("D1", "weighted depth", m.d1,
                  f"longest path {_ends(m.longest)}: {m.d1} W ({_show(longest) or 'none'}); "
                  f"shortest: {m.d1_min}")

    levels = _levels(graph.along(m.collapsed), False) if m.collapsed else []
    weighted = len(_weighted_on(graph, m.collapsed))
    yield _judged("D2", "affine collapse", m.d2,
                  f"{_ends(m.collapsed)}: {weighted} W {agreeing(weighted, 'forms', 'form')} "
                  f"{plural(m.d2, 'level')} ({_groups(levels) or 'none'})", _collapsed(levels))

    levels = _levels(graph.along(m.hierarchy), True) if m.hierarchy else []
    frozen_on = _weighted_on(graph, m.hierarchy, trainable=False)
    yield _judged("D3", "learned hierarchy", m.h,
                  f"{_ends(m.hierarchy)}: {plural(m.h, 'level')} of trainable W ({_groups(levels) or 'none'})"
                  + (f"; frozen W act as affine: {_show(frozen_on)}" if frozen_on else ""))

    detail, evidence = _recurrence(graph, m)
    yield RuleResult("D4", "recurrence", m.unroll, detail, evidence=evidence)

    merges = [n for n in graph.nodes if len(n.inputs) > 1]
    shortest = _weighted_on(graph, m.shortest)
    yield RuleResult("D5", "branches and residuals", m.d1_min,
                     f"{plural(len(merges), 'merge')}{f' ({_show([n.name for n in merges])})' if merges else ''}; "
                     f"verdicts use the longest path ({m.d1} W); shortest path {_ends(m.shortest)}: "
                     f"{m.d1_min} W ({_show(shortest) or 'none'})", evidence=_branches(m.shortest, merges))

    counted = _cap_counted(graph, m.cap)
    yield _judged("C", "CAP depth", m.c,
                  f"{_ends(m.cap)} from the first trainable W: {len(counted)} W "
                  f"({_show(counted) or 'none'}) + {plural(m.unroll, 'unrolled step')} (D4)")

    if any(n.receptive is not None for n in graph.nodes):
        widest = _best_of_frontier(graph, (1, 1), _receptive_advance, _key)
        windows = [n.name for n in graph.along(widest) if n.receptive is not None] if widest else []
        yield RuleResult("R1", "receptive field", widest.key[0] if widest else 1,
                         f"the largest over all paths, first spatial axis: {_ends(widest)} through "
                         f"{_show(windows) or 'no convolution or pooling'}; reported, never decisive")


def _attention_convention(graph: _Graph) -> tuple[str, ...]:
    """How the layers that hold attention are counted (D0), grouped by kind and classes."""
    groups: dict[tuple[str, tuple[NodeClass, ...]], list[str]] = {}
    for node in graph.nodes:
        if node.kind in ATTENTION_KINDS:
            groups.setdefault((node.kind, node.classes), []).append(node.name)
    if not groups:
        return ()
    lines = ["attention convention: attention is W N (its query, key, value and output projections one "
             "learned map, the softmax one non-linearity); a block counts its main path (norms N, attention W N, "
             "feed-forward W N W)"]
    lines += [f"{kind} as {' '.join(cls.name for cls in classes)}: {_show(names)}"
              for (kind, classes), names in groups.items()]
    return _capped(lines)


def _collapsed(levels: list[list[str]]) -> tuple[str, ...]:
    """The levels that hold more than one W: the layers that collapsed into one (D2)."""
    runs = [level for level in levels if len(level) > 1]
    if not runs:
        return ("no weighted layers collapse: a non-linearity follows each",) if levels else ()
    return _capped([f"{_show(run)} collapse into one level: no non-linearity between them" for run in runs])


def _branches(shortest: _Path | None, merges: list[DepthNode]) -> tuple[str, ...]:
    """Each merge with the branches it joins, and the shortest path through them (D5)."""
    path = [f"shortest path: {_show(shortest.trail.names(), separator=' -> ')}"] if shortest else []
    return (*path, *_capped([f"{node.name} merges {', '.join(node.inputs)}" for node in merges]))


def _cap_counted(graph: _Graph, path: _Path | None) -> list[str]:
    """The W layers that C counts on its path: from the first trainable one on."""
    out: list[str] = []
    for node in graph.along(path) if path else []:
        for cls in node.classes:
            if cls is W and (out or node.trainable):
                out.append(node.name)
    return out


def _steps(node: DepthNode) -> str:
    return f"T={'unknown' if node.time_steps is None else node.time_steps}{'' if node.trainable else ', frozen'}"


def _recurrence(graph: _Graph, m: _Measures) -> tuple[str, tuple[str, ...]]:
    """D4 in one sentence, and for each recurrent layer whether cap unrolls it and, if not, why."""
    recurrent = [n for n in graph.nodes if n.recurrent]
    if not recurrent:
        return "no recurrent layer", ()
    listed = _show([f"{n.name} ({_steps(n)})" for n in recurrent])
    counted = set(_cap_counted(graph, m.cap))
    on_path = {n.name for n in graph.along(m.cap)} if m.cap else set()
    unrolled = next((n for n in recurrent if n.name in on_path and n.name in counted and m.unroll
                     and _unroll(n) == m.unroll), None)
    if unrolled is not None:
        what = f"cap unrolls {unrolled.name}: +{plural(m.unroll, 'step')}"
    elif any(n.name in on_path and n.name not in counted for n in recurrent):
        what = "cap unrolls nothing: frozen recurrence before the first trainable W adds nothing"
    else:
        what = "cap unrolls nothing on its path"
    why = []
    for node in recurrent:
        if node is unrolled:
            why.append(f"{node.name} ({_steps(node)}) is unrolled: +{plural(m.unroll, 'step')} on cap's path")
        elif node.name not in on_path:
            why.append(f"{node.name} ({_steps(node)}) is not unrolled: it is not on cap's path ({_ends(m.cap)})")
        elif node.name not in counted:
            why.append(f"{node.name} ({_steps(node)}) is not unrolled: it comes before the path's first trainable "
                       "W, where credit assignment starts")
        elif not _unroll(node):
            why.append(f"{node.name} ({_steps(node)}) adds no step: it runs over one time step")
        else:
            why.append(f"{node.name} ({_steps(node)}) is not unrolled again: a path unrolls once, by its largest "
                       "T - 1")
    return (f"{listed}; hierarchy and seeds-strict count each as one W, never unrolled; {what}",
            _capped(why))


# --- the verdict -----------------------------------------------------------------------------


def _policy_phrase(policy: str, graph: _Graph, m: _Measures) -> list[str]:
    """The deciding measure in words, and why it differs from the plain layer count."""
    if policy == "seeds-strict":
        return [f"seeds-strict: {plural(m.d1, 'weighted layer')} on the longest path"]
    if policy == "hierarchy":
        parts = [f"hierarchy: {plural(m.h, 'level')}"]
        if m.d2 < m.d1:
            parts.append(f"{plural(m.d1, 'weighted layer')} {agreeing(m.d1, 'collapses', 'collapse')} to "
                         f"{plural(m.d2, 'level')} under D2")
        if m.h < m.d2:
            frozen = sum(1 for n in graph.nodes for cls in n.classes if cls is W and not n.trainable)
            parts.append(f"{plural(frozen, 'frozen weighted layer')} {agreeing(frozen, 'does', 'do')} not count "
                         "under D3")
        return parts
    counted = len(_cap_counted(graph, m.cap))
    parts = [f"cap: {'unbounded' if m.c == math.inf else m.c}"
             f" ({plural(counted, 'weighted layer')} from the first trainable one)"]
    if m.unroll:
        parts.append(f"recurrence unrolls {'over an unknown T' if m.unroll == math.inf else plural(m.unroll, 'step')}")
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
    levels = tuple(map(tuple, _levels(graph.along(m.hierarchy), True))) if m.hierarchy else ()
    return DepthReport(policy, chosen.verdict, sentence, policies, tuple(_rules(graph, m)), levels)


def _json_value(value: Any) -> Any:
    return "unbounded" if value == math.inf else value
