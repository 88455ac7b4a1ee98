"""Keypoints -> model inputs: normalisation, features, augmentation, splits, the input kinds and their PyG
datasets (frame graphs, windows, rendered images), the renderer.

Names are imported lazily so that commands that never train do not pay for importing torch.
"""

from __future__ import annotations

from graphemo.lazy import lazy_getattr

_EXPORTS = {
    "PreparedStore": "graphemo.store",
    "normalize_pose": "graphemo.graphs.normalize",
    "FeatureSpec": "graphemo.graphs.features",
    "Augment": "graphemo.graphs.augment",
    "SplitSpec": "graphemo.graphs.splits",
    "split_videos": "graphemo.graphs.splits",
    "InputKind": "graphemo.graphs.kinds",
    "input_kind": "graphemo.graphs.kinds",
    "register_input_kind": "graphemo.graphs.kinds",
    "anchor_frames": "graphemo.graphs.dataset",
    "SkeletonFrames": "graphemo.graphs.dataset",
    "collate": "graphemo.graphs.dataset",
    "SkeletonSequences": "graphemo.graphs.sequences",
    "WindowSpec": "graphemo.graphs.windows",
    "SkeletonWindows": "graphemo.graphs.windows",
    "ImageSpec": "graphemo.graphs.images",
    "SkeletonImages": "graphemo.graphs.images",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
