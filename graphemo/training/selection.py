"""Model selection and early stopping over the epochs of a run: which epoch's model to keep, and when to stop.

``select: best`` keeps the epoch with the best validation metric; ``last`` the last epoch (no selection: the
honest choice when the validation set is the test fold); ``smoothed`` the epoch that ends the best mean of
``smooth_epochs`` consecutive epochs, so that one lucky epoch on a small validation set does not decide.
Early stopping counts the epochs since the watched value (the metric, or its moving mean) last improved by
``min_delta``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Selection:
    """The state of selection over epochs (rebuilt on resume from the metrics of the epochs done).

    Attributes:
        mode: ``best``, ``last`` or ``smoothed``; metric: the validation metric (``score``, ``clip_f1``, ...).
        window: epochs in a ``smoothed`` mean; min_delta: the least improvement that counts.
        best: the best watched value so far; best_epoch: the epoch whose model is kept; stale: epochs since the
            watched value improved.
    """

    mode: str
    metric: str
    window: int = 3
    min_delta: float = 0.0
    best: float = -math.inf
    best_epoch: int = 0
    stale: int = 0
    values: list[float] = field(default_factory=list)

    def value(self, metrics: Mapping[str, float]) -> float:
        """The selection metric of one validation (``-inf`` when it is NaN).

        Raises:
            ValueError: the metric is not among the validation's metrics.
        """
        if self.metric not in metrics:
            known = ", ".join(sorted(k for k, v in metrics.items() if isinstance(v, int | float)))
            raise ValueError(f"train.select_metric: {self.metric!r} is not a validation metric (known: {known})")
        value = float(metrics[self.metric])
        return value if math.isfinite(value) else -math.inf

    def update(self, epoch: int, metrics: Mapping[str, float]) -> bool:
        """Record an epoch's validation; returns whether its model is to be kept (the new selection)."""
        self.values.append(self.value(metrics))
        watched = self.values[-1]
        if self.mode == "smoothed":
            recent = self.values[-self.window :]
            watched = sum(recent) / len(recent) if all(math.isfinite(v) for v in recent) else -math.inf
        improved = watched > self.best + self.min_delta or (self.best == -math.inf and watched > -math.inf)
        if improved:
            self.best, self.stale = watched, 0
        else:
            self.stale += 1
        keep = improved or self.mode == "last" or self.best_epoch == 0
        if keep:
            self.best_epoch = epoch
        return keep

    @classmethod
    def replay(cls, mode: str, metric: str, window: int, min_delta: float, history: Sequence[Mapping]) -> Selection:
        """The selection after the epochs of ``history`` (their logged ``val/<metric>``)."""
        selection = cls(mode, metric, window, min_delta)
        for epoch, metrics in enumerate(history, start=1):
            selection.update(epoch, {k[len("val/") :]: v for k, v in metrics.items() if k.startswith("val/")})
        return selection
