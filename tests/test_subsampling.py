"""Frame subsampling: strategies on sequences of known structure, masks, budgets, the report, the trainer hook, CLI."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from graphemo.cli import main
from graphemo.graphs.normalize import body_frame, normalize_pose
from graphemo.labels import LabelSpec
from graphemo.skeleton import get_layout
from graphemo.sources.synth import generate_dataset, plan_emotions, synthesize_video
from graphemo.store import PreparedStore, prepare_dataset
from graphemo.subsampling import (
    STRATEGIES,
    MotionGate,
    SubsampleSpec,
    aggregate_reports,
    candidate_frames,
    class_budgets,
    format_report,
    frame_distances,
    pose_features,
    redundancy_report,
    report_metrics,
    select_frames,
    select_frames_per_class,
    select_training_frames,
)
from tests.conftest import shared_path

STATIC, BURST, STRETCHES = 300, 12, 3


def burst_sequence(seed: int = 0, joints: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Three static stretches (one pose + 0.001 jitter) joined by two bursts of wild motion.

    Returns ``(pose (T, V, 3), is_burst (T,) bool)``.
    """
    rng = np.random.default_rng(seed)
    bases = rng.normal(0.0, 1.0, (STRETCHES, joints, 2))
    parts, burst = [], []
    for k in range(STRETCHES):
        parts.append(bases[k] + rng.normal(0.0, 0.001, (STATIC, joints, 2)))
        burst += [False] * STATIC
        if k < STRETCHES - 1:
            parts.append(bases[k] + rng.normal(0.0, 0.7, (BURST, joints, 2)))
            burst += [True] * BURST
    xy = np.concatenate(parts)
    pose = np.concatenate([xy, np.full((*xy.shape[:2], 1), 0.9)], axis=-1).astype(np.float32)
    return pose, np.array(burst)


