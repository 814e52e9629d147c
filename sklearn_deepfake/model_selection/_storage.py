"""Where :func:`tune_pipeline` keeps its studies, and what it names them.

Studies live in SQLite by default and resume: an RDB URL gets a heartbeat so
that the trials of a killed run are failed and retried, and a study's
default name hashes the pipeline's structure, the search space and the
number of samples.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from sklearn_deepfake.model_selection._search_spaces import _nested_estimators

__all__ = ["DEFAULT_STORAGE"]

#: Storage of :func:`tune_pipeline` studies unless told otherwise: an SQLite
#: file in the current working folder.
DEFAULT_STORAGE = "sqlite:///sklearn_deepfake_study.db"


def _make_storage(storage: Any) -> Any:
    """Give an RDB URL a heartbeat, so that trials of a killed run get failed."""
    import optuna

    if storage is None or not isinstance(storage, str):
        return storage
    engine_kwargs = (
        {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
    )
    storages = optuna.storages
    with warnings.catch_warnings():
        # The heartbeat is "experimental" (since Optuna 2.8), yet stable in use.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # optuna >= 4.9
            retry = {
                "heartbeat_stale_trial_callback": (
                    storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                )
            }
        else:
            retry = {
                "failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=1)
            }
        return storages.RDBStorage(
            storage,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=60,
            grace_period=180,
            **retry,
        )


def _default_study_name(estimator: Any, space: Any, n_samples: int) -> str:
    import joblib

    structure = [(p, type(e).__name__) for p, e in _nested_estimators(estimator)]
    if space is None:
        space_key: Any = "default"
    elif isinstance(space, Mapping):
        space_key = sorted(space)
    else:
        space_key = getattr(space, "__qualname__", type(space).__name__)
    return "sklearn-deepfake-" + joblib.hash((structure, space_key, n_samples))[:12]
