"""Pose normalisation and augmentation: invariances, fallbacks, mirror, and missing joints that stay missing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphemo.graphs.augment import Augment, drop_joints, jitter, mirror, rotate_scale
from graphemo.graphs.normalize import SHOULDERS_PER_TORSO, body_frame, normalize_pose
from graphemo.skeleton import get_layout

BODY25 = get_layout("body25")
WHOLE = get_layout("wholebody")
NECK, R_SHOULDER, R_WRIST, L_SHOULDER, L_WRIST, MID_HIP = 1, 2, 4, 5, 7, 8


def pose(rng: np.random.Generator, layout=BODY25, missing: float = 0.2, shape=()) -> np.ndarray:
    """Random pixel keypoints ``(*shape, V, 3)`` with the neck between the shoulders and some joints missing."""
    v = layout.num_joints
    xy = rng.uniform(100, 600, (*shape, v, 2))
    xy[..., R_SHOULDER, :] = xy[..., NECK, :] + (-40, 2)
    xy[..., L_SHOULDER, :] = xy[..., NECK, :] + (40, -2)
    conf = rng.uniform(0.2, 1.0, (*shape, v))
    conf[rng.random((*shape, v)) < missing] = 0.0
    conf[..., [NECK, R_SHOULDER, L_SHOULDER, MID_HIP]] = 0.9
    xy[conf == 0] = np.nan
    return np.concatenate([xy, conf[..., None]], axis=-1).astype(np.float32)


# --- normalisation ------------------------------------------------------------------------------


def test_neck_at_origin_shoulder_width_one_missing_joints_zero(rng):
    raw = pose(rng)
    out = normalize_pose(raw, BODY25, scale="shoulders")
    np.testing.assert_allclose(out[NECK, :2], 0.0, atol=1e-6)
    assert np.linalg.norm(out[R_SHOULDER, :2] - out[L_SHOULDER, :2]) == pytest.approx(1.0, rel=1e-5)
    width = np.linalg.norm(raw[R_SHOULDER, :2] - raw[L_SHOULDER, :2])
    seen = raw[:, 2] > 0
    np.testing.assert_allclose(out[seen, :2], (raw[seen, :2] - raw[NECK, :2]) / width, rtol=1e-5, atol=1e-6)
    assert (out[~seen] == 0).all(), "missing joints: (0, 0) with confidence 0, never a position from NaN"
    np.testing.assert_array_equal(out[:, 2], raw[:, 2])
    assert np.isfinite(out).all()


@settings(max_examples=40, deadline=None)
@given(
    dx=st.floats(-2000, 2000),
    dy=st.floats(-2000, 2000),
    k=st.floats(0.05, 20),
    seed=st.integers(0, 2**16),
)
def test_normalisation_ignores_where_the_person_stands_and_how_far(dx, dy, k, seed):
    raw = pose(np.random.default_rng(seed))
    moved = raw.copy()
    moved[..., :2] = raw[..., :2] * k + (dx, dy)
    np.testing.assert_allclose(normalize_pose(moved, BODY25), normalize_pose(raw, BODY25), atol=2e-3)


def test_body_scale_survives_a_profile_view_and_a_close_up():
    """``body`` = max(shoulder width, 0.8 torso): a side view's shoulders collapse, its torso does not."""
    frontal = np.full((25, 3), np.nan, np.float32)
    frontal[:, 2] = 0.0
    frontal[[NECK, R_SHOULDER, L_SHOULDER, MID_HIP]] = [[500, 200, 1], [450, 200, 1], [550, 200, 1], [500, 330, 1]]
    _, size = body_frame(frontal, BODY25)
    assert size == pytest.approx(130 * SHOULDERS_PER_TORSO)  # 104 > 100 px of shoulders
    profile = frontal.copy()
    profile[R_SHOULDER, 0], profile[L_SHOULDER, 0] = 498, 502  # seen from the side: 4 px of shoulders
    _, size = body_frame(profile, BODY25)
    assert size == pytest.approx(130 * SHOULDERS_PER_TORSO)
    _, collapsed = body_frame(profile, BODY25, scale="shoulders")
    assert collapsed == pytest.approx(4.0)  # what the shoulder scale would divide by
    assert np.abs(normalize_pose(profile, BODY25)[:, :2]).max() < 2
    close_up = frontal.copy()
    close_up[MID_HIP] = (np.nan, np.nan, 0.0)  # hips out of the frame
    _, size = body_frame(close_up, BODY25)
    assert size == pytest.approx(100.0)


def test_degenerate_scales_are_counted():
    from graphemo.graphs.normalize import degenerate_fraction

    poses = np.zeros((10, 25, 3), np.float32)
    poses[..., 2] = 0.0
    poses[:, [NECK, R_SHOULDER, L_SHOULDER, 4]] = [[500, 200, 1], [499, 200, 1], [501, 200, 1], [500, 400, 1]]
    assert degenerate_fraction(poses, BODY25, scale="shoulders") == 1.0  # the wrist 100 shoulder widths away
    assert degenerate_fraction(poses, BODY25, scale="body") == 1.0  # no torso to fall back on: still flagged
    poses[:, MID_HIP] = [500, 330, 1]
    assert degenerate_fraction(poses, BODY25, scale="body") == 0.0


