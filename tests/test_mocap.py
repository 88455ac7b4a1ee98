"""Motion capture import: BVH reading, forward kinematics (every channel order), units, rigs, virtual cameras, and
the import to OpenPose JSON and to a store; the real Bandai clips when ../shared has them."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from graphemo.cli import main
from graphemo.labels import LabelSpec
from graphemo.sources.mocap.bvh import BVHFormatError, read_bvh
from graphemo.sources.mocap.cameras import Camera, look_at, place_camera
from graphemo.sources.mocap.importer import MocapSpec, import_clip, import_to_openpose, import_to_store, parse_name
from graphemo.sources.mocap.kinematics import forward_kinematics, resample, unit_scale
from graphemo.sources.mocap.rigs import BODY25_JOINTS, RigError, match_rig
from graphemo.store import PreparedStore, prepare_dataset
from tests.conftest import shared_path

J = {name: i for i, name in enumerate(BODY25_JOINTS)}


def bvh_text(joints: str, frames: list[list[float]], frame_time: float = 1 / 30) -> str:
    lines = "\n".join(" ".join(f"{v:.12g}" for v in row) for row in frames)
    return f"HIERARCHY\n{joints}\nMOTION\nFrames: {len(frames)}\nFrame Time: {frame_time}\n{lines}\n"


TWO_BONES = """ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Spine
  {
    OFFSET 0 10 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 5 0
    }
  }
}"""


def test_forward_kinematics_by_hand(tmp_path):
    path = tmp_path / "two.bvh"
    path.write_text(bvh_text(TWO_BONES, [[1, 2, 3, 0, 0, 0, 0, 0, 0], [1, 2, 3, 90, 0, 0, 0, 90, 0]]))
    clip = read_bvh(path)
    assert clip.skeleton.names == ["Hips", "Spine", "Spine_end"] and clip.num_frames == 2
    assert clip.fps == pytest.approx(30.0)
    p = forward_kinematics(clip)
    np.testing.assert_allclose(p[0], [[1, 2, 3], [1, 12, 3], [1, 17, 3]], atol=1e-9)
    # frame 1: the root turns 90 degrees about z (+y -> -x); the spine then 90 degrees about its own x
    np.testing.assert_allclose(p[1, 1], [1 - 10, 2, 3], atol=1e-9)
    np.testing.assert_allclose(p[1, 2], [1 - 10, 2, 3 + 5], atol=1e-9)


def _matrix(axis: str, degrees: float) -> np.ndarray:
    c, s = np.cos(np.deg2rad(degrees)), np.sin(np.deg2rad(degrees))
    return {"X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]), "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]  # fmt: skip


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("XYZ")])
def test_every_rotation_channel_order(tmp_path, order):
    """R = R_first R_second R_third about the listed axes, whatever the order; positions may sit between them."""
    rng = np.random.default_rng(len(order) + ord(order[0]))
    rotations = " ".join(f"{a}rotation" for a in order)
    channels = f"CHANNELS 6 {order[0]}rotation Xposition Yposition Zposition {order[1]}rotation {order[2]}rotation"
    text = TWO_BONES.replace("CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation", channels)
    text = text.replace("CHANNELS 3 Zrotation Xrotation Yrotation", f"CHANNELS 3 {rotations}")
    angles = rng.uniform(-170, 170, (4, 6))
    position = rng.uniform(-5, 5, (4, 3))
    rows = [[a[0], *pos, a[1], a[2], *a[3:]] for a, pos in zip(angles, position, strict=True)]
    path = tmp_path / f"{order}.bvh"
    path.write_text(bvh_text(text, rows))
    p = forward_kinematics(read_bvh(path))
    for f in range(4):
        root = _matrix(order[0], angles[f, 0]) @ _matrix(order[1], angles[f, 1]) @ _matrix(order[2], angles[f, 2])
        spine = _matrix(order[0], angles[f, 3]) @ _matrix(order[1], angles[f, 4]) @ _matrix(order[2], angles[f, 5])
        np.testing.assert_allclose(p[f, 0], position[f], atol=1e-9)
        np.testing.assert_allclose(p[f, 1], position[f] + root @ [0, 10, 0], atol=1e-9)
        np.testing.assert_allclose(p[f, 2], p[f, 1] + root @ spine @ [0, 5, 0], atol=1e-9)


def test_position_channels_replace_the_offset(tmp_path):
    text = TWO_BONES.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 6 Xposition Yposition Zposition "
                             "Zrotation Xrotation Yrotation")  # fmt: skip
    path = tmp_path / "pos.bvh"
    path.write_text(bvh_text(text, [[0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0]]))
    np.testing.assert_allclose(forward_kinematics(read_bvh(path))[0, 1], [0, 7, 0])  # not 10 + 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("HIERARCHY\nROOT A\n{\n  OFFSET 0 0\n}\nMOTION\n", r":5: expected a number, found '}'"),
        ("HIERARCHY\nROOT A\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Wrotation\n}\nMOTION\n", r":5: channel 'wrotation' is"),
        ("HIERARCHY\nROOT A\n{\n  OFFSET 0 0 0\n}\n", r"expected 'MOTION' after the hierarchy"),
        (
            "HIERARCHY\nROOT A\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Xrotation\n}\nMOTION\nFrames: 2\nFrame Time: 0.1\n1\n",
            r":8: 'Frames: 2' but 1 lines of values follow",
        ),
        (
            "HIERARCHY\nROOT A\n{\n  OFFSET 0 0 0\n  CHANNELS 2 Xrotation Yrotation\n}\nMOTION\nFrames: 1\n"
            "Frame Time: 0.1\n1 2 3\n",
            r":10: 3 values, the hierarchy has 2 channels",
        ),
        (
            "HIERARCHY\nROOT A\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0\n1\n",
            r":9: expected 'Frame Time: <seconds> \(> 0\)'",
        ),
        (
            "HIERARCHY\nROOT A\n{\n  OFFSET 0 0 0\n  CHANNELS 1 Xrotation\n}\nMOTION\nFrames: 1\nFrame Time: 0.1\nx\n",
            r":10: a value is not a number",
        ),
    ],
)
def test_bad_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "bad.bvh"
    path.write_text(text)
    with pytest.raises(BVHFormatError, match=message) as info:
        read_bvh(path)
    assert str(path) in str(info.value)


def test_units_from_the_body_size_and_resampling():
    from graphemo.sources.mocap.bvh import Skeleton

    def body(scale: float) -> Skeleton:  # hips -> head 0.7 m, hips -> foot 0.9 m
        offsets = np.array([[0, 0, 0], [0, 0.7, 0], [0.1, -0.9, 0]]) * scale
        return Skeleton(["Hips", "Head", "Foot"], np.array([-1, 0, 0]), offsets, [(), (), ()], [0, 0, 0])

    for scale, name in ((1.0, "m"), (100.0, "cm"), (1000.0, "mm"), (1 / 0.0254, "in")):
        factor, unit = unit_scale(body(scale))
        assert unit == name and factor * scale == pytest.approx(1.0)
    with pytest.raises(ValueError, match="cannot tell the unit"):
        unit_scale(body(3.0))  # 4.8 units: 4.8 m or 0.48 m, human in no unit
    assert unit_scale(body(3.0), "cm") == (0.01, "cm")
    positions = np.arange(5, dtype=float)[:, None, None] * np.ones((1, 2, 3))  # moves 1 unit per frame at 10 fps
    out = resample(positions, 10.0, 20.0)
    assert out.shape == (9, 2, 3) and np.allclose(out[:, 0, 0], np.arange(9) / 2)


def test_camera_projection_by_hand():
    camera = Camera(np.zeros(3), look_at(np.zeros(3), np.array([0.0, 0.0, 5.0])), 1000.0, (1280, 720))
    pixels, inside = camera.project(np.array([[0.0, 0.0, 5.0], [1.0, 0.5, 4.0], [0.0, 0.0, -1.0], [50.0, 0, 1.0]]))
    np.testing.assert_allclose(pixels[0], [640, 360])
    # looking along +z with y up, the camera's right is -x: a point at x = +1 lands left of the centre
    np.testing.assert_allclose(pixels[1], [640 - 1000 * 1 / 4, 360 - 1000 * 0.5 / 4])
    assert inside.tolist() == [True, True, False, False]  # behind the camera; outside the image


def test_a_frontal_camera_sees_the_persons_left_on_the_image_right():
    facing = np.array([0.0, 0.0, 1.0])  # the person faces +z, their left is +x
    camera = place_camera(np.array([0.0, 1.0, 0.0]), facing, azimuth=0, elevation=0, distance=4, focal=1000,
                          image_size=(1280, 720))  # fmt: skip
    (left, right), _ = camera.project(np.array([[0.2, 1.0, 0.0], [-0.2, 1.0, 0.0]]))
    assert left[0] > 640 > right[0]
    side = place_camera(np.array([0.0, 1.0, 0.0]), facing, azimuth=90, elevation=0, distance=4, focal=1000,
                        image_size=(1280, 720))  # fmt: skip
    np.testing.assert_allclose(side.position, [4, 1, 0], atol=1e-9)  # at the person's left


def test_rigs_are_matched_by_name_and_unknown_ones_explained(tmp_path):
    bandai = ["joint_Root", "Hips", "Spine", "Chest", "Neck", "Head", "Shoulder_L", "UpperArm_L", "LowerArm_L",
              "Hand_L", "Shoulder_R", "UpperArm_R", "LowerArm_R", "Hand_R", "UpperLeg_L", "LowerLeg_L", "Foot_L",
              "Toes_L", "UpperLeg_R", "LowerLeg_R", "Foot_R", "Toes_R"]  # fmt: skip
    rig, joints = match_rig(bandai)
    assert rig == "bandai"
    assert bandai[joints[J["left_shoulder"]]] == "UpperArm_L" and bandai[joints[J["right_ankle"]]] == "Foot_R"
    assert joints[J["left_eye"]] == -1 and joints[J["right_heel"]] == -1  # the rig has none: missing
    mixamo = [f"mixamorig:{n}" for n in ("Hips", "Spine", "Neck", "Head", "LeftShoulder", "LeftArm", "LeftForeArm",
              "LeftHand", "RightArm", "RightForeArm", "RightHand", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase",
              "RightUpLeg", "RightLeg", "RightFoot")]  # fmt: skip
    rig, joints = match_rig(mixamo)
    assert rig == "cmu_mixamo" and mixamo[joints[J["left_elbow"]]] == "mixamorig:LeftForeArm"
    assert joints[J["right_big_toe"]] == -1
    with pytest.raises(RigError, match=r"match no known rig.*Its joints: pelvis, torso.*--joint-map"):
        match_rig(["pelvis", "torso"], source="x.bvh")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("neck: torso\nmid_hip: pelvis\n")
    from graphemo.sources.mocap.rigs import read_joint_map

    rig, joints = match_rig(["pelvis", "torso"], joint_map=read_joint_map(mapping))
    assert rig == "custom" and joints[J["neck"]] == 1 and joints[J["mid_hip"]] == 0 and (joints >= 0).sum() == 2
    mapping.write_text("nek: torso\n")
    with pytest.raises(RigError, match="'nek' is not a BODY_25 joint"):
        read_joint_map(mapping)


WALKER = """ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT LeftUpLeg { OFFSET 10 0 0 CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT LeftLeg { OFFSET 0 -45 0 CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT LeftFoot { OFFSET 0 -45 0 CHANNELS 3 Zrotation Xrotation Yrotation End Site { OFFSET 0 0 10 } } } }
  JOINT RightUpLeg { OFFSET -10 0 0 CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT RightLeg { OFFSET 0 -45 0 CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT RightFoot { OFFSET 0 -45 0 CHANNELS 3 Zrotation Xrotation Yrotation End Site { OFFSET 0 0 10 } } } }
  JOINT Spine { OFFSET 0 20 0 CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Neck { OFFSET 0 35 0 CHANNELS 3 Zrotation Xrotation Yrotation
      JOINT Head { OFFSET 0 10 0 CHANNELS 3 Zrotation Xrotation Yrotation End Site { OFFSET 0 15 0 } }
      JOINT LeftArm { OFFSET 18 0 0 CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT LeftForeArm { OFFSET 28 0 0 CHANNELS 3 Zrotation Xrotation Yrotation
          JOINT LeftHand { OFFSET 25 0 0 CHANNELS 3 Zrotation Xrotation Yrotation End Site { OFFSET 8 0 0 } } } }
      JOINT RightArm { OFFSET -18 0 0 CHANNELS 3 Zrotation Xrotation Yrotation
        JOINT RightForeArm { OFFSET -28 0 0 CHANNELS 3 Zrotation Xrotation Yrotation
          JOINT RightHand { OFFSET -25 0 0 CHANNELS 3 Zrotation Xrotation Yrotation End Site { OFFSET -8 0 0 } } } } } }
}"""


def write_walker(path: Path, frames: int, speed: float, arm: float) -> None:
    """A CMU-named body (cm) walking along +z at ``speed`` cm/frame, arms swinging ``arm`` degrees."""
    rows = []
    for t in range(frames):
        swing = arm * np.sin(t / 5)
        joints = [0, 0, 0] * 15  # Zrotation Xrotation Yrotation of the 15 joints below the hips, in file order
        joints[9 * 3 + 1] = swing  # LeftArm, about x
        joints[12 * 3 + 1] = -swing  # RightArm
        rows.append([0, 95, speed * t, 0, 0, 0, *joints])
    path.write_text(bvh_text(WALKER, rows))


@pytest.fixture
def walkers(tmp_path) -> Path:
    root = tmp_path / "bvh"
    root.mkdir()
    for action, (speed, arm) in {"walk": (1.0, 10.0), "run": (4.0, 40.0)}.items():
        for style, factor in {"calm": 0.5, "wild": 2.0}.items():
            write_walker(root / f"{action}_{style}.bvh", 30, speed * factor, arm * factor)
    return root


def test_import_to_openpose_folders_that_prepare_reads(walkers, tmp_path):
    spec = MocapSpec(bvh=str(walkers), out=str(tmp_path / "out"), pattern="{content}_{style}", label="style",
                     azimuths=[0, 90])  # fmt: skip
    clips, root = import_to_openpose(spec, workers=1)
    assert [c.problem for c in clips] == [None] * 4
    assert sorted(p.name for p in root.iterdir())[:2] == ["run_calm_az000", "run_calm_az090"]
    # 'calm' is an emotion synonym (neutral) and 'wild' is not: the import declares its classes
    labels = LabelSpec(csv=str(tmp_path / "out" / "labels.csv"), classes=["calm", "wild"])
    store = prepare_dataset(root, tmp_path / "store", labels=labels, progress=False)
    assert store.layout.name == "body25" and len(store) == 8 and store.classes == ["calm", "wild"]
    video = store.videos[store.video_index("walk_wild_az090")]
    assert video.attributes == {"clip": "walk_wild", "camera": "90", "content": "walk"}
    assert video.status == "ok" and store.classes[video.clip_label] == "wild"
    kp = store.keypoints[video.frames, 0]
    assert (kp[:, J["left_eye"], 2] == 0).all() and (kp[:, J["neck"], 2] == 1).all()  # lacked joints stay missing
    # the direct store holds the same keypoints (the JSON rounds to 1/1000 px)
    direct = import_to_store(spec, tmp_path / "direct", workers=1, log=lambda _: None)
    other = direct.videos[direct.video_index("walk_wild_az090")]
    a, b = store.keypoints[video.frames], direct.keypoints[other.frames]
    np.testing.assert_allclose(np.nan_to_num(a), np.nan_to_num(b), atol=1e-3)
    assert import_to_store(spec, tmp_path / "direct", log=lambda _: None).meta == direct.meta  # reused


def test_names_that_do_not_match_the_pattern_are_refused_not_guessed(walkers, tmp_path):
    (walkers / "oddname.bvh").write_text((walkers / "walk_calm.bvh").read_text())
    spec = MocapSpec(bvh=str(walkers), out=str(tmp_path / "o"), pattern="{content}_{style}", label="style")
    store = import_to_store(spec, tmp_path / "s", workers=1, log=lambda _: None)
    assert len(store) == 16 and "oddname.bvh: the name does not match the pattern" in (
        store.path / "problems.txt").read_text()  # fmt: skip
    assert parse_name("dataset-1_{content}_{style}_{take}", "dataset-1_walk_not-confident_001") == {
        "content": "walk", "style": "not-confident", "take": "001"}  # fmt: skip


def test_noise_and_dropout_are_seeded(walkers, tmp_path):
    spec = MocapSpec(bvh=str(walkers / "walk_calm.bvh"), noise=2.0, dropout=0.2, azimuths=[0])
    a, b = import_clip(walkers / "walk_calm.bvh", spec), import_clip(walkers / "walk_calm.bvh", spec)
    ka, kb = next(iter(a.cameras.values()))[1], next(iter(b.cameras.values()))[1]
    np.testing.assert_array_equal(np.nan_to_num(ka), np.nan_to_num(kb))
    clean = next(iter(import_clip(walkers / "walk_calm.bvh", MocapSpec(azimuths=[0])).cameras.values()))[1]
    seen = ka[..., 2] > 0
    assert 0.6 < seen[:, :, [J["neck"], J["left_wrist"]]].mean() < 0.95  # about 80 % of the detections kept
    assert 0 < np.abs(ka[seen][:, :2] - clean[seen][:, :2]).mean() < 10


def test_the_cli_and_bad_options(walkers, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["mocap", str(walkers), "--out", str(out), "--azimuths", "0", "45", "--quiet", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "4 clip(s) x 2 camera(s) = 8 videos" in printed and "graphemo prepare" in printed
    with pytest.raises(SystemExit) as exit_info:
        main(["mocap", str(walkers), "--out", str(out), "--elevation", "95"])
    assert exit_info.value.code == 2 and "--elevation: 95.0 is outside [-60.0, 80.0]" in capsys.readouterr().err
    assert main(["mocap", str(tmp_path / "nothing"), "--out", str(out)]) == 2


def test_real_bandai_clip_through_four_cameras():
    data = shared_path("mocap/bandai-styles/data")
    spec = MocapSpec(bvh=str(data), pattern="dataset-1_{content}_{style}_{take}", label="style")
    clip = import_clip(data / "dataset-1_walk_proud_001.bvh", spec)
    assert clip.problem is None and clip.fields == {"content": "walk", "style": "proud", "take": "001"}
    assert len(clip.cameras) == 4 and clip.fps == pytest.approx(30.0, rel=1e-4)
    front = clip.cameras["dataset-1_walk_proud_001_az000"][1][:, 0]
    seen = front[..., 2] > 0
    assert seen[:, J["neck"]].all() and not seen[:, J["left_eye"]].any()
    assert (front[:, J["left_shoulder"], 0] > front[:, J["right_shoulder"], 0]).mean() > 0.95  # facing the camera
    assert (front[:, J["nose"], 1] < front[:, J["left_ankle"], 1]).all()  # head above the feet (image y down)
    side = clip.cameras["dataset-1_walk_proud_001_az090"][1][:, 0]
    shoulders = np.abs(side[:, J["left_shoulder"], 0] - side[:, J["right_shoulder"], 0])
    assert np.median(shoulders) < 0.5 * np.median(np.abs(front[:, J["left_shoulder"], 0] -
                                                          front[:, J["right_shoulder"], 0]))  # fmt: skip


def test_the_styles_store_from_the_shared_folder(tmp_path):
    data = shared_path("mocap/bandai-styles/data")
    spec = MocapSpec(bvh=str(data), out=str(tmp_path), pattern="dataset-1_{content}_{style}_{take}", label="style")
    store = import_to_store(spec, tmp_path / "store", log=lambda _: None)
    assert len(store) == 121 * 4 and len(store.classes) == 11 and "not-confident" in store.classes
    assert {v.status for v in store.videos} == {"ok"}
    assert len({v.attributes["content"] for v in store.videos}) == 10
    assert PreparedStore(store.path).summary["frames"] == 4 * 20_669