def random_pose(seed: int, frames: int = 200, joints: int = 8, missing: float = 0.2) -> np.ndarray:
    """A smooth random walk with missing joints (NaN coordinates) and a few frames with nobody."""
    rng = np.random.default_rng(seed)
    xy = np.cumsum(rng.normal(0.0, 0.05, (frames, joints, 2)), axis=0)
    conf = np.where(rng.random((frames, joints)) < missing, 0.0, 0.8)
    conf[rng.choice(frames, size=frames // 20, replace=False)] = 0.0
    xy[conf == 0] = np.nan
    return np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32)


@pytest.fixture(scope="module")
def synth_poses() -> list[np.ndarray]:
    """Body poses of three generated videos (300 frames), normalised per frame."""
    layout = get_layout("body25_face_hands")
    poses = []
    for i in range(3):
        rng = np.random.default_rng([7, i])
        video = synthesize_video(rng, plan_emotions(rng, 300))
        poses.append(pose_features(normalize_pose(video.keypoints[:, 0], layout), layout, ["body"]))
    return poses


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> PreparedStore:
    root = tmp_path_factory.mktemp("subsample")
    generate_dataset(root / "raw", 5, seed=3, frames=(60, 110), workers=1, progress=False)
    labels = LabelSpec(abaw_expr=str(root / "raw/labels/EXPR"), abaw_va=str(root / "raw/labels/VA"))
    return prepare_dataset(root / "raw/keypoints", root / "store", labels=labels, workers=1, progress=False)


# --- strategies on a sequence of known structure ----------------------------------------------------


def test_motion_and_kcenter_keep_bursts_every_nth_keeps_static_repeats() -> None:
    pose, burst = burst_sequence()
    budget = 30
    kc = select_frames(pose, "kcenter", count=budget)
    assert len(kc) == budget
    assert burst[kc].sum() == burst.sum()  # every burst frame
    nth = select_frames(pose, "every_nth", count=budget)
    assert len(nth) == budget
    assert burst[nth].sum() <= 3  # spends its budget on the static stretches

    gated = select_frames(pose, "motion", threshold=0.1)
    assert burst[gated].sum() == burst.sum()
    assert (~burst[gated]).sum() == STRETCHES  # one frame per static stretch, no repeat
    calibrated = select_frames(pose, "motion", count=budget)
    assert len(calibrated) == budget
    assert burst[calibrated].sum() == burst.sum()

    report = {name: redundancy_report(pose, kept) for name, kept in (("kc", kc), ("nth", nth))}
    assert report["kc"]["coverage_radius"] < 0.01 < report["nth"]["coverage_radius"]
    assert report["kc"]["duplicates"] <= budget - burst.sum()  # only the surplus on the static jitter


@pytest.mark.parametrize("ratio", [0.05, 0.1, 0.3])
def test_kcenter_coverage_radius_at_most_every_nth_on_generated_videos(synth_poses, ratio: float) -> None:
    for pose in synth_poses:
        kc = select_frames(pose, "kcenter", ratio=ratio)
        nth = select_frames(pose, "every_nth", ratio=ratio)
        assert len(kc) == len(nth)
        radius_kc = redundancy_report(pose, kc)["coverage_radius"]
        radius_nth = redundancy_report(pose, nth)["coverage_radius"]
        assert radius_kc <= radius_nth


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_strategies_are_deterministic(synth_poses, strategy: str) -> None:
    pose = synth_poses[0]
    first = select_frames(pose, strategy, ratio=0.1)
    again = select_frames(pose.copy(), strategy, ratio=0.1)
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.int64 and np.all(np.diff(first) > 0)


def test_budgets_ratio_count_n(synth_poses) -> None:
    pose = synth_poses[1]
    eligible = int((pose[..., 2] > 0).any(axis=1).sum())
    for strategy in STRATEGIES:
        assert len(select_frames(pose, strategy, ratio=0.2)) == math.floor(0.2 * eligible + 0.5)
        assert len(select_frames(pose, strategy, count=17)) == 17
        assert len(select_frames(pose, strategy, count=0)) == 0
    nth = select_frames(pose, "every_nth", n=7)
    assert len(nth) == math.ceil(eligible / 7)
    with pytest.raises(ValueError, match="exactly one"):
        select_frames(pose, "kcenter", ratio=0.1, count=3)
    with pytest.raises(ValueError, match="takes no 'n'"):
        select_frames(pose, "kcenter", n=3)


def test_real_clip_kcenter_covers_best_and_motion_gate_agrees() -> None:
    from graphemo.keypoints.openpose import read_openpose_video

    folder = shared_path("openpose/mpiiemo_two_people/corpora/MPIIEmo/prepare_data/test/json")
    layout = get_layout("body25")
    keypoints = read_openpose_video(folder, layout="body25").keypoints[:, 0]
    pose = SubsampleSpec().distance_pose(keypoints, layout)
    radius = {s: redundancy_report(pose, select_frames(pose, s, ratio=0.1))["coverage_radius"] for s in STRATEGIES}
    assert radius["kcenter"] <= radius["motion"] <= radius["every_nth"]
    gate = MotionGate(0.1)
    np.testing.assert_array_equal(
        np.flatnonzero([gate(frame) for frame in pose]), select_frames(pose, "motion", threshold=0.1)
    )


# --- masks ---------------------------------------------------------------------------------------------


def test_distance_uses_only_joints_visible_in_both_frames() -> None:
    pose = np.zeros((3, 3, 3), dtype=np.float32)
    pose[0] = [[0, 0, 1], [1, 1, 1], [1e6, np.nan, 0]]  # joint 2 hidden
    pose[1] = [[np.nan, 5, 0], [4, 5, 1], [2, 2, 1]]  # joint 0 hidden
    pose[2] = [[9, 9, 0], [9, 9, 0], [3, 3, 1]]  # only joint 2
    d = frame_distances(pose)
    assert d[0, 1] == pytest.approx(5.0)  # joint 1 only: |(1, 1) - (4, 5)|
    assert d[1, 2] == pytest.approx(math.sqrt(2.0))  # joint 2 only
    assert d[0, 2] == math.inf  # no joint in common
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-6)


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_hidden_joint_coordinates_are_never_read(strategy: str) -> None:
    pose = random_pose(1)
    garbage = pose.copy()
    hidden = garbage[..., 2] == 0
    garbage[..., 0][hidden] = 1e6
    garbage[..., 1][hidden] = -3e5
    zeros = pose.copy()
    zeros[..., :2][hidden] = 0.0
    results = [select_frames(p, strategy, ratio=0.2) for p in (pose, garbage, zeros)]
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])
    r = [redundancy_report(p, results[0]) for p in (pose, garbage)]
    assert r[0]["coverage_radius"] == pytest.approx(r[1]["coverage_radius"], rel=1e-9)


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_frames_with_no_person_are_never_chosen(strategy: str) -> None:
    pose = random_pose(2)
    nobody = ~(pose[..., 2] > 0).any(axis=1)
    pose[nobody, :, :2] = 1e3  # far from everything: a farthest-point search would love them
    assert nobody.sum() >= 5
    for budget in ({"ratio": 1.0}, {"ratio": 0.3}, {"count": 10_000}):
        kept = select_frames(pose, strategy, **budget)
        assert not nobody[kept].any()
    assert len(select_frames(pose, strategy, ratio=1.0)) == (~nobody).sum()
    candidates = np.arange(len(pose)) % 2 == 0
    kept = select_frames(pose, strategy, ratio=0.5, candidates=candidates)
    assert candidates[kept].all() and not nobody[kept].any()


