"""Video-level classifiers that learn from per-frame rows."""

from sklearn_deepfake.classifiers._framewise import FramewiseClassifier

__all__ = ["FramewiseClassifier"]
