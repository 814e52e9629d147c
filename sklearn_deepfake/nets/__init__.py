"""Deep classifiers fine-tuned end to end on face crops and clips."""

from sklearn_deepfake.nets._clips import make_clips
from sklearn_deepfake.nets._compress import compress_frames
from sklearn_deepfake.nets._face_cnn import FaceCNNClassifier
from sklearn_deepfake.nets._models3d import VIDEO_ARCHS, build_video_model
from sklearn_deepfake.nets._pairs import difference_mask, erase_by_difference, mix_pair
from sklearn_deepfake.nets._self_blend import SelfBlendedFaces, make_self_blended
from sklearn_deepfake.nets._temporal import TemporalClassifier
from sklearn_deepfake.nets._video_cnn import VideoCNNClassifier

__all__ = [
    "VIDEO_ARCHS",
    "FaceCNNClassifier",
    "SelfBlendedFaces",
    "TemporalClassifier",
    "VideoCNNClassifier",
    "build_video_model",
    "compress_frames",
    "difference_mask",
    "erase_by_difference",
    "make_clips",
    "make_self_blended",
    "mix_pair",
]
