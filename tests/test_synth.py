"""The synthetic data generator: determinism, file formats, and an emotion signal that is real but not trivial."""

import shlex
from pathlib import Path

import numpy as np
import pytest

from graphemo import cli
from graphemo.graphs.normalize import normalize_pose
from graphemo.keypoints import read_openpose_video
from graphemo.labels import EMOTIONS, read_abaw_expr, read_abaw_va, read_dfew_csv, read_dfew_fold
from graphemo.labels.emotions import ABAW_EXPR_HEADER, abaw_to_graphemo
from graphemo.skeleton import get_layout
from graphemo.sources.synth import (
    ANGER,
    HAPPINESS,
    LAYOUT_NAME,
    SADNESS,
    EmotionPlan,
    Segment,
    SynthConfig,
    generate_dataset,
    synthesize_video,
)

LAYOUT = get_layout(LAYOUT_NAME)
# Medium and full-body shots only, nobody else, no empty frames: the wrists and the head are in view.
IN_VIEW = SynthConfig(shot_probs=(0.0, 0.5, 0.5), empty_frame_rate=0.0, bystander_rate=0.0)


def main_person_features(keypoints: np.ndarray) -> np.ndarray:
    """Per-frame features of the main person: neck-centred, shoulder-scaled ``x, y`` of every joint ``(T, 2 V)``."""
    kp = keypoints[:, 0] if keypoints.ndim == 4 else keypoints
    return normalize_pose(kp, LAYOUT)[..., :2].reshape(len(kp), -1)


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "data"
    generate_dataset(root, 6, seed=11, frames=(40, 90), workers=1, progress=False)
    return root


def test_same_seed_same_bytes_whatever_the_workers(dataset, tmp_path):
    again = tmp_path / "again"
    generate_dataset(again, 6, seed=11, frames=(40, 90), workers=2, progress=False)
    first, second = files_of(dataset), files_of(again)
    assert sorted(first) == sorted(second)
    assert all(first[name] == second[name] for name in first), "same seed, other worker count: other bytes"
    other = tmp_path / "other"
    generate_dataset(other, 6, seed=12, frames=(40, 90), workers=1, progress=False)
    assert files_of(other) != first


def test_refuses_to_overwrite_unless_asked(dataset, tmp_path):
    with pytest.raises(FileExistsError, match="already holds a dataset"):
        generate_dataset(dataset, 2, seed=0, progress=False)
    foreign = tmp_path / "foreign"
    (foreign / "keypoints").mkdir(parents=True)
    with pytest.raises(FileExistsError, match="not written by graphemo synth"):
        generate_dataset(foreign, 2, seed=0, overwrite=True, progress=False)


def test_files_parse_with_graphemos_reader_and_labels_have_the_right_shape(dataset):
    videos = sorted((dataset / "keypoints").iterdir())
    assert [v.name for v in videos] == [f"{i:05d}" for i in range(1, 7)]
    annotated = []
    for folder in videos:
        seq = read_openpose_video(folder, max_people=2)
        assert seq.layout == LAYOUT_NAME and seq.keypoints.shape[1:] == (2, 137, 3)
        (expr_file,) = (dataset / "labels" / "EXPR").rglob(f"{folder.name}.txt")
        (va_file,) = (dataset / "labels" / "VA").rglob(f"{folder.name}.txt")
        assert expr_file.parent.name == va_file.parent.name in ("Train_Set", "Validation_Set")
        lines = expr_file.read_text().splitlines()
        assert lines[0] == ABAW_EXPR_HEADER and len(lines) - 1 == seq.num_frames
        assert va_file.read_text().splitlines()[0] == "valence,arousal"
        expr, va = read_abaw_expr(expr_file, keep_other=True), read_abaw_va(va_file)
        assert len(expr) == len(va) == seq.num_frames
        assert set(np.unique(expr)) <= set(range(-1, 8)) and np.nanmax(np.abs(va)) <= 1.0
        annotated.append(np.column_stack([expr >= 0, np.isfinite(va).all(axis=1)]))
    share = np.concatenate(annotated).mean(axis=0)
    assert (share > 0.7).all() and (share < 1).any(), "mostly annotated, with unannotated stretches"
    # DFEW: every fold's test lists partition the clips; train is the rest.
    tests = [set(read_dfew_csv(dataset / f"labels/DFEW/test(single-labeled)/set_{k}.csv")) for k in range(1, 6)]
    everything = {str(i) for i in range(1, 7)}
    assert set().union(*tests) == everything and sum(map(len, tests)) == 6
    for k in range(1, 6):
        fold = read_dfew_fold(dataset / "labels/DFEW", k)
        assert set(fold) == everything
        assert {c for c, v in fold.items() if v.split == "test"} == tests[k - 1]
        assert all(0 <= v.clip_label < len(EMOTIONS) for v in fold.values())


def test_dfew_clip_label_is_the_dominant_annotated_emotion(dataset):
    fold = read_dfew_fold(dataset / "labels/DFEW", 1)
    table = abaw_to_graphemo(keep_other=True)
    for clip, labels in fold.items():
        (expr_file,) = (dataset / "labels" / "EXPR").rglob(f"{int(clip):05d}.txt")
        codes = np.array([int(x) for x in expr_file.read_text().splitlines()[1:]])
        classes = table[codes[codes >= 0]]
        counts = np.bincount(classes[classes < len(EMOTIONS)], minlength=len(EMOTIONS))
        # Unannotated stretches may hide a few frames, so the clip label is (one of) the most frequent.
        assert counts[labels.clip_label] >= 0.8 * counts.max()


