"""Grouped bootstrap intervals for the benchmarks' quality figures.

A thin layer over :func:`sklearn_deepfake.model_selection.grouped_bootstrap_score`
so that every benchmark reports its figures the same way: the point estimate,
the 95% percentile interval from resampling whole groups (swap faces,
identities, original clips) and the number of groups it rests on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sklearn_deepfake.model_selection import grouped_bootstrap_score

N_BOOT = 2000


def bootstrap_ci(
    y: Any,
    p: Any,
    groups: Any,
    metric: str = "roc_auc",
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, float | int]:
    """Point and 95% interval of ``metric`` over whole groups, as a dict.

    ``p`` may be 2-D (repeats of a cross-validation, one row each): the point
    is then the mean over repeats. Keys: ``score``, ``low``, ``high``,
    ``confidence``, ``n_groups``, ``n_samples``, ``n_boot``.
    """
    return grouped_bootstrap_score(
        np.asarray(y),
        p,
        np.asarray(groups),
        metric=metric,
        n_boot=n_boot,
        random_state=seed,
    ).as_dict()


def fmt(ci: dict[str, Any] | None, digits: int = 3) -> str:
    """``0.549 [0.501, 0.602]``, or ``-`` for a figure not measured."""
    if ci is None:
        return "-"
    return f"{ci['score']:.{digits}f} [{ci['low']:.{digits}f}, {ci['high']:.{digits}f}]"
