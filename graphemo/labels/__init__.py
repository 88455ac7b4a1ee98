"""Emotion labels: one canonical class order, and readers for Aff-Wild2 (ABAW), DFEW and generic CSVs."""

from graphemo.labels.abaw import (
    read_abaw_expr,
    read_abaw_folder,
    read_abaw_va,
    write_abaw_expr,
    write_abaw_va,
)
from graphemo.labels.dfew import read_dfew_csv, read_dfew_fold, write_dfew_csv
from graphemo.labels.emotions import (
    EMOTIONS,
    EMOTIONS_WITH_OTHER,
    UNANNOTATED,
    class_names,
    emotion_index,
)
from graphemo.labels.sources import LabelSource, LabelSpec, label_sources, load_labels, register_label_source
from graphemo.labels.table import read_label_csv
from graphemo.labels.video_labels import LabelFormatError, VideoLabels, canonical_video_id

__all__ = [
    "EMOTIONS",
    "EMOTIONS_WITH_OTHER",
    "UNANNOTATED",
    "LabelFormatError",
    "LabelSource",
    "LabelSpec",
    "VideoLabels",
    "canonical_video_id",
    "class_names",
    "emotion_index",
    "label_sources",
    "load_labels",
    "read_abaw_expr",
    "read_abaw_folder",
    "read_abaw_va",
    "read_dfew_csv",
    "read_dfew_fold",
    "read_label_csv",
    "register_label_source",
    "write_abaw_expr",
    "write_abaw_va",
    "write_dfew_csv",
]
