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
        UnsafeFileError: (a ``pickle.UnpicklingError``) the file holds objects other than tensors and plain
            containers (refused unrun).
        ValueError: a TorchScript or ONNX file, or a truncated or corrupted one.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    kind = _foreign_kind(path)
    if kind:
        raise ValueError(f"{path}: this is {kind}, not a torch.save file of weights")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" not in str(err):
            raise ValueError(f"{path}: not a readable torch.save file (truncated or corrupted?): {err}") from None
        raise UnsafeFileError(
            f"{path}: refused to load: weights_only=True accepts only tensors and plain containers, and this file "
            f"holds something else (possibly code). Re-save it as a plain state dict. Details: {err}"
        ) from err
    except (RuntimeError, EOFError, OSError) as err:
        raise ValueError(f"{path}: not a readable torch.save file (truncated or corrupted?): {err}") from None


class UnsafeFileError(pickle.UnpicklingError, ValueError):
    """A file that ``weights_only=True`` refuses: it holds objects other than tensors and plain data."""


def _foreign_kind(path: Path) -> str | None:
    """What a model file that ``torch.load`` cannot read as weights is, from its first bytes: a TorchScript
    archive, an ONNX model, or None (a torch.save file, or something unknown)."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            names = zipfile.ZipFile(path).namelist()
        except zipfile.BadZipFile:
            return None
        if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
            return "a TorchScript model (graphemo export: load it with torch.jit.load)"
        return None
    if path.suffix == ".onnx" or (head[:1] == b"\x08" and b"onnx" in head.lower()):
        return "an ONNX model (graphemo export: run it with onnxruntime)"
    return None


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
