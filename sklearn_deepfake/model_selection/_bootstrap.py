"""Bootstrap confidence intervals that resample whole groups.

Clips of one identity, one swapped-in face or one original video are not
independent: a detector that learns a face scores all of its clips alike. An
interval that resamples single clips then looks narrower than the data
allow. :func:`grouped_bootstrap_score` resamples whole groups with
replacement instead, so the interval reflects how many groups a figure rests
on, not how many clips.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.utils import check_random_state

from sklearn_deepfake.utils._proba import clip_values

__all__ = ["BootstrapScore", "grouped_bootstrap_score"]

_EPS = 1e-3


# Plain numpy versions of the named metrics: a bootstrap calls them thousands
# of times, and sklearn's input validation would dominate the run time.
def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    ranks = rankdata(p)
    pos = y == 1
    n1 = int(pos.sum())
    n0 = len(y) - n1
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    q = clip_values(p, _EPS)
    return float(-np.mean(np.where(y == 1, np.log(q), np.log1p(-q))))


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p > 0.5) == (y == 1)))


def _positive_rate(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(p > 0.5))


#: Named metrics: (function of (y_true, P(positive)), needs both classes).
_METRICS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
    "roc_auc": (_roc_auc, True),
    "log_loss": (_log_loss, False),
    "accuracy": (_accuracy, False),
    "positive_rate": (_positive_rate, False),
}


@dataclass(frozen=True)
class BootstrapScore:
    """A score with its grouped-bootstrap percentile interval.

    Attributes
    ----------
    score : float
        The metric on all the data (the mean over repeats for 2-D scores).
    low, high : float
        Bounds of the percentile interval.
    confidence : float
        Coverage of the interval, e.g. 0.95.
    n_groups : int
        Number of distinct groups resampled.
    n_samples : int
        Number of samples (clips).
    n_boot : int
        Resamples that entered the interval. Resamples whose groups hold a
        single class are dropped for metrics that need both classes.
    """

    score: float
    low: float
    high: float
    confidence: float
    n_groups: int
    n_samples: int
    n_boot: int

    def as_dict(self) -> dict[str, float | int]:
        """Return the fields as a plain dict (for JSON)."""
        return {
            "score": self.score,
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "n_groups": self.n_groups,
            "n_samples": self.n_samples,
            "n_boot": self.n_boot,
        }

    def __str__(self) -> str:
        return f"{self.score:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _resolve_metric(metric: str | Callable) -> tuple[Callable, bool]:
    if callable(metric):
        return metric, False
    if isinstance(metric, str) and metric in _METRICS:
        return _METRICS[metric]
    raise ValueError(
        f"metric must be a callable or one of {sorted(_METRICS)}, got {metric!r}."
    )


def grouped_bootstrap_score(
    y_true: Any,
    y_score: Any,
    groups: Any,
    *,
    metric: str | Callable[[np.ndarray, np.ndarray], float] = "roc_auc",
    n_boot: int = 2000,
    confidence: float = 0.95,
    random_state: int | np.random.RandomState | None = 0,
) -> BootstrapScore:
    """Score predictions and give a percentile interval over whole groups.

    Each of ``n_boot`` resamples draws as many groups as there are, with
    replacement, and keeps every sample of each drawn group (a group drawn
    twice counts twice). The interval is the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` percentiles of the metric over the resamples.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels, 0 or 1 (1 = FAKE).
    y_score : array-like of shape (n_samples,) or (n_repeats, n_samples)
        Predicted P(label 1). A 2-D array holds the out-of-fold predictions
        of repeated cross-validation: the score is the mean of the repeats'
        scores, and each resample scores every repeat on the same groups.
    groups : array-like of shape (n_samples,)
        Group of each sample (identity, swapped-in face, original video).
    metric : {"roc_auc", "log_loss", "accuracy", "positive_rate"} or \
callable, default="roc_auc"
        ``"log_loss"`` clips probabilities to ``[1e-3, 1 - 1e-3]``
        (:func:`~sklearn_deepfake.model_selection.clipped_log_loss`);
        ``"accuracy"`` and ``"positive_rate"`` threshold at 0.5
        (``"positive_rate"`` on real clips only is the false-positive rate).
        A callable takes ``(y_true, y_score)`` and returns a float.
    n_boot : int, default=2000
        Number of resamples.
    confidence : float, default=0.95
        Coverage of the interval, in (0, 1).
    random_state : int, RandomState instance or None, default=0
        Seed of the resampling.

    Returns
    -------
    result : BootstrapScore
        ``score``, ``low``, ``high`` and the numbers of groups, samples and
        resamples used.

    Raises
    ------
    ValueError
        On mismatched lengths, labels other than 0/1, non-finite scores, a
        single class for ``"roc_auc"``, fewer than 2 groups, or when no
        resample holds both classes for ``"roc_auc"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.model_selection import grouped_bootstrap_score
    >>> y = np.array([0, 1] * 10)
    >>> p = np.where(y == 1, 0.8, 0.3)
    >>> groups = np.repeat(np.arange(10), 2)   # a real and a fake per group
    >>> res = grouped_bootstrap_score(y, p, groups, metric="accuracy")
    >>> res.score, res.low, res.high, res.n_groups
    (1.0, 1.0, 1.0, 10)
    """
    func, needs_both = _resolve_metric(metric)
    if not isinstance(n_boot, Integral) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}.")
    if not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}.")
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D, got shape {y.shape}.")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold binary labels 0 and 1 (1 = FAKE).")
    y = y.astype(int)
    p = np.asarray(y_score, dtype=np.float64)
    p2 = p[None, :] if p.ndim == 1 else p
    if p2.ndim != 2 or p2.shape[1] != len(y):
        raise ValueError(
            f"y_score must have shape ({len(y)},) or (n_repeats, {len(y)}), "
            f"got {p.shape}."
        )
    if not np.isfinite(p2).all():
        raise ValueError("y_score contains NaN or infinity.")
    g = np.asarray(groups)
    if g.shape != y.shape:
        raise ValueError(
            f"groups must have one entry per sample ({len(y)}), got {g.shape}."
        )
    if needs_both and len(np.unique(y)) < 2:
        raise ValueError(
            f"metric={metric!r} needs both classes in y_true; got only "
            f"class {y[0] if len(y) else None!r}."
        )
    _, codes = np.unique(g, return_inverse=True)
    members = [np.flatnonzero(codes == k) for k in range(codes.max() + 1)]
    n_groups = len(members)
    if n_groups < 2:
        raise ValueError(
            f"A grouped bootstrap needs at least 2 groups, got {n_groups}."
        )

    def score(idx: np.ndarray) -> float:
        return float(np.mean([func(y[idx], row[idx]) for row in p2]))

    rng = check_random_state(random_state)
    stats = []
    for _ in range(n_boot):
        drawn = rng.randint(0, n_groups, size=n_groups)
        idx = np.concatenate([members[k] for k in drawn])
        if needs_both and len(np.unique(y[idx])) < 2:
            continue
        stats.append(score(idx))
    if not stats:
        raise ValueError(
            "No resample holds both classes: every group has a single class "
            f"and metric={metric!r} needs both."
        )
    alpha = (1 - confidence) / 2
    low, high = np.percentile(stats, [100 * alpha, 100 * (1 - alpha)])
    return BootstrapScore(
        score=score(np.arange(len(y))),
        low=float(low),
        high=float(high),
        confidence=float(confidence),
        n_groups=n_groups,
        n_samples=len(y),
        n_boot=len(stats),
    )
