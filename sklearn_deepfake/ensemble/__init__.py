"""Ensembles of whole detectors: grouped, calibrated stacking; seed ensembles."""

from sklearn_deepfake.ensemble._seeds import SeedEnsembleClassifier
from sklearn_deepfake.ensemble._stacking import CalibratedStackingClassifier

__all__ = ["CalibratedStackingClassifier", "SeedEnsembleClassifier"]
