"""The fine-tuning examples end to end, as their comments tell a user: write the digits' two halves, train
examples/digits_base.yaml on 0-4, export its weights, train examples/frozen_base.yaml's new head on 5-9 over the
frozen base. The base's features carry over: the head learns far better on them than on a random frozen base."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from safetensors.numpy import load_file

from dslc.runtime.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"


def test_a_base_learned_on_digits_0_4_is_reused_frozen_for_5_9(tmp_path: Path,
                                                               example_data: Callable[[str], Path]) -> None:
    example_data("digits_halves")  # tmp_path/data/digits_0_4.npz, digits_5_9.npz
    for name in ("digits_base.yaml", "frozen_base.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    assert main(["train", str(tmp_path / "digits_base.yaml"), "--epochs", "3", "--workdir", str(tmp_path / "base"),
                 "--quiet"]) == 0
    assert main(["export", str(tmp_path / "digits_base.yaml"), "--checkpoint", str(tmp_path / "base"), "-o",
                 str(tmp_path / "data" / "digits_base.safetensors"), "--format", "safetensors"]) == 0
    assert main(["check", str(tmp_path / "frozen_base.yaml")]) == 0
    assert main(["train", str(tmp_path / "frozen_base.yaml"), "--epochs", "3", "--workdir", str(tmp_path / "tuned"),
                 "--quiet"]) == 0
    assert main(["export", str(tmp_path / "frozen_base.yaml"), "--checkpoint", str(tmp_path / "tuned"), "-o",
                 str(tmp_path / "tuned.safetensors"), "--format", "safetensors"]) == 0
    base, tuned = (load_file(str(path)) for path in (tmp_path / "data" / "digits_base.safetensors",
                                                     tmp_path / "tuned.safetensors"))
    frozen = [name for name in tuned if name.startswith("layers.base.")]
    assert len(frozen) == 20 and all((tuned[name] == base[name]).all() for name in frozen)  # 10 convolutions
    random_base = tmp_path / "random_base.yaml"  # the same head over a base that learned nothing
    random_base.write_text((tmp_path / "frozen_base.yaml").read_text().replace("  init:", "  # init:"))
    assert main(["train", str(random_base), "--epochs", "2", "--workdir", str(tmp_path / "random"), "--quiet"]) == 0
    accuracy = {name: json.loads((tmp_path / name / "run.json").read_text())["test"]["accuracy"]
                for name in ("base", "tuned", "random")}
    assert accuracy["base"] > 0.9 and accuracy["tuned"] > accuracy["random"] + 0.3, accuracy
