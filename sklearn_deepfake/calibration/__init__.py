"""Keeping probabilities calibrated and bounded for log loss."""

from sklearn_deepfake.calibration._clipping import ClippedClassifier

__all__ = ["ClippedClassifier"]