def test_motion_gate_equals_motion_strategy(synth_poses) -> None:
    for pose in [*synth_poses, random_pose(3), burst_sequence()[0]]:
        for threshold in (0.0, 0.02, 0.05, 0.3):
            gate = MotionGate(threshold)
            streamed = np.flatnonzero([gate(frame) for frame in pose])
            np.testing.assert_array_equal(streamed, select_frames(pose, "motion", threshold=threshold))


def test_motion_threshold_keeps_frames_that_moved_more_than_it() -> None:
    pose = random_pose(4, missing=0.0)
    person = (pose[..., 2] > 0).any(axis=1)
    kept = select_frames(pose, "motion", threshold=0.2)
    assert kept[0] == np.flatnonzero(person)[0]
    d = frame_distances(pose)
    for prev, nxt in itertools.pairwise(kept):
        assert d[prev, nxt] > 0.2
        between = np.arange(prev + 1, nxt)
        assert (d[prev, between[person[between]]] <= 0.2).all()  # every frame in between stayed close


# --- class-aware budgets -----------------------------------------------------------------------------


def imbalanced_labels() -> list[np.ndarray]:
    """Neutral (6) frequent, anger (0) medium, fear (2) rare, over three videos; some unannotated."""
    return [
        np.repeat([6, 0, 2, -1], [1000, 100, 20, 30]),
        np.repeat([6, 0, -1], [600, 60, 10]),
        np.repeat([2, 6], [15, 400]),
    ]


def test_class_budgets_rare_classes_keep_a_larger_share_totals_exact() -> None:
    labels = imbalanced_labels()
    counts = np.stack([np.bincount(lab[lab >= 0], minlength=7) for lab in labels])
    for total in (0, 1, 137, 300, 2000):
        budgets = class_budgets(labels, total, power=0.5)
        assert budgets.sum() == total
        assert (budgets <= counts).all() and (budgets >= 0).all()
    budgets = class_budgets(labels, 300, power=0.5)
    share = budgets.sum(axis=0)[[2, 0, 6]] / counts.sum(axis=0)[[2, 0, 6]]
    assert share[0] > share[1] > share[2]  # fear > anger > neutral
    flat = class_budgets(labels, 300, power=1.0).sum(axis=0)
    fraction = 300 / counts.sum()
    np.testing.assert_allclose(flat[[0, 2, 6]], counts.sum(axis=0)[[0, 2, 6]] * fraction, atol=1)
    equal = class_budgets(labels, 90, power=0.0).sum(axis=0)
    assert equal[[0, 2, 6]].tolist() == [30, 30, 30]
    capped = class_budgets(labels, 2000, power=0.0)  # fear has 35 frames: all kept, the rest shared
    assert capped.sum() == 2000 and capped[:, 2].sum() == 35
    with pytest.raises(ValueError, match="total must be in"):
        class_budgets(labels, int(counts.sum()) + 1)


