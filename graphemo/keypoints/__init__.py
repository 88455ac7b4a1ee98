"""Keypoints in and out: OpenPose JSON, person tracking, the synthetic generator, video extraction."""

from graphemo.keypoints.openpose import (
    OpenPoseFormatError,
    OpenPoseFrame,
    ReadProblem,
    frame_file_name,
    read_openpose_json,
    read_openpose_video,
    write_openpose_json,
)
from graphemo.keypoints.sequence import KeypointSequence

__all__ = [
    "KeypointSequence",
    "OpenPoseFormatError",
    "OpenPoseFrame",
    "ReadProblem",
    "frame_file_name",
    "read_openpose_json",
    "read_openpose_video",
    "write_openpose_json",
]
