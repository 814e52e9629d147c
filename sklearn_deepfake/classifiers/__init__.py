"""Video-level classifiers that learn from per-frame rows or blend heads."""

from sklearn_deepfake.classifiers._blend import LogitBlendClassifier
from sklearn_deepfake.classifiers._framewise import FramewiseClassifier

__all__ = ["FramewiseClassifier", "LogitBlendClassifier"]
