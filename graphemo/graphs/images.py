"""Rendered skeleton images for the CNN baselines: the ``image`` input kind.

The anchor frame is drawn OpenPose-style (:func:`graphemo.graphs.render.render_skeleton`) and normalised with
ImageNet's mean and std for torchvision CNNs: ``x`` of shape ``(3, size, size)``. Only the normalisation of the
features (centre, scale) applies; an image has no confidence channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from graphemo.graphs.dataset import AnchoredDataset, PoseTransform, StackedData
from graphemo.graphs.features import FeatureSpec
from graphemo.graphs.kinds import InputKind, register_input_kind
from graphemo.graphs.normalize import normalize_pose
from graphemo.skeleton import Layout
from graphemo.specs import check_spec, option
from graphemo.store import PreparedStore


@dataclass(frozen=True)
class ImageSpec:
    """The rendered image of an image model (the ``data.image`` section; recorded in its bundles).

    Attributes:
        size: the image's side in pixels.
    """

    SECTION: ClassVar[str] = "data.image"

    size: int = option(224, min=16, max=1024)

    def __post_init__(self) -> None:
        check_spec(self)


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


class SkeletonImages(AnchoredDataset):
    """The anchor frame drawn as an OpenPose-style skeleton image: ``x`` of shape ``(3, size, size)``.

    Args:
        store: a :class:`PreparedStore` or its path.
        image: the :class:`ImageSpec` (or ``size=`` as a keyword argument).
        **kwargs: the rest as for :class:`~graphemo.graphs.dataset.AnchoredDataset`.
    """

    def __init__(
        self, store: PreparedStore | str, *, image: ImageSpec | None = None, size: int | None = None, **kwargs: Any
    ) -> None:
        if image is not None and size is not None:
            raise TypeError("give image= or size=, not both")
        super().__init__(store, **kwargs)
        self.image_spec = image or (ImageSpec(size) if size is not None else ImageSpec())
        self.size = self.image_spec.size

    @property
    def in_channels(self) -> int:
        return 3

    def get(self, idx: int) -> StackedData:
        keypoints = self._select(self.store.keypoints[int(self.anchors[idx]), 0])
        x = image_input(keypoints, self.layout, self.features, self.size, self._transform())
        return StackedData(x=x, num_nodes=1, **self._targets(idx))


class ImageInput(InputKind):
    """A rendered skeleton: ``model(x (N, 3, S, S))``, trained channels-last (faster on oneDNN and cuDNN)."""

    name = "image"
    options = ImageSpec
    config_key = "image"
    memory_format = torch.channels_last
    dense_shape = "x (N, 3, S, S) ImageNet-normalised skeleton images (graphemo.graphs.images.image_input)"

    def describe(self, options: ImageSpec) -> str:
        return f"{options.size}px images"

    def dataset(self, store: Any, *, options: ImageSpec, **kwargs: Any) -> SkeletonImages:
        return SkeletonImages(store, image=options, **kwargs)

    def in_channels(self, features: FeatureSpec) -> int:
        return 3

    def encode(self, keypoints: np.ndarray, layout: Layout, features: FeatureSpec, options: ImageSpec) -> Tensor:
        return image_input(keypoints, layout, features, options.size)

    def example_input(
        self, batch: int, num_joints: int, in_channels: int, options: ImageSpec,
        generator: torch.Generator | None = None,
    ) -> Tensor:  # fmt: skip
        return torch.randn((batch, 3, options.size, options.size), generator=generator)


IMAGE = register_input_kind(ImageInput())
