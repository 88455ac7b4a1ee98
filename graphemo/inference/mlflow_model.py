"""The trained model as an MLflow model: a pyfunc flavour around the safe bundle, so a run's model shows in
MLflow's Models column, can be registered, and ``mlflow models serve -m runs:/<run id>/model`` answers.

The model is logged "from code" (this file is the model's code; no pickled object), with the bundle as its one
artifact, read back with ``weights_only=True`` (:func:`graphemo.inference.bundle.load_bundle`). Input: a table
with one row per video, ``video`` (its id) and ``frames`` (a JSON list of OpenPose documents, frame 0 first, as
OpenPose writes one per file). Output: one row per frame, the columns of ``graphemo predict``
(:meth:`~graphemo.inference.predict.Predictor.columns`)::

    curl -X POST localhost:5000/invocations -H 'Content-Type: application/json' \\
      -d '{"dataframe_records": [{"video": "clip", "frames": "[{\\"people\\": [...]}, ...]"}]}'
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():  # MLflow's own response types warn about their type hints when first imported
    warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType.*", category=UserWarning)
    import mlflow.pyfunc
import pandas as pd

INPUT_COLUMNS = ("video", "frames")
BUNDLE_ARTIFACT = "bundle"


class GraphemoModel(mlflow.pyfunc.PythonModel):
    """Per-frame predictions for videos of OpenPose documents (see the module docstring)."""

    def load_context(self, context: Any) -> None:
        from graphemo.inference.bundle import load_bundle
        from graphemo.inference.predict import Predictor

        self.predictor = Predictor(load_bundle(context.artifacts[BUNDLE_ARTIFACT]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """``model_input``: a DataFrame (or records) with ``video`` and ``frames`` -> a DataFrame of frame rows."""
        import json

        from graphemo.inference.predict import predict_keypoints
        from graphemo.keypoints.openpose import read_openpose_docs

        table = pd.DataFrame(model_input)
        missing = [c for c in INPUT_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"the input needs the columns {list(INPUT_COLUMNS)}; missing {missing}")
        rows = []
        predictor = self.predictor
        for video, frames in zip(table["video"], table["frames"], strict=True):
            docs = json.loads(frames) if isinstance(frames, str) else list(frames)
            sequence = read_openpose_docs(docs, predictor.layout.name, max_people=predictor.persons,
                                          video_id=str(video), source=str(video))  # fmt: skip
            rows += list(predict_keypoints(predictor, sequence.keypoints, video=str(video)).rows(predictor))
        return pd.DataFrame(rows, columns=predictor.columns())


def input_example(bundle_path: str | Path, frames: int = 4) -> Any:
    """A one-video input (``frames`` documents of one person at rest) in the model's layout, as a DataFrame."""
    import json

    import numpy as np

    from graphemo.inference.bundle import load_bundle
    from graphemo.keypoints.openpose import openpose_document
    from graphemo.skeleton import get_layout

    layout = get_layout(load_bundle(bundle_path).layout)
    person = np.column_stack([np.random.default_rng(0).uniform(200, 400, (layout.num_joints, 2)),
                              np.full(layout.num_joints, 0.9)])  # fmt: skip
    if layout.neck >= 0 and layout.shoulders[0] >= 0:  # the neck between the shoulders, as OpenPose has it
        person[layout.neck, :2] = person[list(layout.shoulders), :2].mean(axis=0)
    docs = [openpose_document(person[None], layout) for _ in range(frames)]
    return pd.DataFrame({"video": ["example"], "frames": [json.dumps(docs)]})


def model_signature(bundle_path: str | Path) -> Any:
    """The MLflow signature: ``video``, ``frames`` strings in; the frame rows' columns out (names and types)."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from graphemo.inference.bundle import load_bundle
    from graphemo.inference.predict import Predictor

    kinds = {"video": "string", "frame": "long", "person": "long", "emotion": "string"}
    columns = Predictor(load_bundle(bundle_path)).columns()
    outputs = Schema([ColSpec(kinds.get(c, "double"), c, required=c in ("video", "frame", "person")) for c in columns])
    return ModelSignature(Schema([ColSpec("string", c) for c in INPUT_COLUMNS]), outputs)


def log_mlflow_model(tracker: Any, bundle_path: str | Path, artifact_path: str = "model") -> str | None:
    """Log the bundle as an MLflow pyfunc model of ``tracker``'s run (signature and input example included);
    returns its model URI, or None when the tracker records nothing."""
    if not tracker.run_id:
        return None
    import mlflow

    from graphemo.training.tracking import global_tracking_uri

    example, signature = input_example(bundle_path), model_signature(bundle_path)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in the training log
    quiet = logging.getLogger("mlflow.pyfunc")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # not "validating input example against model signature" every run
    try:  # MLflow's model logging goes through its global ("fluent") API
        with global_tracking_uri(tracker.uri), mlflow.start_run(run_id=tracker.run_id), warnings.catch_warnings():
            # MLflow compares an example's column index to a range, which pandas 3 deprecates: MLflow's, not ours
            warnings.filterwarnings("ignore", message="Operation with range is deprecated")
            info = mlflow.pyfunc.log_model(
                name=artifact_path, python_model=str(Path(__file__)), artifacts={BUNDLE_ARTIFACT: str(bundle_path)},
                signature=signature, input_example=example, pip_requirements=["graphemo"],
            )  # fmt: skip
    finally:
        quiet.setLevel(level)
    return info.model_uri


mlflow.models.set_model(GraphemoModel())
