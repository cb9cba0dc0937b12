"""Which step of the old sequence is which step of the new one.

1. Steps with an explicit name on both sides are the same step, wherever they moved.
2. The rest are aligned as sequences over each step's signature (kind, parameters, inputs, explicit
   name), by a patience diff, so inserting one layer is one insertion and the automatic names that
   shift after it do not matter. In a replaced stretch, the steps pair up in order so that
   the pairs are most alike: steps of one kind with the most equal values (a changed parameter), and
   steps of different kinds only where the stretch replaced as many steps as it had (a changed kind);
   what is left is added or removed.
3. An added step equal to a removed one is that step, moved.
4. A matched pair is "moved" when it leaves the longest run of pairs that kept their order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dslc.compiler.diff.values import same

MAX_STRETCH_CELLS = 10_000  # pairings weighed in one replaced stretch (100 x 100 steps)


class Alignable(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def explicit_name(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def signature(self) -> str: ...
    @property
    def fields(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class Pair:
    """Old and new index of one step; None on the side where it does not exist."""

    old: int | None
    new: int | None
    moved: bool = False


def align(old: Sequence[Alignable], new: Sequence[Alignable]) -> list[Pair]:
    """Every step of both sides once, in the new order (a removed step follows its old predecessor)."""
    matched: dict[int, int] = {}
    by_name = {step.explicit_name: step.index for step in new if step.explicit_name is not None}
    for step in old:
        if step.explicit_name in by_name:
            matched[step.index] = by_name[step.explicit_name]
    rest_old = [step for step in old if step.index not in matched]
    used = set(matched.values())
    rest_new = [step for step in new if step.index not in used]
    removed, added = _align_rest(rest_old, rest_new, matched)
    _pair_moved(removed, added, old, new, matched)
    return _ordered(matched, removed, added)


def _align_rest(old: list[Alignable], new: list[Alignable], matched: dict[int, int]) -> tuple[list[int], list[int]]:
    removed: list[int] = []
    added: list[int] = []
    equal = _equal_runs([s.signature for s in old], [s.signature for s in new])
    previous = (-1, -1)
    for i, j in [*equal, (len(old), len(new))]:  # each stretch between two equal steps was replaced
        olds, news = old[previous[0] + 1:i], new[previous[1] + 1:j]
        pairs = _pair_stretch(olds, news)
        matched.update((olds[a].index, news[b].index) for a, b in pairs)
        paired_old, paired_new = {a for a, _ in pairs}, {b for _, b in pairs}
        removed += [step.index for a, step in enumerate(olds) if a not in paired_old]
        added += [step.index for b, step in enumerate(news) if b not in paired_new]
        if i < len(old):
            matched[old[i].index] = new[j].index
        previous = (i, j)
    return removed, added


def _equal_runs(old: list[str], new: list[str]) -> list[tuple[int, int]]:
    """Positions of steps kept as they were, increasing on both sides (patience diff: the common prefix and
    suffix, then the signatures found once on each side as anchors, again between each two anchors).
    What no anchor explains is left to `_pair_stretch`. Near-linear: a stack of equal layers stays fast."""
    found: list[tuple[int, int]] = []
    stack = [(0, len(old), 0, len(new))]
    while stack:
        o_lo, o_hi, n_lo, n_hi = stack.pop()
        while o_lo < o_hi and n_lo < n_hi and old[o_lo] == new[n_lo]:
            found.append((o_lo, n_lo))
            o_lo, n_lo = o_lo + 1, n_lo + 1
        while o_lo < o_hi and n_lo < n_hi and old[o_hi - 1] == new[n_hi - 1]:
            o_hi, n_hi = o_hi - 1, n_hi - 1
            found.append((o_hi, n_hi))
        anchors = _unique_anchors(old, new, o_lo, o_hi, n_lo, n_hi)
        bounds = [(o_lo - 1, n_lo - 1), *anchors, (o_hi, n_hi)]
        found += anchors
        if anchors:
            stack += [(a[0] + 1, b[0], a[1] + 1, b[1]) for a, b in zip(bounds, bounds[1:], strict=False)]
    return sorted(found)


def _unique_anchors(old: list[str], new: list[str], o_lo: int, o_hi: int, n_lo: int,
                    n_hi: int) -> list[tuple[int, int]]:
    """The longest increasing run of (old, new) positions of signatures that occur once in each stretch."""
    in_old = Counter(old[o_lo:o_hi])
    in_new = Counter(new[n_lo:n_hi])
    where_old = {old[i]: i for i in range(o_lo, o_hi) if in_old[old[i]] == 1}
    candidates = sorted((where_old[new[j]], j) for j in range(n_lo, n_hi)
                        if in_new[new[j]] == 1 and new[j] in where_old)
    kept = _longest_increasing(candidates)
    return [candidates[k] for k in kept]


def _similarity(old: Alignable, new: Alignable, one_for_one: bool) -> float:
    """1 to 2 for steps of one kind (by the share of equal values); for a changed kind 0.5 where the stretch
    replaced as many steps as it had (`relu` became `gelu`), else 0: those are other layers."""
    if old.kind != new.kind:
        return 0.5 if one_for_one else 0.0
    keys = set(old.fields) | set(new.fields)
    equal = sum(1 for key in keys if key in old.fields and key in new.fields and same(old.fields[key], new.fields[key]))
    return 1 + equal / max(1, len(keys))


def _pair_stretch(old: Sequence[Alignable], new: Sequence[Alignable]) -> list[tuple[int, int]]:
    """The pairs, in order, of a replaced stretch that are most alike in all (positions in the stretch)."""
    if len(old) * len(new) > MAX_STRETCH_CELLS:  # too long to weigh every pairing: pair the same kinds in order
        return _pair_by_kind(old, new)
    one_for_one = len(old) == len(new)
    best = [[0.0] * (len(new) + 1) for _ in range(len(old) + 1)]
    gain = [[0.0] * len(new) for _ in range(len(old))]
    for i in range(1, len(old) + 1):
        for j in range(1, len(new) + 1):
            gain[i - 1][j - 1] = _similarity(old[i - 1], new[j - 1], one_for_one)
            best[i][j] = max(best[i - 1][j], best[i][j - 1], best[i - 1][j - 1] + gain[i - 1][j - 1])
    pairs: list[tuple[int, int]] = []
    i, j = len(old), len(new)
    while i and j:
        if gain[i - 1][j - 1] and best[i][j] == best[i - 1][j - 1] + gain[i - 1][j - 1]:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif best[i][j] == best[i - 1][j]:
            i -= 1
        else:
            j -= 1
    return pairs[::-1]


def _pair_by_kind(old: Sequence[Alignable], new: Sequence[Alignable]) -> list[tuple[int, int]]:
    """Each old step with the next new step of its kind, in order."""
    positions: dict[str, list[int]] = {}
    for j, step in enumerate(new):
        positions.setdefault(step.kind, []).append(j)
    pairs: list[tuple[int, int]] = []
    cursor = 0
    for i, step in enumerate(old):
        candidates = positions.get(step.kind, [])
        k = bisect_left(candidates, cursor)
        if k < len(candidates):
            pairs.append((i, candidates[k]))
            cursor = candidates[k] + 1
    return pairs


def _pair_moved(removed: list[int], added: list[int], old: Sequence[Alignable], new: Sequence[Alignable],
                matched: dict[int, int]) -> None:
    """An added step with the signature of a removed one is that step, moved (pairs taken out of both lists)."""
    waiting: dict[str, list[int]] = {}
    for index in reversed(removed):
        waiting.setdefault(old[index].signature, []).append(index)
    moved: set[int] = set()
    for index in added:
        candidates = waiting.get(new[index].signature)
        if candidates:
            matched[candidates.pop()] = index
            moved.add(index)
    removed[:] = [index for index in removed if index not in matched]
    added[:] = [index for index in added if index not in moved]


def _kept_order(matched: dict[int, int]) -> set[int]:
    """The old indices of the longest run of pairs whose new indices increase with the old (the rest moved)."""
    pairs = sorted(matched.items())
    return {pairs[k][0] for k in _longest_increasing(pairs)}


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[int]:
    """Positions in `pairs` (sorted by their first item) of a longest run whose second items increase."""
    tails: list[int] = []  # tails[k]: the smallest second item ending an increasing run of length k + 1
    tail_at: list[int] = []  # the position in `pairs` of that tail
    before: list[int] = [-1] * len(pairs)
    for position, (_, value) in enumerate(pairs):
        k = bisect_left(tails, value)
        before[position] = tail_at[k - 1] if k else -1
        if k == len(tails):
            tails.append(value)
            tail_at.append(position)
        else:
            tails[k] = value
            tail_at[k] = position
    run: list[int] = []
    position = tail_at[-1] if tail_at else -1
    while position >= 0:
        run.append(position)
        position = before[position]
    return run[::-1]


def _ordered(matched: dict[int, int], removed: list[int], added: list[int]) -> list[Pair]:
    kept = _kept_order(matched)
    keyed: list[tuple[tuple[int, int, int], Pair]] = [
        ((new_index, 0, 0), Pair(old_index, new_index, moved=old_index not in kept))
        for old_index, new_index in matched.items()]
    keyed += [((new_index, 0, 0), Pair(None, new_index)) for new_index in added]
    anchors = sorted(kept)
    for old_index in removed:  # after the new place of the closest old step before it that is still there
        position = bisect_left(anchors, old_index)
        after = matched[anchors[position - 1]] if position else -1
        keyed.append(((after, 1, old_index), Pair(old_index, None)))
    return [pair for _, pair in sorted(keyed, key=lambda item: item[0])]
