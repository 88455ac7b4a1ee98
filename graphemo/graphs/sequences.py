"""Whole videos as sequences: one sample per video, for sequence models and analysis outside graphemo's trainer.

A sample is a PyG ``Data`` whose "nodes" are the video's frames::

    Data(x=[T, V, F], y=[T], va=[T, 2], present=[T], video=[1], video_id="00001", num_nodes=T)

``x`` holds the main person's normalised features of every frame (by default with one centre and scale for the whole
video, the median of its frames', so the motion of the body stays in, as windows keep it; ``per="frame"`` normalises
each frame alone, as frame graphs do; a frame with nobody is all zeros, ``present`` False), ``y`` the per-frame
class (-1 unannotated), ``va`` the per-frame valence/arousal (NaN unannotated). Batched by PyG (or
:func:`~graphemo.graphs.dataset.collate`), the frames of the videos are concatenated: ``x [sum T, V, F]`` and
``batch [sum T]`` the video of each frame, as PyG batches graphs of different sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.data import Dataset as PygDataset

from graphemo.graphs.dataset import open_parts
from graphemo.graphs.features import FeatureSpec
from graphemo.graphs.normalize import normalize_pose
from graphemo.store import PreparedStore


class SkeletonSequences(PygDataset):
    """One normalised ``(T, V, F)`` sequence with per-frame labels per video (module docstring).

    Args:
        store: a :class:`PreparedStore` or its path.
        videos: video indices (e.g. ``split_videos(store)["train"]``); default every video whose status is ``ok``.
        features: normalisation and channels (:class:`FeatureSpec`).
        parts: the parts of the store's skeleton to keep (:func:`graphemo.skeleton.select_parts`); default all.
        per: normalise over the whole video (``"sequence"``) or each frame alone (``"frame"``).
        transform: a function ``Data -> Data`` applied to every sample as it is read (PyG's convention).
    """

    def __init__(
        self,
        store: PreparedStore | str,
        *,
        videos: np.ndarray | Sequence[int] | None = None,
        features: FeatureSpec | None = None,
        parts: Sequence[str] | None = None,
        per: Literal["frame", "sequence"] = "sequence",
        transform: Callable[[Data], Data] | None = None,
    ) -> None:
        super().__init__(None, transform=transform, log=False)
        self.store, self.layout, self.joints = open_parts(store, parts)
        self.features = features or FeatureSpec()
        if per not in ("frame", "sequence"):
            raise ValueError(f"per must be 'frame' or 'sequence', got {per!r}")
        self.per = per
        if videos is None:
            videos = [i for i, v in enumerate(self.store.videos) if v.status == "ok"]
        self.video_indices = np.asarray(videos, dtype=np.int64)

    def len(self) -> int:
        return len(self.video_indices)

    @property
    def in_channels(self) -> int:
        return self.features.channels

    def get(self, idx: int) -> Data:
        video = int(self.video_indices[idx])
        record = self.store.videos[video]
        keypoints = np.asarray(self.store.keypoints[record.frames, 0])  # (T, V_store, 3), the main person
        if self.joints is not None:
            keypoints = keypoints[:, self.joints]
        pose = normalize_pose(keypoints, self.layout, center=self.features.center, scale=self.features.scale,
                              per=self.per)  # fmt: skip
        x = torch.from_numpy(self.features.encode(pose))
        return Data(
            x=x,
            y=torch.from_numpy(self.store.expr[record.frames].astype(np.int64)),
            va=torch.from_numpy(np.array(self.store.va[record.frames], dtype=np.float32)),
            present=torch.from_numpy(np.array(self.store.present[record.frames], dtype=bool)),
            video=torch.tensor([video], dtype=torch.long),
            video_id=record.video_id,
            num_nodes=record.length,
        )
