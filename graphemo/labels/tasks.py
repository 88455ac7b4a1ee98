"""The tasks a model can learn, and which frames are usable for each (the one home of both rules).

* ``expr``: the emotion class of a frame (annotated when its class is >= 0);
* ``va``: its valence and arousal (annotated when both are finite);
* ``both``: one network with two heads; a frame is usable when either label is annotated.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Task = Literal["expr", "va", "both"]
TASKS: tuple[str, ...] = ("expr", "va", "both")
HEADS: dict[str, tuple[str, ...]] = {"expr": ("expr",), "va": ("va",), "both": ("expr", "va")}
"""The outputs (head names) a model of each task returns, in this order."""


def check_task(task: object, *, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``task`` is one of :data:`TASKS` (or None when ``allow_none``)."""
    if task is None and allow_none:
        return
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}{' or None' if allow_none else ''}, got {task!r}")


def annotated(expr: np.ndarray, va: np.ndarray, task: str | None) -> np.ndarray:
    """Which frames carry the task's label.

    Args:
        expr: ``(N,)`` class per frame, -1 = unannotated.
        va: ``(N, 2)`` valence, arousal per frame, NaN = unannotated.
        task: ``"expr"``, ``"va"``, ``"both"`` (either label), or None (every frame).

    Returns:
        ``(N,)`` bool.
    """
    check_task(task, allow_none=True)
    if task is None:
        return np.ones(len(expr), dtype=bool)
    has_expr = np.asarray(expr) >= 0
    if task == "expr":
        return has_expr
    has_va = np.isfinite(va).all(axis=1)
    return has_va if task == "va" else has_expr | has_va
