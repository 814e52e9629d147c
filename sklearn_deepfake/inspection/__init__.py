"""Explaining fitted detectors: Grad-CAM heatmaps and HTML video reports."""

from sklearn_deepfake.inspection._gradcam import GradCAMDisplay, grad_cam
from sklearn_deepfake.inspection._report import explain_video

__all__ = ["GradCAMDisplay", "explain_video", "grad_cam"]
