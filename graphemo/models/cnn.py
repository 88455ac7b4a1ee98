"""CNN baselines on rendered skeleton images: torchvision ResNet18, ResNet50, DenseNet121 with replaced heads.

Nothing downloads: ``pretrained: PATH`` loads a torchvision ImageNet state dict from a local file
(``torch.save(model.state_dict(), PATH)``, or torchvision's own ``.pth`` files) with ``weights_only=True``.
Inputs are ``(N, 3, H, W)`` float images normalised with the ImageNet mean and std
(:func:`graphemo.graphs.render.normalize_image`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from torch import Tensor, nn
from torchvision import models

from graphemo.graphs.images import IMAGE
from graphemo.models.heads import TaskHeads
from graphemo.models.registry import register_model
from graphemo.models.weights import load_state_dict_file
from graphemo.skeleton import Layout

# architecture -> (torchvision constructor, name of its classifier attribute)
ARCHITECTURES: dict[str, tuple[Callable[..., nn.Module], str]] = {
    "resnet18": (models.resnet18, "fc"),
    "resnet50": (models.resnet50, "fc"),
    "densenet121": (models.densenet121, "classifier"),
}
# torchvision's published DenseNet files use old key names ("norm.1" for "norm1"); torchvision renames them alike.
_DENSENET_LEGACY_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$"
)


def load_pretrained(net: nn.Module, path: str | Path, arch: str) -> None:
    """Load ImageNet weights from a local file into a torchvision ``net`` of architecture ``arch`` (in place).

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError: the file holds more than tensors (refused by ``weights_only=True``, unrun).
        ValueError: the weights do not fit ``arch`` (missing/unexpected keys or shapes).
    """
    state = load_state_dict_file(path)
    if arch.startswith("densenet"):
        state = {_DENSENET_LEGACY_KEY.sub(r"\1\2", k): v for k, v in state.items()}
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: not a torchvision {arch} state dict: {str(err)[:600]}") from err


@register_model("densenet121", arch="densenet121", description="DenseNet121 (torchvision) on rendered skeleton images")
@register_model("resnet50", arch="resnet50", description="ResNet50 (torchvision) on rendered skeleton images")
@register_model("resnet18", arch="resnet18", description="ResNet18 (torchvision) on rendered skeleton images")
class SkeletonImageCNN(nn.Module):
    """Torchvision CNN (resnet18 | resnet50 | densenet121) on rendered skeleton images, classifier replaced."""

    input_kind = IMAGE

    def __init__(
        self,
        layout: Layout,
        in_channels: int,
        task: str,
        num_classes: int = 7,
        *,
        arch: str = "resnet18",
        pretrained: str | None = None,
        dropout: float = 0.0,
        freeze_backbone: bool = False,
    ) -> None:
        super().__init__()
        if arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
        if in_channels != 3:
            raise ValueError(f"{arch} takes RGB images: in_channels must be 3, got {in_channels}")
        constructor, classifier = ARCHITECTURES[arch]
        net = constructor(weights=None)
        if pretrained:
            load_pretrained(net, pretrained, arch)
        in_features = getattr(net, classifier).in_features
        setattr(net, classifier, nn.Identity())
        if freeze_backbone:
            net.requires_grad_(False)
        self.backbone = net
        self.heads = TaskHeads(in_features, task, num_classes, dropout)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """``x`` (N, 3, H, W) ImageNet-normalised images -> heads on the backbone's pooled features."""
        return self.heads(self.backbone(x))