def test_missing_joints_empty_frames_and_bystanders_occur_with_the_defaults():
    videos = [synthesize_video(np.random.default_rng([3, i]), EmotionPlan.single(i % 7, 120)) for i in range(30)]
    present = [v.present for v in videos]
    assert sum(int((~p.any(axis=1)).sum()) for p in present) > 0, "no frame with nobody"
    assert sum(v.keypoints.shape[1] == 2 for v in videos) >= 2, "no bystander"
    assert any(v.bystander_first.any() for v in videos), "the bystander is never listed first"
    main = np.concatenate([v.keypoints[v.present[:, 0], 0] for v in videos])
    missing = main[..., 2] == 0
    assert 0.05 < missing.mean() < 0.6
    assert np.isnan(main[missing][:, :2]).all(), "missing joints must not carry coordinates"
    body = LAYOUT.part_slice("body")
    assert missing[:, body].any(axis=0).sum() > 10, "missing joints should not always be the same few"


def wrist_energy(keypoints: np.ndarray) -> float:
    """Mean frame-to-frame displacement of both wrists, in shoulder widths."""
    pose = normalize_pose(keypoints[:, 0], LAYOUT)
    wrists, seen = pose[:, [4, 7], :2], pose[:, [4, 7], 2] > 0
    step = np.linalg.norm(np.diff(wrists, axis=0), axis=-1)[seen[1:] & seen[:-1]]
    return float(step.mean())


def head_drop(keypoints: np.ndarray) -> float:
    """Mean height of the nose below the neck, in shoulder widths (image y points down)."""
    pose = normalize_pose(keypoints[:, 0], LAYOUT)
    seen = (pose[:, 0, 2] > 0) & (pose[:, 1, 2] > 0)
    return float((pose[seen, 0, 1] - pose[seen, 1, 1]).mean())


def test_arousal_drives_wrist_motion_and_sadness_lowers_the_head():
    from scipy.stats import spearmanr

    energy, arousal, head = {}, {}, {}
    for seed in range(4):
        for emotion in range(7):
            # The same seed draws the same person: only the emotion differs between the videos of a seed.
            video = synthesize_video(
                np.random.default_rng([100, seed]), EmotionPlan.single(emotion, 150), config=IN_VIEW
            )
            energy[seed, emotion] = wrist_energy(video.keypoints)
            arousal[seed, emotion] = float(video.va_true[:, 1].mean())
            head[seed, emotion] = head_drop(video.keypoints)
    for seed in range(4):
        assert energy[seed, ANGER] > 1.5 * energy[seed, SADNESS]
        assert energy[seed, HAPPINESS] > energy[seed, SADNESS]
        assert head[seed, SADNESS] > head[seed, HAPPINESS] + 0.05, "sadness: head lower, slumped"
    keys = sorted(energy)
    rho = spearmanr([arousal[k] for k in keys], [energy[k] for k in keys]).statistic
    assert rho > 0.4


def test_a_plain_classifier_learns_the_emotion_but_not_perfectly():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    def frames(seeds):
        x, y = [], []
        for seed in seeds:
            for emotion in range(7):
                video = synthesize_video(np.random.default_rng([7, seed]), EmotionPlan.single(emotion, 90, 0.8))
                seen = video.present[:, 0]
                x.append(main_person_features(video.keypoints)[seen])
                y.append(np.full(int(seen.sum()), emotion))
        return np.concatenate(x), np.concatenate(y)

    # Other people (seeds) for testing than for training: the classifier must generalise across persons.
    x_train, y_train = frames(range(6))
    x_test, y_test = frames(range(100, 103))
    with threadpool_limits(1):  # tiny problem: BLAS threads only fight over the cores
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000)).fit(x_train, y_train)
    accuracy = model.score(x_test, y_test)
    assert 0.3 < accuracy < 0.95, f"chance is {1 / 7:.2f}; got {accuracy:.2f}"


def test_labels_follow_the_plan():
    plan = EmotionPlan(200, (Segment(0, 100, SADNESS, 1.0), Segment(100, 200, ANGER, 1.0)))
    video = synthesize_video(np.random.default_rng(5), plan)
    annotated = video.expr >= 0
    assert (video.expr[annotated] == video.emotion[annotated]).all()
    assert (video.emotion[:100] == SADNESS).all() and (video.emotion[100:] == ANGER).all()
    assert video.va_true[:80, 1].mean() < video.va_true[120:, 1].mean(), "anger is more aroused than sadness"
    assert video.va_true[:80, 0].mean() < 0 and video.va_true[120:, 0].mean() < 0


def test_cli_prints_a_prepare_command_that_works(tmp_path, capsys):
    out = tmp_path / "data dir"  # a space: the printed command must quote it
    assert cli.main(["synth", "--out", str(out), "--videos", "3", "--seed", "2", "--frames", "30", "40",
                     "--workers", "1"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "videos     3" in printed and "files/s" in printed
    commands = [line.strip() for line in printed.splitlines() if line.strip().startswith("graphemo prepare")]
    assert len(commands) == 2 and any("--abaw-expr" in c for c in commands) and any("--dfew" in c for c in commands)
    for command in commands:
        assert cli.main([*shlex.split(command)[1:], "--workers", "1"]) == 0
    summary = capsys.readouterr().out
    assert summary.count("videos     3  (ok: 3)") == 2
    assert cli.main(["synth", "--out", str(out), "--videos", "3"]) == 2, "an existing dataset needs --overwrite"
