"""Keeping probabilities calibrated and bounded for log loss."""

from sklearn_deepfake.calibration._clipping import ClippedClassifier
from sklearn_deepfake.calibration._diagnostics import (
    CalibrationComparison,
    CalibrationReport,
    ReliabilityDisplay,
    calibration_report,
    compare_calibration,
    expected_calibration_error,
)

__all__ = [
    "CalibrationComparison",
    "CalibrationReport",
    "ClippedClassifier",
    "ReliabilityDisplay",
    "calibration_report",
    "compare_calibration",
    "expected_calibration_error",
]
