"""Keep predicted probabilities away from 0 and 1: one rule for the library."""

from __future__ import annotations

import numpy as np

__all__ = ["clip_proba", "clip_values", "clipped_logit"]


def clip_values(proba: np.ndarray, eps: float) -> np.ndarray:
    """Clip every probability to ``[eps, 1 - eps]``, rows left as they are.

    For one column of probabilities (of the positive class), and before a
    logarithm; :func:`clip_proba` also renormalises the rows of a matrix.

    Parameters
    ----------
    proba : ndarray
        Probabilities, of any shape.
    eps : float
        Smallest probability kept, in ``[0, 0.5)``.

    Returns
    -------
    proba : ndarray
        A new array of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.utils._proba import clip_values
    >>> clip_values(np.array([0.0, 0.5, 1.0]), 0.01)
    array([0.01, 0.5 , 0.99])
    """
    return np.clip(proba, eps, 1 - eps)


def clip_proba(proba: np.ndarray, eps: float) -> np.ndarray:
    """Clip every probability to ``[eps, 1 - eps]`` and renormalise the rows.

    Clipping caps the log loss of a confident mistake at ``-log(eps)``; the
    rows are divided by their sums afterwards so that they still sum to one.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Probabilities, rows summing to one.
    eps : float
        Smallest probability kept, in ``[0, 0.5)``.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        A new array.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.utils._proba import clip_proba
    >>> clip_proba(np.array([[1.0, 0.0], [0.3, 0.7]]), 0.01).round(2)
    array([[0.99, 0.01],
           [0.3 , 0.7 ]])
    """
    proba = clip_values(proba, eps)
    return proba / proba.sum(axis=1, keepdims=True)


def clipped_logit(proba: np.ndarray, eps: float) -> np.ndarray:
    """Log-odds ``log(p / (1 - p))`` of probabilities clipped to ``[eps, 1 - eps]``.

    Clipping keeps the log-odds of a model answering exactly 0 or 1 finite
    (``±log((1 - eps) / eps)``).

    Parameters
    ----------
    proba : ndarray
        Probabilities of the positive class, of any shape.
    eps : float
        Smallest probability kept, in ``(0, 0.5)``.

    Returns
    -------
    logit : ndarray
        A new array of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.utils._proba import clipped_logit
    >>> clipped_logit(np.array([0.5, 1.0]), 0.01).round(2)
    array([0. , 4.6])
    """
    p = clip_values(proba, eps)
    return np.log(p) - np.log1p(-p)
