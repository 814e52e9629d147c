"""Ready-made detectors: video paths in, P(FAKE) out.

:func:`make_default_pipeline` builds one detector from a named recipe
(:data:`PRESETS`); :func:`make_fusion_pipeline` and :func:`make_fusion_stack`
combine the face, temporal, flow, audio and lip-sync branches. This is the
highest layer of estimators: it only assembles the steps defined in
``video``, ``faces``, ``features``, ``nets``, ``classifiers``,
``calibration`` and ``ensemble``.
"""

from sklearn_deepfake.pipeline._fusion import (
    FUSION_BRANCHES,
    STACK_BRANCHES,
    make_fusion_pipeline,
    make_fusion_stack,
)
from sklearn_deepfake.pipeline._pipeline import (
    FEATURE_SETS,
    PRESETS,
    make_default_pipeline,
)

__all__ = [
    "FEATURE_SETS",
    "FUSION_BRANCHES",
    "PRESETS",
    "STACK_BRANCHES",
    "make_default_pipeline",
    "make_fusion_pipeline",
    "make_fusion_stack",
]