def test_select_frames_per_class_keeps_each_class_budget() -> None:
    labels = imbalanced_labels()[0]
    pose = random_pose(5, frames=len(labels), missing=0.0)
    pose[..., 2] = 0.8  # everyone visible, so every budget can be met
    pose[..., :2] = np.nan_to_num(pose[..., :2])
    budget = np.array([10, 0, 7, 0, 0, 0, 25])
    for strategy in STRATEGIES:
        kept = select_frames_per_class(pose, labels, budget, strategy)
        assert np.bincount(labels[kept], minlength=7).tolist() == budget.tolist()


# --- SubsampleSpec ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field_name"),
    [
        ({"strategy": "kcentre", "ratio": 0.1}, "strategy"),
        ({"strategy": "kcenter"}, "ratio"),
        ({"strategy": "kcenter", "ratio": 1.5}, "ratio"),
        ({"strategy": "kcenter", "ratio": 0}, "ratio"),
        ({"strategy": "kcenter", "ratio": "0.1"}, "ratio"),
        ({"strategy": "kcenter", "ratio": 0.1, "count": 5}, "count"),
        ({"strategy": "kcenter", "n": 3}, "n"),
        ({"strategy": "every_nth", "threshold": 0.1}, "threshold"),
        ({"strategy": "motion", "threshold": -1.0}, "threshold"),
        ({"strategy": "every_nth", "n": 0}, "n"),
        ({"strategy": "kcenter", "count": -1}, "count"),
        ({"strategy": "kcenter", "count": True}, "count"),
        ({"strategy": "kcenter", "total": 100}, "total"),
        ({"strategy": "kcenter", "count": 5, "class_aware": True}, "count"),
        ({"strategy": "kcenter", "ratio": 0.1, "class_aware": "yes"}, "class_aware"),
        ({"strategy": "kcenter", "ratio": 0.1, "class_aware": True, "power": 2}, "power"),
        ({"strategy": "none", "ratio": 0.1}, "ratio"),
        ({"strategy": "none", "class_aware": True}, "class_aware"),
        ({"strategy": "kcenter", "ratio": 0.1, "parts": "body"}, "parts"),
        ({"strategy": "kcenter", "ratio": 0.1, "parts": ["torso"]}, "parts"),
        ({"strategy": "kcenter", "ratio": 0.1, "parts": []}, "parts"),
        ({"strategy": "kcenter", "ratio": 0.1, "center": "hip"}, "center"),
        ({"strategy": "kcenter", "ratio": 0.1, "scale": "height"}, "scale"),
        ({"strategy": "kcenter", "ratio": 0.1, "duplicate_threshold": 0}, "duplicate_threshold"),
    ],
)
def test_spec_validation_names_the_field(fields: dict, field_name: str) -> None:
    with pytest.raises(ValueError, match=rf"subsample\.{field_name}\b"):
        SubsampleSpec(**fields)


def test_spec_from_yaml_mapping() -> None:
    assert not SubsampleSpec().enabled and not SubsampleSpec.from_dict(None).enabled
    spec = SubsampleSpec.from_dict({"strategy": "kcenter", "ratio": 0.1, "parts": ["body", "face"]})
    assert spec.budget() == {"ratio": 0.1} and spec.parts == ["body", "face"]
    assert SubsampleSpec.from_dict(spec.to_dict()) == spec
    assert spec.describe() == "kcenter ratio=0.1 parts=body+face"
    aware = SubsampleSpec(strategy="motion", total=500, class_aware=True, power=0.3)
    assert aware.budget() == {"total": 500}
    with pytest.raises(ValueError, match=r"subsample\.ration: unknown key; did you mean 'ratio'\?"):
        SubsampleSpec.from_dict({"strategy": "kcenter", "ration": 0.1})


