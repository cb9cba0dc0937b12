"""Which step of the old sequence is which step of the new one.

1. Steps with an explicit name on both sides are the same step, wherever they moved.
2. The rest are aligned as sequences (difflib's longest matching blocks over each step's signature:
   kind, parameters, inputs, explicit name), so inserting one layer is one insertion and the automatic
   names that shift after it do not matter. In a replaced stretch, the steps pair up in order so that
   the pairs are most alike: steps of one kind with the most equal values first (a changed parameter),
   then steps of different kinds (a changed kind); what is left is added or removed.
3. An added step equal to a removed one is that step, moved.
4. A matched pair is "moved" when it leaves the longest run of pairs that kept their order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Protocol

from dslc.compiler.diff.values import same

MAX_STRETCH_CELLS = 40_000  # pairings weighed in one replaced stretch (200 x 200 steps)


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
    matcher = SequenceMatcher(None, [s.signature for s in old], [s.signature for s in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        olds, news = old[i1:i2], new[j1:j2]
        if tag == "equal":
            matched.update((a.index, b.index) for a, b in zip(olds, news, strict=True))
            continue
        pairs = _pair_stretch(olds, news)
        matched.update((olds[i].index, news[j].index) for i, j in pairs)
        paired_old, paired_new = {i for i, _ in pairs}, {j for _, j in pairs}
        removed += [step.index for i, step in enumerate(olds) if i not in paired_old]
        added += [step.index for j, step in enumerate(news) if j not in paired_new]
    return removed, added


def _similarity(old: Alignable, new: Alignable) -> float:
    """1 to 2 for steps of one kind (by the share of equal values), 0.5 for a changed kind."""
    if old.kind != new.kind:
        return 0.5
    keys = set(old.fields) | set(new.fields)
    equal = sum(1 for key in keys if key in old.fields and key in new.fields and same(old.fields[key], new.fields[key]))
    return 1 + equal / max(1, len(keys))


def _pair_stretch(old: Sequence[Alignable], new: Sequence[Alignable]) -> list[tuple[int, int]]:
    """The pairs, in order, of a replaced stretch that are most alike in all (positions in the stretch)."""
    if len(old) * len(new) > MAX_STRETCH_CELLS:  # too long to weigh every pairing: pair the same kinds in order
        return _pair_by_kind(old, new)
    best = [[0.0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in range(1, len(old) + 1):
        for j in range(1, len(new) + 1):
            best[i][j] = max(best[i - 1][j], best[i][j - 1], best[i - 1][j - 1] + _similarity(old[i - 1], new[j - 1]))
    pairs: list[tuple[int, int]] = []
    i, j = len(old), len(new)
    while i and j:
        if best[i][j] == best[i - 1][j]:
            i -= 1
        elif best[i][j] == best[i][j - 1]:
            j -= 1
        else:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return pairs[::-1]


def _pair_by_kind(old: Sequence[Alignable], new: Sequence[Alignable]) -> list[tuple[int, int]]:
    pairs: list[tuple[int, int]] = []
    cursor = 0
    for i, step in enumerate(old):
        j = next((k for k in range(cursor, len(new)) if new[k].kind == step.kind), None)
        if j is not None:
            pairs.append((i, j))
            cursor = j + 1
    return pairs


def _pair_moved(removed: list[int], added: list[int], old: Sequence[Alignable], new: Sequence[Alignable],
                matched: dict[int, int]) -> None:
    """An added step with the signature of a removed one is that step, moved (pairs taken out of both lists)."""
    waiting: dict[str, list[int]] = {}
    for index in removed:
        waiting.setdefault(old[index].signature, []).append(index)
    for index in list(added):
        candidates = waiting.get(new[index].signature)
        if candidates:
            source = candidates.pop(0)
            matched[source] = index
            removed.remove(source)
            added.remove(index)


def _kept_order(matched: dict[int, int]) -> set[int]:
    """The old indices of the longest run of pairs whose new indices increase with the old (the rest moved)."""
    pairs = sorted(matched.items())
    tails: list[int] = []  # tails[k]: the smallest new index ending an increasing run of length k + 1
    tail_at: list[int] = []  # the position in `pairs` of that tail
    before: list[int] = [-1] * len(pairs)
    for position, (_, new_index) in enumerate(pairs):
        k = bisect_left(tails, new_index)
        before[position] = tail_at[k - 1] if k else -1
        if k == len(tails):
            tails.append(new_index)
            tail_at.append(position)
        else:
            tails[k] = new_index
            tail_at[k] = position
    kept: set[int] = set()
    position = tail_at[-1] if tail_at else -1
    while position >= 0:
        kept.add(pairs[position][0])
        position = before[position]
    return kept


def _ordered(matched: dict[int, int], removed: list[int], added: list[int]) -> list[Pair]:
    kept = _kept_order(matched)
    keyed: list[tuple[tuple[int, int, int], Pair]] = [
        ((new_index, 0, 0), Pair(old_index, new_index, moved=old_index not in kept))
        for old_index, new_index in matched.items()]
    keyed += [((new_index, 0, 0), Pair(None, new_index)) for new_index in added]
    for old_index in removed:  # after the new place of the closest old step before it that is still there
        anchor = max((i for i in kept if i < old_index), default=None)
        keyed.append(((matched[anchor] if anchor is not None else -1, 1, old_index), Pair(old_index, None)))
    return [pair for _, pair in sorted(keyed, key=lambda item: item[0])]
