"""The prepared store: a dataset's keypoints and labels as memory-mappable arrays, its own stage of the pipeline.

* :mod:`~graphemo.store.reader` - :class:`PreparedStore` (opened instantly, read-only) and its records;
* :mod:`~graphemo.store.writer` - :func:`write_store`, for any source with keypoints in memory;
* :mod:`~graphemo.store.prepare` - :func:`prepare_dataset`, OpenPose folders + labels -> a store
  (``graphemo prepare``), reused when nothing changed.
"""

from graphemo.store.prepare import PrepareOptions, find_video_folders, prepare_dataset, scan_videos
from graphemo.store.reader import STORE_FORMAT, PreparedStore, VideoRecord
from graphemo.store.writer import StoreVideo, write_store

__all__ = [
    "STORE_FORMAT",
    "PrepareOptions",
    "PreparedStore",
    "StoreVideo",
    "VideoRecord",
    "find_video_folders",
    "prepare_dataset",
    "scan_videos",
    "write_store",
]
