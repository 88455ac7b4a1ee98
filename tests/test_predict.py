"""Batch prediction: inputs as in training, rows and columns of the output, smoothing, window anchoring."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import orjson
import pytest
import torch

from graphemo.cli import main
from graphemo.inference.bundle import save_bundle
from graphemo.inference.predict import (
    OnlineSmoother,
    Predictor,
    Smoothing,
    example_input,
    predict_folder,
    predict_keypoints,
    smooth_sequence,
)
from graphemo.keypoints.openpose import read_openpose_video
from graphemo.models import VAToClass
from graphemo.sources.synth import SynthConfig, generate_dataset
from tests.test_bundle import TINY, WINDOW, tiny_bundle

LAYOUT = "body25_face_hands"  # the synthetic data's layout


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two short synthetic videos with stretches of frames with nobody (``people: []``), one person each."""
    root = tmp_path_factory.mktemp("synth")
    config = SynthConfig(empty_frame_rate=0.15, empty_stretch_frames=3, bystander_rate=0.0)
    generate_dataset(root, 2, seed=3, frames=(36, 44), workers=1, config=config, progress=False)
    return root / "keypoints"


def json_people(path) -> int:
    return len(orjson.loads(path.read_bytes())["people"])


def bundle_file(tmp_path, name, task="expr", **kwargs):
    _, bundle = tiny_bundle(name, task, layout=LAYOUT, **kwargs)
    path = tmp_path / f"{name}-{task}.pt"
    save_bundle(bundle, path)
    return path, bundle


def read_csv(path):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


CLASSES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]


@pytest.mark.parametrize(
    ("name", "task", "mapper", "columns"),
    [
        ("mlp", "expr", False, [f"p_{c}" for c in CLASSES] + ["emotion"]),
        ("stgcn", "both", False, [f"p_{c}" for c in CLASSES] + ["emotion", "valence", "arousal"]),
        ("gcn", "va", True, ["emotion", "valence", "arousal"]),
        ("skeleton_transformer", "va", False, ["valence", "arousal"]),
        ("resnet18", "expr", False, [f"p_{c}" for c in CLASSES] + ["emotion"]),
    ],
)
def test_predict_writes_one_row_per_frame(tmp_path, dataset, name, task, mapper, columns):
    va_to_class = None
    if mapper:
        va = np.array([[0.6, 0.4], [0.5, 0.5], [-0.6, -0.4], [-0.5, -0.3], [0.0, 0.0], [0.1, 0.0]])
        va_to_class = VAToClass().fit(va, np.array([3, 3, 4, 4, 6, 6]))
    path, _ = bundle_file(tmp_path, name, task, va_to_class=va_to_class)
    out = tmp_path / "pred.csv"
    assert main(["predict", str(dataset), "--model", str(path), "--out", str(out), "--quiet"]) == 0
    header, rows = read_csv(out)
    assert header == ["video", "frame", "person", *columns]
    files = sorted(dataset.glob("*/*.json"))
    assert [(r["video"], int(r["frame"])) for r in rows] == [(f.parent.name, int(f.stem.split("_")[1])) for f in files]
    people = [json_people(f) for f in files]
    assert 0 in people and any(people)  # the data has frames with nobody
    for row, n in zip(rows, people, strict=True):
        assert row["person"] == str(int(n > 0))
        values = [row[c] for c in columns]
        if n == 0:
            assert values == [""] * len(columns)  # empty predictions
            continue
        if "p_anger" in row:
            probs = np.array([float(row[f"p_{c}"]) for c in CLASSES])
            assert abs(probs.sum() - 1) < 1e-4
            assert row["emotion"] == CLASSES[int(np.argmax(probs))]
        if "valence" in row:
            assert -1 <= float(row["valence"]) <= 1 and -1 <= float(row["arousal"]) <= 1
        if mapper:
            assert row["emotion"] in ("happiness", "sadness", "neutral")


