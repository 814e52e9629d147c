"""Ensembles of whole detectors: grouped, calibrated stacking."""

from sklearn_deepfake.ensemble._stacking import CalibratedStackingClassifier

__all__ = ["CalibratedStackingClassifier"]
