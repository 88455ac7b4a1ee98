"""graphemo extract: the MediaPipe -> OpenPose mapping (pure), the extraction pipeline with a fake worker that
speaks the worker protocol (no MediaPipe needed), and real extraction from ../shared/videos (needs the
.venv-extract environment: `make extract-env`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from graphemo.cli import main as cli_main
from graphemo.keypoints import read_openpose_json, read_openpose_video, write_openpose_json
from graphemo.skeleton import get_layout
from graphemo.skeleton.layouts import BODY25_JOINTS
from graphemo.sources.video import extract as ex
from graphemo.sources.video import mediapipe_worker as protocol
from graphemo.sources.video.mediapipe_map import (
    FACE70_FROM_MESH,
    PART_CONFIDENCE,
    body25_from_pose,
    face70_from_mesh,
    hand21_from_landmarks,
    people_from_record,
    split_record,
)
from tests.conftest import SHARED, shared_path

WHOLEBODY = get_layout("wholebody")
BODY, FACE = WHOLEBODY.part_slice("body"), WHOLEBODY.part_slice("face")
LEFT, RIGHT = WHOLEBODY.part_slice("hand_left"), WHOLEBODY.part_slice("hand_right")
# MediaPipe's pose landmark names, in its order (mediapipe.python.solutions.pose.PoseLandmark).
MP_POSE = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip
# BODY_25 joints that MediaPipe has under another name.
SAME_JOINT = {"left_big_toe": "left_foot_index", "right_big_toe": "right_foot_index"}
W, H = 640, 360


def make_record(
    rng: np.random.Generator, *, pose: bool = True, face: bool = True, left: bool = True, right: bool = True
) -> np.ndarray:
    """A worker record with every found part at random in-image positions (x, y in [0.05, 0.95])."""
    parts = []
    for found, n, c in ((pose, 33, 4), (face, 478, 3), (left, 21, 3), (right, 21, 3)):
        values = rng.uniform(0.05, 0.95, (n, c)).astype(np.float32) if found else np.full((n, c), np.nan, np.float32)
        parts.append(values.ravel())
    return np.concatenate(parts)


# --- the mapping (no MediaPipe needed) --------------------------------------------------------------


def test_record_split_and_length(rng):
    record = make_record(rng)
    assert record.shape == (protocol.RECORD_LENGTH,)
    pose, face, left, right = split_record(record)
    assert pose.shape == (33, 4) and face.shape == (478, 3) and left.shape == right.shape == (21, 3)
    assert right[-1, -1] == record[-1] and pose[0, 0] == record[0]
    with pytest.raises(ValueError, match="1692 values"):
        split_record(record[:-3])


def test_body25_joints_come_from_the_same_named_landmarks(rng):
    pose = split_record(make_record(rng))[0]
    body = body25_from_pose(pose, W, H)
    for j, name in enumerate(BODY25_JOINTS):
        source = SAME_JOINT.get(name, name)
        if source in MP_POSE:
            i = MP_POSE.index(source)
            np.testing.assert_allclose(body[j], [pose[i, 0] * W, pose[i, 1] * H, pose[i, 3]], rtol=1e-5, err_msg=name)
    assert body[BODY25_JOINTS.index("left_small_toe")].tolist() == [0, 0, 0]
    assert body[BODY25_JOINTS.index("right_small_toe")].tolist() == [0, 0, 0]


def test_neck_and_mid_hip_are_midpoints_with_the_weaker_confidence(rng):
    pose = split_record(make_record(rng))[0]
    body = body25_from_pose(pose, W, H)
    for joint, (a, b) in (("neck", ("left_shoulder", "right_shoulder")), ("mid_hip", ("left_hip", "right_hip"))):
        i, k = MP_POSE.index(a), MP_POSE.index(b)
        expect = [(pose[i, 0] + pose[k, 0]) / 2 * W, (pose[i, 1] + pose[k, 1]) / 2 * H, min(pose[i, 3], pose[k, 3])]
        np.testing.assert_allclose(body[BODY25_JOINTS.index(joint)], expect, rtol=1e-5)


def test_pixel_scaling_and_points_outside_the_image(rng):
    pose = split_record(make_record(rng))[0].copy()
    pose[MP_POSE.index("nose"), :2] = [0.25, 0.5]
    pose[MP_POSE.index("left_knee"), :2] = [1.2, 0.5]  # MediaPipe extrapolates joints beyond the border
    pose[MP_POSE.index("right_ankle"), :2] = [0.5, -0.01]
    body = body25_from_pose(pose, W, H)
    assert body[0, :2].tolist() == [160.0, 180.0]
    assert body[BODY25_JOINTS.index("left_knee")].tolist() == [0, 0, 0]
    assert body[BODY25_JOINTS.index("right_ankle")].tolist() == [0, 0, 0]
    assert ((body[:, 2] >= 0) & (body[:, 2] <= 1)).all()


def test_face_table_picks_the_mesh_points_in_order(rng):
    face = split_record(make_record(rng))[1]
    face70 = face70_from_mesh(face, W, H)
    assert len(FACE70_FROM_MESH) == 70 and len(set(FACE70_FROM_MESH)) == 70
    assert FACE70_FROM_MESH[68:] == (468, 473), "pupils are the iris centres (refined mesh)"
    for j, mesh in enumerate(FACE70_FROM_MESH):
        np.testing.assert_allclose(face70[j], [face[mesh, 0] * W, face[mesh, 1] * H, PART_CONFIDENCE], rtol=1e-5)


def test_hands_keep_mediapipe_order_and_sides(rng):
    record = make_record(rng)
    _, _, left, right = split_record(record)
    person = people_from_record(record, W, H)[0]
    np.testing.assert_allclose(person[LEFT, :2], left[:, :2] * [W, H], rtol=1e-5)
    np.testing.assert_allclose(person[RIGHT, :2], right[:, :2] * [W, H], rtol=1e-5)
    assert (hand21_from_landmarks(left, W, H)[:, 2] == PART_CONFIDENCE).all()


def test_missing_parts_are_zeros_and_nobody_is_an_empty_frame(rng, tmp_path):
    person = people_from_record(make_record(rng, face=False, right=False), W, H)
    assert person.shape == (1, 137, 3)
    assert (person[0, FACE] == 0).all() and (person[0, RIGHT] == 0).all()
    assert (person[0, LEFT, 2] > 0).all() and (person[0, BODY, 2] > 0).sum() == 23
    nobody = people_from_record(make_record(rng, pose=False, face=False, left=False, right=False), W, H)
    assert nobody.shape == (0, 137, 3)
    path = tmp_path / "v_000000000000_keypoints.json"
    write_openpose_json(path, nobody, WHOLEBODY)
    assert json.loads(path.read_text()) == {"version": 1.3, "people": []}
    assert read_openpose_json(path).people.shape[0] == 0


def test_makefile_pins_the_worker_mediapipe_version():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert re.search(rf"^MEDIAPIPE_VERSION := {re.escape(protocol.MEDIAPIPE_VERSION)}$", makefile, re.M)


# --- the pipeline, with a fake worker speaking the protocol -----------------------------------------

FAKE_WORKER = f"""
import json, os, struct, sys
import numpy as np
header, length = struct.Struct("<II"), struct.Struct("<I")
out, inp = sys.stdout.buffer, sys.stdin.buffer
def send(b):
    out.write(length.pack(len(b))); out.write(b); out.flush()
