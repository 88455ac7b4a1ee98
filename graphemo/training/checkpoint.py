"""Training checkpoints: written atomically every epoch, read back with ``weights_only=True`` for ``--resume``.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (no pickled objects), so
``torch.load(weights_only=True)`` accepts it and refuses anything that smuggles code::

    {"format": 1, "epoch": last finished epoch (1-based), "finished": bool,
     "model": state_dict, "optimizer": ..., "scheduler": ..., "scaler": ... or None,
     "best_score": float, "best_epoch": int, "stale_epochs": int,
     "history": [{metric: float} per epoch], "mlflow_run_id": str or None, "rng_torch": ByteTensor,
     "config_digest": str}
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FORMAT = 1
LAST = "last.pt"


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint with ``weights_only=True`` (see :func:`graphemo.models.load_weights_only`).

    Raises:
        ValueError: not a graphemo checkpoint, or another format version.
    """
    from graphemo.models.weights import load_weights_only

    state = load_weights_only(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path}: not a graphemo training checkpoint of format {CHECKPOINT_FORMAT} (found {found})")
    return state


def config_digest(resolved_yaml: str) -> str:
    """A short digest of the resolved config, so ``--resume`` can refuse a checkpoint of a different run."""
    return hashlib.sha256(resolved_yaml.encode()).hexdigest()[:16]


def run_folder(output_dir: str | Path, experiment: str, run_name: str) -> Path:
    """Where the runs named ``run_name`` keep their folders: ``<output_dir>/<experiment>/<run_name>/``, each run in
    its own ``<run id>/`` below it (so two runs of one name, at once or not, never share a file)."""
    safe = "".join(c if c.isalnum() or c in "._=-" else "_" for c in run_name)
    return Path(output_dir) / experiment / safe


def find_resumable(folder: Path, digest: str) -> tuple[dict, Path] | None:
    """The newest checkpoint of config ``digest`` among the runs under ``folder`` (:func:`run_folder`) and its run
    folder (a finished one is reported again, not retrained), or None when that name has no run yet.

    Raises:
        ValueError: there are checkpoints, but every one was written by a different config.
    """
    found = sorted(folder.glob(f"*/{LAST}"), key=lambda p: p.stat().st_mtime, reverse=True)
    others = []
    for path in found:
        state = load_checkpoint(path)
        if state.get("config_digest") == digest:
            return state, path.parent
        others.append(str(path))
    if others:
        raise ValueError(f"{others[0]}: the checkpoint was written by a different config; remove its folder, "
                         "choose another run_name, or run without --resume to start afresh")  # fmt: skip
    return None
