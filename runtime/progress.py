"""Progress of a training run: a rich progress bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def plural(count: int, noun: str) -> str:
    """`1 epoch`, `2 epochs`, `1,797 training examples`: every count the runtime prints."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# Examples/s -> what the progress line shows of it (`Throughput.line`: ex/s, tok/s, MFU)
Describe = Callable[[float], str]


def examples_per_second(rate: float) -> str:
    return f"{rate:,.0f} ex/s"


class Reporter(Protocol):
    def start(self, epochs: int, steps_per_epoch: int, batch: int, done: int = 0,
              describe: Describe = examples_per_second) -> None: ...
    def advance(self, steps: int) -> None: ...
    def epoch(self, message: str) -> None: ...
    def message(self, text: str) -> None: ...
    def close(self) -> None: ...


class PlainReporter:
    """For logs and pipes: one line per epoch (the loop puts the speed so far in it), nothing per step."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr

    def start(self, epochs: int, steps_per_epoch: int, batch: int, done: int = 0,
              describe: Describe = examples_per_second) -> None:
        pass

    def advance(self, steps: int) -> None:
        pass

    def epoch(self, message: str) -> None:
        self.message(message)

    def message(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichReporter:
    """A bar over all steps (epoch, steps, examples/s, tokens/s and MFU where known, ETA); epoch summaries print
    above it."""

    def __init__(self, stream: IO[str] | None = None, force_terminal: bool | None = None) -> None:
        from rich.console import Console

        self.console = Console(file=stream or sys.stderr, force_terminal=force_terminal)
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def start(self, epochs: int, steps_per_epoch: int, batch: int, done: int = 0,
              describe: Describe = examples_per_second) -> None:
        """`done`: steps an earlier run already did (a resumed run's bar starts there); `describe`: the speed."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.batch, self.steps_per_epoch, self.epochs, self.describe = batch, steps_per_epoch, epochs, describe
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[speed]}"), TimeRemainingColumn(), console=self.console)
        self.progress.start()
        self.task = self.progress.add_task(f"epoch {done // steps_per_epoch + 1}/{epochs}",
                                           total=epochs * steps_per_epoch, completed=done, speed="")
        self.started, self.done_before = time.perf_counter(), done

    def advance(self, steps: int) -> None:
        if self.progress is None or self.task is None:  # not started
            return
        self.progress.advance(self.task, steps)
        done = self.progress.tasks[0].completed
        elapsed = time.perf_counter() - self.started
        epoch = min(int(done // self.steps_per_epoch) + 1, self.epochs)
        self.progress.update(self.task, description=f"epoch {epoch}/{self.epochs}",
                             speed=self.describe((done - self.done_before) * self.batch / max(elapsed, 1e-9)))

    def epoch(self, message: str) -> None:
        self.message(message)

    def message(self, text: str) -> None:
        (self.progress.console if self.progress else self.console).print(text, highlight=False, markup=False)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def reporter_for(stream: IO[str] | None = None) -> Reporter:
    stream = stream or sys.stderr
    return RichReporter(stream) if stream.isatty() else PlainReporter(stream)
