"""Keep predicted probabilities away from 0 and 1: one rule for the library."""

from __future__ import annotations

import numpy as np

__all__ = ["clip_proba"]


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
    proba = np.clip(proba, eps, 1 - eps)
    return proba / proba.sum(axis=1, keepdims=True)
