"""Evaluation metrics: macro F1 (the headline), accuracy, per-class scores, confusion matrix, CCC, ABAW scores,
and clip-level scores (DFEW's UAR / WAR).

Classification metrics come from scikit-learn. CCC (Lin's concordance correlation coefficient, the ABAW VA
metric; scikit-learn has none) is ``2 cov(x, y) / (var x + var y + (mean x - mean y)^2)`` with population
(co)variances. Unannotated frames (class -1, NaN valence/arousal) are left out of every metric.

ABAW's combined scores, as the challenges define them:

* ``abaw_expr`` = macro F1 over the classes (ABAW 3 onward); ``abaw2_expr`` = 0.67 F1 + 0.33 accuracy (ABAW 2);
* ``abaw_va`` = (CCC valence + CCC arousal) / 2;
* ``abaw_mtl`` = ``abaw_va + abaw_expr`` (ABAW 3's multi-task score without the action-unit term).

Clip level (``clip/...``): the frame probabilities of a video are averaged and the argmax compared with the
clip's label (DFEW), or with the most frequent frame label; UAR = mean recall over the classes present
(balanced accuracy), WAR = accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_squared_error,
    precision_recall_fscore_support,
)

ABAW2_F1_WEIGHT = 0.67


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Lin's concordance correlation coefficient of two ``(N,)`` arrays (NaN pairs dropped); NaN if N < 2."""
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"ccc: shapes differ, {t.shape} vs {p.shape}")
    keep = np.isfinite(t) & np.isfinite(p)
    t, p = t[keep], p[keep]
    if len(t) < 2:
        return float("nan")
    mt, mp = t.mean(), p.mean()
    cov = np.mean((t - mt) * (p - mp))
    denominator = t.var() + p.var() + (mt - mp) ** 2
    return float(2.0 * cov / denominator) if denominator > 0 else float("nan")


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str] | None = None) -> dict:
    """Scores of ``(N,)`` class predictions against ``(N,)`` labels (labels < 0 are left out).

    ``class_names`` name the class indices (default: graphemo's emotion order, :func:`default_class_names`).

    Returns:
        ``{"f1", "accuracy", "uar", "abaw_expr", "abaw2_expr", "per_class": {name: {precision, recall, f1,
        support}}, "confusion": (C, C) int64 (rows = true class), "n"}``. Macro F1 and UAR average over the classes
        present in ``y_true`` (a class that exists in the data: on a dataset where every class occurs, as ABAW's,
        that is all ``C``; a class never predicted scores 0); ``per_class`` and ``confusion`` cover all ``C``.
    """
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"classification_metrics: shapes differ, {y_true.shape} vs {y_pred.shape}")
    class_names = list(class_names) if class_names is not None else default_class_names(y_true, y_pred)
    keep = y_true >= 0
    y_true, y_pred = y_true[keep], y_pred[keep]
    labels = list(range(len(class_names)))
    if len(y_true) == 0:
        return {"n": 0}
    present = sorted(int(c) for c in np.unique(y_true))
    f1 = f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
    accuracy = accuracy_score(y_true, y_pred)
    precision, recall, f1s, support = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "n": len(y_true),
        "f1": float(f1),
        "accuracy": float(accuracy),
        "uar": float(recall[support > 0].mean()),  # balanced accuracy: mean recall over the classes present
        "abaw_expr": float(f1),
        "abaw2_expr": float(ABAW2_F1_WEIGHT * f1 + (1 - ABAW2_F1_WEIGHT) * accuracy),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(class_names, precision, recall, f1s, support, strict=True)
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=labels),
    }


def default_class_names(*labels: np.ndarray) -> list[str]:
    """Names of class indices ``0..C-1``: graphemo's 7 emotions (with ``other`` when index 7 occurs,
    :data:`graphemo.labels.EMOTIONS_WITH_OTHER`), or the numbers when ``labels`` go beyond."""
    from graphemo.labels import EMOTIONS, EMOTIONS_WITH_OTHER

    count = max([len(EMOTIONS), *(int(np.max(a)) + 1 for a in labels if np.size(a))])
    return list(EMOTIONS_WITH_OTHER[:count]) if count <= len(EMOTIONS_WITH_OTHER) else [str(c) for c in range(count)]


