"""Face detection and face tracks (MTCNN from facenet-pytorch)."""

from sklearn_deepfake.faces._cropping import FaceCropper

__all__ = ["FaceCropper"]
