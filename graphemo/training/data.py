"""From a config's ``data:`` section to the store, the video-level splits and the datasets a model needs.

The model declares its input (``graph``, ``window`` or ``image``, see :func:`graphemo.models.model_input_kind`)
and the matching dataset class of :mod:`graphemo.graphs.dataset` is built. Only the training set is augmented
and (with a ``subsample:`` section) subsampled; validation and test are scored on all their annotated frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from graphemo.graphs.store import PreparedStore
from graphemo.training.config import DataConfig, ExperimentConfig


def ensure_store(data: DataConfig, *, progress: bool = True) -> PreparedStore:
    """Generate (``data.synth``) and prepare (``data.keypoints``) what is missing, then open the store.

    Generation is skipped when ``synth.out`` already holds a generated dataset; preparation reuses the store
    instantly when its inputs are unchanged (see :func:`graphemo.graphs.store.prepare_dataset`).

    Raises:
        FileNotFoundError: no keypoints to prepare and no store at ``data.store``.
    """
    from graphemo.graphs.store import LabelSpec, PrepareOptions, prepare_dataset

    if data.synth is not None and not (Path(data.synth.out) / "synth.json").exists():
        from graphemo.keypoints.synth import generate_dataset

        s = data.synth
        generate_dataset(s.out, s.videos, s.seed, frames=(s.frames[0], s.frames[1]), fps=s.fps,
                         val_fraction=s.val_fraction, progress=progress)  # fmt: skip
    if data.keypoints is None:
        if not (Path(data.store) / "meta.json").exists():
            raise FileNotFoundError(f"data.store {data.store} is not a prepared store and data.keypoints is not set")
        return PreparedStore(data.store)
    labels = LabelSpec(**{k: getattr(data.labels, k) for k in LabelSpec.__dataclass_fields__})
    options = PrepareOptions(layout=data.layout, max_people=data.max_people, fps=data.fps)
    return prepare_dataset(data.keypoints, data.store, labels=labels, options=options, progress=progress)


@dataclass
class TrainingData:
    """Everything a run needs from the data side.

    Attributes:
        layout: the :class:`~graphemo.skeleton.Layout` the model sees (the store's, or its ``data.parts``).
        store: the prepared store.
        splits: ``{"train", "val", "test"}`` -> sorted video indices (disjoint).
        train, val: datasets (``val`` is the split named by ``data.split.validate_on``); test: or None.
        input_kind: ``graph`` | ``window`` | ``image``.
        in_channels: per-joint features (3 for images).
        class_names: the class order of the labels.
        train_frames: the subsampled training anchor frames (None without subsampling).
        subsample_report: the redundancy report of that selection (None without).
    """

    layout: Any
    store: PreparedStore
    splits: dict[str, np.ndarray]
    train: Any
    val: Any
    test: Any
    input_kind: str
    in_channels: int
    class_names: list[str]
    train_frames: np.ndarray | None = None
    subsample_report: dict | None = None

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
    from graphemo.graphs.augment import Augment
    from graphemo.graphs.dataset import DATASETS, FeatureSpec
    from graphemo.graphs.splits import split_videos
    from graphemo.labels import class_names
    from graphemo.models import model_input_kind

    d = config.data
    splits = split_videos(
        store, val_ratio=d.split.val_ratio, test_ratio=d.split.test_ratio, seed=d.split.seed, official=d.split.official
    )
    if d.split.validate_on == "test":  # DFEW has train/test folds only: validate on the fold's test list
        splits["val"], splits["test"] = splits["test"], np.empty(0, np.int64)
    kind = model_input_kind(config.model.name)
    features = FeatureSpec(**vars(d.features))
    common: dict[str, Any] = {"task": config.task, "features": features, "parts": d.parts}
    if kind == "window":
        common.update(length=d.window.length, stride=d.window.stride, anchor=d.window.anchor, persons=d.window.persons)
    elif kind == "image":
        common["size"] = d.image_size
    cls = DATASETS[kind]
    augment = None
    if d.augment.enabled:
        augment = Augment(**{k: v for k, v in vars(d.augment).items() if k != "enabled"})

    train_frames, report = None, None
    if config.subsample is not None and config.subsample.strategy != "none":
        from graphemo.subsampling import select_training_frames

        train_frames, report = select_training_frames(
            store, splits["train"], config.subsample, task=config.task, progress=progress
        )
    train = cls(store, videos=splits["train"], augment=augment, frames=train_frames, **common)
    val = cls(store, videos=splits["val"], **common)
    test = cls(store, videos=splits["test"], **common) if len(splits["test"]) else None
    for name, dataset in (("train", train), ("validation", val)):
        if len(dataset) == 0:
            raise ValueError(
                f"the {name} set has no frame annotated for task {config.task!r} "
                f"({len(splits['train' if name == 'train' else 'val'])} videos; store {store.path})"
            )
    return TrainingData(
        layout=train.layout,
        store=store,
        splits=splits,
        train=train,
        val=val,
        test=test,
        input_kind=kind,
        in_channels=3 if kind == "image" else features.channels,
        class_names=list(class_names(d.labels.keep_other)),
        train_frames=train_frames,
        subsample_report=report,
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


def model_inputs(batch: Any, input_kind: str) -> tuple:
    """The positional arguments of the model's ``forward`` for a batch of ``input_kind``."""
    if input_kind == "graph":
        return batch.x, batch.edge_index, batch.batch
    return (batch.x,)
