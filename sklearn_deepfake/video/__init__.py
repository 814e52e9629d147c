"""Video probing, decoding and frame sampling."""

from sklearn_deepfake.video._reading import (
    VideoInfo,
    iter_frames,
    probe_video,
    read_frames,
)
from sklearn_deepfake.video._sampling import FrameSampler

__all__ = ["FrameSampler", "VideoInfo", "iter_frames", "probe_video", "read_frames"]
