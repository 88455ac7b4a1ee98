"""Spatio-temporal windows for sequence models (ST-GCN, the skeleton transformer): the ``window`` input kind.

A window holds ``length`` frames spaced ``stride`` apart, centred on its anchor frame (``anchor="center"``) or
ending at it (``anchor="end"``, causal, as in live prediction), for ``persons`` person slots: ``x`` of shape
``(C, T, V, M)``. Frames beyond a video's ends are empty (every joint missing). Poses are normalised per person
over the window (``per="sequence"``), so the whole body's motion inside the window is kept.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from graphemo.graphs.dataset import AnchoredDataset, PoseTransform, StackedData
from graphemo.graphs.features import FeatureSpec
from graphemo.graphs.kinds import InputKind, register_input_kind, window_keypoints
from graphemo.graphs.normalize import normalize_pose
from graphemo.skeleton import Layout
from graphemo.specs import check_spec, option, spec_fields
from graphemo.store import PreparedStore


@dataclass(frozen=True)
class WindowSpec:
    """The window of a sequence model (the ``data.window`` section; recorded in its bundles).

    Attributes:
        length: ``T``, frames per window.
        stride: frame step inside the window.
        anchor: ``"center"`` (the anchor frame in the middle) or ``"end"`` (the window ends at it: causal).
        persons: ``M``, person slots (at most the store's).
    """

    SECTION: ClassVar[str] = "data.window"

    length: int = option(32, min=1, max=4096)
    stride: int = option(1, min=1, max=256)
    anchor: Literal["center", "end"] = "center"
    persons: int = option(1, min=1, max=8)

    def __post_init__(self) -> None:
        check_spec(self)

    @property
    def offsets(self) -> np.ndarray:
        """``(T,)`` int64 frame offsets of the window from its anchor frame."""
        return window_offsets(self.length, self.stride, self.anchor)

    @property
    def lag(self) -> int:
        """Frames after the anchor that the window reads (0 for ``anchor="end"``)."""
        return int(max(self.offsets.max(), 0))


def window_offsets(length: int, stride: int = 1, anchor: Literal["center", "end"] = "center") -> np.ndarray:
    """Frame offsets ``(T,)`` int64 of a window from its anchor frame: centred on it, or ending at it (causal)."""
    if length < 1 or stride < 1:
        raise ValueError(f"window length and stride must be >= 1, got {length}, {stride}")
    if anchor not in ("center", "end"):
        raise ValueError(f"anchor must be 'center' or 'end', got {anchor!r}")
    first = -(length // 2) if anchor == "center" else -(length - 1)
    return (np.arange(length) + first) * stride


def window_input(
    keypoints: np.ndarray, layout: Layout, features: FeatureSpec, transform: PoseTransform | None = None
) -> np.ndarray:
    """One window's features: raw ``(T, M, V, 3)`` -> ``(C, T, V, M)`` float32, normalised per person over the
    window (``per="sequence"``), then ``transform``-ed."""
    pose = normalize_pose(np.asarray(keypoints), layout, center=features.center, scale=features.scale, per="sequence")
    if transform is not None:
        pose = transform(pose)
    return np.ascontiguousarray(features.encode(pose).transpose(3, 0, 2, 1))


class SkeletonWindows(AnchoredDataset):
    """Spatio-temporal windows: ``x`` of shape ``(C, T, V, M)`` around each anchor frame (module docstring).

    Args:
        store: a :class:`PreparedStore` or its path.
        window: the :class:`WindowSpec`; or give its fields (``length=32, anchor="end"``) as keyword arguments.
        **kwargs: the rest as for :class:`~graphemo.graphs.dataset.AnchoredDataset` (videos, task, features, ...).
    """

    def __init__(self, store: PreparedStore | str, *, window: WindowSpec | None = None, **kwargs: Any) -> None:
        own = {k: kwargs.pop(k) for k in list(kwargs) if k in spec_fields(WindowSpec)}
        if window is not None and own:
            raise TypeError(f"give window= or its fields {sorted(own)}, not both")
        super().__init__(store, **kwargs)
        self.window_spec = window or WindowSpec(**own)
        if self.window_spec.persons > self.store.keypoints.shape[1]:
            raise ValueError(f"persons={self.window_spec.persons} but the store has "
                             f"{self.store.keypoints.shape[1]} person slot(s)")  # fmt: skip
        self.offsets = self.window_spec.offsets

    def window(self, frame: int, video: int, offsets: np.ndarray | None = None) -> np.ndarray:
        """Raw keypoints ``(T, M, V, 3)`` of the window anchored at global ``frame`` of ``video``."""
        record = self.store.videos[video]
        video_keypoints = self.store.keypoints[record.frames, : self.window_spec.persons]
        offsets = self.offsets if offsets is None else offsets
        return self._select(window_keypoints(video_keypoints, frame - record.start, offsets))

    def get(self, idx: int) -> StackedData:
        frame, video = int(self.anchors[idx]), int(self.anchor_videos[idx])
        offsets = self.augment.window_offsets(self.offsets, self._rng()) if self.augment else self.offsets
        x = window_input(self.window(frame, video, offsets), self.layout, self.features, self._transform())
        return StackedData(x=torch.from_numpy(x), num_nodes=1, **self._targets(idx))


class WindowInput(InputKind):
    """``T`` frames of ``M`` people: ``model(x (N, C, T, V, M))``."""

    name = "window"
    options = WindowSpec
    config_key = "window"
    dense_shape = "x (N, C, T, V, M) window features (graphemo.graphs.windows.window_input)"

    def describe(self, options: WindowSpec) -> str:
        return f"window {options.length} x{options.stride} ({options.anchor}-anchored, {options.persons} person(s))"

    def dataset(self, store: Any, *, options: WindowSpec, **kwargs: Any) -> SkeletonWindows:
        return SkeletonWindows(store, window=options, **kwargs)

    def persons(self, options: WindowSpec) -> int:
        return options.persons

    def offsets(self, options: WindowSpec) -> np.ndarray:
        return options.offsets

    def causal(self, options: WindowSpec) -> WindowSpec:
        return dataclasses.replace(options, anchor="end")

    def from_frames(self, frames: np.ndarray, options: WindowSpec) -> np.ndarray:
        return frames

    def encode(self, keypoints: np.ndarray, layout: Layout, features: FeatureSpec, options: WindowSpec) -> np.ndarray:
        return window_input(keypoints, layout, features)

    def example_input(
        self, batch: int, num_joints: int, in_channels: int, options: WindowSpec,
        generator: torch.Generator | None = None,
    ) -> Tensor:  # fmt: skip
        return torch.randn((batch, in_channels, options.length, num_joints, options.persons), generator=generator)


WINDOW = register_input_kind(WindowInput())
