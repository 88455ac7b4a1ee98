"""PyTorch Geometric datasets over a prepared store: per-frame graphs, spatio-temporal windows, images.

Every sample is anchored on one frame of one video (a frame where the main person is present and, for
training, the task's label is annotated). The three views of an anchor:

* :class:`SkeletonFrames` - the joint graph of the anchor frame: ``Data(x=[V, F], edge_index=[2, E],
  y=[1], va=[1, 2], video=[1], frame=[1])``, batched by PyG's ``DataLoader`` into one big graph.
* :class:`SkeletonWindows` - ``T`` frames around (or ending at) the anchor: ``x`` of shape ``(C, T, V, M)``,
  stacked by the same ``DataLoader`` into ``(N, C, T, V, M)``; the skeleton is ``dataset.edge_index``.
* :class:`SkeletonImages` - the anchor frame drawn OpenPose-style: ``x`` of shape ``(3, H, W)``.

Labels: ``y`` is the class in graphemo's order (-1 = unannotated), ``va`` is valence/arousal (NaN =
unannotated); the trainer masks what is missing. Features are the normalised ``x, y`` plus, optionally, the
confidence and a 0/1 joint mask (:class:`FeatureSpec`). Missing joints are ``(0, 0)`` with confidence 0.

Ten-line use::

    from torch_geometric.loader import DataLoader
    from graphemo.graphs import PreparedStore, SkeletonFrames, split_videos

    store = PreparedStore("data/store")
    splits = split_videos(store, val_ratio=0.2, seed=0)
    train = SkeletonFrames(store, videos=splits["train"], task="expr")
    for batch in DataLoader(train, batch_size=64, shuffle=True):
        ...  # batch.x [64*V, F], batch.edge_index, batch.batch, batch.y [64], batch.va [64, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.data import Dataset as PygDataset

from graphemo.graphs.augment import Augment
from graphemo.graphs.normalize import Center, Scale, normalize_pose
from graphemo.graphs.store import PreparedStore
from graphemo.skeleton import Layout
from graphemo.skeleton.layouts import select_parts

Task = Literal["expr", "va", "both"]
TASKS = ("expr", "va", "both")


@dataclass
class FeatureSpec:
    """What each joint carries.

    Attributes:
        center, scale: normalisation (see :func:`graphemo.graphs.normalize.normalize_pose`).
        confidence: add OpenPose's confidence as a channel.
        mask: add a 0/1 "joint detected" channel.
    """

    center: Center = "neck"
    scale: Scale = "shoulders"
    confidence: bool = True
    mask: bool = False

    @property
    def channels(self) -> int:
        """Number of feature channels per joint: 2 + confidence + mask."""
        return 2 + int(self.confidence) + int(self.mask)

    def encode(self, pose: np.ndarray) -> np.ndarray:
        """Normalised ``(..., V, 3)`` pose -> ``(..., V, channels)`` float32 features."""
        parts = [pose[..., :2]]
        if self.confidence:
            parts.append(pose[..., 2:3])
        if self.mask:
            parts.append((pose[..., 2:3] > 0).astype(np.float32))
        return np.concatenate(parts, axis=-1).astype(np.float32, copy=False)


PoseTransform = Callable[[np.ndarray], np.ndarray]


# --- one model input from raw keypoints (shared by the datasets and graphemo.inference) ----------------


def frame_input(
    keypoints: np.ndarray, layout: Layout, features: FeatureSpec, transform: PoseTransform | None = None
) -> np.ndarray:
    """One frame's graph features: raw ``(V, 3)`` keypoints -> normalised (then ``transform``-ed) ``(V, F)`` float32.

    ``transform`` acts on the normalised pose (training augmentation); ``None`` for evaluation and inference.
    """
    pose = normalize_pose(np.asarray(keypoints), layout, center=features.center, scale=features.scale)
    if transform is not None:
        pose = transform(pose)
    return features.encode(pose)


def window_offsets(length: int, stride: int = 1, anchor: Literal["center", "end"] = "center") -> np.ndarray:
    """Frame offsets ``(T,)`` int64 of a window from its anchor frame: centred on it, or ending at it (causal)."""
    if length < 1 or stride < 1:
        raise ValueError(f"window length and stride must be >= 1, got {length}, {stride}")
    if anchor not in ("center", "end"):
        raise ValueError(f"anchor must be 'center' or 'end', got {anchor!r}")
    first = -(length // 2) if anchor == "center" else -(length - 1)
    return (np.arange(length) + first) * stride


def window_keypoints(video: np.ndarray, frame: int, offsets: np.ndarray) -> np.ndarray:
    """Raw keypoints ``(T, M, V, 3)`` of the window at local ``frame`` of a video's ``(N, M, V, 3)`` keypoints.

    Frames beyond the video's ends are empty (NaN coordinates, confidence 0). Only the ``T`` frames are read,
    so ``video`` may be a memory-mapped slice.
    """
    local = frame + offsets
    inside = (local >= 0) & (local < len(video))
    kp = np.array(video[np.clip(local, 0, len(video) - 1)], dtype=np.float32)
    kp[~inside, ..., :2] = np.nan
    kp[~inside, ..., 2] = 0.0
    return kp


def window_input(
    keypoints: np.ndarray, layout: Layout, features: FeatureSpec, transform: PoseTransform | None = None
) -> np.ndarray:
    """One window's features: raw ``(T, M, V, 3)`` -> ``(C, T, V, M)`` float32, normalised per person over the
    window (``per="sequence"``), then ``transform``-ed."""
    pose = normalize_pose(np.asarray(keypoints), layout, center=features.center, scale=features.scale, per="sequence")
    if transform is not None:
        pose = transform(pose)
    return np.ascontiguousarray(features.encode(pose).transpose(3, 0, 2, 1))


def image_input(
    keypoints: np.ndarray,
    layout: Layout,
    features: FeatureSpec,
    size: int = 224,
    transform: PoseTransform | None = None,
) -> torch.Tensor:
    """One frame drawn as a skeleton image: raw ``(V, 3)`` -> ``(3, size, size)`` float tensor (ImageNet-normalised).

    Only the normalisation of ``features`` (centre, scale) applies; the image has no confidence channels.
    """
    from graphemo.graphs.render import image_tensor, render_skeleton

    pose = normalize_pose(np.asarray(keypoints), layout, center=features.center, scale=features.scale)
    if transform is not None:
        pose = transform(pose)
    return image_tensor(render_skeleton(pose, layout, size=size))


class StackedData(Data):
    """A ``Data`` whose ``x`` is stacked (new batch dimension) instead of concatenated along nodes."""

    def __cat_dim__(self, key: str, value: object, *args: object, **kwargs: object) -> int | None:
        if key == "x":
            return None
        return super().__cat_dim__(key, value, *args, **kwargs)


def anchor_frames(
    store: PreparedStore, videos: np.ndarray | None = None, task: Task | None = "expr", frames: np.ndarray | None = None
) -> np.ndarray:
    """Global indices of the frames that can anchor a sample.

    Args:
        store: the prepared store.
        videos: video indices to draw from (default: every video whose status is ``ok``).
        task: keep frames annotated for ``"expr"``, ``"va"``, ``"both"`` (either kind) or ``None`` (all frames
            with a person, e.g. for prediction).
        frames: optional global frame indices to restrict to (e.g. the output of frame subsampling).

    Returns:
        Sorted ``(K,)`` int64 global frame indices.
    """
    if videos is None:
        videos = np.array([i for i, v in enumerate(store.videos) if v.status == "ok"], dtype=np.int64)
    eligible = np.zeros(store.num_frames, dtype=bool)
    for i in videos:
        eligible[store.videos[int(i)].frames] = True
    eligible &= store.present
    has_expr = store.expr >= 0
    has_va = np.isfinite(store.va).all(axis=1)
    if task == "expr":
        eligible &= has_expr
    elif task == "va":
        eligible &= has_va
    elif task == "both":
        eligible &= has_expr | has_va
    elif task is not None:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}")
    if frames is not None:
        chosen = np.zeros_like(eligible)
        chosen[np.asarray(frames, dtype=np.int64)] = True
        eligible &= chosen
    return np.flatnonzero(eligible).astype(np.int64)


class _AnchoredDataset(PygDataset):
    """Shared machinery: anchors, labels, normalisation, augmentation."""

    input_kind: str = ""

    def __init__(
        self,
        store: PreparedStore | str,
        *,
        videos: np.ndarray | None = None,
        task: Task | None = "expr",
        features: FeatureSpec | None = None,
        augment: Augment | None = None,
        frames: np.ndarray | None = None,
        parts: Sequence[str] | None = None,
    ) -> None:
        super().__init__(None, log=False)
        self.store = store if isinstance(store, PreparedStore) else PreparedStore(store)
        self.layout, self.joints = self.store.layout, None
        if parts is not None:
            self.layout, self.joints = select_parts(self.store.layout, parts)
        self.task = task
        self.features = features or FeatureSpec()
        self.augment = augment
        self.anchors = anchor_frames(self.store, videos, task, frames)
        video_of_frame = self.store.video_of_frame()
        self.anchor_videos = video_of_frame[self.anchors]
        self.edge_index = self.layout.edge_index()

    def len(self) -> int:
        return len(self.anchors)

    def _select(self, keypoints: np.ndarray) -> np.ndarray:
        """Keypoints ``(..., V_store, 3)`` -> ``(..., V, 3)`` of the dataset's ``parts``."""
        return keypoints if self.joints is None else keypoints[..., self.joints, :]

    @property
    def in_channels(self) -> int:
        return self.features.channels

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        """``(y (K,) int64, va (K, 2) float32)`` of every anchor, without building samples."""
        return self.store.expr[self.anchors].astype(np.int64), self.store.va[self.anchors]

    def _rng(self) -> np.random.Generator:
        # Seeded from torch so that torch.manual_seed and DataLoader worker seeding make runs repeatable.
        return np.random.default_rng(int(torch.randint(0, 2**62, ())))

    def _targets(self, i: int) -> dict[str, torch.Tensor]:
        """Labels and provenance of anchor ``i``: ``y [1]``, ``va [1, 2]``, ``video [1]``, ``frame [1]``."""
        frame = int(self.anchors[i])
        return {
            "y": torch.tensor([int(self.store.expr[frame])], dtype=torch.long),
            "va": torch.from_numpy(np.array(self.store.va[frame], dtype=np.float32)).view(1, 2),
            "video": torch.tensor([int(self.anchor_videos[i])], dtype=torch.long),
            "frame": torch.tensor([frame], dtype=torch.long),
        }

    def _transform(self) -> PoseTransform | None:
        """The training augmentation as a pose transform (one random draw per sample), or None."""
        if self.augment is None:
            return None
        augment, layout, rng = self.augment, self.layout, self._rng()
        return lambda pose: augment(pose, layout, rng)


