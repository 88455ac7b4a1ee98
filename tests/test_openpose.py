import json

import numpy as np
import pytest

from graphemo.keypoints import (
    OpenPoseFormatError,
    ReadProblem,
    frame_file_name,
    read_openpose_json,
    read_openpose_video,
    tracking,
    write_openpose_json,
)
from graphemo.keypoints.openpose import (
    _FIRST_READ,
    _DetectionBuilder,
    check_body25_order,
    detections_from_docs,
    frame_files,
    frame_number,
)
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


# --- fast paths give what the full checks and the frame-by-frame loop give ------------------------


def test_frame_numbers_of_odd_file_names_follow_frame_number(tmp_path):
    # frame_files reads ASCII numbers without the regular expression; frame_number is the rule.
    names = [
        "v_000000000012_keypoints.json",
        "7.json",
        "12_keypoints5.json",
        "a1b22.json",
        "x_keypoints3.json",
        "0042_keypoints.json",
        "\u0663\u0664_keypoints.json",
        "9\u0663_keypoints.json",
        "\u00b2\u00b231.json",
    ]
    for name in names:
        (tmp_path / name).write_text("{}")
    assert frame_files(tmp_path) == sorted((frame_number(name), str(tmp_path / name)) for name in names)
    for bad in ("x_keypoints.json", "7_keypoints_keypoints.json", "\u00b2_keypoints.json"):
        (tmp_path / bad).write_text("{}")
        with pytest.raises(ValueError, match="no frame number"):
            frame_number(bad)
        with pytest.raises(ValueError, match="no frame number"):
            frame_files(tmp_path)
        (tmp_path / bad).unlink()


def whole(**changes) -> dict:
    """A person with body, face and hands, with ``changes`` to its keys."""
    return {**person(face=True, hands=True), **changes}


ODD_DOCUMENTS = [
    {"people": [whole(), whole(pose_keypoints_2d=person(shift=200)["pose_keypoints_2d"])]},
    {"people": [{k: v for k, v in whole().items() if k != "person_id"}]},
    {"people": [whole(person_id=[3])]},
    {"people": [whole(person_id=3)]},
    {"people": [whole(person_id=[2.7])]},
    {"people": [whole(person_id=[])]},
    {"people": [whole(person_id="x")]},
    {"people": [person(face=True, hands=True, legacy=True)]},
    {"people": [person()]},
    {"people": [person(n_body=18, face=True, hands=True)]},
    {"people": "nobody"},
    [1, 2],
    {"people": [whole(), 2]},
    {"people": [whole(person_id="x"), 5]},
    {"people": [whole(face_keypoints_2d=[1.0] * 9)]},
    {"people": [whole(face_keypoints_2d=None)]},
    {"people": [whole(pose_keypoints_2d=["1.5"] + [1.0] * 74)]},
    {"people": [whole(), whole(hand_left_keypoints_2d=[None] * 63)]},
    {"people": [whole(pose_keypoints_2d=[True] + [1] * 74)]},
    {"people": [whole(pose_keypoints_2d=[float("nan")] + [1.0] * 74)]},
    {"people": [whole(pose_keypoints_2d=[2**1100] + [1.0] * 74)]},
    {"people": []},
]


def test_the_fast_conversion_gives_what_the_full_checks_give(monkeypatch):
    layout = get_layout("body25_face_hands")
    paths = [f"f_{t:012d}_keypoints.json" for t in range(len(ODD_DOCUMENTS))]

    def read(problems):
        people, frames, ids = detections_from_docs(ODD_DOCUMENTS, paths, list(range(len(paths))), layout,
                                                   problems=problems)  # fmt: skip
        return people.tobytes(), frames.tolist(), ids.tolist(), [str(p) for p in problems]

    fast = read([])
    assert len(fast[3]) == 12, "odd documents are refused one by one"
    assert len(set(fast[1])) == 9, "the 10 others are read (one of them has nobody)"
    monkeypatch.setattr(_DetectionBuilder, "_fast_parts", lambda self, people: None)
    assert read([]) == fast


def random_people(rng: np.random.Generator, frames: int, people: int) -> tuple[np.ndarray, np.ndarray]:
    """Detections ``(N, 25, 3)`` and their frames: ``people`` walkers who come and go, sometimes jump, show few
    joints or none, in random order within a frame."""
    start = rng.uniform(50, 900, (people, 1, 2))
    walk = rng.normal(0, rng.choice([1.0, 10.0]), (frames, people, 1, 2)).cumsum(axis=0)
    shape = rng.normal(0, 40, (people, 25, 2))
    away = np.cumsum(rng.random((frames, people)) < 0.02, axis=0) % 2 == 1
    rows, index = [], []
    for t in range(frames):
        for q in rng.permutation(people):
            if away[t, q]:
                continue
            xy = start[q] + walk[t, q] + shape[q] + (rng.normal(0, 300, 2) if rng.random() < 0.01 else 0)
            conf = (rng.random(25) < rng.choice([0.3, 1.0])) * 0.9 * (rng.random() > 0.02)
            rows.append(np.column_stack([xy, conf]))
            index.append(t)
    kp = np.array(rows, np.float32).reshape(-1, 25, 3)
    kp[kp[..., 2] <= 0, :2] = np.nan
    return kp, np.array(index, np.int64)


def test_the_tracking_shortcuts_give_the_slots_of_the_frame_by_frame_loop(rng, monkeypatch):
    layout = get_layout("body25")
    runs = []
    real = tracking._track_run
    monkeypatch.setattr(tracking, "_track_run", lambda det, *a: runs.append(det.shape[1]) or real(det, *a))
    for people in (1, 2, 3, 4):
        for _ in range(6):
            kp, frames = random_people(rng, 150, people)
            fast = tracking._slots_from_motion(kp, frames, layout)
            assert np.array_equal(fast, tracking._slots_from_motion(kp, frames, layout, shortcuts=False))
    assert {1, 2, 3} <= set(runs), "stretches with one and with several people were followed at once"


def test_chain_states_are_the_track_as_the_loop_updates_it(rng):
    kp, _ = random_people(rng, 80, 1)
    root, size, _ = tracking._measures(kp, get_layout("body25"))
    pose = kp[..., :2]
    sized = rng.random(len(kp)) < 0.3
    track = (np.where(rng.random((25, 1)) < 0.5, rng.uniform(0, 500, (25, 2)), np.nan), np.array([1.0, 2.0]), 7.0)
    poses, roots, sizes = tracking._chain_states(pose, root, size, sized, *track)
    last_pose, last_root, last_size = track[0].copy(), track[1], track[2]
    for j in range(len(kp)):  # the loop's update, one detection at a time
        assert np.array_equal(poses[j], last_pose, equal_nan=True) and np.array_equal(
            roots[j], last_root, equal_nan=True
        )
        assert sizes[j] == last_size
        seen = np.isfinite(pose[j, :, 0])
        last_pose[seen] = pose[j, seen]
        last_root, last_size = root[j], size[j] if sized[j] else last_size


def test_a_file_larger_than_the_first_read_is_read_whole(tmp_path):
    people = [person(face=True, hands=True, pid=p, shift=37.123456789 * p) for p in range(50)]
    path = write(tmp_path / "crowd_000000000000_keypoints.json", {"version": 1.3, "people": people})
    assert path.stat().st_size > 2 * _FIRST_READ
    frame = read_openpose_json(path)
    assert frame.people.shape == (50, 137, 3) and frame.person_ids.tolist() == list(range(50))