def scores(
    *,
    y_true: np.ndarray | None = None,
    y_pred: np.ndarray | None = None,
    va_true: np.ndarray | None = None,
    va_pred: np.ndarray | None = None,
    class_names: list[str] | None = None,
) -> dict[str, float]:
    """The headline metrics of plain arrays, for code outside graphemo's trainer.

    Args:
        y_true: ``(N,)`` true classes (-1 = unannotated, left out).
        y_pred: ``(N,)`` predicted classes, or ``(N, C)`` scores (probabilities or logits; the argmax is taken).
        va_true: ``(N, 2)`` true valence/arousal (NaN = unannotated); va_pred: ``(N, 2)`` predicted.
        class_names: see :func:`classification_metrics`.

    Returns:
        ``{"f1", "accuracy", "uar", "abaw_expr", "abaw2_expr"}`` when classes are given, ``{"ccc_valence",
        "ccc_arousal", "ccc_mean", "abaw_va", "mse_valence", "mse_arousal"}`` when V/A are, ``abaw_mtl`` with both.
    """
    out: dict[str, float] = {}
    if (y_true is None) != (y_pred is None) or (va_true is None) != (va_pred is None):
        raise ValueError("scores: give y_true with y_pred and va_true with va_pred")
    if y_true is not None:
        y_pred = np.asarray(y_pred)
        classes = y_pred.argmax(axis=1) if y_pred.ndim == 2 else y_pred
        metrics = classification_metrics(np.asarray(y_true), classes, class_names)
        out.update({k: float(v) for k, v in metrics.items() if isinstance(v, float)})
    if va_true is not None:
        out.update({k: float(v) for k, v in va_metrics(va_true, va_pred).items() if k != "n"})
    if "f1" in out and "ccc_mean" in out:
        out["abaw_mtl"] = out["ccc_mean"] + out["f1"]
    return out


def va_metrics(va_true: np.ndarray, va_pred: np.ndarray) -> dict:
    """CCC and MSE of ``(N, 2)`` valence/arousal predictions (each dimension over its annotated frames).

    Returns:
        ``{"ccc_valence", "ccc_arousal", "ccc_mean" (= abaw_va), "abaw_va", "mse_valence", "mse_arousal", "n"}``.
    """
    va_true = np.asarray(va_true, dtype=np.float64).reshape(-1, 2)
    va_pred = np.asarray(va_pred, dtype=np.float64).reshape(-1, 2)
    out: dict = {"n": int(np.isfinite(va_true).all(axis=1).sum())}
    for d, name in enumerate(("valence", "arousal")):
        keep = np.isfinite(va_true[:, d])
        out[f"ccc_{name}"] = ccc(va_true[keep, d], va_pred[keep, d])
        out[f"mse_{name}"] = float(mean_squared_error(va_true[keep, d], va_pred[keep, d])) if keep.any() else np.nan
    out["ccc_mean"] = out["abaw_va"] = float(np.mean([out["ccc_valence"], out["ccc_arousal"]]))
    return out


@dataclass
class Predictions:
    """What a model said about a set of frames, with the truth.

    Attributes:
        video: ``(N,)`` int64 video index; frame: ``(N,)`` int64 global frame index.
        y: ``(N,)`` int64 true class (-1 unannotated); va: ``(N, 2)`` float true V/A (NaN unannotated).
        probs: ``(N, C)`` float class probabilities, or None (VA-only model).
        va_pred: ``(N, 2)`` float predicted V/A, or None (classification-only model).
    """

    video: np.ndarray
    frame: np.ndarray
    y: np.ndarray
    va: np.ndarray
    probs: np.ndarray | None = None
    va_pred: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)