# --- the redundancy report ------------------------------------------------------------------------------


def brute_force_distance(a: np.ndarray, b: np.ndarray) -> float:
    shared = (a[:, 2] > 0) & (b[:, 2] > 0)
    if not shared.any():
        return math.inf
    return math.sqrt(sum(float(((a[j, :2] - b[j, :2]).astype(np.float64) ** 2).sum()) for j in np.flatnonzero(shared))
                     / shared.sum())  # fmt: skip


def test_report_matches_brute_force() -> None:
    pose = random_pose(6, frames=40, joints=5, missing=0.3)
    pose[7, :, 2] = 0.0
    pose[7, 0, 2] = 0.8  # frame 7 shows joint 0 only
    pose[np.arange(40) != 7, 0, 2] = 0.0  # ... which no other frame shows: it shares no joint with any
    pose[..., :2] = np.where(pose[..., 2:] > 0, np.nan_to_num(pose[..., :2]), np.nan)
    labels = np.arange(40) % 4 - 1  # -1, 0, 1, 2
    person = (pose[..., 2] > 0).any(axis=1)
    eligible = np.flatnonzero(person)
    kept = eligible[::3]
    kept = kept[kept != 7]
    dropped = np.setdiff1d(eligible, kept)
    threshold = 0.1
    report = redundancy_report(pose, kept, labels=labels, duplicate_threshold=threshold)

    d = np.array([[brute_force_distance(pose[i], pose[j]) for j in range(40)] for i in range(40)])
    cover = d[np.ix_(dropped, kept)].min(axis=1)
    nn = np.array([min(d[i, j] for j in kept if j != i) for i in kept])
    assert report["eligible"] == len(eligible) and report["kept"] == len(kept) and report["dropped"] == len(dropped)
    assert report["uncovered"] == 1  # frame 7
    assert report["coverage_radius"] == pytest.approx(cover[np.isfinite(cover)].max(), rel=1e-6)
    assert report["mean_cover_distance"] == pytest.approx(cover[np.isfinite(cover)].mean(), rel=1e-6)
    assert report["kept_nn_mean"] == pytest.approx(nn[np.isfinite(nn)].mean(), rel=1e-6)
    assert report["duplicates"] == int((nn < threshold).sum())
    assert report["labels_before"] == np.bincount(labels[eligible][labels[eligible] >= 0], minlength=7).tolist()
    assert report["labels_after"] == np.bincount(labels[kept][labels[kept] >= 0], minlength=7).tolist()
    np.testing.assert_allclose(frame_distances(pose), d, rtol=1e-6, atol=1e-6)

    with pytest.raises(ValueError, match="not eligible"):
        redundancy_report(pose, np.append(kept, np.flatnonzero(~person)[0]))


def test_aggregate_reports_combines_videos() -> None:
    poses = [random_pose(s, frames=60) for s in (7, 8)]
    reports = [redundancy_report(p, select_frames(p, "kcenter", ratio=0.2), labels=np.zeros(60, int)) for p in poses]
    agg = aggregate_reports(reports)
    assert agg["videos"] == 2 and agg["kept"] == reports[0]["kept"] + reports[1]["kept"]
    assert agg["coverage_radius"] == max(r["coverage_radius"] for r in reports)
    assert agg["mean_coverage_radius"] == pytest.approx(np.mean([r["coverage_radius"] for r in reports]))
    weights = [r["covered"] for r in reports]
    expected = np.average([r["mean_cover_distance"] for r in reports], weights=weights)
    assert agg["mean_cover_distance"] == pytest.approx(expected)
    assert agg["labels_after"][0] == agg["kept"]
    metrics = report_metrics(agg)
    assert metrics["subsample/kept"] == agg["kept"] and "subsample/class_kept_fraction/anger" in metrics
    assert all(math.isfinite(v) for v in metrics.values())
    assert "coverage radius" in format_report(agg)


