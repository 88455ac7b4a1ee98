"""PyTorch Geometric datasets over a prepared store: the shared machinery, and per-frame joint graphs.

Every sample is anchored on one frame of one video (a frame where the main person is present and, for
training, the task's label is annotated). Three views of an anchor, one module and input kind each:

* :class:`SkeletonFrames` (here, kind ``graph``) - the joint graph of the anchor frame:
  ``Data(x=[V, F], edge_index=[2, E], y=[1], va=[1, 2], video=[1], frame=[1])``, batched by PyG's
  ``DataLoader`` into one big graph.
* :class:`~graphemo.graphs.windows.SkeletonWindows` (kind ``window``) - ``T`` frames around (or ending at) the
  anchor: ``x`` of shape ``(C, T, V, M)``, stacked into ``(N, C, T, V, M)``.
* :class:`~graphemo.graphs.images.SkeletonImages` (kind ``image``) - the anchor frame drawn OpenPose-style:
  ``x`` of shape ``(3, H, W)``.

Labels: ``y`` is the class in graphemo's order (-1 = unannotated), ``va`` is valence/arousal (NaN =
unannotated); the trainer masks what is missing. Features are the normalised ``x, y`` plus, optionally, the
confidence and a 0/1 joint mask (:class:`~graphemo.graphs.features.FeatureSpec`). Missing joints are ``(0, 0)``
with confidence 0.

Outside graphemo's trainer, use PyG's ``DataLoader`` or a plain torch one with ``collate_fn=``:func:`collate`;
:class:`~graphemo.graphs.sequences.SkeletonSequences` gives whole videos instead of anchored samples.

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
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.data import Dataset as PygDataset

from graphemo.graphs.augment import Augment
from graphemo.graphs.features import FeatureSpec
from graphemo.graphs.kinds import InputKind, register_input_kind
from graphemo.graphs.normalize import normalize_pose
from graphemo.labels.tasks import Task, annotated
from graphemo.skeleton import Layout
from graphemo.skeleton.layouts import select_parts
from graphemo.store import PreparedStore

PoseTransform = Callable[[np.ndarray], np.ndarray]


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


def collate(samples: list[Data]) -> Batch:
    """Batch the samples of any graphemo dataset for a plain ``torch.utils.data.DataLoader``
    (``DataLoader(dataset, batch_size=64, collate_fn=collate)``); PyG's ``DataLoader`` does the same by itself.

    Returns:
        A PyG ``Batch``: frame graphs concatenated into one graph (``x [N*V, F]``, ``batch [N*V]``); windows and
        images stacked (``x [N, C, T, V, M]`` or ``[N, 3, H, W]``); ``y [N]``, ``va [N, 2]``, ``video [N]``,
        ``frame [N]`` in every case.
    """
    return Batch.from_data_list(samples)


def open_parts(
    store: PreparedStore | str, parts: Sequence[str] | None
) -> tuple[PreparedStore, Layout, np.ndarray | None]:
    """``(store, layout of parts, joint indices of parts in the store's layout or None for all)``."""
    store = store if isinstance(store, PreparedStore) else PreparedStore(store)
    if parts is None:
        return store, store.layout, None
    layout, joints = select_parts(store.layout, parts)
    return store, layout, joints


class StackedData(Data):
    """A ``Data`` whose ``x`` is stacked (new batch dimension) instead of concatenated along nodes."""

    def __cat_dim__(self, key: str, value: object, *args: object, **kwargs: object) -> int | None:
        if key == "x":
            return None
        return super().__cat_dim__(key, value, *args, **kwargs)


def anchor_frames(
    store: PreparedStore,
    videos: np.ndarray | None = None,
    task: Task | None = "expr",
    frames: np.ndarray | None = None,
    stride: int = 1,
) -> np.ndarray:
    """Global indices of the frames that can anchor a sample.

    Args:
        store: the prepared store.
        videos: video indices to draw from (default: every video whose status is ``ok``).
        task: keep frames annotated for ``"expr"``, ``"va"``, ``"both"`` (either kind) or ``None`` (all frames
            with a person, e.g. for prediction); see :func:`graphemo.labels.tasks.annotated`.
        frames: optional global frame indices to restrict to (e.g. the output of frame subsampling).
        stride: keep every ``stride``-th of each video's anchors (the first one included).

    Returns:
        Sorted ``(K,)`` int64 global frame indices.
    """
    if videos is None:
        videos = np.array([i for i, v in enumerate(store.videos) if v.status == "ok"], dtype=np.int64)
    eligible = np.zeros(store.num_frames, dtype=bool)
    for i in videos:
        eligible[store.videos[int(i)].frames] = True
    eligible &= store.present & annotated(store.expr, store.va, task)
    if frames is not None:
        chosen = np.zeros_like(eligible)
        chosen[np.asarray(frames, dtype=np.int64)] = True
        eligible &= chosen
    anchors = np.flatnonzero(eligible).astype(np.int64)
    if stride > 1 and len(anchors):
        video = store.video_of_frame()[anchors]
        first = np.r_[0, np.flatnonzero(np.diff(video)) + 1]
        rank = np.arange(len(anchors)) - np.repeat(first, np.diff(np.r_[first, len(anchors)]))
        anchors = anchors[rank % stride == 0]
    return anchors


class AnchoredDataset(PygDataset):
    """What every view of an anchor shares: anchors, labels, the layout of ``parts``, augmentation.

    Args:
        store: a :class:`PreparedStore` or its path.
        videos: video indices (e.g. ``split_videos(store)["train"]``); default all usable videos.
        task: which annotation a frame needs to be a sample (``"expr"``, ``"va"``, ``"both"``, ``None``).
        features: normalisation and channels (:class:`FeatureSpec`).
        augment: training augmentation (:class:`Augment`), None for evaluation.
        frames: restrict anchors to these global frame indices (e.g. from frame subsampling).
        parts: the parts of the store's skeleton to keep, e.g. ``["body", "face"]`` of a whole-body store
            (:func:`graphemo.skeleton.select_parts`); default all.
        anchor_stride: anchor every ``anchor_stride``-th eligible frame of each video (evaluation on a budget).
        transform: a function ``Data -> Data`` applied to every sample as it is read (PyG's convention; after
            ``augment``, which acts on the pose before it becomes a tensor).
    """

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
        anchor_stride: int = 1,
        transform: Callable[[Data], Data] | None = None,
    ) -> None:
        super().__init__(None, transform=transform, log=False)
        self.store, self.layout, self.joints = open_parts(store, parts)
        self.task = task
        self.features = features or FeatureSpec()
        self.augment = augment if augment is not None and augment.enabled else None
        self.anchors = anchor_frames(self.store, videos, task, frames, anchor_stride)
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


