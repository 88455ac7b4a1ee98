"""Input kinds: what a model is fed, as objects. A model declares its kind (``input_kind = WINDOW``) and the kind
owns everything that depends on it, so that no other module switches on a kind's name.

An :class:`InputKind` knows

* its options (a spec, e.g. :class:`~graphemo.graphs.windows.WindowSpec`, read from the experiment's
  ``data.<config_key>`` section and recorded in model bundles as plain data);
* its training dataset (built over a prepared store) and how a PyG batch of it becomes the model's positional
  arguments;
* how raw keypoints become one sample at inference time (the same function the dataset uses), which frames a
  prediction needs and how many frames after the predicted one (``lag``) it waits for;
* the one dense tensor an exported model takes, an example of it, and how to call the model on it;
* the memory format the model trains fastest in.

The built-in kinds are ``graph`` (:mod:`graphemo.graphs.dataset`), ``window`` (:mod:`graphemo.graphs.windows`)
and ``image`` (:mod:`graphemo.graphs.images`). A new kind is one module with a subclass and
:func:`register_input_kind`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from graphemo.specs import build_spec, close_match, spec_dict


class InputKind:
    """The base of every input kind (see the module docstring); subclasses override what differs.

    Attributes:
        name: registry name, recorded in bundles (``"window"``).
        options: the spec class of the kind's options, or None when it has none.
        config_key: the ``data:`` key (a :class:`~graphemo.training.config.DataConfig` field) holding the
            options in an experiment, or None.
        memory_format: the layout models of this kind train fastest in.
        dense_shape: the exported model's input, in words.
    """

    name: str = ""
    options: type | None = None
    config_key: str | None = None
    memory_format: torch.memory_format = torch.contiguous_format
    dense_shape: str = ""

    def __repr__(self) -> str:
        return f"<input kind {self.name!r}>"

    # --- options ---------------------------------------------------------------------------------------

    def options_from_config(self, data: Any) -> Any:
        """The kind's options from an experiment's ``data:`` section (None without options)."""
        return getattr(data, self.config_key) if self.config_key else None

    def options_from_record(self, record: dict | None, source: str = "bundle") -> Any:
        """The kind's options from a bundle's plain record (checked; :class:`~graphemo.specs.SpecError`)."""
        if self.options is None:
            return None
        return build_spec(self.options, dict(record or {}), (source, "input_options"), from_text=False)

    def record(self, options: Any) -> dict:
        """The options as plain data for a bundle (``{}`` without options)."""
        return spec_dict(options) if options is not None else {}

    def describe(self, options: Any) -> str:
        """A few words on the options for listings (``window 32 x1 (center-anchored, 1 person(s))``)."""
        return ""

    # --- training ----------------------------------------------------------------------------------------

    def dataset(self, store: Any, *, options: Any, **kwargs: Any) -> Any:
        """The training/evaluation dataset over ``store`` (``kwargs``: videos, task, features, augment, ...)."""
        raise NotImplementedError

    def in_channels(self, features: Any) -> int:
        """Input channels the model gets per joint (or per pixel)."""
        return features.channels

    def batch_inputs(self, batch: Any) -> tuple:
        """The positional arguments of the model's ``forward`` for a PyG batch of this kind's samples."""
        return (batch.x,)

    # --- inference ---------------------------------------------------------------------------------------

    def persons(self, options: Any) -> int:
        """Person slots a sample reads (slot 0 is the main person)."""
        return 1

    def offsets(self, options: Any) -> np.ndarray:
        """``(T,)`` int64 offsets, from the predicted frame, of the frames one sample reads (``[0]``: that frame)."""
        return np.zeros(1, dtype=np.int64)

    def lag(self, options: Any) -> int:
        """Frames after the predicted one that its input needs (0: it can be predicted when it arrives)."""
        return int(max(self.offsets(options).max(), 0))

    def causal(self, options: Any) -> Any:
        """Options that read no frame after the predicted one (live prediction without lag)."""
        return options

    def from_frames(self, frames: np.ndarray, options: Any) -> np.ndarray:
        """The raw keypoints of one sample from the ``(T, M, V, 3)`` frames at :meth:`offsets` (default: the
        main person of the predicted frame, ``(V, 3)``)."""
        return frames[0, 0]

    def sample_keypoints(self, keypoints: np.ndarray, frame: int, options: Any) -> np.ndarray:
        """The raw keypoints one prediction of local ``frame`` needs from a video's ``(T, M, V, 3)`` keypoints."""
        persons = keypoints[:, : self.persons(options)]
        return self.from_frames(window_keypoints(persons, frame, self.offsets(options)), options)

    def encode(self, keypoints: np.ndarray, layout: Any, features: Any, options: Any) -> np.ndarray | Tensor:
        """Raw keypoints of one sample -> the model input of one sample, exactly as the dataset makes it."""
        raise NotImplementedError

    # --- the dense model (export, fast inference) ------------------------------------------------------

    def example_input(
        self, batch: int, num_joints: int, in_channels: int, options: Any, generator: torch.Generator | None = None
    ) -> Tensor:
        """A random dense input of ``batch`` samples."""
        raise NotImplementedError

    def forward_dense(self, model: nn.Module, x: Tensor, edge_index: Tensor) -> dict[str, Tensor]:
        """Call ``model`` on a dense batch ``x`` (``edge_index``: the layout's skeleton, for graph models)."""
        return model(x)


def window_keypoints(video: np.ndarray, frame: int, offsets: np.ndarray) -> np.ndarray:
    """Raw keypoints ``(T, M, V, 3)`` of the frames ``frame + offsets`` of a video's ``(N, M, V, 3)`` keypoints.

    Frames beyond the video's ends are empty (NaN coordinates, confidence 0). Only the ``T`` frames are read,
    so ``video`` may be a memory-mapped slice.
    """
    local = frame + offsets
    inside = (local >= 0) & (local < len(video))
    kp = np.array(video[np.clip(local, 0, len(video) - 1)], dtype=np.float32)
    kp[~inside, ..., :2] = np.nan
    kp[~inside, ..., 2] = 0.0
    return kp


_KINDS: dict[str, InputKind] = {}


def register_input_kind(kind: InputKind) -> InputKind:
    """Register an input kind under ``kind.name``; returns it (so a module can write ``WINDOW = register(...)``).

    Raises:
        ValueError: the name is taken or empty.
    """
    if not kind.name or kind.name in _KINDS:
        raise ValueError(f"input kind name {kind.name!r} is empty or already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister_input_kind(name: str) -> None:
    """Remove a registered kind (for tests that register a toy one)."""
    _KINDS.pop(name, None)


def input_kind(name: str | InputKind) -> InputKind:
    """The registered kind of that name (a kind is returned as it is).

    Raises:
        KeyError: no such kind (the closest name suggested).
    """
    if isinstance(name, InputKind):
        return name
    if name not in _KINDS:
        raise KeyError(f"unknown input kind {name!r}{close_match(name, list(_KINDS))} (known: {', '.join(_KINDS)})")
    return _KINDS[name]


def input_kinds() -> list[str]:
    """Names of the registered kinds."""
    _load_builtin_kinds()
    return list(_KINDS)


def _load_builtin_kinds() -> None:
    import graphemo.graphs.dataset
    import graphemo.graphs.images
    import graphemo.graphs.windows  # noqa: F401