# --- the trainer hook over a prepared store -------------------------------------------------------------


@pytest.mark.parametrize("task", ["expr", "va", "both", None])
@pytest.mark.parametrize(
    "spec",
    [
        SubsampleSpec("kcenter", ratio=0.2),
        SubsampleSpec("motion", count=5, parts=["body", "face"]),
        SubsampleSpec("every_nth", n=4, report=False),
        SubsampleSpec("none"),
    ],
    ids=lambda s: s.describe(),
)
def test_select_training_frames_returns_eligible_frames_of_the_videos(store, spec, task) -> None:
    videos = np.array([3, 1])
    frames, report = select_training_frames(store, videos, spec, task=task, workers=2)
    allowed = np.zeros(store.num_frames, dtype=bool)
    for v in videos:
        allowed[store.videos[v].frames] = True
    allowed &= candidate_frames(store, task)
    assert frames.dtype == np.int64 and np.all(np.diff(frames) > 0)
    assert allowed[frames].all()
    if task == "expr":
        assert (store.expr[frames] >= 0).all() and store.present[frames].all()
    if task == "va":
        assert np.isfinite(store.va[frames]).all()
    if spec.strategy == "none":
        np.testing.assert_array_equal(frames, np.flatnonzero(allowed))
    else:
        assert report["kept"] == len(frames) < allowed.sum()
    assert report["videos"] == sum(allowed[store.videos[v].frames].any() for v in videos)
    again, _ = select_training_frames(store, videos, spec, task=task, workers=1)
    np.testing.assert_array_equal(frames, again)


def test_select_training_frames_per_video_budget_and_report(store) -> None:
    videos = np.arange(len(store.videos))
    frames, report = select_training_frames(store, videos, SubsampleSpec("kcenter", count=6))
    per_video = np.bincount(store.video_of_frame()[frames], minlength=len(videos))
    eligible = np.bincount(store.video_of_frame()[candidate_frames(store, "expr")], minlength=len(videos))
    assert (eligible > 6).sum() >= 3
    np.testing.assert_array_equal(per_video, np.minimum(eligible, 6))
    assert (
        report["kept"] == len(frames)
        and report["labels_after"] == np.bincount(store.expr[frames], minlength=7).tolist()
    )
    assert 0 < report["coverage_radius"] < math.inf


def test_select_training_frames_class_aware_total_is_exact(store) -> None:
    videos = np.arange(len(store.videos))
    for spec in (
        SubsampleSpec("kcenter", total=40, class_aware=True, power=0.0),
        SubsampleSpec("every_nth", ratio=0.15, class_aware=True),
    ):
        frames, report = select_training_frames(store, videos, spec)
        if spec.total is not None:
            assert len(frames) == 40
        else:
            assert len(frames) == math.floor(0.15 * report["eligible"] + 0.5)
        before, after = np.array(report["labels_before"]), np.array(report["labels_after"])
        assert after.sum() == len(frames)
        if spec.power == 0.0:  # equal numbers per class (every class here has enough frames)
            present = before > 0
            assert before[present].min() >= 40 / present.sum()
            assert after[present].max() - after[present].min() <= 1
    frames, _ = select_training_frames(
        store, videos, SubsampleSpec("kcenter", ratio=0.3, class_aware=True), task="both"
    )
    assert len(frames) > 0
    with pytest.raises(ValueError, match=r"subsample\.class_aware"):
        select_training_frames(store, videos, SubsampleSpec("kcenter", ratio=0.3, class_aware=True), task="va")
    with pytest.raises(ValueError, match=r"subsample\.total"):
        select_training_frames(store, videos, SubsampleSpec("kcenter", total=10**6, class_aware=True))


