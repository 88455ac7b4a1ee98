"""Keypoints in and out: the OpenPose JSON format (read, checked, written) and person tracking across frames."""

from graphemo.keypoints.openpose import (
    OpenPoseFormatError,
    OpenPoseFrame,
    ReadProblem,
    frame_file_name,
    read_openpose_docs,
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
    "read_openpose_docs",
    "read_openpose_json",
    "read_openpose_video",
    "write_openpose_json",
]
