"""The names of the presets and feature sets, importable without scikit-learn.

The command line offers these names as choices; keeping them in a module
that imports nothing keeps ``sklearn-deepfake --help`` instant.
"""

from __future__ import annotations

__all__ = ["FEATURE_SETS", "PRESETS"]

#: Per-frame feature sets of :func:`make_default_pipeline` (its ``features``);
#: also the choices of the command line's ``--features``.
FEATURE_SETS = (
    "context",
    "spectrum",
    "context+spectrum",
    "context+mtcnn",
    "context+mtcnn+shape",
    "context+mtcnn+shape+noise",
    "cnn",
    "facerec",
    "faceres",
    "identity",
    "facerec+identity",
    "context+identity",
    "faceres+identity",
)

#: Named recipes of :func:`make_default_pipeline` (see its ``preset``); also
#: the choices of the command line's ``--preset``.
PRESETS = ("default", "swap", "self-blended", "dfdc", "general", "general-blend")