class SkeletonFrames(_AnchoredDataset):
    """Per-frame joint graphs: ``Data(x=[V, F], edge_index=[2, E], y=[1], va=[1, 2], video=[1], frame=[1])``.

    Args:
        store: a :class:`PreparedStore` or its path.
        videos: video indices (e.g. ``split_videos(store)["train"]``); default all usable videos.
        task: which annotation a frame needs to be a sample (``"expr"``, ``"va"``, ``"both"``, ``None``).
        features: normalisation and channels (:class:`FeatureSpec`).
        augment: training augmentation (:class:`Augment`), None for evaluation.
        frames: restrict anchors to these global frame indices (e.g. from frame subsampling).
        parts: the parts of the store's skeleton to keep, e.g. ``["body", "face"]`` of a whole-body store
            (:func:`graphemo.skeleton.select_parts`); default all.
    """

    input_kind = "graph"

    def get(self, idx: int) -> Data:
        keypoints = self._select(self.store.keypoints[int(self.anchors[idx]), 0])
        x = torch.from_numpy(frame_input(keypoints, self.layout, self.features, self._transform()))
        return Data(x=x, edge_index=self.edge_index, **self._targets(idx))


class SkeletonWindows(_AnchoredDataset):
    """Spatio-temporal windows: ``x`` of shape ``(C, T, V, M)`` around each anchor frame.

    The window holds ``length`` frames spaced ``stride`` apart, centred on the anchor (``anchor="center"``)
    or ending at it (``anchor="end"``, causal, as in live prediction). Frames beyond the video's ends are
    empty (all joints missing). Poses are normalised per person over the window (``per="sequence"``), so
    whole-body motion inside the window is kept. Labels are those of the anchor frame.

    Extra args (see :class:`SkeletonFrames` for the rest):
        length: ``T``; stride: frame step; anchor: ``"center"`` or ``"end"``; persons: ``M`` (at most the
        store's slots).
    """

    input_kind = "window"

    def __init__(
        self,
        store: PreparedStore | str,
        *,
        length: int = 32,
        stride: int = 1,
        anchor: Literal["center", "end"] = "center",
        persons: int = 1,
        **kwargs,
    ) -> None:
        super().__init__(store, **kwargs)
        self.offsets = window_offsets(length, stride, anchor)
        if not 1 <= persons <= self.store.keypoints.shape[1]:
            raise ValueError(f"persons={persons} but the store has {self.store.keypoints.shape[1]} person slot(s)")
        self.length, self.stride, self.anchor, self.persons = length, stride, anchor, persons

    def window(self, frame: int, video: int) -> np.ndarray:
        """Raw keypoints ``(T, M, V, 3)`` of the window anchored at global ``frame`` of ``video``."""
        record = self.store.videos[video]
        video_keypoints = self.store.keypoints[record.frames, : self.persons]
        return self._select(window_keypoints(video_keypoints, frame - record.start, self.offsets))

    def get(self, idx: int) -> StackedData:
        frame, video = int(self.anchors[idx]), int(self.anchor_videos[idx])
        x = window_input(self.window(frame, video), self.layout, self.features, self._transform())
        return StackedData(x=torch.from_numpy(x), num_nodes=1, **self._targets(idx))


class SkeletonImages(_AnchoredDataset):
    """The anchor frame drawn as an OpenPose-style skeleton image: ``x`` of shape ``(3, size, size)``,
    normalised with ImageNet's mean and std (for torchvision CNNs).

    Extra args: size: image side in pixels (default 224).
    """

    input_kind = "image"

    def __init__(self, store: PreparedStore | str, *, size: int = 224, **kwargs) -> None:
        super().__init__(store, **kwargs)
        self.size = size

    @property
    def in_channels(self) -> int:
        return 3

    def get(self, idx: int) -> StackedData:
        keypoints = self._select(self.store.keypoints[int(self.anchors[idx]), 0])
        x = image_input(keypoints, self.layout, self.features, self.size, self._transform())
        return StackedData(x=x, num_nodes=1, **self._targets(idx))


DATASETS = {cls.input_kind: cls for cls in (SkeletonFrames, SkeletonWindows, SkeletonImages)}
