"""Adversarial input: each case is built from a small clean dataset, and the outcome asserted exactly (the message
names the file and the joint or line; the rest of the data is what a clean run gives; nothing silently chosen)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest

from graphemo.keypoints.openpose import frame_file_name
from graphemo.labels import LabelSpec
from graphemo.sources.synth import SynthConfig, generate_dataset
from graphemo.store import PreparedStore, prepare_dataset

VIDEO = "00001"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[Path, PreparedStore]:
    """Two generated videos of one person each, and their store."""
    root = tmp_path_factory.mktemp("clean") / "data"
    config = SynthConfig(bystander_rate=0.0, empty_frame_rate=0.0)
    generate_dataset(root, 2, seed=3, frames=(60, 60), workers=1, progress=False, config=config)
    return root, prepare(root / "keypoints", tmp_path_factory.mktemp("clean_store"))


def prepare(keypoints: Path, out: Path, **kwargs) -> PreparedStore:
    return prepare_dataset(keypoints, out / "store", progress=False, workers=1, **kwargs)


def corrupted_copy(clean_root: Path, tmp_path: Path, frame: int, change) -> tuple[Path, Path]:
    """A copy of the clean keypoints with ``change(doc)`` applied to ``frame`` of video ``VIDEO``."""
    keypoints = tmp_path / "keypoints"
    shutil.copytree(clean_root / "keypoints", keypoints)
    path = keypoints / VIDEO / frame_file_name(VIDEO, frame)
    doc = orjson.loads(path.read_bytes())
    change(doc)
    path.write_bytes(orjson.dumps(doc))
    return keypoints, path


def frames_of(store: PreparedStore, video: str) -> np.ndarray:
    return store.keypoints[store.videos[store.video_index(video)].frames]


def problems_of(store: PreparedStore) -> list[str]:
    return (store.path / "problems.txt").read_text().splitlines()


def set_joint(joint: int, x: float, y: float | None = None, confidence: float | None = None):
    def change(doc: dict) -> None:
        values = doc["people"][0]["pose_keypoints_2d"]
        values[3 * joint] = x
        if y is not None:
            values[3 * joint + 1] = y
        if confidence is not None:
            values[3 * joint + 2] = confidence

    return change


# --- no silent data loss or relabelling -----------------------------------------------------------


@pytest.mark.parametrize(("x", "y"), [(-1e6, 200.0), (3e38, 3e38)])
def test_an_impossible_coordinate_is_reported_and_the_person_kept_everywhere(clean, tmp_path, x, y):
    root, clean_store = clean
    keypoints, path = corrupted_copy(root, tmp_path, 10, set_joint(4, x, y, confidence=0.9))
    store = prepare(keypoints, tmp_path)
    (problem,) = problems_of(store)
    assert problem.startswith(str(path)) and "joint 4 (right_wrist)" in problem and "beyond any image" in problem
    got, want = frames_of(store, VIDEO), frames_of(clean_store, VIDEO)
    assert store.videos[store.video_index(VIDEO)].problems == 1
    others = np.ones(len(got), bool)
    others[10] = False
    np.testing.assert_array_equal(got[others], want[others])  # the main person is still the same, in every frame
    np.testing.assert_array_equal(np.delete(got[10], 4, axis=1), np.delete(want[10], 4, axis=1))
    assert got[10, 0, 4, 2] == 0 and np.isnan(got[10, 0, 4, :2]).all()  # that joint alone is "not detected"
    np.testing.assert_array_equal(frames_of(store, "00002"), frames_of(clean_store, "00002"))


def test_a_wild_joint_within_bounds_cannot_take_the_main_person_away(clean, tmp_path):
    root, clean_store = clean
    keypoints, _ = corrupted_copy(root, tmp_path, 10, set_joint(4, 9e4, 9e4, confidence=1.0))
    store = prepare(keypoints, tmp_path)
    got, want = frames_of(store, VIDEO), frames_of(clean_store, VIDEO)
    others = np.arange(len(got)) != 10
    np.testing.assert_array_equal(got[others], want[others])


def test_a_confidence_outside_the_range_is_reported(clean, tmp_path):
    root, _ = clean
    keypoints, path = corrupted_copy(root, tmp_path, 7, set_joint(0, 100.0, confidence=3.0))
    store = prepare(keypoints, tmp_path)
    (problem,) = problems_of(store)
    assert problem.startswith(str(path)) and "joint 0 (nose) has confidence 3" in problem
    assert frames_of(store, VIDEO)[7, 0, 0, 2] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_joint(2, True), r"people[0].pose_keypoints_2d[6] is true, not a number"),
        (set_joint(2, "12"), r"people[0].pose_keypoints_2d holds non-numbers"),
        (
            lambda doc: doc["people"][0].update({key: [] for key in doc["people"][0] if key.endswith("_2d")}),
            "people[0] has no keypoints",
        ),
        (lambda doc: doc["people"][0].update(pose_keypoints_2d=[1.0] * 74), "74 values, not a multiple of 3"),
    ],
)
def test_a_value_the_format_does_not_allow_is_reported_and_its_frame_left_out(clean, tmp_path, change, message):
    root, clean_store = clean
    keypoints, path = corrupted_copy(root, tmp_path, 20, change)
    store = prepare(keypoints, tmp_path)
    (problem,) = problems_of(store)
    assert problem.startswith(str(path)) and message in problem
    got, want = frames_of(store, VIDEO), frames_of(clean_store, VIDEO)
    assert not store.present[store.videos[store.video_index(VIDEO)].frames][20]
    others = np.arange(len(got)) != 20
    np.testing.assert_array_equal(got[others], want[others])


def test_a_video_labelled_in_two_splits_is_a_problem_not_a_choice(clean, tmp_path):
    root, _ = clean
    labels = tmp_path / "EXPR"
    shutil.copytree(root / "labels" / "EXPR", labels)
    (first,) = labels.rglob(f"{VIDEO}.txt")
    other = labels / ("Validation_Set" if first.parent.name == "Train_Set" else "Train_Set")
    other.mkdir(exist_ok=True)
    shutil.copy(first, other / first.name)
    store = prepare(root / "keypoints", tmp_path, labels=LabelSpec(abaw_expr=str(labels)))
    (problem,) = problems_of(store)
    assert f"video {VIDEO} is also labelled by" in problem and first.parent.name in problem
    assert store.videos[store.video_index(VIDEO)].status == "label_error"
    assert store.videos[store.video_index("00002")].status == "ok"


def test_two_label_sources_that_disagree_are_a_problem(clean, tmp_path):
    root, _ = clean
    table = tmp_path / "labels.csv"
    table.write_text(f"video,frame,label\n{VIDEO},0,anger\n{VIDEO},1,anger\n")
    expr = root / "labels" / "EXPR"
    store = prepare(root / "keypoints", tmp_path, labels=LabelSpec(abaw_expr=str(expr), csv=str(table)))
    (problem,) = problems_of(store)
    assert problem.startswith(str(table)) and "per-frame classes differ from those of" in problem
    assert store.videos[store.video_index(VIDEO)].status == "label_error"


def test_a_ragged_csv_row_and_a_split_given_twice_are_refused_with_the_line(clean, tmp_path):
    root, _ = clean
    for text, message in [
        (f"video,label\n{VIDEO},anger\n00002,anger,extra\n", ":3:"),
        (f"video,frame,label,split\n{VIDEO},0,anger,train\n{VIDEO},1,anger,val\n", ":3: video 00001: split is"),
    ]:
        table = tmp_path / "labels.csv"
        table.write_text(text)
        store = prepare(root / "keypoints", tmp_path, labels=LabelSpec(csv=str(table)))
        (problem,) = problems_of(store)
        assert message in problem, problem


# --- how errors are told ------------------------------------------------------------------------------


def test_errors_are_described_in_one_line_with_the_right_exit_code():
    import errno

    from graphemo.commands.errors import describe
    from graphemo.training.compose import ConfigError

    assert describe(OSError(errno.ENOSPC, "No space left on device", "/data/store")) == (
        "no space left on /data/store", 1)  # fmt: skip
    message, code = describe(RuntimeError("PytorchStreamWriter failed writing file: No space left on device"))
    assert message.startswith("no space left on the device") and code == 1
    assert describe(ConfigError("exp.yaml:3: train.epocs: unknown key")) == (
        "config error: exp.yaml:3: train.epocs: unknown key", 2)  # fmt: skip
    assert describe(FileNotFoundError(errno.ENOENT, "No such file or directory", "x.pt")) == (
        "x.pt: No such file or directory", 1)  # fmt: skip
    message, code = describe(ZeroDivisionError("division by zero"))
    assert "bug in graphemo" in message and "--debug" in message and code == 1


def test_a_failing_command_prints_one_line_and_the_traceback_only_when_asked(tmp_path, capsys, monkeypatch):
    from graphemo.cli import main

    monkeypatch.setenv("GRAPHEMO_DEBUG", "0")  # restored after the test (--debug sets it to 1)
    assert main(["prepare", str(tmp_path / "none"), "--out", str(tmp_path / "s")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "graphemo prepare:" in err and "Traceback" not in err
    assert main(["prepare", str(tmp_path / "none"), "--out", str(tmp_path / "s"), "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["file", "folder"])
def test_a_name_that_is_not_utf8_is_refused_by_name(clean, tmp_path, which):
    import os

    root, _ = clean
    keypoints = tmp_path / "keypoints"
    shutil.copytree(root / "keypoints", keypoints)
    video = keypoints / VIDEO
    if which == "file":
        os.rename(video / frame_file_name(VIDEO, 3), os.fsencode(video) + b"/clip\xff_000000000003_keypoints.json")
    else:
        os.rename(video, os.fsencode(keypoints) + b"/v\xfeid")
    with pytest.raises(ValueError, match=r"is not UTF-8; rename it") as info:
        prepare(keypoints, tmp_path)
    assert ("\\xff" if which == "file" else "\\xfe") in str(info.value)
    str(info.value).encode("utf-8")  # the message itself prints anywhere
