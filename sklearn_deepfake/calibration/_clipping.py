"""ClippedClassifier: soften by a temperature, keep inside ``[eps, 1 - eps]``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.utils._classifier import (
    PROBA_DOCS,
    ClippedProbaClassifierMixin,
)
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    HasMethods,
    Interval,
    ParamsValidationMixin,
    Real,
)

_DOCS = {
    **PROBA_DOCS,
    "X": """X : array-like of shape (n_samples, n_features)
    Input data.""",
}


def _estimator_has(attr: str):
    def check(self: ClippedClassifier) -> bool:
        est = getattr(self, "estimator_", None)
        if est is None:
            est = self.estimator if self.estimator is not None else LogisticRegression()
        return hasattr(est, attr)

    return check


class ClippedClassifier(
    ParamsValidationMixin, ClippedProbaClassifierMixin, BaseEstimator
):
    """Wrap a classifier so that its probabilities never reach 0 or 1.

    Log loss punishes one confident mistake without bound: a fake called
    real with probability 1e-6 costs 13.8 nats, more than twenty correct
    0.5 guesses. Clipping to ``[eps, 1 - eps]`` caps the cost of any single
    video at ``-log(eps)`` (4.6 for ``eps=0.01``) for a tiny loss on the
    videos that were right; the DFDC winners all clipped.

    A ``temperature`` above 1 also softens every probability before the
    clipping: ``softmax(log(P) / temperature)``, for a binary logistic
    regression ``sigmoid(logit / temperature)``. The ranking of the videos,
    and so the AUC and the predicted labels, stay as they are; only the
    confidence shrinks towards 0.5. It is a fixed parameter, chosen outside
    (the ``general`` preset's by ``benchmarks/bench_cross_method.py``, from
    how over-confident the head was on manipulation methods it had not
    seen), not fitted on the training labels.

    Parameters
    ----------
    estimator : classifier, default=None
        Any classifier with ``predict_proba``; ``None`` means
        :class:`~sklearn.linear_model.LogisticRegression`.
    eps : float, default=0.01
        Smallest probability returned for any class, in ``[0, 0.5)``.
    temperature : float, default=1.0
        Divides the log-probabilities (and ``decision_function``) before the
        clipping; 1.0 leaves them as they are, larger values soften them.

        .. versionadded:: 0.3

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.calibration import ClippedClassifier
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> clf = ClippedClassifier(eps=0.05).fit(X, [0, 0, 1, 1])
    >>> clf.predict_proba([[100.0]]).round(2)
    array([[0.05, 0.95]])
    >>> soft = ClippedClassifier(temperature=3.0).fit(X, [0, 0, 1, 1])
    >>> bool(soft.predict_proba(X)[0, 0] < clf.predict_proba(X)[0, 0])
    True
    """

    def __init__(
        self, estimator: Any = None, *, eps: float = 0.01, temperature: float = 1.0
    ) -> None:
        self.estimator = estimator
        self.eps = eps
        self.temperature = temperature

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "eps": [Interval(Real, 0, 0.5, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
    }

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {}

    @classmethod
    def _search_space(cls, trial: Any, prefix: str) -> dict[str, Any]:
        """Default Optuna space: the clipping bound."""
        name = f"{prefix}eps"
        return {name: trial.suggest_float(name, 1e-3, 0.1, log=True)}

    def fit(self, X: Any, y: Any, **fit_params: Any) -> ClippedClassifier:
        """Fit a clone of the estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (anything the wrapped estimator accepts).
        y : array-like of shape (n_samples,)
            Target labels.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
            Fitted classifier.
        """
        self._validate_params()
        est = self.estimator if self.estimator is not None else LogisticRegression()
        self.estimator_ = clone(est).fit(X, y, **fit_params)
        self.classes_ = self.estimator_.classes_
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        return self

    predict_proba = available_if(_estimator_has("predict_proba"))(
        ClippedProbaClassifierMixin.predict_proba
    )

    def _unclipped_proba(self, X: Any) -> np.ndarray:
        """Probabilities of the wrapped estimator, at ``temperature``."""
        proba = self.estimator_.predict_proba(X)
        if self.temperature == 1.0:
            return proba
        from scipy.special import log_softmax

        with np.errstate(divide="ignore"):
            logp = np.log(np.asarray(proba, dtype=float))
        logp = np.maximum(logp, np.log(np.finfo(float).tiny))  # no -inf rows
        return np.exp(log_softmax(logp / self.temperature, axis=1))

    @fill_doc(_DOCS)
    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels (those of the wrapped estimator).

        Parameters
        ----------
        %(X)s

        Returns
        -------
        %(y_pred)s
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("decision_function"))
    @fill_doc(_DOCS)
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision function of the wrapped estimator over ``temperature``.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        scores : ndarray
            The wrapped estimator's scores divided by ``temperature`` (not
            clipped).
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(X) / self.temperature

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        est = self.estimator if self.estimator is not None else LogisticRegression()
        from sklearn.utils import get_tags

        inner = get_tags(est)
        tags.input_tags = inner.input_tags
        return tags
