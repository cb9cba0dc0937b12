"""The vocabularies' static declarations agree with the tables built from them."""

from __future__ import annotations

from typing import get_args

from dslc.spec.vocab import BINARY_LOSSES, CLASS_LOSS, CLASS_LOSSES, LOSSES, REGRESSION_LOSSES, LossKind


def test_loss_kinds_name_every_loss_once() -> None:
    assert set(get_args(LossKind)) == set(LOSSES.choices)


def test_every_loss_expects_one_kind_of_target() -> None:
    groups = (CLASS_LOSSES, BINARY_LOSSES, REGRESSION_LOSSES)
    assert sorted(kind for group in groups for kind in group) == sorted(LOSSES.choices)
    assert CLASS_LOSS in CLASS_LOSSES
