"""Keypoints -> graphs: the prepared store, normalisation, augmentation, splits, PyG datasets, renderer.

Names are imported lazily so that ``graphemo prepare`` does not pay for importing torch.
"""

from __future__ import annotations

from graphemo.lazy import lazy_getattr

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

__getattr__ = lazy_getattr(__name__, _EXPORTS)
