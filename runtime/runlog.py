"""What a training run records in its work directory: metrics.jsonl, TensorBoard events, run.json.

`metrics.jsonl` has one JSON object per epoch and split (`{"epoch", "step", "split",
"loss", ...}`); the same values go to TensorBoard event files under `tensorboard/` (tags
`train/loss`, `validation/accuracy`, ...). A resumed run first drops what was recorded
after its checkpoint, so the file reads as if the run had never stopped. `run.json` sums
the run up (steps, time to the first step, throughput, test metrics, why it stopped).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dslc.runtime.rewrite import write_atomically

METRICS, SUMMARY, EVENTS = "metrics.jsonl", "run.json", "tensorboard"


class RunLog:
    def __init__(self, workdir: Path, *, resumed_at: int | None = None) -> None:
        from tensorboardX import SummaryWriter

        path = workdir / METRICS
        kept = _records_up_to(path, resumed_at) if resumed_at is not None else []
        write_atomically(path, "".join(json.dumps(record) + "\n" for record in kept))
        self.records: list[dict[str, Any]] = kept
        self._file = path.open("a", encoding="utf-8")
        # purge_step: TensorBoard hides events a resumed run logged after its checkpoint
        self._events = SummaryWriter(str(workdir / EVENTS), purge_step=resumed_at, flush_secs=10)
        self._summary = workdir / SUMMARY

    def epoch(self, epoch: int, step: int, split: str, metrics: dict[str, float]) -> None:
        record = {"epoch": epoch, "step": step, "split": split, **metrics}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        self.records.append(record)
        for name, value in metrics.items():
            self._events.add_scalar(f"{split}/{name}", value, step)

    def summary(self, summary: dict[str, Any]) -> None:
        write_atomically(self._summary, json.dumps(summary, indent=2) + "\n")

    def close(self) -> None:
        self._file.close()
        self._events.close()


def _records_up_to(path: Path, step: int) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [record for record in records if record.get("step", 0) <= step]
