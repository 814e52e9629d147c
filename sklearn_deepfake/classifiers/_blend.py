"""LogitBlendClassifier: average the logits of heads on their own columns and rows."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from sklearn_deepfake.utils._labels import fake_class_index
from sklearn_deepfake.utils._param_validation import ParamsValidationMixin
from sklearn_deepfake.utils._proba import clipped_logit

__all__ = ["LogitBlendClassifier"]

#: A part's probabilities are kept inside ``[_TINY, 1 - _TINY]`` before the
#: logit, so that a part that says 0 or 1 gives a finite logit.
_TINY = 1e-7


def _columns(columns: Any, n_features: int) -> np.ndarray:
    """Column positions of one part (``None``: all of them)."""
    if columns is None:
        return np.arange(n_features)
    if callable(columns):
        columns = columns(n_features)
    if isinstance(columns, slice):
        return np.arange(n_features)[columns]
    cols = np.asarray(columns)
    if cols.ndim != 1 or not np.issubdtype(cols.dtype, np.integer):
        raise ValueError(
            "each part's columns must be None, a slice, a 1-d sequence of "
            "integer positions or a callable returning them, got "
            f"{columns!r}."
        )
    if len(cols) == 0 or cols.min() < -n_features or cols.max() >= n_features:
        raise ValueError(
            f"columns {cols.tolist()[:5]}... are out of range for "
            f"{n_features} features (or empty)."
        )
    return cols % n_features


class LogitBlendClassifier(ParamsValidationMixin, ClassifierMixin, BaseEstimator):
    """Average the logits of binary classifiers, each on its own columns and rows.

    Each part is a classifier fitted on a subset of the columns; the
    video's score is the weighted mean of the parts' logits
    ``log(p / (1 - p))`` of the fake class, turned back into a
    probability with the sigmoid. The fake class is read from the labels
    as everywhere in the package
    (:func:`~sklearn_deepfake.utils.fake_class_index`: 1, True or
    ``"FAKE"``; else the larger label). Averaging logits rather than
    probabilities keeps a confident part confident only when the others
    agree; a part that says 0.5 halves the others' logit.

    A part can learn from *self-blended* videos instead of the labels: pass
    ``self_blended`` to :meth:`fit`, a mask of the rows that are
    self-blended copies of real videos (labelled as the fake class, see
    :func:`~sklearn_deepfake.nets.make_self_blended`). The parts named in
    ``self_blended_parts`` then train on the real rows and the self-blended
    ones only (real against pseudo-fake); the other parts train on every
    row that is not self-blended (the labels). Without the mask every part
    trains on every row.

    It is the head of the ``general-blend`` preset (one part on the HSE FaceRes
    descriptor trained on the labels, one on identity cues trained on
    self-blends); why is on the :ref:`model_card`.

    Parameters
    ----------
    estimators : list of (str, estimator, columns) tuples
        The parts: a name, a binary classifier with ``predict_proba`` and
        the columns it reads (``None`` for all, a slice, integer positions,
        or a callable that returns the positions given the number of
        columns). Each is cloned at fit.
    weights : array-like of shape (n_parts,), default=None
        Weights of the parts' logits (normalised to sum to 1); ``None``
        weighs them equally.
    self_blended_parts : tuple of str, default=()
        Names of the parts trained on real and self-blended rows only when
        ``fit`` receives ``self_blended``.

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted parts, in the order of ``estimators``.
    named_estimators_ : dict
        The fitted parts by name.
    columns_ : list of ndarray
        The column positions each part reads.
    classes_ : ndarray of shape (2,)
        Class labels.
    n_features_in_ : int
        Number of columns.

    See Also
    --------
    sklearn.ensemble.VotingClassifier : Average probabilities of classifiers
        on the same columns.
    sklearn_deepfake.ensemble.CalibratedStackingClassifier : Learn the
        weights of a blend from out-of-fold predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_deepfake.classifiers import LogitBlendClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.arange(40) % 2
    >>> X = rng.normal(size=(40, 4)) + y[:, None]
    >>> clf = LogitBlendClassifier(
    ...     [
    ...         ("left", LogisticRegression(), [0, 1]),
    ...         ("right", LogisticRegression(), slice(2, 4)),
    ...     ]
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> z = [np.log(p[:, 1] / p[:, 0]) for p in (
    ...     est.predict_proba(X[:2, c]) for est, c in zip(clf.estimators_, clf.columns_)
    ... )]
    >>> bool(np.allclose(clf.decision_function(X[:2]), np.mean(z, axis=0)))
    True
    """

    def __init__(
        self,
        estimators: list[tuple[str, Any, Any]],
        *,
        weights: Any = None,
        self_blended_parts: tuple[str, ...] = (),
    ) -> None:
        self.estimators = estimators
        self.weights = weights
        self.self_blended_parts = self_blended_parts

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimators": [list],
        "weights": ["array-like", None],
        "self_blended_parts": [tuple, list],
    }

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        from sklearn.linear_model import LogisticRegression

        return {
            "estimators": [
                ("a", LogisticRegression(), None),
                ("b", LogisticRegression(C=0.1), None),
            ]
        }

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _check_parts(self) -> tuple[list[str], np.ndarray]:
        names = []
        for part in self.estimators:
            if not (isinstance(part, tuple) and len(part) == 3):
                raise ValueError(
                    "estimators must be a list of (name, estimator, columns) "
                    f"tuples, got {part!r}."
                )
            name, est, _ = part
            if not isinstance(name, str) or not hasattr(est, "predict_proba"):
                raise ValueError(
                    f"part {name!r}: the name must be a string and the "
                    "estimator must have predict_proba."
                )
            names.append(name)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"estimators need distinct names, got {names}.")
        unknown = set(self.self_blended_parts) - set(names)
        if unknown:
            raise ValueError(
                f"self_blended_parts names {sorted(unknown)}, which are not "
                f"parts ({names})."
            )
        if self.weights is None:
            w = np.full(len(names), 1 / len(names))
        else:
            w = np.asarray(self.weights, dtype=float)
            if w.shape != (len(names),) or (w < 0).any() or w.sum() <= 0:
                raise ValueError(
                    f"weights must be {len(names)} non-negative numbers with a "
                    f"positive sum, got {self.weights!r}."
                )
            w = w / w.sum()
        return names, w

    def fit(self, X: Any, y: Any, self_blended: Any = None) -> LogitBlendClassifier:
        """Fit every part on its columns and its rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per video.
        y : array-like of shape (n_samples,)
            Two classes, real and fake.
        self_blended : array-like of bool of shape (n_samples,), default=None
            Rows that are self-blended copies of real videos, labelled as the
            fake class. The parts of ``self_blended_parts`` train on them
            and the real rows; the others on the remaining rows. ``None``:
            every part trains on every row.

        Returns
        -------
        self : object
            Fitted classifier.
        """
        self._validate_params()
        names, _ = self._check_parts()
        X, y = validate_data(self, X, y)
        y = column_or_1d(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                "Only binary classification is supported (LogitBlendClassifier "
                f"scores the second of two classes). The type of the target is "
                f"{y_type}."
            )
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(
                "LogitBlendClassifier needs a real and a fake class; the data "
                f"contain only 1 class: {self.classes_.tolist()}."
            )
        fake = self.classes_[fake_class_index(self.classes_)]
        real = self.classes_[1 - fake_class_index(self.classes_)]
        if self_blended is None:
            sb = np.zeros(len(y), dtype=bool)
        else:
            sb = column_or_1d(np.asarray(self_blended)).astype(bool)
            if len(sb) != len(y):
                raise ValueError(
                    f"self_blended has {len(sb)} entries for {len(y)} rows."
                )
            if (y[sb] != fake).any():
                raise ValueError(
                    f"self-blended rows must carry the fake label {fake!r}."
                )
        self.columns_ = [_columns(c, X.shape[1]) for _, _, c in self.estimators]
        self.estimators_ = []
        for (name, est, _), cols in zip(self.estimators, self.columns_):
            if self_blended is None:
                rows = np.ones(len(y), dtype=bool)
            elif name in self.self_blended_parts:
                rows = sb | (y == real)
            else:
                rows = ~sb
            if len(np.unique(y[rows])) != 2:
                raise ValueError(
                    f"part {name!r} has only one class among its training rows."
                )
            self.estimators_.append(clone(est).fit(X[rows][:, cols], y[rows]))
        self.named_estimators_ = dict(zip(names, self.estimators_))
        return self

    def _fake_logit(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        _, w = self._check_parts()
        X = validate_data(self, X, reset=False)
        z = np.zeros(len(X))
        fake = self.classes_[fake_class_index(self.classes_)]
        for weight, est, cols in zip(w, self.estimators_, self.columns_):
            pos = list(est.classes_).index(fake)
            z += weight * clipped_logit(est.predict_proba(X[:, cols])[:, pos], _TINY)
        return z

    def decision_function(self, X: Any) -> np.ndarray:
        """Weighted mean of the parts' logits, positive for ``classes_[1]``.

        As in scikit-learn, the sign follows the second class of
        ``classes_``: for labels 0/1 the score is the fake class's mean
        logit; for ``["FAKE", "REAL"]`` its negative.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per video.

        Returns
        -------
        z : ndarray of shape (n_samples,)
            Positive for ``classes_[1]``.
        """
        z = self._fake_logit(X)  # checks that the classifier is fitted
        return z if fake_class_index(self.classes_) == 1 else -z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Sigmoid of the mean logit, one column per class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per video.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Probabilities of ``classes_``.
        """
        p = 1 / (1 + np.exp(-self._fake_logit(X)))
        both = np.column_stack([1 - p, p])
        return both if fake_class_index(self.classes_) == 1 else both[:, ::-1]

    def predict(self, X: Any) -> np.ndarray:
        """Predict the class of each row (fake where the mean logit > 0).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per video.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        z = self.decision_function(X)
        return self.classes_[(z > 0).astype(int)]
