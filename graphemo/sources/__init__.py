"""Sources of keypoints, the first stage of the pipeline: whatever a recording is, it becomes OpenPose-format
keypoints (files that ``graphemo prepare`` reads, or a store directly).

* :mod:`~graphemo.sources.synth` - the synthetic generator (``graphemo synth``);
* :mod:`~graphemo.sources.video` - MediaPipe Holistic on raw video (``graphemo extract``).
"""
