"""A small model registry (as in timm): build a model from its name and a dict of options.

An experiment YAML says ``model: {name: stgcn, channels: [64, 128], dropout: 0.2}``; the trainer calls
``build_model(name, layout=..., in_channels=..., task=..., **options)``. Every registered class takes
``(layout, in_channels, task, num_classes, *, options...)``: its keyword-only parameters are its options, named
there and in the YAML only. It declares the input it needs in its ``input_kind`` class attribute, an
:class:`~graphemo.graphs.kinds.InputKind` (``GRAPH``: a per-frame PyG batch; ``WINDOW``: ``(N, C, T, V, M)``;
``IMAGE``: ``(N, 3, H, W)`` rendered skeletons). The data pipeline reads :func:`model_input_kind`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch import nn

from graphemo.graphs.kinds import InputKind
from graphemo.models.heads import validate_task
from graphemo.skeleton import Layout, get_layout
from graphemo.specs import SpecError, close_match

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
    def input_kind(self) -> InputKind:
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
        if not isinstance(kind, InputKind):
            raise TypeError(f"{cls.__name__}.input_kind must be an InputKind (graphemo.graphs.kinds), not {kind!r}")
        options = _declared_options(cls)
        for key in fixed:
            if key not in options:
                raise TypeError(f"register_model({name!r}): {cls.__name__} has no option {key!r}")
        doc = (cls.__doc__ or cls.__name__).strip().splitlines()[0]
        _REGISTRY[name] = ModelEntry(name=name, cls=cls, description=description or doc, fixed=dict(fixed))
        return cls

    return decorate


def unregister_model(name: str) -> None:
    """Remove a registered name (for tests that register a toy model)."""
    _REGISTRY.pop(name, None)


def _declared_options(cls: type[nn.Module]) -> dict[str, Any]:
    """Keyword-only parameters of ``cls.__init__`` and their defaults."""
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def _entry(name: str) -> ModelEntry:
    key = name.lower() if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}{close_match(str(name).lower(), list(_REGISTRY))} "
                       f"(registered: {', '.join(list_models())})")  # fmt: skip
    return _REGISTRY[key]


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(_REGISTRY)


def model_input_kind(name: str) -> InputKind:
    """The input kind a model needs (``model_input_kind("stgcn").name == "window"``)."""
    return _entry(name).input_kind


def describe_model(name: str) -> str:
    """One-line description of a registered model."""
    return _entry(name).description


def model_options(name: str) -> dict[str, Any]:
    """Options a config may set for ``name``, with their defaults (the options the name fixes excluded)."""
    entry = _entry(name)
    return {k: v for k, v in _declared_options(entry.cls).items() if k not in entry.fixed}


def check_model_options(name: str, options: dict[str, Any]) -> None:
    """Check option names against the model's keyword-only parameters (the one place that does).

    Raises:
        KeyError: unknown model name (the closest suggested).
        SpecError: ``(key,)``: an option the model does not have (the closest suggested) or one its name fixes.
    """
    entry = _entry(name)
    allowed = model_options(name)
    for key in options:
        if key in entry.fixed:
            fixed = f"{key}={entry.fixed[key]!r}"
            raise SpecError((key,), f"model {name!r} fixes {fixed}; choose another model name instead")
        if key in _FIXED_ARGUMENTS or key not in allowed:
            raise SpecError((key,), f"model {name!r} has no option {key!r}{close_match(key, list(allowed), 0.5)} "
                            f"(options: {', '.join(allowed) or 'none'})")  # fmt: skip


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
    try:
        check_model_options(name, options)
    except SpecError as err:
        raise ValueError(f"{err.path[-1]}: {err.reason}") from None
    if isinstance(layout, str):
        layout = get_layout(layout)
    return entry.cls(
        layout=layout, in_channels=in_channels, task=task, num_classes=num_classes, **entry.fixed, **options
    )
