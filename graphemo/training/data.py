"""From a config's ``data:`` section to the store, the video-level splits and the datasets a model needs.

Two stages. :func:`make_store` produces the store before any run trains (the runner calls it, visibly, once per
distinct data section): it generates data (``data.synth``) and prepares keypoints (``data.keypoints``) when
asked, else opens ``data.store``. :func:`build_training_data` then splits the store's videos and builds the
datasets of the model's input kind (:func:`graphemo.models.model_input_kind`). Only the training set is
augmented and (with a ``subsample:`` section) subsampled; validation and test are scored on all their annotated
frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphemo.graphs.kinds import InputKind
from graphemo.store import PreparedStore
from graphemo.training.config import DataConfig, ExperimentConfig


def make_store(data: DataConfig, *, progress: bool = True, log: Callable[[str], None] = print) -> PreparedStore:
    """Generate (``data.synth``), import (``data.mocap``) and prepare (``data.keypoints``) what is missing, then
    open the store.

    Generation is skipped when ``synth.out`` already holds a generated dataset; preparation reuses the store
    instantly when its inputs are unchanged (see :func:`graphemo.store.prepare_dataset`). Each step says what it
    did in one line through ``log``.

    Raises:
        FileNotFoundError: no keypoints to prepare and no store at ``data.store``.
    """
    import time

    from graphemo.store import prepare_dataset

    if data.synth is not None:
        if data.synth.exists:
            log(f"data: {data.synth.out} holds a generated dataset; not generating it again")
        else:
            started = time.perf_counter()
            summary = data.synth.generate(progress=progress)
            log(f"data: generated {summary.num_videos} videos ({summary.num_frames:,} frames) into {data.synth.out} "
                f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    if data.mocap is not None:
        from graphemo.sources.mocap.importer import import_to_store

        before = _fingerprint(data.store)
        started = time.perf_counter()
        store = import_to_store(data.mocap, data.store, log=log)
        if before == store.meta.get("fingerprint"):
            log(f"data: store {data.store} reused (BVH files and import options unchanged): {store.num_frames:,} "
                f"frames, {len(store)} videos, {time.perf_counter() - started:.1f} s")  # fmt: skip
        return store
    if data.keypoints is None:
        if not (Path(data.store) / "meta.json").exists():
            raise FileNotFoundError(f"data.store {data.store} is not a prepared store and data.keypoints is not set")
        store = PreparedStore(data.store)
        log(f"data: store {data.store} ({store.num_frames:,} frames, {len(store)} videos)")
        return store
    started = time.perf_counter()
    before = _fingerprint(data.store)
    store = prepare_dataset(data.keypoints, data.store, labels=data.labels, options=data.prepare, progress=progress)
    reused = before is not None and before == store.meta.get("fingerprint")
    what = "reused (inputs unchanged)" if reused else "prepared"
    log(f"data: store {data.store} {what}: {store.num_frames:,} frames, {len(store)} videos, "
        f"{store.summary['problems']} problem(s), {time.perf_counter() - started:.1f} s")  # fmt: skip
    return store


def _fingerprint(store: str) -> str | None:
    try:
        return PreparedStore(store).meta.get("fingerprint")
    except (OSError, ValueError, KeyError):
        return None


@dataclass
class TrainingData:
    """Everything a run needs from the data side.

    Attributes:
        layout: the :class:`~graphemo.skeleton.Layout` the model sees (the store's, or its ``data.parts``).
        store: the prepared store.
        splits: ``{"train", "val", "test"}`` -> sorted video indices (disjoint).
        train, val: datasets (``val`` is the split named by ``data.split.validate_on``); test: or None.
        kind: the model's :class:`~graphemo.graphs.kinds.InputKind`; options: its options (e.g. the window).
        in_channels: per-joint features (3 for images).
        class_names: the store's classes, in the order of its class indices (and of the model's logits).
        train_frames: the subsampled training anchor frames (None without subsampling).
        subsample_report: the redundancy report of that selection (None without).
        degenerate: the fraction of training poses whose scale collapses
            (:func:`~graphemo.graphs.normalize.degenerate_fraction`).
    """

    layout: Any
    store: PreparedStore
    splits: dict[str, np.ndarray]
    train: Any
    val: Any
    test: Any
    kind: InputKind
    options: Any
    in_channels: int
    class_names: list[str]
    train_frames: np.ndarray | None = None
    subsample_report: dict | None = None
    degenerate: float = 0.0

    def clip_labels(self) -> dict[int, int]:
        """Video index -> clip label (DFEW) for the videos that have one."""
        return {i: v.clip_label for i, v in enumerate(self.store.videos) if v.clip_label >= 0}

    def split_summary(self) -> dict[str, int]:
        """Videos and samples per split, for the run's tags and the summary."""
        out = {f"{k}_videos": len(v) for k, v in self.splits.items()}
        for name in ("train", "val", "test"):
            dataset = getattr(self, name)
            if dataset is not None:
                out[f"{name}_samples"] = len(dataset)
        return out


