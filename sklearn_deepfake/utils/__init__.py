"""Containers and checkers for per-video data."""

from sklearn_deepfake.utils._labels import fake_class_index
from sklearn_deepfake.utils._ragged import (
    FaceTracks,
    FramePlan,
    check_per_video,
    flatten_frames,
)

__all__ = [
    "FaceTracks",
    "FramePlan",
    "check_per_video",
    "fake_class_index",
    "flatten_frames",
]
