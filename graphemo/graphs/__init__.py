"""Keypoints -> graphs: the prepared store, normalisation, augmentation, splits, PyG datasets, renderer.

Names are imported lazily so that ``graphemo prepare`` does not pay for importing torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "PreparedStore": "graphemo.graphs.store",
    "LabelSpec": "graphemo.graphs.store",
    "PrepareOptions": "graphemo.graphs.store",
    "prepare_dataset": "graphemo.graphs.store",
    "normalize_pose": "graphemo.graphs.normalize",
    "Augment": "graphemo.graphs.augment",
    "split_videos": "graphemo.graphs.splits",
    "FeatureSpec": "graphemo.graphs.dataset",
    "SkeletonFrames": "graphemo.graphs.dataset",
    "SkeletonWindows": "graphemo.graphs.dataset",
    "SkeletonImages": "graphemo.graphs.dataset",
    "anchor_frames": "graphemo.graphs.dataset",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'graphemo.graphs' has no attribute {name!r}")