def test_select_training_frames_bad_input(store) -> None:
    with pytest.raises(ValueError, match="out of range"):
        select_training_frames(store, np.array([len(store.videos)]), SubsampleSpec("kcenter", ratio=0.1))
    with pytest.raises(ValueError, match=r"subsample\.parts: layout .* has no part 'hand'"):
        select_training_frames(store, np.array([0]), SubsampleSpec("kcenter", ratio=0.1, parts=["hand"]))
    frames, report = select_training_frames(store, np.array([], dtype=np.int64), SubsampleSpec("kcenter", ratio=0.1))
    assert len(frames) == 0 and report["videos"] == 0


# --- command line -------------------------------------------------------------------------------------------


def test_cli_subsample(store, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "frames.npy"
    args = ["subsample", str(store.path), "--strategy", "kcenter", "--ratio", "0.2", "--split", "all", "--workers", "1"]
    assert main([*args, "--report", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "coverage radius" in text and "neutral" in text
    from graphemo.graphs.splits import split_videos

    videos = np.sort(np.concatenate(list(split_videos(store).values())))
    expected, _ = select_training_frames(store, videos, SubsampleSpec("kcenter", ratio=0.2))
    np.testing.assert_array_equal(np.load(out), expected)

    assert main([*args, "--compare", "--parts", "body", "face"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in ("every_nth", "motion", "kcenter", "radius", "dup %"))

    assert main(["subsample", str(store.path), "--strategy", "kcenter"]) == 2
    assert "subsample.ratio" in capsys.readouterr().err
    assert main(["subsample", str(store.path), "--strategy", "motion", "--threshold", "0.1", "--compare"]) == 2
    assert "--compare needs" in capsys.readouterr().err


@pytest.mark.parametrize("parts", [["body"], ["body", "face"], ["hands"]])
def test_distance_pose_normalisation(parts: list[str]) -> None:
    layout = get_layout("body25_face_hands")
    rng = np.random.default_rng([9, 0])
    keypoints = synthesize_video(rng, plan_emotions(rng, 120)).keypoints[:, 0]
    per_frame = SubsampleSpec(parts=parts, center="mid_hip", scale="torso", scale_per="frame")
    expected = pose_features(normalize_pose(keypoints, layout, center="mid_hip", scale="torso"), layout, parts)
    np.testing.assert_allclose(per_frame.distance_pose(keypoints, layout), expected, rtol=1e-6, atol=1e-6)

    centre, size = body_frame(keypoints, layout)
    median = np.nanmedian(size)
    pose = SubsampleSpec(parts=parts).distance_pose(keypoints, layout)
    joints = pose_features(keypoints, layout, parts)
    visible = joints[..., 2] > 0
    np.testing.assert_allclose(pose[visible][:, :2], ((joints[..., :2] - centre[:, None]) / median)[visible], rtol=1e-5)
    assert (pose[~visible] == 0).all() and (pose[..., 2] == joints[..., 2] * visible).all()


def test_video_scale_keeps_a_flickering_shoulder_from_moving_the_pose() -> None:
    layout = get_layout("body25")
    rng = np.random.default_rng(0)
    still = np.zeros((40, 25, 3), dtype=np.float32)
    still[:, :, :2] = rng.uniform(300, 500, (25, 2))
    still[:, :, 2] = 0.8
    still[:, 8:, 2] = 0.0  # close-up: no hips, no legs
    still[::2, 5, 2] = 0.0  # the left shoulder is detected every other frame
    frame = SubsampleSpec(scale_per="frame").distance_pose(still, layout)
    video = SubsampleSpec().distance_pose(still, layout)
    assert frame_distances(frame)[0, 1] > 0.5  # the same pose, measured with a fallback scale every other frame
    np.testing.assert_allclose(frame_distances(video), 0.0, atol=1e-5)
