"""Explaining fitted detectors: Grad-CAM heatmaps, plots and HTML video reports."""

from sklearn_deepfake.inspection._frame_timeline import (
    FaceMontageDisplay,
    FrameScoreTimelineDisplay,
    GroupedDETDisplay,
    GroupedROCDisplay,
)
from sklearn_deepfake.inspection._gradcam import GradCAMDisplay, grad_cam
from sklearn_deepfake.inspection._report import explain_video

__all__ = [
    "FaceMontageDisplay",
    "FrameScoreTimelineDisplay",
    "GradCAMDisplay",
    "GroupedDETDisplay",
    "GroupedROCDisplay",
    "explain_video",
    "grad_cam",
]
