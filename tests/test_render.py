"""The skeleton renderer (pixel checks), ImageNet tensors, contact sheets and ``graphemo render``."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from graphemo.cli import main
from graphemo.graphs.render import (
    DEFAULT_NECK_AT,
    IMAGENET_MEAN,
    IMAGENET_STD,
    contact_sheet,
    image_tensor,
    line_widths,
    normalize_image,
    render_skeleton,
    render_skeletons,
    to_pixels,
)
from graphemo.skeleton import get_layout

BODY25 = get_layout("body25")
NECK, R_SHOULDER, R_ELBOW, R_WRIST, MID_HIP = 1, 2, 3, 4, 8


def t_pose(layout=BODY25) -> np.ndarray:
    """A frontal body in normalised units (neck at 0, shoulder width 1, y down), every body joint visible."""
    pose = np.zeros((layout.num_joints, 3), dtype=np.float32)
    body = {
        0: (0, -0.5), 1: (0, 0), 2: (-0.5, 0), 3: (-1.2, 0), 4: (-1.9, 0), 5: (0.5, 0), 6: (1.2, 0), 7: (1.9, 0),
        8: (0, 1.4), 9: (-0.3, 1.4), 10: (-0.3, 2.4), 11: (-0.3, 3.3), 12: (0.3, 1.4), 13: (0.3, 2.4), 14: (0.3, 3.3),
        15: (-0.1, -0.6), 16: (0.1, -0.6), 17: (-0.2, -0.55), 18: (0.2, -0.55), 19: (0.4, 3.45), 20: (0.45, 3.4),
        21: (0.25, 3.35), 22: (-0.4, 3.45), 23: (-0.45, 3.4), 24: (-0.25, 3.35),
    }  # fmt: skip
    for j, xy in body.items():
        pose[j] = (*xy, 0.9)
    return pose


def pixel(xy: tuple[float, float], size: int = 224) -> tuple[int, int]:
    """Row, column of the pixel nearest a normalised point."""
    x, y = np.round(to_pixels(np.array(xy), size)).astype(int)
    return y, x


def color_of(a: int, b: int, layout=BODY25) -> tuple[int, ...]:
    return layout.bone_colors[layout.bones.index((a, b))]


def test_a_bone_between_visible_joints_is_drawn_in_its_colour_at_its_midpoint() -> None:
    pose = np.zeros((25, 3), dtype=np.float32)
    pose[NECK] = (0, 0, 1)
    pose[MID_HIP] = (0, 1.5, 1)
    image = render_skeleton(pose, BODY25)
    assert image.shape == (224, 224, 3) and image.dtype == np.uint8
    assert tuple(image[pixel((0, 0.75))]) == color_of(NECK, MID_HIP) == (255, 0, 0)
    # Only that bone and its two dots: every lit pixel lies within a few pixels of the segment.
    rows, cols = np.nonzero(image.any(axis=2))
    (top, x0), (bottom, _) = pixel((0, 0)), pixel((0, 1.5))
    assert np.abs(cols - x0).max() <= 3
    assert rows.min() >= top - 3 and rows.max() <= bottom + 3


def test_every_body25_bone_has_its_colour_at_its_midpoint() -> None:
    pose = np.zeros((25, 3), dtype=np.float32)
    full = t_pose()
    for a, b in BODY25.bones:
        pose[:] = 0
        pose[[a, b]] = full[[a, b]]
        image = render_skeleton(pose, BODY25, thickness=3)
        middle = (full[a, :2] + full[b, :2]) / 2
        assert tuple(image[pixel(tuple(middle))]) == color_of(a, b), (a, b)


def test_masked_joints_and_their_bones_are_not_drawn() -> None:
    pose = t_pose()
    elbow_to_wrist = pixel((-1.7, 0)), pixel((-1.9, 0))
    visible = render_skeleton(pose, BODY25)
    assert all(visible[p].any() for p in elbow_to_wrist)  # drawn when visible, so the check below can fail
    pose[R_WRIST, 2] = 0
    masked = render_skeleton(pose, BODY25)
    assert not any(masked[p].any() for p in elbow_to_wrist)
    assert masked[pixel((-0.85, 0))].any()  # the shoulder-elbow bone stays
    # A missing joint's coordinates do not matter at all.
    for garbage in ((5.0, -3.0), (np.nan, np.nan), (0.0, 0.0)):
        pose[R_WRIST, :2] = garbage
        assert np.array_equal(render_skeleton(pose, BODY25), masked)
    pose[R_WRIST] = (-1.9, 0, 0.3)
    assert render_skeleton(pose, BODY25, min_confidence=0.5)[elbow_to_wrist[1]].sum() == 0


def test_a_fully_masked_pose_is_black() -> None:
    pose = t_pose()
    pose[:, 2] = 0
    assert not render_skeleton(pose, BODY25).any()
    assert not render_skeleton(np.full((25, 3), np.nan, dtype=np.float32), BODY25, size=64).any()


def test_size_thickness_and_framing() -> None:
    pose = t_pose()
    for size in (32, 64, 300):
        image = render_skeleton(pose, BODY25, size=size)
        assert image.shape == (size, size, 3)
        assert tuple(image[pixel((0, 0.7), size)]) == color_of(NECK, MID_HIP)
    assert line_widths(448)[0] > line_widths(224)[0] >= line_widths(64)[0] >= 1
    thin, thick = render_skeleton(pose, BODY25, thickness=1), render_skeleton(pose, BODY25, thickness=5)
    assert np.count_nonzero(thick.any(axis=2)) > 2 * np.count_nonzero(thin.any(axis=2))
    with pytest.raises(ValueError, match="thickness"):
        render_skeleton(pose, BODY25, thickness=0)
    # The neck lands at neck_at * size; the image spans `span` shoulder widths.
    np.testing.assert_allclose(to_pixels(np.zeros(2), 224), np.array(DEFAULT_NECK_AT) * 224)
    np.testing.assert_allclose(to_pixels(np.array([1.5, 0.0]), 100, span=3.0, neck_at=(0.5, 0.5)), [100, 50])
    only_neck = np.zeros((25, 3), dtype=np.float32)
    only_neck[NECK] = (0, 0, 1)
    rows, cols = np.nonzero(render_skeleton(only_neck, BODY25, span=3.0, neck_at=(0.25, 0.75)).any(axis=2))
    assert abs(rows.mean() - 168) <= 1 and abs(cols.mean() - 56) <= 1


def test_rendering_is_deterministic_and_batched_alike() -> None:
    poses = np.stack([t_pose(), t_pose() * np.array([1.2, 0.8, 1], dtype=np.float32)])
    batch = render_skeletons(poses, BODY25, size=96)
    assert batch.shape == (2, 96, 96, 3)
    for pose, image in zip(poses, batch, strict=True):
        assert np.array_equal(render_skeleton(pose, BODY25, size=96), image)
        assert np.array_equal(render_skeleton(pose.copy(), BODY25, size=96), image)
    assert not np.array_equal(batch[0], batch[1])


def test_face_and_hands_are_drawn_on_the_whole_body_layout() -> None:
    layout = get_layout("wholebody")
    pose = np.zeros((layout.num_joints, 3), dtype=np.float32)
    pose[:25] = t_pose()
    face, hand = layout.part_slice("face"), layout.part_slice("hand_left")
    angles = np.linspace(0, 2 * np.pi, 70, endpoint=False)
    pose[face, 0], pose[face, 1], pose[face, 2] = 0.3 * np.cos(angles), -0.6 + 0.3 * np.sin(angles), 0.8
    pose[hand, 0], pose[hand, 1], pose[hand, 2] = 1.9 + np.linspace(0, 0.4, 21), 0.3, 0.8
    image = render_skeleton(pose, layout, size=448)
    jaw_middle = (pose[face][0, :2] + pose[face][1, :2]) / 2
    assert tuple(image[pixel(tuple(jaw_middle), 448)]) == (255, 255, 255)
    hand_colors = {layout.bone_colors[i] for i, (a, _) in enumerate(layout.bones) if hand.start <= a < hand.stop}
    drawn = {tuple(c) for c in image.reshape(-1, 3)}
    assert hand_colors & drawn
    pose[face.start : hand.stop, 2] = 0  # without face and left hand, none of the face's white remains
    assert (255, 255, 255) not in {tuple(c) for c in render_skeleton(pose, layout, size=448).reshape(-1, 3)}


def test_bad_poses_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(25, 3\) for layout body25"):
        render_skeleton(np.zeros((137, 3)), BODY25)
    with pytest.raises(ValueError, match="size"):
        render_skeleton(t_pose(), BODY25, size=4)
    with pytest.raises(ValueError, match="span"):
        render_skeleton(t_pose(), BODY25, span=0)


def test_image_tensor_is_imagenet_normalised_rgb() -> None:
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[0, 0] = (255, 0, 0)
    image[1, 1] = (255, 255, 255)
    x = image_tensor(image)
    assert x.shape == (3, 4, 6) and x.dtype == torch.float32
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(x[:, 3, 5], -mean / std)
    torch.testing.assert_close(x[:, 1, 1], (1 - mean) / std)
    torch.testing.assert_close(x[:, 0, 0], (torch.tensor([1.0, 0.0, 0.0]) - mean) / std)
    batch = torch.rand(2, 3, 5, 5)
    torch.testing.assert_close(normalize_image(batch)[1], normalize_image(batch[1]))
    with pytest.raises(ValueError, match="uint8"):
        image_tensor(image.astype(np.float32))
    with pytest.raises(ValueError, match="3, H, W"):
        normalize_image(torch.zeros(4, 5, 5))


def test_contact_sheet_tiles_images_with_captions() -> None:
    images = [render_skeleton(t_pose(), BODY25, size=64) for _ in range(5)]
    sheet = contact_sheet(images, [["clip #1", "happiness", "V +0.50 A +0.20"]] * 5, columns=3, gap=4)
    assert sheet.dtype == np.uint8 and sheet.shape[1] == 3 * (64 + 4) + 4
    assert np.array_equal(sheet[4 : 4 + 64, 4 : 4 + 64], images[0])
    caption = sheet[4 + 64 : 4 + 64 + 30, 4 : 4 + 64]
    assert (caption > 100).any()  # text is written under the image
    with pytest.raises(ValueError, match="captions"):
        contact_sheet(images, [["a"]])


def test_render_command_writes_a_labelled_contact_sheet(tiny_store, tmp_path, capsys) -> None:
    out = tmp_path / "sheet.png"
    argv = ["render", str(tiny_store.path), "--out", str(out), "--frames", "6", "--size", "64", "--columns", "3"]
    assert main(argv) == 0
    sheet = cv2.imread(str(out))
    assert sheet is not None and sheet.shape[1] == 3 * (64 + 4) + 4
    printed = capsys.readouterr().out
    assert "frames     6 from" in printed and "labels" in printed
    video = tiny_store.videos[1].video_id
    assert main([*argv[:4], "--videos", video, "--frames", "2", "--annotated"]) == 0
    assert "from 1 video(s)" in capsys.readouterr().out
    assert main([*argv[:4], "--videos", "no_such_video"]) == 2
    assert "not in" in capsys.readouterr().err
