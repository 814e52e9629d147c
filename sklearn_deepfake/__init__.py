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
    "CNNFeatureExtractor": "sklearn_deepfake.features",
    "FaceContextFeatures": "sklearn_deepfake.features",
    "SpectrumFeatures": "sklearn_deepfake.features",
    "TemporalPooling": "sklearn_deepfake.features",
    "ScorePooling": "sklearn_deepfake.features",
    "ClippedClassifier": "sklearn_deepfake.calibration",
    "FaceCNNClassifier": "sklearn_deepfake.nets",
    "VideoCNNClassifier": "sklearn_deepfake.nets",
    "FaceTracks": "sklearn_deepfake.utils",
    "FramePlan": "sklearn_deepfake.utils",
    "load_dfdc": "sklearn_deepfake.datasets",
    "load_video_folder": "sklearn_deepfake.datasets",
    "make_face_videos": "sklearn_deepfake.datasets",
    "make_dfdc_folder": "sklearn_deepfake.datasets",
    "make_default_pipeline": "sklearn_deepfake._pipeline",
    "write_submission": "sklearn_deepfake.submission",
}

__all__ = ["__version__", *sorted(_PUBLIC)]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'sklearn_deepfake' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
