"""Cross-validation folds by group (a clip's cameras, an action's clips never on two sides), model selection over
epochs, the configs search path, and clip-level metrics on a hand-made example."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphemo.graphs.splits import CVSpec, cv_split, video_groups
from graphemo.labels import LabelSpec
from graphemo.specs import SpecError
from graphemo.store import StoreVideo, write_store
from graphemo.training.metrics import Predictions, clip_probabilities, evaluate
from graphemo.training.selection import Selection

CONTENTS, STYLES, CAMERAS = ("bow", "walk", "run", "wave", "sit", "jump"), ("calm", "wild", "sad"), (0, 90)


@pytest.fixture(scope="module")
def styles_store(tmp_path_factory):
    """6 contents x 3 styles clips, each seen by 2 cameras (36 videos), labelled by style, grouped by content."""
    root = tmp_path_factory.mktemp("cv")
    rows, videos = ["video,label,clip,camera,content"], []
    rng = np.random.default_rng(0)
    for content in CONTENTS:
        for style in STYLES:
            clip = f"{content}_{style}"
            for camera in CAMERAS:
                vid = f"{clip}_az{camera:03d}"
                rows.append(f"{vid},{style},{clip},{camera},{content}")
                keypoints = rng.uniform(100, 500, (12, 1, 25, 3)).astype(np.float32)
                keypoints[..., 2] = 1.0
                videos.append(StoreVideo(vid, keypoints, fps=30.0))
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    labels = LabelSpec(csv=str(root / "labels.csv"), classes=list(STYLES))
    return write_store(root / "store", videos, layout="body25", labels=labels)


def attribute_sets(store, videos, key):
    return {store.videos[int(i)].attributes[key] for i in videos}


@pytest.mark.parametrize("group_by", ["content", "clip"])
def test_folds_never_share_a_group_and_cover_every_video_once(styles_store, group_by):
    store = styles_store
    tested = []
    for fold in (1, 2, 3):
        split = cv_split(store, CVSpec(folds=3, group_by=group_by, fold=fold, val_ratio=0.25))
        parts = [set(split[k].tolist()) for k in ("train", "val", "test")]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
            assert not attribute_sets(store, split[a], group_by) & attribute_sets(store, split[b], group_by)
            assert not attribute_sets(store, split[a], "clip") & attribute_sets(store, split[b], "clip")
        assert len(split["val"]) > 0
        tested += split["test"].tolist()
    assert sorted(tested) == list(range(len(store)))  # every video is tested exactly once


def test_validating_on_the_held_out_fold_and_bad_groupings(styles_store):
    split = cv_split(styles_store, CVSpec(folds=2, group_by="content", fold=1, val_ratio=0.0))
    assert np.array_equal(split["val"], split["test"])
    with pytest.raises(ValueError, match=r"no attribute 'actor' \(they have: camera, clip, content"):
        cv_split(styles_store, CVSpec(folds=2, group_by="actor", fold=1))
    with pytest.raises(ValueError, match="at least 7 content groups"):
        cv_split(styles_store, CVSpec(folds=7, group_by="content", fold=1))
    with pytest.raises(ValueError, match="clip 'bow_calm' has videos in the camera groups"):
        video_groups(styles_store, np.arange(len(styles_store)), "camera")  # cameras of one clip must not split
    with pytest.raises(SpecError, match=r"cv\.fold: 4 is more than folds=3"):
        CVSpec(folds=3, fold=4)


def test_selection_best_last_and_smoothed():
    scores = [0.2, 0.6, 0.3, 0.5, 0.55, 0.52, 0.3]
    kept = {}
    for mode in ("best", "last", "smoothed"):
        selection = Selection(mode, "clip_f1", window=3)
        for epoch, score in enumerate(scores, start=1):
            selection.update(epoch, {"clip_f1": score})
        kept[mode] = selection.best_epoch
    assert kept == {"best": 2, "last": 7, "smoothed": 6}  # means of the last 3: .37 .47 .45 .52 .46 from epoch 3
    stale = Selection("best", "score")
    for epoch, score in enumerate([0.5, 0.4, math.nan, 0.45], start=1):
        stale.update(epoch, {"score": score})
    assert stale.best_epoch == 1 and stale.stale == 3
    with pytest.raises(ValueError, match=r"'clip_f11' is not a validation metric \(known: .*clip_f1"):
        Selection("best", "clip_f11").update(1, {"clip_f1": 0.3, "score": 0.2})
    replayed = Selection.replay("smoothed", "clip_f1", 3, 0.0, [{"val/clip_f1": s} for s in scores])
    assert replayed.best_epoch == 6


def test_clip_level_metrics_by_hand():
    """Two clips of class 0 and 1; frames voted by mean probability, every frame counted."""
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55]])
    pred = Predictions(video=np.array([0, 0, 0, 1, 1]), frame=np.arange(5), y=np.array([0, -1, 0, 1, -1]),
                       va=np.full((5, 2), np.nan), probs=probs)  # fmt: skip
    videos, truth, mean = clip_probabilities(pred)
    np.testing.assert_allclose(mean, [[0.6, 0.4], [0.325, 0.675]])  # unannotated frames vote too
    assert videos.tolist() == [0, 1] and truth.tolist() == [0, 1]
    metrics = evaluate(pred, "expr", ["calm", "wild"], clip_labels={1: 0})  # a clip label wins over the frames
    assert (
        metrics["clip_n"] == 2 and metrics["clip_war"] == 0.5 and metrics["clip_confusion"].tolist() == [[1, 1], [0, 0]]
    )
    assert metrics["f1"] == 1.0  # the three annotated frames (0, 0, 1) are right; the clip-labelled clip 1 is not


def test_an_experiment_outside_the_checkout_uses_the_project_configs(tmp_path, monkeypatch):
    from graphemo.training.compose import ConfigError, plan_runs

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "elsewhere" / "exp.yaml"
    path.parent.mkdir()
    path.write_text("name: e\ndefaults: [optim/adamw, schedule/cosine]\nmodel: {name: mlp}\n")
    (run,), _ = plan_runs(path)
    assert run.config.optim.name == "adamw" and run.config.schedule.name == "cosine"
    mine = tmp_path / "mine" / "optim"
    mine.mkdir(parents=True)
    (mine / "adamw.yaml").write_text("name: adamw\nlr: 0.123\n")
    (run,), _ = plan_runs(path, configs=[tmp_path / "mine"])  # --configs wins
    assert run.config.optim.lr == pytest.approx(0.123)
    path.write_text("name: e\ndefaults: [optim/adamww]\nmodel: {name: mlp}\n")
    with pytest.raises(ConfigError, match=r"no config 'optim/adamww' \(looked in .*\); did you mean 'optim/adamw'"):
        plan_runs(path)
