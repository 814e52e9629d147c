"""sklearn-deepfake: deepfake video detection with scikit-learn pipelines.

Public names are imported lazily, so ``import sklearn_deepfake`` stays cheap
(no torch, no video libraries until a step is used).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

_PUBLIC = {
    "FrameSampler": "sklearn_deepfake.video",
    "FaceCropper": "sklearn_deepfake.faces",
    "FaceStore": "sklearn_deepfake.faces",
    "LazyFaceTracks": "sklearn_deepfake.faces",
    "CNNFeatureExtractor": "sklearn_deepfake.features",
    "FaceContextFeatures": "sklearn_deepfake.features",
    "MTCNNEmbeddings": "sklearn_deepfake.features",
    "FaceRecognitionEmbeddings": "sklearn_deepfake.features",
    "FaceLandmarks68": "sklearn_deepfake.features",
    "FaceShapeFeatures": "sklearn_deepfake.features",
    "TemporalNoiseFeatures": "sklearn_deepfake.features",
    "SpectrumFeatures": "sklearn_deepfake.features",
    "TemporalPooling": "sklearn_deepfake.features",
    "ScorePooling": "sklearn_deepfake.features",
    "AudioFeatures": "sklearn_deepfake.features",
    "AVSyncFeatures": "sklearn_deepfake.features",
    "ClippedClassifier": "sklearn_deepfake.calibration",
    "FramewiseClassifier": "sklearn_deepfake.classifiers",
    "CalibratedStackingClassifier": "sklearn_deepfake.ensemble",
    "SeedEnsembleClassifier": "sklearn_deepfake.ensemble",
    "calibration_report": "sklearn_deepfake.calibration",
    "compare_calibration": "sklearn_deepfake.calibration",
    "expected_calibration_error": "sklearn_deepfake.calibration",
    "ReliabilityDisplay": "sklearn_deepfake.calibration",
    "FaceCNNClassifier": "sklearn_deepfake.nets",
    "VideoCNNClassifier": "sklearn_deepfake.nets",
    "SelfBlendedFaces": "sklearn_deepfake.nets",
    "make_self_blended": "sklearn_deepfake.nets",
    "TemporalClassifier": "sklearn_deepfake.nets",
    "OpticalFlowFeatures": "sklearn_deepfake.features",
    "FaceTracks": "sklearn_deepfake.utils",
    "FramePlan": "sklearn_deepfake.utils",
    "load_dfdc": "sklearn_deepfake.datasets",
    "load_video_folder": "sklearn_deepfake.datasets",
    "make_face_videos": "sklearn_deepfake.datasets",
    "make_dfdc_folder": "sklearn_deepfake.datasets",
    "make_default_pipeline": "sklearn_deepfake.pipeline",
    "make_fusion_pipeline": "sklearn_deepfake.pipeline",
    "make_fusion_stack": "sklearn_deepfake.pipeline",
    "predict_with_budget": "sklearn_deepfake._budget",
    "TimeBudget": "sklearn_deepfake._budget",
    "BudgetRun": "sklearn_deepfake._budget",
    "load_pretrained": "sklearn_deepfake.pretrained",
    "write_submission": "sklearn_deepfake.submission",
    "tune_pipeline": "sklearn_deepfake.model_selection",
    "grad_cam": "sklearn_deepfake.inspection",
    "GradCAMDisplay": "sklearn_deepfake.inspection",
    "FrameScoreTimelineDisplay": "sklearn_deepfake.inspection",
    "FaceMontageDisplay": "sklearn_deepfake.inspection",
    "GroupedROCDisplay": "sklearn_deepfake.inspection",
    "GroupedDETDisplay": "sklearn_deepfake.inspection",
    "explain_video": "sklearn_deepfake.inspection",
    "export_onnx": "sklearn_deepfake.export",
    "ONNXFaceClassifier": "sklearn_deepfake.export",
    "ONNXFeatureExtractor": "sklearn_deepfake.export",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'sklearn_deepfake' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
