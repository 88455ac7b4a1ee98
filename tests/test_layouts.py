import numpy as np
import pytest
import torch

from graphemo.skeleton import LAYOUT_NAMES, get_layout


@pytest.mark.parametrize("name", LAYOUT_NAMES)
def test_layout_is_one_connected_graph_with_an_involutive_mirror(name):
    layout = get_layout(name)
    assert np.isfinite(layout.hop_distance()).all(), "every joint must be reachable (no island)"
    mirror = np.array(layout.mirror)
    assert (mirror[mirror] == np.arange(layout.num_joints)).all()
    ei = layout.edge_index()
    assert ei.dtype == torch.long and ei.shape == (2, 2 * (len(layout.bones) + len(layout.links)))
    assert not (ei[0] == ei[1]).any()


def test_part_sizes_and_openpose_order():
    whole = get_layout("wholebody")
    assert whole.num_joints == 137
    assert whole.parts == {"body": (0, 25), "face": (25, 95), "hand_left": (95, 116), "hand_right": (116, 137)}
    assert get_layout("coco18_face_hands").num_joints == 130
    assert whole.joints[whole.neck] == "neck" and whole.joints[whole.hips[0]] == "mid_hip"


def test_mirror_swaps_left_and_right():
    body = get_layout("body25")
    names = body.joints
    for i, j in enumerate(body.mirror):
        if names[i].startswith("left_"):
            assert names[j] == "right_" + names[i][5:]
    whole = get_layout("wholebody")
    left, right = whole.parts["hand_left"][0], whole.parts["hand_right"][0]
    assert whole.mirror[left] == right and whole.mirror[right] == left
    face = whole.parts["face"][0]
    # jaw point 0 (image left end of the contour) mirrors to jaw point 16; the pupils swap.
    assert whole.mirror[face] == face + 16 and whole.mirror[face + 68] == face + 69


def test_bones_follow_openpose_body25():
    body = get_layout("body25")
    assert body.bones[0] == (1, 8) and (0, 15) in body.bones and (11, 24) in body.bones
    assert body.bone_colors[0] == (255, 0, 0)  # neck -> mid-hip takes mid-hip's colour


def test_unknown_layout_suggests_close_name():
    with pytest.raises(KeyError, match="did you mean 'body25'"):
        get_layout("body_26")
