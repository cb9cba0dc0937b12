"""What a training run records in its work directory: metrics.jsonl, TensorBoard events, run.json.

`metrics.jsonl` has one JSON object per epoch and split (`{"epoch", "step", "split",
"loss", ...}`); the same values go to TensorBoard event files under `tensorboard/` (tags
`train/loss`, `validation/accuracy`, ...). A resumed run first drops what was recorded
after its checkpoint, so the file reads as if the run had never stopped. `run.json` sums
the run up (steps, time to the first step, throughput, test metrics, why it stopped).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dslc.runtime.rewrite import write_atomically

METRICS, SUMMARY, EVENTS = "metrics.jsonl", "run.json", "tensorboard"


class RunLog:
    """`write=False` (every process of a multi-process run but the first) keeps the records in memory only."""

    def __init__(self, workdir: Path, *, resumed_at: int | None = None, write: bool = True) -> None:
        path = workdir / METRICS
        self.records: list[dict[str, Any]] = _records_up_to(path, resumed_at) if resumed_at is not None else []
        self._summary = workdir / SUMMARY if write else None
        self._file, self._events = None, None
        if write:
            write_atomically(path, "".join(json.dumps(record) + "\n" for record in self.records))
            self._file = path.open("a", encoding="utf-8")
            # purge_step: TensorBoard hides events a resumed run logged after its checkpoint
            self._events = _summary_writer()(str(workdir / EVENTS), purge_step=resumed_at, flush_secs=10)

    def epoch(self, epoch: int, step: int, split: str, metrics: dict[str, float]) -> None:
        record = {"epoch": epoch, "step": step, "split": split, **metrics}
        self.records.append(record)
        if self._file is None or self._events is None:
            return
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        for name, value in metrics.items():
            self._events.add_scalar(f"{split}/{name}", value, step)

    def summary(self, summary: dict[str, Any]) -> None:
        if self._summary is not None:
            write_atomically(self._summary, json.dumps(summary, indent=2) + "\n")

    def close(self) -> None:
        if self._file is not None and self._events is not None:
            self._file.close()
            self._events.close()


def _summary_writer() -> type:
    """tensorboardX's SummaryWriter, imported without its optional `import torch`: where PyTorch is installed
    that import alone took 1.5 s and hundreds of MB before the first step, and dslc only logs floats."""
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
    try:
        from tensorboardX import SummaryWriter
    finally:
        if blocked:
            del sys.modules["torch"]
    return SummaryWriter


def _records_up_to(path: Path, step: int) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [record for record in records if record.get("step", 0) <= step]
