"""Log loss with clipped probabilities, the DFDC competition metric.

A single confident mistake costs ``-log(eps)`` once probabilities are clipped
to ``[eps, 1 - eps]`` (6.9 nats at ``eps=1e-3``) instead of up to 34.5 nats
at float precision, which is why submissions and model selection both clip.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import log_loss, make_scorer

from sklearn_deepfake.utils._proba import clip_proba, clip_values

__all__ = [
    "clipped_log_loss",
    "clipped_neg_log_loss",
    "make_clipped_log_loss_scorer",
]


def _check_eps(eps: float) -> float:
    eps = float(eps)
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must lie in (0, 0.5), got {eps!r}.")
    return eps


def clipped_log_loss(
    y_true: Any,
    y_prob: Any,
    *,
    eps: float = 1e-3,
    labels: Any = None,
    sample_weight: Any = None,
) -> float:
    """Binary log loss after clipping probabilities to ``[eps, 1 - eps]``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels. With a 1-D ``y_prob`` the larger of the two (sorted)
        labels is the positive one, as in :func:`sklearn.metrics.log_loss`
        (``1`` for 0/1, ``"REAL"`` for ``"FAKE"``/``"REAL"``: pass 0/1 labels
        with 1 = FAKE to score P(FAKE)).
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Probability of the positive class, or ``predict_proba`` output. In the
        2-D case each column is clipped and the rows are renormalised.
    eps : float, default=1e-3
        Clipping bound, in (0, 0.5). The loss of one sample is then at most
        ``-log(eps)``.
    labels : array-like, default=None
        All labels, when ``y_true`` may miss one (a small fold).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float
        Mean negative log-likelihood (lower is better).

    Examples
    --------
    >>> from sklearn_deepfake.model_selection import clipped_log_loss
    >>> round(clipped_log_loss([0, 1], [0.0, 1.0], eps=1e-3), 4)
    0.001
    >>> round(clipped_log_loss([0, 1], [1.0, 0.0], eps=1e-3), 3)
    6.908
    """
    eps = _check_eps(eps)
    p = np.asarray(y_prob, dtype=np.float64)
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim not in (1, 2):
        raise ValueError(f"y_prob must be 1-D or 2-D, got shape {p.shape}.")
    if not np.isfinite(p).all():
        raise ValueError("y_prob contains NaN or infinity.")
    p = clip_values(p, eps) if p.ndim == 1 else clip_proba(p, eps)
    return float(log_loss(y_true, p, labels=labels, sample_weight=sample_weight))


def make_clipped_log_loss_scorer(eps: float = 1e-3) -> Any:
    """Make a scorer for ``scoring=``: minus the clipped log loss.

    The scorer calls the estimator's ``predict_proba`` and follows
    scikit-learn's convention that greater is better, so it returns the
    negated :func:`clipped_log_loss` (as ``"neg_log_loss"`` does).

    Parameters
    ----------
    eps : float, default=1e-3
        Clipping bound passed to :func:`clipped_log_loss`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)`` returning a float; usable in
        ``cross_val_score``, ``GridSearchCV`` and friends.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_deepfake.model_selection import make_clipped_log_loss_scorer
    >>> X = np.array([[0.0], [0.1], [0.9], [1.0]] * 5)
    >>> y = np.array([0, 0, 1, 1] * 5)
    >>> scores = cross_val_score(
    ...     LogisticRegression(), X, y, cv=2, scoring=make_clipped_log_loss_scorer()
    ... )
    >>> bool((scores < 0).all())
    True
    """
    eps = _check_eps(eps)
    return make_scorer(
        clipped_log_loss,
        greater_is_better=False,
        response_method="predict_proba",
        eps=eps,
    )


#: Scorer for ``scoring=``: minus the log loss clipped at ``eps=1e-3``.
clipped_neg_log_loss = make_clipped_log_loss_scorer(1e-3)
