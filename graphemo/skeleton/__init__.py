"""Skeleton layouts (joints, bones, mirror permutations) for OpenPose's body, face and hand models."""

from graphemo.skeleton.layouts import (
    BODY25,
    COCO18,
    FACE70,
    HAND21,
    LAYOUT_NAMES,
    Layout,
    compose,
    get_layout,
    layout_name,
    select_parts,
)

__all__ = [
    "BODY25",
    "COCO18",
    "FACE70",
    "HAND21",
    "LAYOUT_NAMES",
    "Layout",
    "compose",
    "get_layout",
    "layout_name",
    "select_parts",
]