class SkeletonFrames(AnchoredDataset):
    """Per-frame joint graphs: ``Data(x=[V, F], edge_index=[2, E], y=[1], va=[1, 2], video=[1], frame=[1])``.

    Args: see :class:`AnchoredDataset`.
    """

    def get(self, idx: int) -> Data:
        keypoints = self._select(self.store.keypoints[int(self.anchors[idx]), 0])
        x = torch.from_numpy(frame_input(keypoints, self.layout, self.features, self._transform()))
        return Data(x=x, edge_index=self.edge_index, **self._targets(idx))


class FrameGraphInput(InputKind):
    """One frame as a joint graph: PyG batches, ``model(x (N*V, F), edge_index, batch)``."""

    name = "graph"
    dense_shape = "x (N, V, F) per-frame joint features (graphemo.graphs.dataset.frame_input)"

    def dataset(self, store: Any, *, options: Any, **kwargs: Any) -> SkeletonFrames:
        return SkeletonFrames(store, **kwargs)

    def batch_inputs(self, batch: Any) -> tuple:
        return batch.x, batch.edge_index, batch.batch

    def encode(self, keypoints: np.ndarray, layout: Layout, features: FeatureSpec, options: Any) -> np.ndarray:
        return frame_input(keypoints, layout, features)

    def example_input(
        self, batch: int, num_joints: int, in_channels: int, options: Any, generator: torch.Generator | None = None
    ) -> Tensor:
        return torch.randn((batch, num_joints, in_channels), generator=generator)

    def forward_dense(self, model: nn.Module, x: Tensor, edge_index: Tensor) -> dict[str, Tensor]:
        """``x`` ``(N, V, F)``: the skeleton's edges and the PyG batch vector are built here, so exported graph
        models need no PyG."""
        n, v, f = x.shape
        shift = (torch.arange(n, device=x.device) * v).repeat_interleave(edge_index.size(1))
        edges = edge_index.repeat(1, n) + shift
        batch = torch.arange(n, device=x.device).repeat_interleave(v)
        return model(x.reshape(n * v, f), edges, batch)


GRAPH = register_input_kind(FrameGraphInput())