send(json.dumps({{"protocol": {protocol.PROTOCOL}, "mediapipe": "fake"}}).encode())
die_after = int(os.environ.get("FAKE_DIE_AFTER", "-1"))
served = 0
while True:
    h, w = header.unpack(inp.read(8))
    if (h, w) == (0, 0):
        break
    if (h, w) == (0, 1):
        continue
    rgb = np.frombuffer(inp.read(h * w * 3), np.uint8).reshape(h, w, 3)
    if served == die_after:
        sys.exit("fake worker: dying as asked")
    record = np.full({protocol.RECORD_LENGTH}, np.nan, np.float32)
    if rgb.mean() > 60:  # a bright frame holds a "person"
        pose = np.zeros((33, 4), np.float32)
        pose[:, 0] = np.linspace(0.2, 0.8, 33)
        pose[:, 1] = np.linspace(0.1, 0.9, 33)
        pose[:, 3] = 0.9
        record[:132] = pose.ravel()
    send(record.tobytes())
    served += 1
"""
DARK = {3, 7}  # frames of the test video with nobody


@pytest.fixture
def fake_worker(tmp_path, monkeypatch) -> Path:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    monkeypatch.setattr(ex, "WORKER_SCRIPT", script)
    monkeypatch.setenv(ex.PYTHON_ENV_VAR, sys.executable)
    monkeypatch.delenv("FAKE_DIE_AFTER", raising=False)
    return script


def write_video(path: Path, frames: int = 12) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 10 if i in DARK else 200, np.uint8))
    writer.release()
    return path


def numbers(folder: Path) -> list[int]:
    return sorted(int(p.name.split("_")[-2]) for p in folder.glob("*_keypoints.json"))


def test_video_every_n_keeps_frame_numbers(tmp_path, fake_worker):
    video = write_video(tmp_path / "clip.mp4")
    [result] = ex.extract(video, tmp_path / "out", every=2, worker_script=fake_worker, progress=False)
    folder = tmp_path / "out" / "clip"
    assert numbers(folder) == [0, 2, 4, 6, 8, 10]
    assert (folder / "clip_000000000004_keypoints.json").is_file()
    assert (result.written, result.skipped, result.with_person) == (6, 0, 6)
    seq = read_openpose_video(folder)
    assert seq.layout == "body25_face_hands" and seq.keypoints.shape[:2] == (11, 1)
    assert (seq.keypoints[[0, 2, 4], 0, BODY, 2] > 0).any(axis=1).all()


def test_frames_with_nobody_are_empty(tmp_path, fake_worker):
    video = write_video(tmp_path / "clip.mp4")
    [result] = ex.extract(video, tmp_path / "out", worker_script=fake_worker, progress=False)
    assert (result.written, result.with_person) == (12, 10)
    for n in DARK:
        doc = json.loads((tmp_path / "out" / "clip" / f"clip_{n:012d}_keypoints.json").read_text())
        assert doc == {"version": 1.3, "people": []}


def test_interrupted_run_resumes_with_the_missing_frames_only(tmp_path, fake_worker, monkeypatch):
    video = write_video(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    monkeypatch.setenv("FAKE_DIE_AFTER", "5")
    with pytest.raises(ex.ExtractError, match="dying as asked"):
        ex.extract(video, out, worker_script=fake_worker, progress=False)
    first = numbers(out / "clip")
    assert first == [0, 1, 2, 3, 4]
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "clip").iterdir()}
    monkeypatch.delenv("FAKE_DIE_AFTER")
    [result] = ex.extract(video, out, worker_script=fake_worker, progress=False)
    assert (result.written, result.skipped) == (7, 5)
    assert numbers(out / "clip") == list(range(12))
    assert all((out / "clip" / name).stat().st_mtime_ns == t for name, t in stamps.items())
    [again] = ex.extract(video, out, worker_script=fake_worker, progress=False)
    assert (again.written, again.skipped) == (0, 12)


def test_unreadable_video_names_the_file(tmp_path, fake_worker):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video")
    with pytest.raises(ex.ExtractError, match=r"broken\.mp4.*(cannot open|no frame)"):
        ex.extract(bad, tmp_path / "out", worker_script=fake_worker, progress=False)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(write_video(tmp_path / "whole.mp4").read_bytes()[:600])
    with pytest.raises(ex.ExtractError, match=r"cut\.mp4"):
        ex.extract(cut, tmp_path / "out2", worker_script=fake_worker, progress=False)


def test_image_folder_in_natural_name_order(tmp_path, fake_worker):
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in (1, 2, 10):  # "f10" sorts after "f2": frame 2 is the dark one
        cv2.imwrite(str(folder / f"f{i}.png"), np.full((30, 40, 3), 10 if i == 10 else 200, np.uint8))
    [result] = ex.extract(folder, tmp_path / "out", worker_script=fake_worker, progress=False)
    assert result.name == "shots" and numbers(tmp_path / "out" / "shots") == [0, 1, 2]
    assert read_openpose_json(tmp_path / "out" / "shots" / "shots_000000000002_keypoints.json").people.shape[0] == 0
    (folder / "f3.png").write_bytes(b"not an image")
    with pytest.raises(ex.ExtractError, match=r"f3\.png: cannot read"):
        ex.extract(folder, tmp_path / "out_bad", worker_script=fake_worker, progress=False)


def test_source_discovery_errors(tmp_path):
    with pytest.raises(ex.ExtractError, match="no such file"):
        ex.find_sources(tmp_path / "absent")
    with pytest.raises(ex.ExtractError, match="no videos or images"):
        ex.find_sources(tmp_path)
    (tmp_path / "a.mp4").write_bytes(b"")
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(ex.ExtractError, match="both videos and images"):
        ex.find_sources(tmp_path)
    (tmp_path / "a.png").unlink()
    (tmp_path / "a.avi").write_bytes(b"")
    with pytest.raises(ex.ExtractError, match="both be written as 'a'"):
        ex.find_sources(tmp_path)


def test_missing_environment_says_how_to_create_it(tmp_path, monkeypatch):
    monkeypatch.delenv(ex.PYTHON_ENV_VAR, raising=False)
    monkeypatch.setattr(ex, "REPO_ROOT", tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ex.ExtractError, match="make extract-env"):
        ex.find_worker_python()
    with pytest.raises(ex.ExtractError, match="--python names"):
        ex.find_worker_python(tmp_path / "nope" / "python")


def test_worker_without_mediapipe_fails_clearly(tmp_path):
    with pytest.raises(ex.ExtractError, match=r"(?s)could not run the MediaPipe worker.*make extract-env"):
        ex.HolisticWorker(sys.executable, script=tmp_path / "missing_worker.py")


def test_cli_refuses_several_people_and_reports(tmp_path, fake_worker, capsys):
    video = write_video(tmp_path / "clip.mp4")
    assert cli_main(["extract", str(video), "--out", str(tmp_path / "o"), "--max-people", "2"]) == 2
    assert "one person" in capsys.readouterr().err
    assert cli_main(["extract", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o")]) == 1
    assert "nope.mp4" in capsys.readouterr().err
    assert cli_main(["extract", str(video), "--out", str(tmp_path / "o"), "--every", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "frames written 3" in out and "frames/s" in out and "graphemo prepare" in out


# --- real extraction (needs .venv-extract and ../shared/videos) -------------------------------------


def extract_python() -> Path:
    try:
        return ex.find_worker_python()
    except ex.ExtractError:
        pytest.skip("no MediaPipe environment (.venv-extract): create it with `make extract-env`")


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """Every 30th frame of each video in ../shared/videos, extracted once for the module's tests."""
    python = extract_python()
    videos = shared_path("videos")
    out = tmp_path_factory.mktemp("extracted")
    results = ex.extract(videos, out, every=30, python=python, progress=False)
    assert {r.name for r in results} == {p.stem for p in videos.glob("*.mp4")}
    return out


