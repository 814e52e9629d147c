"""Explaining fitted detectors: Grad-CAM heatmaps, plots and HTML video reports.

The Displays follow scikit-learn's pattern. Each Display stores what it
draws in ``__init__``, is built with ``from_estimator`` (runs the model) or
``from_predictions`` (takes scores already computed; :class:`GradCAMDisplay`
has no such constructor) and draws with ``plot(ax=None, ...)``, after which
``ax_`` and ``figure_`` hold the matplotlib axes and figure (``axes_``, the
panels, for :class:`GradCAMDisplay`). matplotlib is an optional dependency
(``pip install "sklearn-deepfake[plot]"``), imported only when something is
drawn.
"""

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