def clip_probabilities(
    pred: Predictions, clip_labels: dict[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame predictions aggregated per video: the mean of the class probabilities of all its predicted frames.

    Args:
        pred: frame predictions with ``probs``.
        clip_labels: video index -> clip label (DFEW, a clip CSV); videos without one use their most frequent
            frame label.

    Returns:
        ``(videos (K,), y_true (K,), probs (K, C))``; a video with no label has ``y_true`` -1.
    """
    if pred.probs is None:
        raise ValueError("clip-level classification needs class probabilities")
    videos, inverse, counts = np.unique(pred.video, return_inverse=True, return_counts=True)
    sums = np.zeros((len(videos), pred.probs.shape[1]))
    np.add.at(sums, inverse, pred.probs)
    y_true = np.full(len(videos), -1, dtype=np.int64)
    for k, v in enumerate(videos):
        if clip_labels and clip_labels.get(int(v), -1) >= 0:
            y_true[k] = clip_labels[int(v)]
        else:
            labels = pred.y[(inverse == k) & (pred.y >= 0)]
            if len(labels):
                y_true[k] = int(np.bincount(labels).argmax())
    return videos, y_true, sums / counts[:, None]


def clip_predictions(
    pred: Predictions, clip_labels: dict[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(videos (K,), y_true (K,), y_pred (K,))``: the argmax of :func:`clip_probabilities` per video."""
    videos, y_true, probs = clip_probabilities(pred, clip_labels)
    return videos, y_true, probs.argmax(axis=1)


def evaluate(
    pred: Predictions,
    task: str,
    class_names: list[str],
    *,
    va_classes: np.ndarray | None = None,
    clip_labels: dict[int, int] | None = None,
    clip_metrics: bool = True,
) -> dict:
    """All metrics of one evaluation.

    Args:
        pred: the predictions.
        task: ``"expr"``, ``"va"`` or ``"both"``.
        class_names: class order of ``probs``.
        va_classes: ``(N,)`` classes derived from predicted V/A (VA-only models, :class:`graphemo.models.VAToClass`),
            scored as ``va2class_*``.
        clip_labels: see :func:`clip_predictions`.
        clip_metrics: add ``clip_f1``, ``clip_uar``, ``clip_war`` (over the videos, each the mean of its frames'
            probabilities) and ``clip_confusion``.

    Returns:
        Flat ``{name: float}`` metrics plus ``"confusion"`` (C, C) and ``"per_class"`` when classes are scored;
        ``"score"`` is the headline: F1 (expr), mean CCC (va), their mean (both).
    """
    out: dict = {}
    if task in ("expr", "both") and pred.probs is not None:
        cls = classification_metrics(pred.y, pred.probs.argmax(axis=1), class_names)
        out.update({k: v for k, v in cls.items() if k != "n"})
        if clip_metrics and cls.get("n"):
            _, y_true, y_pred = clip_predictions(pred, clip_labels)
            clip = classification_metrics(y_true, y_pred, class_names)
            if clip.get("n"):
                out.update(clip_f1=clip["f1"], clip_uar=clip["uar"], clip_war=clip["accuracy"], clip_n=clip["n"],
                           clip_confusion=clip["confusion"])  # fmt: skip
    if task in ("va", "both") and pred.va_pred is not None:
        out.update({k: v for k, v in va_metrics(pred.va, pred.va_pred).items() if k != "n"})
    if va_classes is not None:
        derived = classification_metrics(pred.y, va_classes, class_names)
        if derived.get("n"):
            out.update(va2class_f1=derived["f1"], va2class_accuracy=derived["accuracy"])
            out.setdefault("confusion", derived["confusion"])
            out.setdefault("per_class", derived["per_class"])
    if "f1" in out and "ccc_mean" in out:
        out["abaw_mtl"] = out["ccc_mean"] + out["f1"]
    out["score"] = headline_score(out, task)
    return out


def headline_score(metrics: dict, task: str) -> float:
    """The number model selection and early stopping maximise: F1, mean CCC, or their mean for ``both``."""
    f1, va = metrics.get("f1", np.nan), metrics.get("ccc_mean", np.nan)
    if task == "expr":
        return float(f1)
    if task == "va":
        return float(va)
    return float(np.nanmean([f1, va])) if np.isfinite([f1, va]).any() else float("nan")
