"""The report's fallback: map predicted valence/arousal to one of the emotion classes, so VA models report F1.

Fitted post hoc on the training set's (valence, arousal) labels: each class's centroid in the VA plane
(scikit-learn's ``NearestCentroid``); a prediction is the class of the nearest centroid. The fitted state is
plain lists, so it can be saved inside a ``weights_only`` checkpoint.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import pairwise_distances_argmin
from sklearn.neighbors import NearestCentroid


class VAToClass:
    """Nearest-centroid classifier from (valence, arousal) to a class index."""

    def __init__(self) -> None:
        self.classes: np.ndarray | None = None  # (K,) int64 class indices
        self.centroids: np.ndarray | None = None  # (K, 2) float64

    def fit(self, va: np.ndarray, y: np.ndarray) -> VAToClass:
        """Fit class centroids.

        Args:
            va: ``(N, 2)`` valence, arousal; rows with NaN are ignored.
            y: ``(N,)`` class indices; negative ones (unannotated, -1) are ignored.

        Returns:
            ``self``.

        Raises:
            ValueError: mismatched shapes, or fewer than two classes with annotated samples.
        """
        va = np.asarray(va, dtype=np.float64)
        y = np.asarray(y).astype(np.int64, copy=False)
        if va.ndim != 2 or va.shape[1] != 2 or y.shape != (va.shape[0],):
            raise ValueError(f"expected va (N, 2) and y (N,), got {va.shape} and {y.shape}")
        keep = np.isfinite(va).all(axis=1) & (y >= 0)
        if np.unique(y[keep]).size < 2:
            raise ValueError(f"need samples of at least two classes with finite VA, got {np.unique(y[keep]).tolist()}")
        fitted = NearestCentroid().fit(va[keep], y[keep])
        self.classes, self.centroids = fitted.classes_.astype(np.int64), fitted.centroids_.astype(np.float64)
        return self

    def predict(self, va: np.ndarray) -> np.ndarray:
        """``va`` (N, 2) -> (N,) int64 class index of the nearest centroid (NaN rows get the first class)."""
        if self.classes is None or self.centroids is None:
            raise RuntimeError("VAToClass.predict called before fit (or load_state_dict)")
        va = np.nan_to_num(np.asarray(va, dtype=np.float64).reshape(-1, 2))
        return self.classes[pairwise_distances_argmin(va, self.centroids)]

    def state_dict(self) -> dict[str, Any]:
        """Fitted state as plain lists: ``{"classes": [int], "centroids": [[valence, arousal]]}``."""
        if self.classes is None or self.centroids is None:
            raise RuntimeError("VAToClass is not fitted")
        return {"classes": self.classes.tolist(), "centroids": self.centroids.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> VAToClass:
        """Restore from :meth:`state_dict` output; returns ``self``."""
        classes = np.asarray(state["classes"], dtype=np.int64)
        centroids = np.asarray(state["centroids"], dtype=np.float64)
        if classes.ndim != 1 or centroids.shape != (classes.size, 2):
            raise ValueError(f"bad VAToClass state: classes {classes.shape}, centroids {centroids.shape}")
        self.classes, self.centroids = classes, centroids
        return self
