import json

import numpy as np
import pytest

from graphemo.keypoints import (
    OpenPoseFormatError,
    ReadProblem,
    frame_file_name,
    read_openpose_json,
    read_openpose_video,
    write_openpose_json,
)
from graphemo.keypoints.openpose import check_body25_order, frame_number
from graphemo.skeleton import get_layout
from tests.conftest import OPENPOSE, shared_path


def person(n_body=25, face=False, hands=False, pid=-1, legacy=False, shift=0.0):
    rng = np.random.default_rng(n_body)
    body = np.column_stack([rng.uniform(100, 200, n_body) + shift, rng.uniform(100, 400, n_body), np.full(n_body, 0.9)])
    body[[1, 2, 5], :2] = [[150.0 + shift, 150.0], [120.0 + shift, 152.0], [180.0 + shift, 148.0]]  # neck, shoulders
    suffix = "" if legacy else "_2d"
    out = {"person_id": [pid], f"pose_keypoints{suffix}": body.ravel().tolist()}
    out[f"face_keypoints{suffix}"] = np.tile([150.0, 90.0, 0.8], 70).tolist() if face else []
    for side in ("left", "right"):
        out[f"hand_{side}_keypoints{suffix}"] = np.tile([120.0, 300.0, 0.7], 21).tolist() if hands else []
    return out


def write(path, doc):
    path.write_text(json.dumps(doc))
    return path


# --- real OpenPose output (../shared) -----------------------------------------------------


def test_reads_real_body25_with_missing_joints():
    folder = shared_path("openpose/vr_ballthrow_100_cosmos1_trial1")
    frame = read_openpose_json(folder / "1_000000000000_keypoints.json")
    assert frame.layout == "body25" and frame.people.shape == (1, 25, 3) and frame.version == 1.3
    missing = frame.people[0, :, 2] == 0
    assert missing[7] and missing[16]  # written as 0,0,0 in the file
    assert np.isnan(frame.people[0, missing, :2]).all(), "missing joints must not become (0, 0)"
    assert np.isfinite(frame.people[0, ~missing]).all()
    assert frame.people[0, 0, 0] == pytest.approx(283.375)


def test_reads_real_coco18():
    frame = read_openpose_json(shared_path("openpose/coco18_single_frame/frame_000000000000_keypoints.json"))
    assert frame.layout == "coco18" and frame.people.shape == (1, 18, 3)
    assert frame.people[0, 17, 2] == 0 and np.isnan(frame.people[0, 17, 0])


def test_reads_real_face_and_hands_video():
    seq = read_openpose_video(shared_path("openpose/signlang_face_hands/sample-data/json"))
    assert seq.layout == "body25_face_hands" and seq.keypoints.shape == (9, 1, 137, 3)
    layout = get_layout(seq.layout)
    assert seq.mask[:, 0, layout.part_slice("face")].mean() > 0.9
    assert seq.mask[:, 0, layout.part_slice("hand_right")].mean() > 0.5
    assert not seq.mask[:, 0, 9:12].any(), "lower body is 0,0,0 in this sample"


def test_reads_real_hands_without_face():
    frame = read_openpose_json(
        shared_path("openpose/misc/deep-motion-editing/style_transfer/data/treadmill/json_inputs/27/000.json")
    )
    assert frame.layout == "body25_hands" and frame.people.shape == (1, 67, 3)


def test_refuses_25_points_that_are_not_body25():
    path = shared_path("openpose/misc/pose2sim/Pose2Sim/Demo/S00_Demo_Session/S00_P00_Participant/"
                       "S00_P00_T01_BalancingTrial/pose/cam1_json/cam01.0000.json")  # fmt: skip
    with pytest.raises(OpenPoseFormatError, match="not BODY_25"):
        read_openpose_json(path)
    forced = read_openpose_json(path, layout="body25")
    assert forced.people.shape == (2, 25, 3)


def test_real_two_person_video_is_tracked_without_identity_swaps():
    seq = read_openpose_video(
        shared_path("openpose/mpiiemo_two_people/corpora/MPIIEmo/prepare_data/test/json"), max_people=2
    )
    assert seq.keypoints.shape == (823, 2, 25, 3)
    assert seq.present[:, 0].all(), "the main person is in every frame of this clip"
    # Between consecutive frames a tracked person's joints move little; a swap would move them by the
    # distance between the two actors (hundreds of pixels).
    step = np.linalg.norm(np.diff(seq.keypoints[..., :2], axis=0), axis=-1)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        median_step = np.nanmedian(step, axis=-1)
    assert np.nanmax(median_step) < 60
    main_x = np.nanmean(seq.keypoints[:, 0, :, 0])
    other_x = np.nanmean(seq.keypoints[:, 1, :, 0])
    assert abs(main_x - other_x) > 100


def test_every_shared_openpose_file_parses_or_is_refused_by_name():
    files = sorted(OPENPOSE.rglob("*.json")) if OPENPOSE.exists() else []
    if not files:
        pytest.skip("../shared/openpose is absent")
    for path in files:
        try:
            frame = read_openpose_json(path)
        except OpenPoseFormatError as exc:
            assert "pose2sim" in str(path) and str(path) in str(exc)
            continue
        assert frame.people.ndim == 3 and frame.people.shape[-1] == 3


# --- formats and bad input ----------------------------------------------------------------


def test_zero_people_frame(tmp_path):
    frame = read_openpose_json(write(tmp_path / "a_000000000000_keypoints.json", {"version": 1.3, "people": []}))
    assert frame.people.shape[0] == 0


