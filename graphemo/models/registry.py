"""A small model registry (as in timm): build a model from its name and a dict of options.

An experiment YAML says ``model: {name: stgcn, channels: [64, 128], dropout: 0.2}``; the trainer calls
``build_model(name, layout=..., in_channels=..., task=..., **options)``. Every registered class takes
``(layout, in_channels, task, num_classes, *, options...)`` and declares the input it needs in its
``input_kind`` class attribute: ``"graph"`` (per-frame PyG batch), ``"window"`` (``(N, C, T, V, M)``) or
``"image"`` (``(N, 3, H, W)`` rendered skeletons). The data pipeline reads :func:`model_input_kind`.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch import nn

from graphemo.models.heads import validate_task
from graphemo.skeleton import Layout, get_layout

INPUT_KINDS = ("graph", "window", "image")
_FIXED_ARGUMENTS = ("layout", "in_channels", "task", "num_classes")

ModelClass = TypeVar("ModelClass", bound=type[nn.Module])


@dataclass(frozen=True)
class ModelEntry:
    """One registered name: the class, the options the name fixes, and a one-line description."""

    name: str
    cls: type[nn.Module]
    description: str
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def input_kind(self) -> str:
        return self.cls.input_kind  # type: ignore[attr-defined]


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, *, description: str | None = None, **fixed: Any) -> Callable[[ModelClass], ModelClass]:
    """Class decorator registering a model under ``name``.

    Args:
        name: registry name (lower case).
        description: one line for ``graphemo`` listings; default the first line of the class docstring.
        **fixed: options this name sets and a config may not override (``register_model("gat", conv="gat")``).

    Returns:
        The decorator; it returns the class unchanged.
    """

    def decorate(cls: ModelClass) -> ModelClass:
        if name in _REGISTRY:
            raise ValueError(f"model name {name!r} is already registered to {_REGISTRY[name].cls.__name__}")
        kind = getattr(cls, "input_kind", None)
        if kind not in INPUT_KINDS:
            raise TypeError(f"{cls.__name__}.input_kind must be one of {INPUT_KINDS}, not {kind!r}")
        options = _declared_options(cls)
        for key in fixed:
            if key not in options:
                raise TypeError(f"register_model({name!r}): {cls.__name__} has no option {key!r}")
        doc = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
        _REGISTRY[name] = ModelEntry(name=name, cls=cls, description=description or doc, fixed=dict(fixed))
        return cls

    return decorate


def _declared_options(cls: type[nn.Module]) -> dict[str, Any]:
    """Keyword-only parameters of ``cls.__init__`` and their defaults."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _entry(name: str) -> ModelEntry:
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        close = difflib.get_close_matches(str(name).lower(), list(_REGISTRY), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown model {name!r}{hint} (registered: {', '.join(list_models())})")
    return _REGISTRY[key]


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def model_input_kind(name: str) -> str:
    """The input a model needs: ``"graph"``, ``"window"`` or ``"image"``."""
    return _entry(name).input_kind


def describe_model(name: str) -> str:
    """One-line description of a registered model."""
    return _entry(name).description


def model_options(name: str) -> dict[str, Any]:
    """Options a config may set for ``name``, with their defaults (the options the name fixes excluded)."""
    entry = _entry(name)
    return {k: v for k, v in _declared_options(entry.cls).items() if k not in entry.fixed}


def build_model(
    name: str, *, layout: Layout | str, in_channels: int, task: str, num_classes: int = 7, **options: Any
) -> nn.Module:
    """Build a registered model.

    Args:
        name: registry name (see :func:`list_models`).
        layout: the skeleton layout (or its registry name) of the data: gives ``V`` and the edges.
        in_channels: features per joint (2 for x, y; +1 confidence; +1 joint mask); 3 for images.
        task: ``"expr"`` (class logits), ``"va"`` (valence/arousal) or ``"both"``.
        num_classes: 7 emotions, or 8 with ABAW's ``Other``.
        **options: model options (see :func:`model_options`).

    Returns:
        The model; its ``forward`` returns ``{"expr": (N, num_classes) logits}`` and/or ``{"va": (N, 2)}`` in [-1, 1].

    Raises:
        KeyError: unknown model name (the closest name is suggested).
        ValueError: unknown option (closest suggested), an option the name fixes, or a bad task / size.
    """
    entry = _entry(name)
    validate_task(task, num_classes)
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"model {name!r}: in_channels must be a positive int, got {in_channels!r}")
    allowed = model_options(name)
    for key in options:
        if key in entry.fixed:
            raise ValueError(f"model {name!r} fixes {key}={entry.fixed[key]!r}; choose another model name instead")
        if key in _FIXED_ARGUMENTS or key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown option {key!r} for model {name!r}{hint} (options: {', '.join(sorted(allowed)) or 'none'})"
            )
    if isinstance(layout, str):
        layout = get_layout(layout)
    return entry.cls(
        layout=layout, in_channels=in_channels, task=task, num_classes=num_classes, **entry.fixed, **options
    )
