"""Scoring, model-selection and Optuna tuning helpers for deepfake detection."""

from sklearn_deepfake.model_selection._bootstrap import (
    BootstrapScore,
    grouped_bootstrap_score,
)
from sklearn_deepfake.model_selection._pruning import (
    OptunaPruningCallback,
    pruning_callbacks,
)
from sklearn_deepfake.model_selection._scoring import (
    clipped_log_loss,
    clipped_neg_log_loss,
    make_clipped_log_loss_scorer,
)
from sklearn_deepfake.model_selection._search_spaces import (
    SEARCH_SPACES,
    suggest_params,
)
from sklearn_deepfake.model_selection._storage import DEFAULT_STORAGE
from sklearn_deepfake.model_selection._tune import TuneResult, tune_pipeline

__all__ = [
    "DEFAULT_STORAGE",
    "SEARCH_SPACES",
    "BootstrapScore",
    "OptunaPruningCallback",
    "TuneResult",
    "clipped_log_loss",
    "clipped_neg_log_loss",
    "grouped_bootstrap_score",
    "make_clipped_log_loss_scorer",
    "pruning_callbacks",
    "suggest_params",
    "tune_pipeline",
]
