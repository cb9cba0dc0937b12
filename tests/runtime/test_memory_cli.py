"""`--device-memory` on `dslc check` and `dslc train`: a train step planned over the device's memory is E616, exit 2,
before anything compiles (JAX is never imported)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples"
GPT2 = str(EXAMPLES / "zoo" / "gpt2_small.yaml")

# Runs the commands in one fresh process, prints each exit code, and asserts JAX was never imported.
SCRIPT = """\
import json, sys
from dslc.runtime.cli import main
codes = [main(command) for command in json.loads(sys.argv[1])]
assert 'jax' not in sys.modules, 'jax imported'
print('codes', json.dumps(codes))
"""


def run(*commands: list[str]) -> tuple[list[int], str]:
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(commands)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("codes "), result.stdout
    return json.loads(last.removeprefix("codes ")), result.stdout + result.stderr


def test_check_fails_over_the_device_memory_with_advice_and_passes_within_it() -> None:
    codes, output = run(["check", GPT2, "--device-memory", "1GiB"], ["check", GPT2, "--device-memory", "80GiB"],
                        ["check", GPT2, "--device-memory", "h100"])
    assert codes == [2, 0, 0], output
    headline = next(line for line in output.splitlines() if "error[E616]" in line)
    assert headline.startswith(f"{GPT2}:11:9: error[E616]: a train step needs about ")  # at the model's name
    assert "more than --device-memory 1.0 GiB; the biggest part is the activations" in headline
    assert "no train section: assumed adam, batch 1" in headline
    hint = next(line for line in output.splitlines() if line.strip().startswith("hint:"))
    assert "remat: true" in hint and "precision: bfloat16" in hint, hint
    assert "memory per device: about" in output and "of 80.0 GiB" in output


def test_check_points_at_the_batch_and_names_the_largest_batch_that_fits(tmp_path: Path) -> None:
    spec = tmp_path / "mlp.yaml"
    spec.write_text((EXAMPLES / "digits_mlp.yaml").read_text().replace("batch: 64", "batch: 4096"))
    codes, output = run(["check", str(spec), "--device-memory", "8MiB"],
                        ["check", str(spec), "--device-memory", "8MiB", "--devices", "8"],
                        ["check", str(spec), "--memory", "--format", "json"])
    assert codes == [2, 0, 0], output
    assert f"{spec}:15:10: error[E616]" in output  # batch: 4096
    assert "the largest that fits)" in output
    assert '"memory": {' in output and '"optimizer_state"' in output


def test_train_fails_before_compiling_when_the_step_does_not_fit(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    codes, output = run(["train", str(EXAMPLES / "digits_mlp.yaml"), "--device-memory", "320KiB",
                         "--workdir", str(workdir)])
    assert codes == [2], output
    assert "error[E616]: a train step needs about " in output and "hint: try batch " in output
    assert not workdir.exists()


def test_a_device_memory_that_is_no_size_or_device_is_refused() -> None:
    result = subprocess.run([sys.executable, "-m", "dslc", "check", GPT2, "--device-memory", "lots"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "not a size (80GiB, 512MiB, bytes) or a device name" in result.stderr
