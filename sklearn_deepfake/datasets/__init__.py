"""Datasets: synthetic face videos, the DFDC and FaceForensics++ layouts, folders."""

from sklearn_deepfake.datasets._dfdc import load_dfdc, make_dfdc_folder
from sklearn_deepfake.datasets._faceforensics import load_faceforensics
from sklearn_deepfake.datasets._folders import load_video_folder
from sklearn_deepfake.datasets._synthetic import IDENTITIES, make_face_videos

__all__ = [
    "IDENTITIES",
    "load_dfdc",
    "load_faceforensics",
    "load_video_folder",
    "make_dfdc_folder",
    "make_face_videos",
]