def test_legacy_keys_and_int_person_id(tmp_path):
    doc = {"version": 1.0, "people": [person(legacy=True)]}
    doc["people"][0]["person_id"] = 3
    frame = read_openpose_json(write(tmp_path / "x.json", doc))
    assert frame.layout == "body25" and frame.person_ids.tolist() == [3]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"version":1.3,"people":[{"pose_keypoints_2d":[1,2', "truncated"),
        ("", "empty file"),
        ('{"version":1.3}', "no 'people' list"),
        ('{"people":[{"pose_keypoints_2d":[1,2,3,4]}]}', "not a multiple of 3"),
        ('{"people":[{"pose_keypoints_2d":' + json.dumps([1.0] * 45) + "}]}", "15 points"),
        ('{"people":[{"pose_keypoints_2d":[NaN' + ",1" * 74 + "]}]}", "NaN or inf"),
        (
            '{"people":[{"pose_keypoints_2d":' + json.dumps([1.0] * 75) + ',"face_keypoints_2d":[1,2,3]}]}',
            "expected 210",
        ),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, text, match):
    path = tmp_path / "bad_000000000007_keypoints.json"
    path.write_text(text)
    with pytest.raises(OpenPoseFormatError, match=match) as info:
        read_openpose_json(path, layout="body25_face" if "face" in text else "auto")
    assert str(path) in str(info.value)


def test_wrong_body_model_for_layout(tmp_path):
    path = write(tmp_path / "c.json", {"people": [person(n_body=18)]})
    with pytest.raises(OpenPoseFormatError, match="coco18 but the layout is body25"):
        read_openpose_json(path, layout="body25")


def test_body25_order_check_votes_over_people():
    good = np.zeros((3, 25, 3), np.float32)
    good[:, 1] = (10, 20, 1)  # neck midway between the shoulders
    good[:, 2] = (0, 21, 1)
    good[:, 5] = (20, 19, 1)
    check_body25_order([good], "x")
    bad = good.copy()
    bad[:2, 1] = (2, 5, 1)  # two of three people have joint 1 far from the shoulders' midpoint
    with pytest.raises(OpenPoseFormatError, match="2 of 3"):
        check_body25_order([bad], "somewhere")
    check_body25_order([bad[2:]], "x")


def test_write_then_read_round_trip(tmp_path, rng):
    layout = get_layout("wholebody")
    people = np.column_stack([rng.uniform(0, 500, (2 * 137, 2)), rng.uniform(0.1, 1, 2 * 137)]).reshape(2, 137, 3)
    people[0, 5, 2] = 0.0
    people[1, 100, :2] = np.nan
    path = tmp_path / frame_file_name("clip", 12)
    write_openpose_json(path, people, layout)
    assert path.name == "clip_000000000012_keypoints.json" and frame_number(path) == 12
    back = read_openpose_json(path, layout="wholebody")
    assert back.layout == "body25_face_hands"
    expected = np.where((people[..., 2:3] > 0) & np.isfinite(people[..., :2]), people[..., :2], np.nan)
    np.testing.assert_allclose(back.people[..., :2], expected, atol=1e-3)
    np.testing.assert_allclose(back.people[..., 2], np.where(np.isnan(expected[..., 0]), 0, people[..., 2]), atol=1e-6)
    assert back.people[0, 5, 2] == 0 and np.isnan(back.people[0, 5, 0])
    assert back.people[1, 100, 2] == 0, "a NaN coordinate is written as a missing joint"


def test_video_folder_keeps_gaps_and_collects_problems(tmp_path):
    for t in (0, 1, 4):
        write(tmp_path / f"v_{t:012d}_keypoints.json", {"version": 1.3, "people": [person()]})
    (tmp_path / "v_000000000002_keypoints.json").write_text('{"people": [')
    with pytest.raises(OpenPoseFormatError, match="v_000000000002"):
        read_openpose_video(tmp_path)
    problems: list[ReadProblem] = []
    seq = read_openpose_video(tmp_path, problems=problems, fps=25)
    assert seq.num_frames == 5 and seq.fps == 25 and seq.video_id == tmp_path.name
    assert seq.present[:, 0].tolist() == [True, True, False, False, True]
    assert len(problems) == 1 and "v_000000000002" in problems[0].path


def test_person_id_tracking_keeps_identities(tmp_path):
    # Two tracked people who swap their order in the file: slots must follow person_id, not list order.
    for t in range(6):
        a, b = person(pid=4, shift=0), person(pid=9, shift=1000)
        a["pose_keypoints_2d"] = (np.array(a["pose_keypoints_2d"]) * np.tile([1, 1, 1.0], 25)).tolist()
        people = [a, b] if t % 2 else [b, a]
        write(tmp_path / f"v_{t:012d}_keypoints.json", {"people": people})
    seq = read_openpose_video(tmp_path, max_people=2)
    xs = np.nanmean(seq.keypoints[..., 0], axis=-1)
    assert (np.abs(np.diff(xs[:, 0])) < 1).all() and (np.abs(np.diff(xs[:, 1])) < 1).all()


def test_main_person_is_the_most_visible_and_a_bystander_does_not_steal_the_slot(tmp_path):
    for t in range(20):
        main = person(shift=t)  # walks slowly
        people = [main]
        if 5 <= t < 10:
            bystander = person(shift=600 + 30 * t)
            conf = np.array(bystander["pose_keypoints_2d"]).reshape(25, 3)
            conf[:, 2] = 0.3
            bystander["pose_keypoints_2d"] = conf.ravel().tolist()
            people = [bystander, main]  # listed first by OpenPose
        write(tmp_path / f"v_{t:012d}_keypoints.json", {"people": people})
    seq = read_openpose_video(tmp_path, max_people=1)
    xs = np.nanmean(seq.keypoints[:, 0, :, 0], axis=-1)
    assert (np.abs(np.diff(xs)) < 5).all()