def build_training_data(config: ExperimentConfig, store: PreparedStore, *, progress: bool = False) -> TrainingData:
    """The splits and datasets of ``config`` over ``store``.

    Raises:
        ValueError: a split has no sample for the task (e.g. no labelled validation video).
    """
    from graphemo.graphs.normalize import degenerate_fraction
    from graphemo.graphs.splits import cv_split, split_videos
    from graphemo.labels.tasks import annotated
    from graphemo.models import model_input_kind

    d = config.data
    splits = cv_split(store, config.cv) if config.cv is not None else split_videos(store, d.split)
    kind = model_input_kind(config.model.name)
    options = kind.options_from_config(d)
    common: dict[str, Any] = {"options": options, "task": config.task, "features": d.features, "parts": d.parts}
    train_frames, report = None, None
    if config.subsample is not None and config.subsample.strategy != "none":
        from graphemo.subsampling import select_training_frames

        train_frames, report = select_training_frames(
            store, splits["train"], config.subsample, task=config.task, progress=progress
        )
    train = kind.dataset(store, videos=splits["train"], augment=d.augment, frames=train_frames, **common)
    scored = {**common, "task": None, "anchor_stride": d.eval_stride}  # every frame with a person: clips use them all
    val = kind.dataset(store, videos=splits["val"], **scored)
    test = kind.dataset(store, videos=splits["test"], **scored) if len(splits["test"]) else None
    for name, dataset in (("train", train), ("validation", val)):
        y, va = dataset.labels()
        if not annotated(y, va, config.task).any():
            raise ValueError(
                f"the {name} set has no frame annotated for task {config.task!r} "
                f"({len(splits['train' if name == 'train' else 'val'])} videos; store {store.path})"
            )
    poses = train._select(np.asarray(store.keypoints[train.anchors[:: max(1, len(train.anchors) // 5000)], 0]))
    degenerate = degenerate_fraction(poses, train.layout, d.features.center, d.features.scale)
    return TrainingData(
        layout=train.layout,
        store=store,
        splits=splits,
        train=train,
        val=val,
        test=test,
        kind=kind,
        options=options,
        in_channels=kind.in_channels(d.features),
        class_names=store.classes,
        train_frames=train_frames,
        subsample_report=report,
        degenerate=degenerate,
    )


def make_loader(
    dataset: Any,
    *,
    batch_size: int,
    train: bool,
    num_workers: int = 0,
    distributed: bool = False,
    seed: int = 0,
) -> Any:
    """A PyG ``DataLoader`` (it batches per-frame graphs into one big graph and stacks windows/images).

    Training loaders shuffle and drop a last incomplete batch (BatchNorm cannot train on one sample); under
    DDP each process gets its shard through a ``DistributedSampler``.
    """
    from torch.utils.data.distributed import DistributedSampler
    from torch_geometric.loader import DataLoader

    sampler = DistributedSampler(dataset, shuffle=train, seed=seed, drop_last=train) if distributed else None
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        drop_last=train and len(dataset) > batch_size,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