def test_json_output_has_summaries(tmp_path, dataset, capsys):
    path, _ = bundle_file(tmp_path, "mlp", "both")
    out, summary = tmp_path / "pred.json", tmp_path / "summary.csv"
    args = ["predict", str(dataset), "--model", str(path), "--out", str(out), "--summary-out", str(summary)]
    assert main([*args, "--smooth", "ema:0.5", "--quiet"]) == 0
    doc = orjson.loads(out.read_bytes())
    assert doc["smoothing"] == "ema:0.5"
    assert doc["columns"][:3] == ["video", "frame", "person"]
    assert len(doc["frames"]) == len(list(dataset.glob("*/*.json")))
    for s in doc["summary"]:
        frames = [f for f in doc["frames"] if f["video"] == s["video"] and f["person"]]
        emotions = [f["emotion"] for f in frames]
        assert s["with_person"] == len(frames)
        assert emotions.count(s["emotion"]) == max(emotions.count(e) for e in set(emotions))
        assert s["valence"] == pytest.approx(np.mean([f["valence"] for f in frames]))
    _, rows = read_csv(summary)
    assert [r["video"] for r in rows] == ["00001", "00002"]
    printed = capsys.readouterr().out
    assert "2 video(s)" in printed and "00001" in printed


@pytest.mark.parametrize("name", ["mlp", "stgcn", "resnet18"])
def test_inputs_match_the_training_datasets(tmp_path, dataset, name):
    """The predictor builds exactly the tensors the training datasets build for the same frames."""
    from graphemo.store import prepare_dataset

    store = prepare_dataset(dataset, tmp_path / "store", workers=1, progress=False)
    _, bundle = tiny_bundle(name, layout=store.layout.name)
    predictor = Predictor(bundle)
    train_set = predictor.kind.dataset(store, options=predictor.options, task=None)
    video_of_frame = store.video_of_frame()
    sequences = {}
    for i in range(0, len(train_set), 7):
        frame = int(train_set.anchors[i])
        record = store.videos[int(video_of_frame[frame])]
        if record.video_id not in sequences:
            sequences[record.video_id] = read_openpose_video(record.source, layout=bundle.layout)
        keypoints = sequences[record.video_id].keypoints
        mine = predictor.encode(predictor.sample_keypoints(keypoints, frame - record.start))
        theirs = train_set.get(i).x
        assert torch.equal(torch.as_tensor(mine), theirs), (record.video_id, frame)


@pytest.mark.parametrize("name", list(TINY))
def test_the_single_sample_path_matches_the_eager_model(name):
    _, bundle = tiny_bundle(name, "both")
    fast, eager = Predictor(bundle, optimize=True), Predictor(bundle)
    assert fast.how == "torchscript (frozen)" and eager.how == "eager"
    x = example_input(bundle, 1)[0].numpy()
    a, b = fast.infer([x]), eager.infer([x])
    for key in ("probs", "va"):
        np.testing.assert_allclose(a[key], b[key], atol=1e-5)


def test_window_anchor_decides_what_a_frame_sees(dataset):
    keypoints = read_openpose_video(dataset / "00001", layout=LAYOUT).keypoints
    t = int(np.flatnonzero((keypoints[:, 0, :, 2] > 0).any(-1))[10])
    changed = keypoints.copy()
    changed[t + 1 :, 0, :, :2] += 50.0  # the future moves
    changed[t + 1 :, 0, :, 2] *= 0.5
    for anchor, same in (("end", True), ("center", False)):
        _, bundle = tiny_bundle("stgcn", "both", layout=LAYOUT)
        bundle.input_options = {**WINDOW, "anchor": anchor}
        predictor = Predictor(bundle)
        a = predict_keypoints(predictor, keypoints, [t])
        b = predict_keypoints(predictor, changed, [t])
        assert np.array_equal(a.probs, b.probs) == same, anchor
    assert predictor.lag == WINDOW["length"] - 1 - WINDOW["length"] // 2  # frames after the centre


