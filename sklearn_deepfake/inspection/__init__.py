"""Explaining fitted detectors: Grad-CAM heatmaps, plots and HTML video reports."""

from sklearn_deepfake.inspection._det_curve import GroupedDETDisplay
from sklearn_deepfake.inspection._face_montage import FaceMontageDisplay
from sklearn_deepfake.inspection._frame_timeline import FrameScoreTimelineDisplay
from sklearn_deepfake.inspection._gradcam import GradCAMDisplay, grad_cam
from sklearn_deepfake.inspection._report import explain_video
from sklearn_deepfake.inspection._roc_curve import GroupedROCDisplay

__all__ = [
    "FaceMontageDisplay",
    "FrameScoreTimelineDisplay",
    "GradCAMDisplay",
    "GroupedDETDisplay",
    "GroupedROCDisplay",
    "explain_video",
    "grad_cam",
]
