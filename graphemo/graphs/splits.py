"""Train/validation/test splits by video, never by frame, and cross-validation folds by group.

Frames of one video are near-duplicates; putting some in training and others in validation measures
memory, not recognition. Every split here assigns whole videos. Official splits (ABAW's Train_Set /
Validation_Set folders, DFEW's folds, a ``split`` column in a CSV) are used when the store has them; the
parts a dataset does not define (e.g. DFEW has no validation set) are drawn from its training videos with
a seeded, label-stratified split.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from graphemo.specs import SpecError, check_spec, option
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


# --- cross-validation -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CVSpec:
    """K-fold cross-validation over groups of videos (the ``cv:`` section of an experiment): every fold a run.

    Attributes:
        folds: how many folds.
        group_by: a video attribute (a label CSV's column: ``content``, ``actor``...), ``clip`` or ``video``: videos
            that share it are always on the same side. Videos of one ``clip`` (the cameras of a motion-capture
            clip) are always kept together, whatever the grouping.
        seed: seed of the fold assignment (folds are stratified by label as far as the groups allow).
        val_ratio: fraction of the training groups held out for validation (at least one group); 0 validates on
            the held-out fold itself (then select the last epoch: ``train.select: last``).
        fold: run only this fold (1..folds); the runner sets it for each fold's run.
    """

    SECTION: ClassVar[str] = "cv"

    folds: int = option(3, min=2, max=100)
    group_by: str = "clip"
    seed: int = 0
    val_ratio: float = option(0.2, min=0.0, max=0.9)
    fold: int | None = option(None, min=1)

    def __post_init__(self) -> None:
        check_spec(self)
        if self.fold is not None and self.fold > self.folds:
            raise SpecError(("cv", "fold"), f"{self.fold} is more than folds={self.folds}")


def video_groups(store: PreparedStore, videos: np.ndarray, group_by: str) -> np.ndarray:
    """``(len(videos),)`` the group of each video, every video of a clip in its clip's group.

    Raises:
        ValueError: ``group_by`` is no attribute of the videos, or one clip's videos are in two groups.
    """
    records = [store.videos[int(i)] for i in videos]
    if group_by not in ("video", "clip") and not all(group_by in r.attributes for r in records):
        known = sorted({k for r in records for k in r.attributes}) or ["none"]
        raise ValueError(f"cv.group_by: the videos have no attribute {group_by!r} (they have: {', '.join(known)}; "
                         "attributes are the label CSV's other columns)")  # fmt: skip
    groups, of_clip = [], {}
    for r in records:
        clip = r.attributes.get("clip", r.video_id)
        group = clip if group_by in ("video", "clip") else r.attributes[group_by]
        if of_clip.setdefault(clip, group) != group:
            raise ValueError(f"cv.group_by: clip {clip!r} has videos in the {group_by} groups {of_clip[clip]!r} and "
                             f"{group!r}; a clip's videos must stay together")  # fmt: skip
        groups.append(group)
    return np.array(groups, dtype=object)


def cv_split(store: PreparedStore, spec: CVSpec) -> dict[str, np.ndarray]:
    """The train / val / test videos of fold ``spec.fold`` (1-based): the fold's groups are the test set, a
    seeded ``val_ratio`` of the other groups the validation set, the rest the training set.

    Raises:
        ValueError: ``spec.fold`` is not set, fewer groups than folds, or a bad grouping (:func:`video_groups`).
    """
    from sklearn.model_selection import StratifiedGroupKFold

    if spec.fold is None:
        raise ValueError("cv.fold: which fold to split is not set (the runner sets it for each fold's run)")
    usable = np.array([i for i, v in enumerate(store.videos) if v.status == "ok"], dtype=np.int64)
    groups = video_groups(store, usable, spec.group_by)
    names, group_index = np.unique(groups, return_inverse=True)
    if len(names) < spec.folds:
        raise ValueError(f"cv.folds: {spec.folds} folds need at least {spec.folds} {spec.group_by} groups, "
                         f"the store has {len(names)}")  # fmt: skip
    labels = dominant_labels(store)[usable]
    splitter = StratifiedGroupKFold(n_splits=spec.folds, shuffle=True, random_state=spec.seed)
    with warnings.catch_warnings():  # a class in fewer groups than folds: stratified as far as it goes
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        folds = list(splitter.split(usable, labels, group_index))
    rest, test = folds[spec.fold - 1]
    val = np.zeros(0, dtype=np.int64)
    if spec.val_ratio > 0:
        train_groups = np.unique(group_index[rest])
        rng = np.random.default_rng([spec.seed, spec.fold])
        count = max(1, round(spec.val_ratio * len(train_groups)))
        held = rng.choice(train_groups, size=min(count, len(train_groups) - 1), replace=False)
        in_val = np.isin(group_index[rest], held)
        rest, val = rest[~in_val], rest[in_val]
    else:
        val = test
    out = {"train": usable[rest], "val": usable[val], "test": usable[test]}
    return {name: np.sort(idx).astype(np.int64) for name, idx in out.items()}
