"""Deep classifiers fine-tuned end to end on face crops and clips."""

from sklearn_deepfake.nets._clips import make_clips
from sklearn_deepfake.nets._face_cnn import FaceCNNClassifier
from sklearn_deepfake.nets._models3d import VIDEO_ARCHS, build_video_model
from sklearn_deepfake.nets._video_cnn import VideoCNNClassifier

__all__ = [
    "VIDEO_ARCHS",
    "FaceCNNClassifier",
    "VideoCNNClassifier",
    "build_video_model",
    "make_clips",
]
