"""Figures logged with every run: the confusion matrix and the valence/arousal scatter (matplotlib, Agg)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _figure(*args: Any, **kwargs: Any) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def confusion_figure(confusion: np.ndarray, class_names: list[str], title: str = "") -> Any:
    """A ``(C, C)`` confusion matrix (rows = true class) as a heat map of row-normalised recall with counts.

    Returns:
        The matplotlib ``Figure``.
    """
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1, keepdims=True)
    recall = np.divide(confusion, totals, out=np.zeros(confusion.shape, float), where=totals > 0)
    size = 1.0 + 0.75 * len(class_names)
    fig, ax = _figure(figsize=(size + 1.5, size))
    image = ax.imshow(recall, cmap="Blues", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(class_names)):
        for j in range(len(class_names)):
            colour = "white" if recall[i, j] > 0.5 else "black"
            ax.text(j, i, f"{recall[i, j]:.2f}\n{confusion[i, j]}", ha="center", va="center", fontsize=7, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.046, label="recall (row-normalised)")
    ax.set_title(title or "confusion matrix")
    return fig


def va_scatter_figure(va_true: np.ndarray, va_pred: np.ndarray, ccc: tuple[float, float] | None = None) -> Any:
    """Predicted against true valence and arousal (two panels, identity line), at most 5,000 points each.

    Args:
        va_true, va_pred: ``(N, 2)``; rows with a NaN truth are left out per dimension.
        ccc: optional ``(ccc_valence, ccc_arousal)`` for the panel titles.
    """
    fig, axes = _figure(1, 2, figsize=(9, 4.2))
    rng = np.random.default_rng(0)
    for d, (ax, name) in enumerate(zip(axes, ("valence", "arousal"), strict=True)):
        keep = np.flatnonzero(np.isfinite(va_true[:, d]))
        if len(keep) > 5000:
            keep = np.sort(rng.choice(keep, 5000, replace=False))
        ax.scatter(va_true[keep, d], va_pred[keep, d], s=4, alpha=0.35)
        ax.plot([-1, 1], [-1, 1], color="grey", linewidth=1)
        ax.set_xlim(-1.05, 1.05)
        ax.set_ylim(-1.05, 1.05)
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title(f"{name}" + (f"  CCC {ccc[d]:.3f}" if ccc is not None else ""))
    fig.tight_layout()
    return fig
