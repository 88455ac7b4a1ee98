"""Inference: self-contained model bundles, batch prediction over OpenPose folders, live streaming, export.

* :mod:`~graphemo.inference.bundle`  - :class:`ModelBundle`, :func:`save_bundle`, :func:`load_bundle` (files or
  MLflow ``runs:/<id>/model``), loaded with ``weights_only=True``.
* :mod:`~graphemo.inference.predict` - :class:`Predictor` (raw keypoints -> model input -> probabilities, VA),
  per-video prediction, temporal smoothing, CSV/JSON output (``graphemo predict``).
* :mod:`~graphemo.inference.stream`  - following a folder that ``openpose --write_json`` fills (``graphemo stream``).
* :mod:`~graphemo.inference.export`  - TorchScript / ONNX export with a parity check (``graphemo export``).

Names are imported lazily so that importing the package does not import torch.
"""

from __future__ import annotations

from graphemo.lazy import lazy_getattr

_EXPORTS = {
    "BUNDLE_FORMAT": "graphemo.inference.bundle",
    "BundleError": "graphemo.inference.bundle",
    "ModelBundle": "graphemo.inference.bundle",
    "bundle_from_model": "graphemo.inference.bundle",
    "load_bundle": "graphemo.inference.bundle",
    "save_bundle": "graphemo.inference.bundle",
    "Predictor": "graphemo.inference.predict",
    "Smoothing": "graphemo.inference.predict",
    "VideoPrediction": "graphemo.inference.predict",
    "predict_folder": "graphemo.inference.predict",
    "predict_keypoints": "graphemo.inference.predict",
    "smooth_sequence": "graphemo.inference.predict",
    "FolderWatcher": "graphemo.inference.stream",
    "StreamPredictor": "graphemo.inference.stream",
    "watch_folder": "graphemo.inference.stream",
    "export_bundle": "graphemo.inference.export",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
