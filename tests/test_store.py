"""``prepare_dataset``: the summary, reuse and rebuild, atomic writes, bad input, real fixtures, label formats."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import graphemo.store.prepare as store_module
from graphemo.keypoints import frame_file_name, read_openpose_video, write_openpose_json
from graphemo.labels import EMOTIONS, LabelSpec, read_dfew_csv
from graphemo.labels.emotions import ABAW_EXPR_HEADER, abaw_to_graphemo
from graphemo.skeleton import get_layout
from graphemo.sources.synth import SynthConfig, generate_dataset
from graphemo.store import PreparedStore, PrepareOptions, prepare_dataset
from tests.conftest import OPENPOSE, shared_path

BODY25 = get_layout("body25")


def prepare(root, out, **kwargs) -> PreparedStore:
    return prepare_dataset(root, out, progress=False, workers=kwargs.pop("workers", 1), **kwargs)


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store") / "data"
    # "Other" only comes as a second segment (>= 90 frames) and made frequent enough to show in six videos.
    config = SynthConfig(class_prior=(0.1, 0.1, 0.1, 0.15, 0.15, 0.1, 0.15, 0.15))
    generate_dataset(root, 6, seed=21, frames=(90, 150), workers=1, progress=False, config=config)
    return root


def abaw_labels(root: Path, keep_other: bool = False) -> LabelSpec:
    return LabelSpec(abaw_expr=str(root / "labels/EXPR"), abaw_va=str(root / "labels/VA"), keep_other=keep_other)


def person(shift: float = 0.0, conf: float = 0.9) -> np.ndarray:
    """A BODY_25 person ``(25, 3)`` with the neck between the shoulders (as BODY_25 has it)."""
    rng = np.random.default_rng(int(shift))
    xy = rng.uniform(100, 300, (25, 2)) + shift
    xy[1], xy[2], xy[5] = (200 + shift, 150), (170 + shift, 152), (230 + shift, 148)
    return np.column_stack([xy, np.full(25, conf)]).astype(np.float32)


def write_video(root: Path, name: str, frames: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for t in range(frames):
        write_openpose_json(folder / frame_file_name(name, t), person(t)[None], BODY25)
    return folder


def write_expr(path: Path, codes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ABAW_EXPR_HEADER + "\n" + "".join(f"{c}\n" for c in codes))


# --- a generated dataset ---------------------------------------------------------------------------


def test_summary_and_arrays_agree_with_the_generated_files(synth, tmp_path):
    store = prepare(synth / "keypoints", tmp_path / "store", labels=abaw_labels(synth))
    s = store.summary
    manifest = json.loads((synth / "synth.json").read_text())
    assert s["videos"] == len(store) == 6 and s["status"] == {"ok": 6}
    assert s["frames"] == store.num_frames == manifest["num_frames"]
    assert s["bad_files"] == 0 and s["problems"] == 0 and (store.path / "problems.txt").read_text() == ""
    split_folders = {p.stem: p.parent.name for p in (synth / "labels/EXPR").rglob("*.txt")}
    expected_splits = {"train": 0, "val": 0}
    table = abaw_to_graphemo()
    counts = np.zeros(len(EMOTIONS), int)
    va_frames = 0
    for record in store.videos:
        expected_splits[{"Train_Set": "train", "Validation_Set": "val"}[split_folders[record.video_id.zfill(5)]]] += 1
        stem = f"{int(record.video_id):05d}"
        (expr_file,) = (synth / "labels/EXPR").rglob(f"{stem}.txt")
        (va_file,) = (synth / "labels/VA").rglob(f"{stem}.txt")
        codes = np.array([int(x) for x in expr_file.read_text().splitlines()[1:]])
        expr = np.where(codes >= 0, table[np.maximum(codes, 0)], -1)
        assert (store.expr[record.frames] == expr).all(), "labels must line up frame by frame"
        counts += np.bincount(expr[expr >= 0], minlength=len(EMOTIONS))
        rows = [line.split(",") for line in va_file.read_text().splitlines()[1:]]
        va = np.array([[np.nan if x == "-5" else float(x) for x in row] for row in rows], dtype=np.float32)
        np.testing.assert_array_equal(store.va[record.frames], va)
        va_frames += int(np.isfinite(va).all(axis=1).sum())
        seq = read_openpose_video(synth / "keypoints" / stem)
        np.testing.assert_array_equal(store.keypoints[record.frames], seq.keypoints)
        assert (store.present[record.frames] == seq.present[:, 0]).all()
        assert record.split == {"Train_Set": "train", "Validation_Set": "val"}[expr_file.parent.name]
    assert s["expr_frames"] == dict(zip(EMOTIONS, counts.tolist(), strict=True))
    assert s["va_frames"] == va_frames
    assert s["splits"] == expected_splits
    assert s["frames_with_person"] == int(store.present.sum())
    main = store.keypoints[store.present, 0, :, 2] > 0
    assert s["missing_joint_rate"] == pytest.approx(1 - main.mean())
    text = store.format_summary()
    assert "videos     6  (ok: 6)" in text and f"frames     {s['frames']}" in text


def test_two_workers_write_the_same_store_as_one(bad_dataset, tmp_path):
    keypoints, labels = bad_dataset
    one = prepare(keypoints, tmp_path / "one", labels=labels, options=PrepareOptions(max_people=2))
    two = prepare(keypoints, tmp_path / "two", labels=labels, options=PrepareOptions(max_people=2), workers=2)
    for name in ("keypoints.npy", "expr.npy", "va.npy", "present.npy", "videos.json", "problems.txt", "meta.json"):
        assert (one.path / name).read_bytes() == (two.path / name).read_bytes(), name
    assert one.summary["bad_files"] > 0, "the dataset has bad files, listed in the same order"


def test_other_is_dropped_unless_kept(synth, tmp_path):
    dropped = prepare(synth / "keypoints", tmp_path / "a", labels=abaw_labels(synth))
    kept = prepare(synth / "keypoints", tmp_path / "b", labels=abaw_labels(synth, keep_other=True))
    other = kept.expr == len(EMOTIONS)
    assert other.any(), "the generator writes some ABAW 'Other' frames"
    assert (dropped.expr[other] == -1).all() and (dropped.expr[~other] == kept.expr[~other]).all()
    assert kept.summary["expr_frames"]["other"] == int(other.sum()) and "other" not in dropped.summary["expr_frames"]


# --- reuse, rebuild, atomic writes -----------------------------------------------------------------


def test_an_unchanged_dataset_is_reused_without_reading_anything(synth, tmp_path, monkeypatch):
    out = tmp_path / "store"
    prepare(synth / "keypoints", out, labels=abaw_labels(synth))
    meta = out / "meta.json"
    before = (meta.read_bytes(), meta.stat().st_mtime_ns)

    def must_not_run(*args, **kwargs):
        raise AssertionError("the store was rebuilt")

    monkeypatch.setattr(store_module, "_run_jobs", must_not_run)
    monkeypatch.setattr(store_module, "load_labels", must_not_run)
    monkeypatch.setattr(store_module, "read_file_bytes", must_not_run)
    again = prepare(synth / "keypoints", out, labels=abaw_labels(synth))
    assert again.summary["videos"] == 6
    assert (meta.read_bytes(), meta.stat().st_mtime_ns) == before


def copy_tree(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_a_changed_file_or_force_rebuilds(synth, tmp_path, monkeypatch):
    data = copy_tree(synth, tmp_path / "data")
    out = tmp_path / "store"
    first = prepare(data / "keypoints", out, labels=abaw_labels(data))
    record = first.videos[0]
    assert first.present[record.start + 3]
    builds = []
    real = store_module._run_jobs
    monkeypatch.setattr(store_module, "_run_jobs", lambda *a: builds.append(1) or real(*a))

    frame = data / "keypoints" / "00001" / frame_file_name("00001", 3)
    frame.write_text('{"version":1.3,"people":[]}')
    os.utime(frame, ns=(1, 1))  # a new mtime and size, whatever the clock's resolution
    second = prepare(data / "keypoints", out, labels=abaw_labels(data))
    assert len(builds) == 1 and not second.present[record.start + 3]
    assert second.meta["fingerprint"] != first.meta["fingerprint"]
    assert second.summary["bad_files"] == 0, "a frame with nobody is not a bad file"

    prepare(data / "keypoints", out, labels=abaw_labels(data))
    assert len(builds) == 1
    prepare(data / "keypoints", out, labels=abaw_labels(data), force=True)
    assert len(builds) == 2
    prepare(data / "keypoints", out, labels=abaw_labels(data), options=PrepareOptions(max_people=2))
    assert len(builds) == 3 and PreparedStore(out).keypoints.shape[1] == 2
    label = next((data / "labels/VA").rglob("00002.txt"))
    label.write_text(label.read_text().replace("\n", "\n", 1))
    os.utime(label, ns=(2, 2))
    prepare(data / "keypoints", out, labels=abaw_labels(data), options=PrepareOptions(max_people=2))
    assert len(builds) == 4, "a changed label file rebuilds too"


@pytest.mark.parametrize("where", ["finish_store", "_read_video"])
def test_a_failed_build_leaves_the_old_store_and_no_temporary_folder(synth, tmp_path, monkeypatch, where):
    out = tmp_path / "store"
    prepare(synth / "keypoints", out, labels=abaw_labels(synth))
    snapshot = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise RuntimeError("killed halfway")

    monkeypatch.setattr(store_module, where, boom)
    with pytest.raises(RuntimeError, match="killed halfway"):
        prepare(synth / "keypoints", out, labels=abaw_labels(synth), force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == snapshot
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != ".store.lock")  # the lock file stays, by design
    assert left == ["store"], "no .tmp or .old folder left behind"
    assert PreparedStore(out).summary["videos"] == 6


# --- bad input --------------------------------------------------------------------------------------


@pytest.fixture
def bad_dataset(tmp_path) -> tuple[Path, LabelSpec]:
    keypoints = tmp_path / "keypoints"
    write_video(keypoints, "good", 5)
    mixed = write_video(keypoints, "mixed", 8)
    write_video(keypoints, "short", 6)
    values = person(0).ravel().tolist()
    bad = {
        1: '{"version":1.3,"people":[{"pose_keypoints_2d":[1,2',  # truncated
        2: "hello, this is not JSON",
        3: '{"version":1.3,"people":[]}',  # a frame with nobody: fine
        4: json.dumps({"people": [{"pose_keypoints_2d": [*values, 1.0]}]}),  # 76 values
        5: json.dumps({"people": [{"pose_keypoints_2d": [float("nan"), *values[1:]]}]}),  # NaN literal
        6: json.dumps({"people": [{"pose_keypoints_2d": [*values[:-1], float("inf")]}]}),  # Infinity literal
    }
    for t, text in bad.items():
        (mixed / frame_file_name("mixed", t)).write_text(text)
    expr = tmp_path / "EXPR" / "Train_Set"
    write_expr(expr / "good.txt", [0, 1, 5, -1, 7])
    write_expr(expr / "mixed.txt", [0, 0, 9, 0, 0, 0, 0, 0])  # code 9 on file line 4
    write_expr(expr / "short.txt", [4] * 5)  # 5 labels for 6 frames
    return keypoints, LabelSpec(abaw_expr=str(tmp_path / "EXPR"))


def test_bad_files_and_labels_are_reported_by_name_and_the_rest_is_processed(bad_dataset, tmp_path):
    keypoints, labels = bad_dataset
    store = prepare(keypoints, tmp_path / "store", labels=labels)
    problems = (store.path / "problems.txt").read_text().splitlines()
    by_frame = {t: [p for p in problems if frame_file_name("mixed", t) in p] for t in range(8)}
    assert "truncated" in by_frame[1][0] and "line 1" in by_frame[1][0]
    assert "not valid JSON" in by_frame[2][0]
    assert by_frame[3] == [], "{'people': []} is a frame with nobody, not a problem"
    assert "76 values, not a multiple of 3" in by_frame[4][0]
    assert "joint 0 (nose) holds NaN or inf" in by_frame[5][0]
    assert "joint 24 (right_heel) holds NaN or inf" in by_frame[6][0]
    assert all(len(by_frame[t]) == 1 for t in (1, 2, 4, 5, 6))
    assert any("mixed.txt:4" in p and "class code 9" in p for p in problems)
    assert any("short.txt" in p and "5 frames but the keypoints have 6" in p for p in problems)
    assert store.summary["bad_files"] == 5

    status = {v.video_id: v.status for v in store.videos}
    assert status == {"good": "ok", "mixed": "label_error", "short": "label_error"}
    mixed = store.videos[store.video_index("mixed")]
    assert store.present[mixed.frames].tolist() == [True, False, False, False, False, False, False, True]
    short = store.videos[store.video_index("short")]
    assert (store.expr[short.frames] == -1).all(), "a label file of the wrong length is never shifted into place"
    good = store.videos[store.video_index("good")]
    assert store.expr[good.frames].tolist() == [6, 0, 4, -1, -1]  # ABAW neutral, anger, sadness, -, other
    assert store.summary["status"] == {"ok": 1, "label_error": 2}


def test_va_file_of_the_wrong_length_is_a_label_error(tmp_path):
    keypoints = tmp_path / "keypoints"
    write_video(keypoints, "clip", 4)
    va = tmp_path / "VA" / "Validation_Set" / "clip.txt"
    va.parent.mkdir(parents=True)
    va.write_text("valence,arousal\n0.1,0.2\n0.1,0.2\n0.1,0.2\n0.1,0.2\n0.1,0.2\n")
    store = prepare(keypoints, tmp_path / "store", labels=LabelSpec(abaw_va=str(tmp_path / "VA")))
    assert store.videos[0].status == "label_error" and np.isnan(store.va).all()
    assert "VA labels have 5 frames but the keypoints have 4" in (store.path / "problems.txt").read_text()


def test_a_folder_of_unreadable_files_is_one_unreadable_video(tmp_path):
    keypoints = tmp_path / "keypoints"
    write_video(keypoints, "fine", 3)
    broken = keypoints / "broken"
    broken.mkdir()
    (broken / frame_file_name("broken", 0)).write_text("{")
    (broken / "notes.json").write_text("{}")  # no frame number: refused by name
    with pytest.raises(ValueError, match=r"notes\.json: no frame number"):
        prepare(keypoints, tmp_path / "store")
    (broken / "notes.json").unlink()
    store = prepare(keypoints, tmp_path / "store")
    assert {v.video_id: v.status for v in store.videos} == {"broken": "unreadable", "fine": "ok"}
    assert not store.present[store.videos[store.video_index("broken")].frames].any()
    assert store.summary["bad_files"] == 1
    assert "none of its 1 frame files could be read" in (store.path / "problems.txt").read_text()


# --- real OpenPose output (../shared) ------------------------------------------------------------------

REAL = [
    ("vr_ballthrow_100_cosmos1_trial1", 1, "body25", (3, 1, 25, 3)),
    ("coco18_single_frame", 1, "coco18", (1, 1, 18, 3)),
    ("signlang_face_hands", 1, "body25_face_hands", (9, 1, 137, 3)),
    ("mpiiemo_two_people", 2, "body25", (823, 2, 25, 3)),
    ("misc/deep-motion-editing", 1, "body25_hands", (1, 1, 67, 3)),
]


@pytest.mark.parametrize(("folder", "people", "layout", "shape"), REAL)
def test_real_openpose_folders_prepare(tmp_path, folder, people, layout, shape):
    root = shared_path(f"openpose/{folder}")
    store = prepare(root, tmp_path / "store", options=PrepareOptions(max_people=people))
    assert store.layout.name == layout and store.keypoints.shape == shape
    assert store.summary["status"] == {"ok": 1} and store.summary["bad_files"] == 0
    assert store.present.all()
    if people == 2:
        assert (store.keypoints[:, 1, :, 2] > 0).any(axis=1).sum() > 100, "the second person is kept"


def test_every_real_fixture_folder_is_covered():
    if not OPENPOSE.exists():
        pytest.skip("../shared/openpose is absent")
    covered = {f.split("/")[0] for f, *_ in REAL} | {"misc"}
    assert {p.name for p in OPENPOSE.iterdir() if p.is_dir()} <= covered


def test_a_body25b_like_file_is_refused_not_read_silently(tmp_path):
    root = shared_path("openpose/misc/pose2sim")
    store = prepare(root, tmp_path / "store")
    (video,) = store.videos
    assert video.status == "unreadable" and not store.present.any()
    problems = (store.path / "problems.txt").read_text()
    assert "not BODY_25" in problems and "cam1_json" in problems and "--layout body25" in problems
    forced = prepare(root, tmp_path / "forced", options=PrepareOptions(layout="body25", max_people=2))
    assert forced.videos[0].status == "ok" and forced.present.all()


# --- DFEW folds and generic CSV labels -------------------------------------------------------------------


def test_dfew_fold_labels_through_prepare(synth, tmp_path):
    store = prepare(synth / "keypoints", tmp_path / "store", labels=LabelSpec(dfew=str(synth / "labels/DFEW"),
                                                                                 dfew_fold=2))  # fmt: skip
    train = read_dfew_csv(synth / "labels/DFEW/train(single-labeled)/set_2.csv")
    test = read_dfew_csv(synth / "labels/DFEW/test(single-labeled)/set_2.csv")
    assert [r.video_id for r in store.videos][:2] == ["00001", "00002"], "ids stay as on disk, zeros kept"
    for record in store.videos:
        clip = str(int(record.video_id))  # DFEW's lists name clip 1 for the folder 00001
        split, table = ("test", test) if clip in test else ("train", train)
        assert record.split == split and record.clip_label == table[clip]
        assert (store.expr[record.frames] == record.clip_label).all()
        assert store.video_index(clip) == store.video_index(record.video_id)
    assert store.summary["splits"] == {"train": len(train), "test": len(test)}
    assert np.isnan(store.va).all()


def test_generic_csv_labels_through_prepare(tmp_path):
    keypoints = tmp_path / "keypoints"
    write_video(keypoints, "a", 4)
    write_video(keypoints, "b", 3)
    per_frame = tmp_path / "frames.csv"
    per_frame.write_text(
        "video,frame,label,valence,arousal,split\na,0,happy,0.5,0.2,train\na,2,Anger,-0.4,0.8,train\nb,1,3,,,val\n"
    )
    store = prepare(keypoints, tmp_path / "s1", labels=LabelSpec(csv=str(per_frame)))
    a, b = (store.videos[store.video_index(v)] for v in "ab")
    assert store.classes == ["anger", "happiness"]  # the emotions that occur, in graphemo's order
    assert store.expr[a.frames].tolist() == [1, -1, 0, -1] and store.expr[b.frames].tolist() == [-1, 1, -1]
    np.testing.assert_allclose(store.va[a.start], [0.5, 0.2])
    assert np.isnan(store.va[b.frames]).all()
    assert (a.split, b.split, a.status, b.status) == ("train", "val", "ok", "ok")

    clips = tmp_path / "clips.csv"
    clips.write_text("video,label\na,sadness\nb,surprise\n")
    store = prepare(keypoints, tmp_path / "s2", labels=LabelSpec(csv=str(clips)))
    assert store.classes == ["sadness", "surprise"]
    assert (store.expr[store.videos[store.video_index("a")].frames] == 0).all()
    assert (store.expr[store.videos[store.video_index("b")].frames] == 1).all()

    bad = tmp_path / "bad.csv"
    bad.write_text("video,label\na,happy\nb,bored\n")
    store = prepare(keypoints, tmp_path / "s3", labels=LabelSpec(csv=str(bad)))
    assert f"{bad}:3: unknown emotion 'bored'" in (store.path / "problems.txt").read_text()
    assert {v.status for v in store.videos} == {"unlabelled"} and (store.expr == -1).all()
