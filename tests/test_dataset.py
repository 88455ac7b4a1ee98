"""The PyG datasets over a prepared store (frames and windows) and the video-level splits."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from graphemo.graphs import FeatureSpec, SkeletonFrames, SkeletonWindows, split_videos
from graphemo.graphs.augment import Augment
from graphemo.keypoints import frame_file_name, write_openpose_json
from graphemo.labels import LabelSpec
from graphemo.skeleton import get_layout
from graphemo.sources.synth import generate_dataset
from graphemo.store import PreparedStore, PrepareOptions, prepare_dataset

BODY25 = get_layout("body25")
NECK, R_SHOULDER, R_WRIST, L_SHOULDER, L_WRIST, R_KNEE = 1, 2, 4, 5, 7, 10
FRAMES = 10
EMPTY_FRAME = 9  # every video: a frame with nobody
UNANNOTATED_FRAME = 2  # every video: no label


def person(video: int, t: int) -> np.ndarray:
    """A known BODY_25 pose: neck at (200 + 10 t, 150), shoulders 60 px apart, right knee never detected."""
    rng = np.random.default_rng([video, t])
    xy = rng.uniform(120, 300, (25, 2))
    neck = np.array([200.0 + 10 * t, 150.0])
    offsets = np.array([[0, 0], [-30, 0], [30, 0], [-45, 90], [45, 60]])
    xy[[NECK, R_SHOULDER, L_SHOULDER, R_WRIST, L_WRIST]] = neck + offsets
    conf = rng.uniform(0.3, 1.0, 25)
    conf[R_KNEE] = 0.0
    return np.column_stack([xy, conf]).astype(np.float32)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> PreparedStore:
    """12 videos x 10 frames; CSV labels: class = video % 7, official splits for v00..v07 (train) and v08 (val)."""
    root = tmp_path_factory.mktemp("dataset")
    rows = ["video,frame,label,valence,arousal,split"]
    for v in range(12):
        name = f"v{v:02d}"
        (root / "keypoints" / name).mkdir(parents=True)
        for t in range(FRAMES):
            people = np.zeros((0, 25, 3)) if t == EMPTY_FRAME else person(v, t)[None]
            write_openpose_json(root / "keypoints" / name / frame_file_name(name, t), people, BODY25)
            split = "train" if v < 8 else "val" if v == 8 else ""
            label = "" if t == UNANNOTATED_FRAME else str(v % 7)
            rows.append(f"{name},{t},{label},{v / 20:.2f},{-v / 20:.2f},{split}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return prepare_dataset(root / "keypoints", root / "store", labels=LabelSpec(csv=str(root / "labels.csv")),
                           progress=False, workers=1)  # fmt: skip


def test_frames_are_pyg_graphs_that_batch(store):
    ds = SkeletonFrames(store, task="expr")
    assert len(ds) == 12 * (FRAMES - 2), "anchors: frames with the person and a label"
    sample = ds[0]
    assert sample.x.shape == (25, 3) and sample.x.dtype == torch.float32
    assert torch.equal(sample.edge_index, BODY25.edge_index()) and sample.edge_index.shape[0] == 2
    assert sample.y.shape == (1,) and sample.va.shape == (1, 2) and sample.video.shape == sample.frame.shape == (1,)
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch.x.shape == (4 * 25, 3) and batch.num_graphs == 4
    assert batch.y.shape == (4,) and batch.va.shape == (4, 2)
    assert torch.equal(batch.batch, torch.arange(4).repeat_interleave(25))
    edges = BODY25.edge_index()
    assert torch.equal(batch.edge_index, torch.cat([edges + 25 * i for i in range(4)], dim=1))


def test_edges_match_the_layout():
    edges = BODY25.edge_index()
    pairs = {tuple(sorted(e)) for e in edges.T.tolist()}
    assert pairs == {tuple(sorted(b)) for b in BODY25.bones}
    assert edges.shape[1] == 2 * len(BODY25.bones), "both directions of every bone, no self-loops"
    assert not (edges[0] == edges[1]).any()


def test_frame_features_are_normalised_and_missing_joints_stay_missing(store):
    features = FeatureSpec(scale="shoulders", confidence=True, mask=True)
    ds = SkeletonFrames(store, task="expr", features=features)
    assert ds.in_channels == 4
    for i in (0, 5, len(ds) - 1):
        x = ds[i].x.numpy()
        video, frame = int(ds[i].video), int(ds[i].frame) - store.videos[int(ds[i].video)].start
        raw = person(int(store.videos[video].video_id[1:]), frame)
        np.testing.assert_allclose(x[NECK, :2], 0.0, atol=1e-6)
        assert np.linalg.norm(x[R_SHOULDER, :2] - x[L_SHOULDER, :2]) == pytest.approx(1.0, rel=1e-5)
        np.testing.assert_allclose(x[R_WRIST, :2], [-45 / 60, 90 / 60], rtol=1e-4)
        np.testing.assert_allclose(x[:, 2], np.where(raw[:, 2] > 0, raw[:, 2], 0), atol=1e-6)
        assert (x[R_KNEE] == 0).all(), "never detected: position 0, confidence 0, mask 0"
        assert (x[np.arange(25) != R_KNEE, 3] == 1).all()


@pytest.mark.parametrize(
    ("confidence", "mask", "channels"), [(False, False, 2), (True, False, 3), (False, True, 3), (True, True, 4)]
)
def test_feature_channels(store, confidence, mask, channels):
    spec = FeatureSpec(confidence=confidence, mask=mask)
    assert spec.channels == channels
    assert SkeletonFrames(store, features=spec)[0].x.shape == (25, channels)
    assert SkeletonWindows(store, features=spec, length=4)[0].x.shape == (channels, 4, 25, 1)


def test_windows_stack_to_n_c_t_v_m_and_are_empty_beyond_the_video(store):
    ds = SkeletonWindows(store, length=8, anchor="center")
    batch = next(iter(DataLoader(ds, batch_size=5)))
    assert batch.x.shape == (5, 3, 8, 25, 1) and batch.y.shape == (5,) and batch.va.shape == (5, 2)
    first = ds[0]  # anchored on frame 0 of the first video
    assert int(first.frame) == store.videos[0].start
    x = first.x.numpy()  # (C, T, V, M); offsets -4 .. 3
    assert (x[:, :4] == 0).all(), "frames before the video are empty"
    assert (x[2, 4:, np.arange(25) != R_KNEE] > 0).all()
    causal = SkeletonWindows(store, length=8, anchor="end")[0].x.numpy()
    assert (causal[:, :7] == 0).all() and (causal[2, 7] > 0).sum() == 24
    # A window over the frame with nobody: that frame is empty, its neighbours are not.
    last = next(i for i in range(len(ds)) if int(ds.anchors[i]) == store.videos[0].start + EMPTY_FRAME - 1)
    x = ds[last].x.numpy()
    assert (x[:, 5] == 0).all() and (x[2, 4] > 0).any()
    with pytest.raises(ValueError, match="person slot"):
        SkeletonWindows(store, persons=2)


def test_windows_keep_the_motion_inside_the_window(store):
    shoulders = FeatureSpec(scale="shoulders")  # 60 px wide in these hand-made poses
    x = SkeletonWindows(store, length=4, anchor="end", features=shoulders)[6].x.numpy()  # neck + 10 px per frame
    neck_x = x[0, :, NECK, 0]
    np.testing.assert_allclose(np.diff(neck_x), 10 / 60, rtol=1e-4)


def test_augmented_samples_keep_missing_joints_missing(store):
    torch.manual_seed(0)
    ds = SkeletonFrames(store, augment=Augment(mirror=1.0, joint_dropout=0.3), features=FeatureSpec(mask=True))
    x = ds[3].x.numpy()
    mirrored_knee = BODY25.mirror[R_KNEE]
    assert (x[mirrored_knee] == 0).all()
    dropped = x[:, 3] == 0
    assert (x[dropped] == 0).all() and dropped.sum() >= 1
    torch.manual_seed(0)
    np.testing.assert_array_equal(ds[3].x.numpy(), x)  # seeded from torch: repeatable


# --- splits ----------------------------------------------------------------------------------------


def video_ids(store, indices) -> set[str]:
    return {store.videos[int(i)].video_id for i in indices}


def test_official_splits_are_respected_and_no_video_is_on_both_sides(store):
    splits = split_videos(store, val_ratio=0.3, seed=0)
    assert video_ids(store, splits["val"]) == {"v08"}, "an official validation set is used as it is"
    assert video_ids(store, splits["train"]) == {f"v{v:02d}" for v in range(12)} - {"v08"}
    assert len(splits["test"]) == 0
    train = SkeletonFrames(store, videos=splits["train"])
    val = SkeletonFrames(store, videos=splits["val"])
    assert not set(train.anchor_videos.tolist()) & set(val.anchor_videos.tolist())
    assert len(train) + len(val) == len(SkeletonFrames(store))


def test_seeded_split_is_deterministic_disjoint_and_by_video(store):
    first = split_videos(store, val_ratio=0.25, test_ratio=0.25, seed=3, official=False)
    again = split_videos(store, val_ratio=0.25, test_ratio=0.25, seed=3, official=False)
    assert all(np.array_equal(first[k], again[k]) for k in first)
    others = [split_videos(store, val_ratio=0.25, test_ratio=0.25, seed=s, official=False) for s in range(4, 8)]
    assert any(not np.array_equal(o["test"], first["test"]) for o in others), "the seed matters"
    sets = [set(first[k].tolist()) for k in ("train", "val", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    # test: a quarter of all videos; val: a quarter of the videos left for training
    assert set().union(*sets) == set(range(12)) and len(sets[2]) == 3 and len(sets[1]) == 2
    frames_of = {k: {int(f) for i in first[k] for f in range(store.videos[int(i)].start,
                                                             store.videos[int(i)].start + FRAMES)}
                 for k in first}  # fmt: skip
    assert not (frames_of["train"] & frames_of["val"]), "a video's frames are never split"


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory) -> tuple[Path, PreparedStore]:
    root = tmp_path_factory.mktemp("synth_splits") / "data"
    generate_dataset(root, 10, seed=4, frames=(30, 40), workers=1, progress=False)
    labels = LabelSpec(abaw_expr=str(root / "labels/EXPR"), abaw_va=str(root / "labels/VA"))
    return root, prepare_dataset(root / "keypoints", root / "store", labels=labels, progress=False, workers=1)


def test_abaw_and_dfew_official_splits(synth_store, tmp_path):
    root, abaw = synth_store
    splits = split_videos(abaw, val_ratio=0.5, seed=0)
    official_val = {p.stem for p in (root / "labels/EXPR/Validation_Set").glob("*.txt")}  # ids as on disk
    assert video_ids(abaw, splits["val"]) == official_val and len(official_val) == 2
    assert len(splits["train"]) == 8
    dfew = prepare_dataset(root / "keypoints", tmp_path / "dfew", labels=LabelSpec(dfew=str(root / "labels/DFEW")),
                           options=PrepareOptions(), progress=False, workers=1)  # fmt: skip
    splits = split_videos(dfew, val_ratio=0.25, seed=1)
    test = {v.video_id for v in dfew.videos if v.split == "test"}
    assert video_ids(dfew, splits["test"]) == test and len(test) == 2
    assert len(splits["val"]) == 2, "DFEW has no validation set: drawn from its training videos"
    assert not video_ids(dfew, splits["val"]) & test


def test_videos_with_label_errors_are_in_no_split(tmp_path):
    keypoints = tmp_path / "keypoints"
    for v in range(4):
        (keypoints / f"c{v}").mkdir(parents=True)
        for t in range(3):
            write_openpose_json(keypoints / f"c{v}" / frame_file_name(f"c{v}", t), person(v, t)[None], BODY25)
    expr = tmp_path / "EXPR" / "Train_Set"
    expr.mkdir(parents=True)
    for v in range(4):
        lines = 2 if v == 3 else 3  # c3: one label short
        (expr / f"c{v}.txt").write_text("Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise,Other\n" + "1\n" * lines)
    store = prepare_dataset(keypoints, tmp_path / "store", labels=LabelSpec(abaw_expr=str(tmp_path / "EXPR")),
                            progress=False, workers=1)  # fmt: skip
    splits = split_videos(store, val_ratio=0.34, seed=0)
    used = set().union(*(video_ids(store, s) for s in splits.values()))
    assert used == {"c0", "c1", "c2"}
    assert "c3" not in {store.videos[int(v)].video_id for v in SkeletonFrames(store).anchor_videos}


# --- the dataset API for outside code -----------------------------------------------------------------


def test_every_view_batches_with_a_plain_torch_dataloader(store):
    from torch.utils.data import DataLoader as TorchLoader

    from graphemo.graphs import SkeletonImages, collate

    frames = next(iter(TorchLoader(SkeletonFrames(store), batch_size=4, collate_fn=collate)))
    assert frames.x.shape == (4 * 25, 3) and frames.num_graphs == 4 and frames.y.shape == (4,)
    windows = next(iter(TorchLoader(SkeletonWindows(store, length=6), batch_size=3, collate_fn=collate)))
    assert windows.x.shape == (3, 3, 6, 25, 1) and windows.va.shape == (3, 2)
    images = next(iter(TorchLoader(SkeletonImages(store, size=32), batch_size=2, collate_fn=collate)))
    assert images.x.shape == (2, 3, 32, 32) and images.video.shape == (2,)
    with pytest.raises(TypeError):  # why collate is needed: torch's default one cannot batch PyG samples
        next(iter(TorchLoader(SkeletonWindows(store, length=6), batch_size=3)))


def test_transform_is_applied_to_each_sample_as_pyg_does(store):
    def flip(data):
        data.x = -data.x
        data.flipped = True
        return data

    plain, flipped = SkeletonWindows(store, length=4), SkeletonWindows(store, length=4, transform=flip)
    assert flipped[3].flipped and torch.equal(flipped[3].x, -plain[3].x)
    assert torch.equal(SkeletonFrames(store, transform=flip)[0].x, -SkeletonFrames(store)[0].x)


def test_sequences_give_each_video_whole_with_per_frame_labels(store):
    from graphemo.graphs import SkeletonSequences, collate

    ds = SkeletonSequences(store, features=FeatureSpec(scale="shoulders"))
    assert len(ds) == 12
    sample = ds[1]
    record = store.videos[1]
    assert sample.video_id == "v01" and sample.x.shape == (FRAMES, 25, 3) and sample.num_nodes == FRAMES
    assert sample.y.tolist() == store.expr[record.frames].tolist() and int(sample.y[UNANNOTATED_FRAME]) == -1
    assert not sample.present[EMPTY_FRAME] and sample.present[:EMPTY_FRAME].all()
    assert (sample.x[EMPTY_FRAME] == 0).all(), "a frame with nobody is zeros"
    np.testing.assert_allclose(np.diff(sample.x[:EMPTY_FRAME, NECK, 0].numpy()), 10 / 60, rtol=1e-4)
    frames = SkeletonFrames(store, features=FeatureSpec(scale="shoulders"))
    graph = frames[int(np.flatnonzero(frames.anchor_videos == 1)[0])]
    per_frame = SkeletonSequences(store, features=FeatureSpec(scale="shoulders"), per="frame")[1]
    np.testing.assert_allclose(per_frame.x[int(graph.frame) - record.start].numpy(), graph.x.numpy(), atol=1e-6)
    batch = collate([ds[0], ds[1], ds[2]])
    assert batch.x.shape == (3 * FRAMES, 25, 3) and batch.y.shape == (3 * FRAMES,)
    assert torch.equal(batch.batch, torch.arange(3).repeat_interleave(FRAMES)) and batch.video_id == [
        "v00",
        "v01",
        "v02",
    ]
    assert len(SkeletonSequences(store, videos=[3, 4], parts=["body"])) == 2
