"""Calibration maps fitted on out-of-fold probabilities of a stack.

Each calibrator maps a ``(n_samples, n_classes)`` probability matrix to
another one. They are fitted on *out-of-fold* scores only (see
:class:`~sklearn_deepfake.ensemble.CalibratedStackingClassifier`), so they
never need an estimator of their own: they work on the numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit, log_softmax
from sklearn.isotonic import IsotonicRegression

from sklearn_deepfake.utils._proba import clip_values, clipped_logit

#: Probabilities are clipped to ``[_TINY, 1 - _TINY]`` before taking logs, so
#: that a base model answering exactly 0 or 1 gives a finite logit (13.8).
_TINY = 1e-6

CALIBRATION_METHODS = ("sigmoid", "isotonic", "temperature")


def _log_proba(proba: np.ndarray) -> np.ndarray:
    return np.log(clip_values(proba, _TINY))


def _normalise(proba: np.ndarray) -> np.ndarray:
    total = proba.sum(axis=1, keepdims=True)
    n_classes = proba.shape[1]
    # A row the one-vs-rest maps sent to all zeros gets the uniform answer.
    safe = np.where(total > 0, total, 1.0)
    out = proba / safe
    out[total[:, 0] <= 0] = 1.0 / n_classes
    return out


def _platt(
    score: np.ndarray, target: np.ndarray, weight: np.ndarray
) -> tuple[float, float]:
    """Fit ``P(target=1) = expit(a * score + b)`` by maximum likelihood.

    The targets are Platt's (1999) smoothed labels ``(N+ + 1) / (N+ + 2)``
    and ``1 / (N- + 2)``, which keep ``a`` finite on separable scores.
    """
    n_pos = float(weight[target == 1].sum())
    n_neg = float(weight[target == 0].sum())
    t = np.where(target == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * score + ab[1]
        p = expit(z)
        # Binary cross-entropy written with logaddexp for stability.
        value = np.sum(
            weight * (t * np.logaddexp(0.0, -z) + (1.0 - t) * np.logaddexp(0.0, z))
        )
        diff = weight * (p - t)
        return float(value), np.array([np.dot(diff, score), diff.sum()])

    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


class _ScoreCalibrator:
    """Calibrate a probability matrix: sigmoid, isotonic or temperature.

    - ``"temperature"``: ``softmax(log(P) / T)`` with one ``T > 0`` fitted by
      minimising the log loss (for two classes this is
      ``expit(logit(p) / T)``). It keeps the ranking, so AUC is unchanged.
    - ``"sigmoid"``: Platt scaling ``expit(a * logit(p_k) + b)`` per class
      (only the positive class for binary problems), then rows renormalised.
    - ``"isotonic"``: a monotone step map of ``p_k`` per class, then rows
      renormalised.
    """

    def __init__(self, method: str) -> None:
        self.method = method

    def fit(
        self, proba: np.ndarray, y: np.ndarray, sample_weight: Any = None
    ) -> _ScoreCalibrator:
        """Fit on probabilities ``proba`` and encoded labels ``y`` (0..K-1)."""
        proba = np.asarray(proba, dtype=np.float64)
        y = np.asarray(y)
        if sample_weight is None:
            weight = np.ones(y.size)
        else:
            weight = np.asarray(sample_weight, dtype=np.float64)
        n_classes = proba.shape[1]
        self.n_classes_ = n_classes
        if self.method == "temperature":
            log_p = _log_proba(proba)
            rows = np.arange(y.size)

            def loss(log_scale: float) -> float:
                scaled = log_softmax(np.exp(log_scale) * log_p, axis=1)
                return float(-np.average(scaled[rows, y], weights=weight))

            res = minimize_scalar(loss, bounds=(-6.0, 6.0), method="bounded")
            self.temperature_ = float(np.exp(-res.x))
            return self
        columns = [1] if n_classes == 2 else list(range(n_classes))
        self.maps_: list[Any] = []
        for k in columns:
            target = (y == k).astype(np.float64)
            if self.method == "sigmoid":
                self.maps_.append(
                    _platt(clipped_logit(proba[:, k], _TINY), target, weight)
                )
            else:
                iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
                self.maps_.append(iso.fit(proba[:, k], target, sample_weight=weight))
        return self

    def predict_proba(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated version of ``proba`` (rows sum to one)."""
        proba = np.asarray(proba, dtype=np.float64)
        if self.method == "temperature":
            return np.exp(log_softmax(_log_proba(proba) / self.temperature_, axis=1))
        columns = [1] if self.n_classes_ == 2 else list(range(self.n_classes_))
        out = np.empty_like(proba)
        for k, fitted in zip(columns, self.maps_):
            if self.method == "sigmoid":
                a, b = fitted
                out[:, k] = expit(a * clipped_logit(proba[:, k], _TINY) + b)
            else:
                out[:, k] = fitted.predict(proba[:, k])
        if self.n_classes_ == 2:
            out[:, 0] = 1.0 - out[:, 1]
            return out
        return _normalise(out)