def video_size(name: str) -> tuple[int, int]:
    capture = cv2.VideoCapture(str(SHARED / "videos" / f"{name}.mp4"))
    size = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    return size


def real_people(real: Path):
    for folder in sorted(real.iterdir()):
        seq = read_openpose_video(folder)
        assert seq.layout == "body25_face_hands"
        yield folder.name, seq.keypoints[::30, 0]  # (frames, 137, 3): the extracted frames only


def test_real_output_parses_and_finds_a_person_in_most_frames(real):
    for name, frames in real_people(real):
        width, height = video_size(name)
        found = (frames[:, BODY, 2] > 0).any(axis=1)
        assert found.mean() >= 0.6, f"{name}: a person in {found.sum()} of {len(found)} frames"
        seen = frames[..., 2] > 0
        assert (frames[seen][:, 0] < width).all() and (frames[seen][:, 1] < height).all()
        assert (frames[seen][:, :2] >= 0).all() and (frames[..., 2] <= 1).all()


def test_real_anatomy(real):
    """Neck between the shoulders, hand roots at the wrists, face points in the head's box."""
    hands = faces = 0
    for name, frames in real_people(real):
        for t, f in enumerate(frames):
            if not (f[[1, 2, 5, 8], 2] > 0).all():
                continue
            torso = np.linalg.norm(f[1, :2] - f[8, :2])
            np.testing.assert_allclose(f[1, :2], (f[2, :2] + f[5, :2]) / 2, atol=0.01)
            for wrist, hand in ((7, LEFT.start), (4, RIGHT.start)):
                if f[wrist, 2] > 0 and f[hand, 2] > 0:
                    hands += 1
                    gap = np.linalg.norm(f[wrist, :2] - f[hand, :2])
                    assert gap < 0.5 * torso, f"{name} frame {30 * t}: hand root {gap:.0f} px from the wrist"
            face = f[FACE][f[FACE, 2] > 0, :2]
            head = f[[0, 15, 16, 17, 18]]
            head = head[head[:, 2] > 0, :2]
            if len(face) and len(head):
                faces += 1
                margin = 0.5 * torso
                assert (face >= head.min(0) - margin).all() and (face <= head.max(0) + margin).all(), (
                    f"{name} frame {30 * t}: face points outside the head's box"
                )
    assert hands >= 5 and faces >= 2, f"too few hands ({hands}) or faces ({faces}) to check"


