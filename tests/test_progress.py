"""Progress in logs: plain lines with the rate and the time left when stderr is not a terminal."""

from __future__ import annotations

import graphemo.progress as progress_module
from graphemo.progress import LogProgress, progress


def test_lines_in_a_log_say_how_far_how_fast_and_how_long(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0.0)  # a line at every update
    bar = progress(range(4), total=4, desc="epoch 3", unit="batch")
    assert isinstance(bar, LogProgress)  # pytest's stderr is not a terminal
    for i, _ in enumerate(bar):
        bar.set_postfix(loss=f"{1.0 / (i + 1):.2f}")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("epoch 3: 1/4 batch (25%), ") and "batch/s" in lines[0] and "s left" in lines[0]
    assert lines[-1].startswith("epoch 3: 4/4 batch (100%)") and "done in" in lines[-1]
    assert lines[-1].endswith("loss=0.25")


def test_short_work_prints_nothing_and_disabled_progress_is_silent(capsys):
    with progress(total=10, desc="prepare", unit="frame") as bar:
        bar.update(10)  # well under LOG_EVERY_SECONDS
    for _ in progress(range(3), enabled=False):
        pass
    assert capsys.readouterr().err == ""
