"""The training progress display: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from dslc.runtime.progress import PlainReporter, RichReporter, reporter_for


def test_a_pipe_gets_plain_lines() -> None:
    stream = io.StringIO()
    reporter = reporter_for(stream)
    assert isinstance(reporter, PlainReporter)
    reporter.start(2, 10, 32)
    reporter.advance(10)
    reporter.epoch("epoch 1/2: train loss 0.5")
    reporter.close()
    assert stream.getvalue() == "epoch 1/2: train loss 0.5\n"


def test_a_terminal_gets_a_bar_with_speed_and_the_epoch_lines_above_it() -> None:
    stream = io.StringIO()
    reporter = RichReporter(stream, force_terminal=True)
    reporter.start(2, 10, 32)
    reporter.advance(10)
    reporter.epoch("epoch 1/2: train loss 0.5 [not markup]")
    reporter.advance(5)
    reporter.close()
    output = stream.getvalue()
    assert "epoch 1/2: train loss 0.5 [not markup]" in output
    assert "15/20" in output and "ex/s" in output and "epoch 2/2" in output