def test_fallbacks_when_neck_or_shoulders_are_missing(rng):
    raw = pose(rng, missing=0.0)
    no_neck = raw.copy()
    no_neck[NECK] = (np.nan, np.nan, 0.0)
    centre, _ = body_frame(no_neck, BODY25)
    np.testing.assert_allclose(centre, raw[MID_HIP, :2])
    no_shoulders = raw.copy()
    no_shoulders[[R_SHOULDER, L_SHOULDER]] = (np.nan, np.nan, 0.0)
    _, size = body_frame(no_shoulders, BODY25)
    torso = np.linalg.norm(raw[NECK, :2] - raw[MID_HIP, :2])
    assert size == pytest.approx(torso * SHOULDERS_PER_TORSO)
    _, size = body_frame(raw, BODY25, scale="torso")
    assert size == pytest.approx(torso)
    centre, _ = body_frame(raw, BODY25, center="mid_hip")
    np.testing.assert_allclose(centre, raw[MID_HIP, :2])


def test_nobody_gives_zeros_and_no_warning():
    empty = np.zeros((3, 2, 25, 3), np.float32)
    empty[..., :2] = np.nan
    out = normalize_pose(empty, BODY25, per="sequence")
    assert out.shape == empty.shape and (out == 0).all()


def test_per_sequence_keeps_the_motion_of_the_whole_body(rng):
    base = pose(rng, missing=0.0)
    window = np.repeat(base[None], 5, axis=0)
    window[:, :, 0] += np.arange(5)[:, None] * 10.0  # the person walks right, 10 px per frame
    per_frame = normalize_pose(window, BODY25, scale="shoulders")
    per_sequence = normalize_pose(window, BODY25, per="sequence", scale="shoulders")
    assert np.allclose(per_frame[:, NECK, :2], 0.0, atol=1e-5), "per frame: every frame centred"
    width = np.linalg.norm(base[R_SHOULDER, :2] - base[L_SHOULDER, :2])
    np.testing.assert_allclose(np.diff(per_sequence[:, NECK, 0]), 10.0 / width, rtol=1e-4)


# --- mirror -------------------------------------------------------------------------------------------


def test_mirror_twice_is_identity_and_swaps_left_and_right(rng):
    p = normalize_pose(pose(rng, WHOLE), WHOLE)
    m = mirror(p, WHOLE)
    np.testing.assert_array_equal(mirror(m, WHOLE), p)
    np.testing.assert_array_equal(m[R_WRIST], [-p[L_WRIST, 0], p[L_WRIST, 1], p[L_WRIST, 2]])
    np.testing.assert_array_equal(m[L_WRIST], [-p[R_WRIST, 0], p[R_WRIST, 1], p[R_WRIST, 2]])
    np.testing.assert_array_equal(m[NECK], [-p[NECK, 0], p[NECK, 1], p[NECK, 2]])
    left, right = WHOLE.part_slice("hand_left"), WHOLE.part_slice("hand_right")
    np.testing.assert_array_equal(m[right, 0], -p[left, 0])
    np.testing.assert_array_equal(m[left, 1:], p[right, 1:])
    face = WHOLE.part_slice("face").start
    np.testing.assert_array_equal(m[face + 0, 0], -p[face + 16, 0])  # jaw ends swap
    window = normalize_pose(pose(rng, WHOLE, shape=(4, 2)), WHOLE)
    np.testing.assert_array_equal(mirror(window, WHOLE)[2, 1, R_WRIST, 0], -window[2, 1, L_WRIST, 0])


def test_mirror_of_a_symmetric_pose_is_itself():
    p = np.zeros((25, 3), np.float32)
    for i, j in enumerate(BODY25.mirror):
        p[i] = (i - j, float(min(i, j)), 0.5)  # x antisymmetric in the pair, y shared
    np.testing.assert_array_equal(mirror(p, BODY25), p)


# --- augmentation ---------------------------------------------------------------------------------


def test_rotate_scale_and_jitter_do_what_they_say(rng):
    p = np.array([[1.0, 0.0, 0.9], [0.0, 2.0, 0.8], [0.0, 0.0, 0.0]], np.float32)
    out = rotate_scale(p, 90.0, 2.0)
    np.testing.assert_allclose(out[:2, :2], [[0, 2], [-4, 0]], atol=1e-6)
    assert (out[2] == 0).all() and (out[:, 2] == p[:, 2]).all()
    assert (jitter(p, 0.0, rng) == p).all()
    noisy = jitter(p, 0.1, rng)
    assert (noisy[2] == 0).all() and not np.allclose(noisy[:2, :2], p[:2, :2])


def test_drop_joints_hides_the_same_joints_in_every_frame_of_a_window(rng):
    window = normalize_pose(pose(rng, missing=0.0, shape=(6, 1)), BODY25)
    out = drop_joints(window, 0.5, rng)
    dropped = out[..., 2] == 0
    assert dropped.any() and (dropped == dropped[:1]).all()
    assert (out[dropped][:, :2] == 0).all()


@pytest.mark.parametrize("shape", [(), (8, 2)])
def test_augmentation_never_resurrects_a_missing_joint(shape):
    policy = Augment(mirror=0.5, rotate=30.0, scale=0.3, jitter=0.1, joint_dropout=0.2)
    perm = np.asarray(WHOLE.mirror)
    for seed in range(30):
        rng = np.random.default_rng(seed)
        p = normalize_pose(pose(rng, WHOLE, missing=0.4, shape=shape), WHOLE)
        out = policy(p, WHOLE, rng)
        was_missing = p[..., 2] == 0
        now_missing = out[..., 2] == 0
        mirrored = was_missing[..., perm]  # where the missing joints are after a mirror
        assert ((was_missing & ~now_missing).sum() == 0) or ((mirrored & ~now_missing).sum() == 0)
        assert (out[now_missing][:, :2] == 0).all(), "a missing joint has no position"
        assert np.isfinite(out).all()
