"""Keypoints from raw video: MediaPipe Holistic in its own environment, written as OpenPose JSON
(``graphemo extract``, :mod:`~graphemo.sources.video.extract`)."""
