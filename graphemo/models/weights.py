"""Loading weight files safely: ``torch.load(..., weights_only=True)`` and nothing else.

A ``.pth`` file is a pickle, and unpickling can run code. ``weights_only=True`` lets through only tensors
and plain containers, so a file that holds anything else (for instance an object whose ``__reduce__``
calls a function) is refused before any of it runs.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import Tensor


def load_weights_only(path: str | Path) -> Any:
    """Load a ``torch.save`` file with ``weights_only=True`` onto the CPU.

    Args:
        path: the file.

    Returns:
        What the file holds (tensors in plain dicts/lists/tuples, numbers, strings).

    Raises:
        FileNotFoundError: no such file.
        pickle.UnpicklingError: the file holds objects other than tensors and plain containers (refused unrun).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise pickle.UnpicklingError(
            f"{path}: refused to load: weights_only=True accepts only tensors and plain containers, and this file "
            f"holds something else (possibly code). Re-save it as a plain state dict. Details: {err}"
        ) from err


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """Load a flat ``{name: tensor}`` state dict (e.g. torchvision ImageNet weights) with :func:`load_weights_only`.

    Raises:
        ValueError: the file holds something other than a flat mapping of names to tensors.
    """
    state = load_weights_only(path)
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        keys = list(state)[:5] if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path}: expected a state dict {{name: tensor}}, found {keys} (a training checkpoint?)")
    return state