def test_unreadable_files_are_frames_without_a_person(tmp_path, dataset):
    video = tmp_path / "clip"
    shutil.copytree(dataset / "00002", video)
    files = sorted(video.glob("*.json"))
    victim = next(f for f in files if json_people(f))
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    _, bundle = tiny_bundle("mlp", layout=LAYOUT)
    (pred,) = predict_folder(Predictor(bundle), video, progress=False)  # a single video folder works too
    k = files.index(victim)
    assert pred.video == "clip" and len(pred.frames) == len(files)
    assert not pred.present[k] and np.isnan(pred.probs[k]).all() and pred.label[k] == -1
    assert len(pred.problems) == 1 and victim.name in pred.problems[0]


# --- smoothing -----------------------------------------------------------------------------------


def test_ema_on_a_known_sequence():
    x = np.array([[0.0], [1.0], [1.0], [1.0]])
    np.testing.assert_allclose(smooth_sequence(x, Smoothing("ema", 0.5))[:, 0], [0.0, 0.5, 0.75, 0.875])
    # invalid rows are skipped: the EMA runs over 0, 1, 1 and leaves row 1 as it was
    y = np.array([[0.0], [9.0], [1.0], [1.0]])
    valid = np.array([True, False, True, True])
    np.testing.assert_allclose(smooth_sequence(y, Smoothing("ema", 0.5), valid)[:, 0], [0.0, 9.0, 0.5, 0.75])


def test_median_removes_a_spike():
    x = np.array([0.0, 0.0, 5.0, 0.0, 0.0, 3.0, 3.0])[:, None]
    np.testing.assert_allclose(smooth_sequence(x, Smoothing("median", 3))[:, 0], [0, 0, 0, 0, 0, 3, 3])
    np.testing.assert_array_equal(smooth_sequence(x, None), x)


def test_online_smoothing():
    values = np.random.default_rng(0).random((20, 3))
    ema = OnlineSmoother(Smoothing("ema", 0.3))
    online = np.stack([ema.update(v) for v in values])
    np.testing.assert_allclose(online, smooth_sequence(values, Smoothing("ema", 0.3)))  # EMA: online == offline
    median = OnlineSmoother(Smoothing("median", 3))  # trailing window
    np.testing.assert_allclose([median.update(np.array([v]))[0] for v in (1.0, 2.0, 9.0, 3.0, 3.0)],
                               [1.0, 1.5, 2.0, 3.0, 3.0])  # fmt: skip
    median.reset()
    assert median.update(np.array([7.0]))[0] == 7.0


@pytest.mark.parametrize(("text", "expected"), [("ema:0.3", Smoothing("ema", 0.3)), ("median", Smoothing("median", 9)),
                                                ("none", None), (None, None)])  # fmt: skip
def test_smoothing_parse(text, expected):
    assert Smoothing.parse(text) == expected


@pytest.mark.parametrize("text", ["ema:0", "ema:1.5", "median:2.5", "gauss:3", "ema:x"])
def test_bad_smoothing_is_refused(text):
    with pytest.raises(ValueError, match="smoothing"):
        Smoothing.parse(text)


@pytest.mark.parametrize("spec", ["ema:0.4", "median:5"])
def test_smoothed_predictions(dataset, spec):
    keypoints = read_openpose_video(dataset / "00001", layout=LAYOUT).keypoints
    _, bundle = tiny_bundle("mlp", "both", layout=LAYOUT)
    predictor = Predictor(bundle)
    raw = predict_keypoints(predictor, keypoints)
    smoothing = Smoothing.parse(spec)
    smooth = predict_keypoints(predictor, keypoints, smoothing=smoothing)
    present = raw.present
    expected = smooth_sequence(raw.probs, smoothing, present)[present]
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(smooth.probs[present], expected, rtol=1e-9)
    np.testing.assert_allclose(smooth.va[present], smooth_sequence(raw.va, smoothing, present)[present])
    np.testing.assert_array_equal(smooth.label[present], smooth.probs[present].argmax(axis=1))
    assert (smooth.label[~present] == -1).all() and np.isnan(smooth.probs[~present]).all()
