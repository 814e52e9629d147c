"""Scoring and model-selection helpers for deepfake detection."""

from sklearn_deepfake.model_selection._scoring import (
    clipped_log_loss,
    clipped_neg_log_loss,
    make_clipped_log_loss_scorer,
)

__all__ = [
    "clipped_log_loss",
    "clipped_neg_log_loss",
    "make_clipped_log_loss_scorer",
]
