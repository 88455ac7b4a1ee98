"""Motion capture (BVH) -> OpenPose-format keypoints seen by virtual cameras (``graphemo mocap``)."""
