"""Extending graphemo through its public registries only: a new input kind (with a model that takes it) and a new
label format, each one module's worth of code, used by training, bundles, prediction, export and ``prepare``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from graphemo.cli import main
from graphemo.graphs import FeatureSpec, InputKind, register_input_kind
from graphemo.graphs.dataset import AnchoredDataset, StackedData, frame_input
from graphemo.graphs.kinds import unregister_input_kind
from graphemo.labels import LabelFormatError, LabelSpec, VideoLabels, register_label_source
from graphemo.labels.sources import unregister_label_source
from graphemo.models import TaskHeads, register_model, unregister_model
from graphemo.specs import check_spec, option
from graphemo.store import PreparedStore, prepare_dataset

# --- a toy input kind: the pose of a frame and its displacement since `gap` frames before, as one vector -----


@dataclass(frozen=True)
class MotionVectorSpec:
    SECTION: ClassVar[str] = "data.motion_vector"
    gap: int = option(2, min=1, max=30)

    def __post_init__(self) -> None:
        check_spec(self)


def motion_vector(keypoints: np.ndarray, layout: Any, features: FeatureSpec) -> np.ndarray:
    """``(2, V, 3)`` raw keypoints of frames ``t - gap`` and ``t`` -> ``(2 * V * F,)`` float32."""
    now = frame_input(keypoints[1], layout, features)
    before = frame_input(keypoints[0], layout, features)
    return np.concatenate([now.ravel(), (now - before).ravel()]).astype(np.float32)


class MotionVectors(AnchoredDataset):
    def __init__(self, store: Any, *, options: MotionVectorSpec, **kwargs: Any) -> None:
        super().__init__(store, **kwargs)
        self.options = options

    def get(self, idx: int) -> StackedData:
        frame, video = int(self.anchors[idx]), int(self.anchor_videos[idx])
        start = self.store.videos[video].start
        before = max(frame - self.options.gap, start)
        keypoints = self._select(np.asarray(self.store.keypoints[[before, frame], 0]))
        x = torch.from_numpy(motion_vector(keypoints, self.layout, self.features))[None]
        return StackedData(x=x, num_nodes=1, **self._targets(idx))


class MotionVectorInput(InputKind):
    name = "toy_motion_vector"
    options = MotionVectorSpec
    dense_shape = "x (N, 2 V F) pose and motion"

    def options_from_config(self, data: Any) -> MotionVectorSpec:
        return MotionVectorSpec()  # a kind with options in experiments would add a field to DataConfig

    def dataset(self, store: Any, *, options: MotionVectorSpec, **kwargs: Any) -> MotionVectors:
        return MotionVectors(store, options=options, **kwargs)

    def offsets(self, options: MotionVectorSpec) -> np.ndarray:
        return np.array([-options.gap, 0])

    def from_frames(self, frames: np.ndarray, options: MotionVectorSpec) -> np.ndarray:
        return frames[:, 0]

    def encode(self, keypoints: np.ndarray, layout: Any, features: FeatureSpec, options: Any) -> np.ndarray:
        return motion_vector(keypoints, layout, features)[None]

    def example_input(self, batch, num_joints, in_channels, options, generator=None) -> Tensor:
        return torch.randn((batch, 1, 2 * num_joints * in_channels), generator=generator)


class ToyMotionModel(nn.Module):
    """A linear model on the toy motion vector."""

    input_kind: InputKind  # set when registered below

    def __init__(self, layout, in_channels, task, num_classes=7, *, hidden: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2 * layout.num_joints * in_channels, hidden), nn.ReLU())
        self.heads = TaskHeads(hidden, task, num_classes)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.heads(self.body(x.flatten(1)))


@pytest.fixture
def toy_kind():
    kind = register_input_kind(MotionVectorInput())
    ToyMotionModel.input_kind = kind
    register_model("toy_motion")(ToyMotionModel)
    yield kind
    unregister_model("toy_motion")
    unregister_input_kind(kind.name)


def test_a_new_input_kind_trains_bundles_predicts_and_exports(toy_kind, tiny_store, tmp_path):
    from graphemo.inference.bundle import load_bundle
    from graphemo.inference.export import export_bundle
    from graphemo.inference.predict import Predictor, predict_keypoints
    from graphemo.training.compose import build_config
    from graphemo.training.trainer import fit

    config = build_config({
        "name": "toy", "task": "both", "model": {"name": "toy_motion", "hidden": 8},
        "data": {"store": str(tiny_store.path), "split": {"val_ratio": 0.34}},
        "train": {"epochs": 1, "batch_size": 8, "progress": False, "output_dir": str(tmp_path / "runs")},
        "tracking": {"enabled": False},
    })  # fmt: skip
    result = fit(config, store=tiny_store)
    assert result.status == "FINISHED" and result.epochs == 1
    bundle = load_bundle(Path(result.run_dir) / "model" / "bundle.pt")
    assert bundle.input_kind == "toy_motion_vector" and bundle.input_options == {"gap": 2}
    predictor = Predictor(bundle)
    assert predictor.lag == 0
    keypoints = tiny_store.sequence(0).keypoints
    prediction = predict_keypoints(predictor, keypoints)
    present = prediction.present
    assert np.allclose(prediction.probs[present].sum(axis=1), 1.0)
    report = export_bundle(bundle, "torchscript", tmp_path / "toy.pt")
    assert report.ok and report.checks


# --- a toy label source: a JSON file {video id: emotion name} of clip labels ---------------------------------


def read_toy_json(path: str, *, keep_other: bool = False) -> dict[str, VideoLabels | LabelFormatError]:
    from graphemo.labels import canonical_video_id, emotion_index

    out: dict[str, VideoLabels | LabelFormatError] = {}
    for video, name in json.loads(Path(path).read_text()).items():
        try:
            out[canonical_video_id(video)] = VideoLabels(clip_label=emotion_index(name), sources=(path,))
        except KeyError as exc:
            out[canonical_video_id(video)] = LabelFormatError(path, f"video {video}: {exc.args[0]}")
    return out


@pytest.fixture
def toy_source():
    register_label_source("toy_json", help="a JSON file of clip labels")(read_toy_json)
    yield
    unregister_label_source("toy_json")


def test_a_new_label_format_works_in_python_the_cli_and_yaml(toy_source, tiny_store, tmp_path):
    from graphemo.training.compose import ConfigError, build_config

    ids = [v.video_id for v in tiny_store.videos]
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({ids[0]: "happy", ids[1]: "sad", ids[2]: "grumpy"}))
    keypoints = Path(tiny_store.videos[0].source).parent
    store = prepare_dataset(keypoints, tmp_path / "py", labels=LabelSpec(toy_json=str(labels)), progress=False)
    status = {v.video_id: (v.status, v.clip_label) for v in store.videos}
    assert store.classes == ["happiness", "sadness"]  # the emotions that occur, in graphemo's order
    assert status[ids[0]] == ("ok", 0) and status[ids[1]] == ("ok", 1)
    assert status[ids[2]][0] == "label_error"  # its own entry was refused; the others are used
    assert "unknown emotion 'grumpy'" in (store.path / "problems.txt").read_text()

    assert main([*f"prepare {keypoints} --out {tmp_path / 'cli'} --toy-json {labels}".split()]) == 0
    cli = PreparedStore(tmp_path / "cli")
    assert [v.clip_label for v in cli.videos] == [v.clip_label for v in store.videos]

    config = build_config({"data": {"labels": {"toy_json": str(labels)}}})
    assert config.data.labels.toy_json == str(labels)
    with pytest.raises(ConfigError, match=r"data\.labels\.toy_jsn: unknown label source or option; did you mean"):
        build_config({"data": {"labels": {"toy_jsn": str(labels)}}})