def test_real_left_right_on_a_frontal_frame(real):
    """tai_chi frame 240: arms out, facing the camera. The person's right is on the image's left."""
    f = read_openpose_json(real / "tai_chi" / "tai_chi_000000000240_keypoints.json").people[0]
    x = f[:, 0]
    face = f[FACE]
    assert x[2] < x[1] < x[5], "right shoulder, neck, left shoulder from the image's left"
    assert x[4] < x[2] and x[7] > x[5] and x[15] < x[16] and x[17] < x[18] and x[9] < x[12]
    assert x[RIGHT.start] < x[1] < x[LEFT.start], "each hand sits at its own side"
    assert face[0, 0] < face[8, 0] < face[16, 0] and face[8, 1] > face[30, 1] > face[27, 1]
    assert face[36, 0] < face[39, 0] < face[42, 0] < face[45, 0] and face[48, 0] < face[54, 0]
    right_eye, left_eye = face[36:42, :2], face[42:48, :2]
    assert (right_eye.min(0) <= face[68, :2]).all() and (face[68, :2] <= right_eye.max(0)).all()
    assert (left_eye.min(0) <= face[69, :2]).all() and (face[69, :2] <= left_eye.max(0)).all()


def test_real_face_table_matches_mediapipe_regions():
    """Each FACE_70 point comes from the MediaPipe face-mesh group of its region (asked of mediapipe)."""
    python = extract_python()
    code = (
        "import json\nfrom mediapipe.python.solutions import face_mesh_connections as c\n"
        "print(json.dumps({n: sorted({i for e in getattr(c, n) for i in e}) for n in dir(c) "
        "if n.startswith('FACEMESH_')}))"
    )
    groups = json.loads(subprocess.run([str(python), "-I", "-c", code], capture_output=True, check=True).stdout)
    regions = {
        "FACEMESH_FACE_OVAL": range(0, 17),
        "FACEMESH_RIGHT_EYEBROW": range(17, 22),
        "FACEMESH_LEFT_EYEBROW": range(22, 27),
        "FACEMESH_NOSE": range(27, 36),
        "FACEMESH_RIGHT_EYE": range(36, 42),
        "FACEMESH_LEFT_EYE": range(42, 48),
        "FACEMESH_LIPS": range(48, 68),
    }
    for group, points in regions.items():
        outside = [(j, FACE70_FROM_MESH[j]) for j in points if FACE70_FROM_MESH[j] not in groups[group]]
        assert not outside, f"{group}: iBUG point, mesh index {outside}"
    # The pupils are the centres of the irises, whose rings are 469-472 (right) and 474-477 (left).
    assert groups["FACEMESH_RIGHT_IRIS"] == [469, 470, 471, 472] and FACE70_FROM_MESH[68] == 468
    assert groups["FACEMESH_LEFT_IRIS"] == [474, 475, 476, 477] and FACE70_FROM_MESH[69] == 473


def test_real_resume_writes_only_the_missing_frames(real, tmp_path):
    python = extract_python()
    out = tmp_path / "out"
    shutil.copytree(real / "tai_chi", out / "tai_chi")
    removed = [60, 150, 270]
    for n in removed:
        (out / "tai_chi" / f"tai_chi_{n:012d}_keypoints.json").unlink()
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "tai_chi").iterdir()}
    video = shared_path("videos/tai_chi.mp4")
    [result] = ex.extract(video, out, every=30, python=python, progress=False)
    assert (result.written, result.skipped) == (3, 7)
    assert numbers(out / "tai_chi") == list(range(0, 300, 30))
    assert all((out / "tai_chi" / name).stat().st_mtime_ns == t for name, t in stamps.items())


def test_real_worker_runs_offline_check():
    python = extract_python()
    env = {**os.environ, "GLOG_minloglevel": "2"}
    done = subprocess.run(
        [str(python), "-I", str(ex.WORKER_SCRIPT), "--check"], capture_output=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    hello = json.loads(done.stdout[protocol.LENGTH_HEADER.size :])
    assert hello["protocol"] == protocol.PROTOCOL and hello["mediapipe"] == protocol.MEDIAPIPE_VERSION
