"""Train/validation/test splits by video, never by frame.

Frames of one video are near-duplicates; putting some in training and others in validation measures
memory, not recognition. Every split here assigns whole videos. Official splits (ABAW's Train_Set /
Validation_Set folders, DFEW's folds, a ``split`` column in a CSV) are used when the store has them; the
parts a dataset does not define (e.g. DFEW has no validation set) are drawn from its training videos with
a seeded, label-stratified split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from graphemo.specs import check_spec, option
from graphemo.store import PreparedStore

SPLIT_NAMES = ("train", "val", "test")


def dominant_labels(store: PreparedStore) -> np.ndarray:
    """``(num_videos,)`` int64: each video's most frequent annotated class (its clip label if any), -1 if none."""
    out = np.full(len(store.videos), -1, dtype=np.int64)
    for i, v in enumerate(store.videos):
        if v.clip_label >= 0:
            out[i] = v.clip_label
            continue
        labels = store.expr[v.frames]
        labels = labels[labels >= 0]
        if len(labels):
            out[i] = int(np.bincount(labels).argmax())
    return out


def _seeded_split(videos: np.ndarray, strata: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``videos`` into ``(rest, held_out)`` with about ``fraction`` held out, stratified when possible."""
    from sklearn.model_selection import train_test_split

    if fraction <= 0 or len(videos) < 2:
        return videos, videos[:0]
    n_held = max(1, round(fraction * len(videos)))
    _, counts = np.unique(strata, return_counts=True)
    stratify = strata if counts.min() >= 2 and n_held >= len(counts) else None
    rest, held = train_test_split(videos, test_size=n_held, random_state=seed, stratify=stratify)
    return np.sort(rest), np.sort(held)


@dataclass(frozen=True)
class SplitSpec:
    """How videos are split (the ``data.split`` section): official splits first, the rest seeded and stratified.

    Attributes:
        val_ratio: fraction of the training videos held out for validation when the dataset has no official
            validation set.
        test_ratio: fraction held out for testing when the dataset has no official test set (0: none).
        seed: seed of the random part.
        official: use the store's official splits where present.
        validate_on: ``"test"`` validates on the test list (DFEW has train/test folds only).
    """

    SECTION: ClassVar[str] = "data.split"

    val_ratio: float = option(0.2, min=0.0, max=0.9)
    test_ratio: float = option(0.0, min=0.0, max=0.9)
    seed: int = 0
    official: bool = True
    validate_on: Literal["val", "test"] = "val"

    def __post_init__(self) -> None:
        check_spec(self)


def split_videos(store: PreparedStore, spec: SplitSpec | None = None, **fields: Any) -> dict[str, np.ndarray]:
    """Assign every usable video of ``store`` to train, val or test.

    Args:
        store: the prepared store.
        spec: the :class:`SplitSpec`; or give its fields (``val_ratio=0.2, seed=0``) as keyword arguments.

    Returns:
        ``{"train": idx, "val": idx, "test": idx}``, sorted int64 video indices, pairwise disjoint. Videos
        that are unreadable or whose labels are unusable are in none of them. With ``validate_on="test"`` the
        test list is returned as ``val`` (and ``test`` is empty).
    """
    if spec is not None and fields:
        raise TypeError(f"give spec= or its fields {sorted(fields)}, not both")
    spec = spec or SplitSpec(**fields)
    val_ratio, test_ratio, seed, official = spec.val_ratio, spec.test_ratio, spec.seed, spec.official
    usable = np.array([i for i, v in enumerate(store.videos) if v.status in ("ok", "unlabelled")], dtype=np.int64)
    given = np.array([(store.videos[i].split if official else None) or "" for i in usable])
    strata = dominant_labels(store)
    out = {name: usable[given == name] for name in SPLIT_NAMES}
    # Official training videos and videos without an official split are the candidates for training.
    candidates = np.sort(np.concatenate([out["train"], usable[~np.isin(given, SPLIT_NAMES)]]))
    if not len(out["test"]) and test_ratio > 0:
        candidates, out["test"] = _seeded_split(candidates, strata[candidates], test_ratio, seed)
    if not len(out["val"]) and val_ratio > 0:
        candidates, out["val"] = _seeded_split(candidates, strata[candidates], val_ratio, seed + 1)
    out["train"] = candidates
    if spec.validate_on == "test":
        out["val"], out["test"] = out["test"], np.empty(0, np.int64)
    return {name: np.sort(idx).astype(np.int64) for name, idx in out.items()}
