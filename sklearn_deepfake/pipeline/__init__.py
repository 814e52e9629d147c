"""Ready-made detectors: video paths in, P(FAKE) out.

:func:`make_default_pipeline` builds one detector from a named recipe
(:data:`PRESETS`); :func:`make_fusion_pipeline` and :func:`make_fusion_stack`
combine the face, temporal, flow, audio and lip-sync branches. This is the
highest layer of estimators: it only assembles the steps defined in
``video``, ``faces``, ``features``, ``nets``, ``classifiers``,
``calibration`` and ``ensemble``.
"""

from __future__ import annotations

import importlib
from typing import Any

from sklearn_deepfake.pipeline._names import FEATURE_SETS, PRESETS

# The factories import scikit-learn and the steps; they load on first use so
# that the command line can read PRESETS and FEATURE_SETS at once.
_LAZY = {
    "FUSION_BRANCHES": "sklearn_deepfake.pipeline._fusion",
    "STACK_BRANCHES": "sklearn_deepfake.pipeline._fusion",
    "make_fusion_pipeline": "sklearn_deepfake.pipeline._fusion",
    "make_fusion_stack": "sklearn_deepfake.pipeline._fusion",
    "make_default_pipeline": "sklearn_deepfake.pipeline._pipeline",
    "fit_with_self_blends": "sklearn_deepfake.pipeline._self_blended_fit",
    "self_blended_features": "sklearn_deepfake.pipeline._self_blended_fit",
}

__all__ = [
    "FEATURE_SETS",
    "FUSION_BRANCHES",
    "PRESETS",
    "STACK_BRANCHES",
    "fit_with_self_blends",
    "make_default_pipeline",
    "make_fusion_pipeline",
    "make_fusion_stack",
    "self_blended_features",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(
        f"module 'sklearn_deepfake.pipeline' has no attribute {name!r}"
    )


def __dir__() -> list[str]:
    return sorted(__all__)
