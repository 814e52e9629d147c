"""SeedEnsembleClassifier: members averaged in logit space, calibrated, clipped."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.utils._classifier import ClippedProbaClassifierMixin
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    HasMethods,
    Integral,
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._proba import clipped_logit

__all__ = ["SeedEnsembleClassifier"]

_TINY = 1e-7
_DOCS = {
    "X": """X : list or array-like
    Samples.""",
}


def _set_seed(estimator: Any, seed: int) -> Any:
    """Set every ``random_state`` parameter of ``estimator`` (nested ones too)."""
    params = estimator.get_params(deep=True)
    seeds = {
        key: seed
        for key in params
        if key == "random_state" or key.endswith("__random_state")
    }
    return estimator.set_params(**seeds) if seeds else estimator


def _member_logit(estimator: Any, X: Any) -> np.ndarray:
    """Log-odds of ``classes_[1]`` of a fitted member, shape (n_samples,)."""
    if hasattr(estimator, "decision_function"):
        z = np.asarray(estimator.decision_function(X), dtype=np.float64)
        if z.ndim == 1:
            return z
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)[:, 1]
    return clipped_logit(proba, _TINY)


class SeedEnsembleClassifier(
    ParamsValidationMixin, ClippedProbaClassifierMixin, BaseEstimator
):
    """Average binary classifiers in logit space, then calibrate and clip.

    The DFDC winners' inference: several copies of a network trained with
    different seeds (and several backbones) are averaged on the log-odds
    scale, the average is calibrated on videos none of the members trained
    on, and the probabilities are clipped to ``[eps, 1 - eps]``.

    Each member is a clone of ``estimator`` (or of each of ``estimators``)
    with every ``random_state`` parameter, nested ones included, set to a
    seed drawn from ``random_state``; ``n_seeds`` clones are fitted per
    estimator. A member's log-odds are its ``decision_function`` when it has
    one that returns one value per sample, else
    ``logit(predict_proba(X)[:, 1])`` (bounded to ``[1e-7, 1 - 1e-7]``).
    :meth:`decision_function` returns their mean ``z``, and
    ``predict_proba`` returns ``expit(a * z + b)`` for ``classes_[1]``,
    clipped, where ``(a, b)`` is the calibration map.

    Parameters
    ----------
    estimator : classifier, default=None
        The member to clone (for example a
        :class:`~sklearn_deepfake.nets.FaceCNNClassifier`, or a pipeline that
        ends in one); exclusive with ``estimators``. None means
        :class:`~sklearn.linear_model.LogisticRegression`.
    estimators : list of (str, classifier) or None, default=None
        Several members (for example one per backbone), each cloned
        ``n_seeds`` times.
    n_seeds : int, default=3
        Seeds per estimator.
    calibration : {"sigmoid", "temperature"} or None, default="sigmoid"
        Map fitted on the mean log-odds of the held-out videos:
        ``"sigmoid"``, ``expit(a * z + b)`` (Platt); ``"temperature"``,
        ``expit(z / T)``; None, ``expit(z)`` with all videos used for
        training.
    calibration_size : float, default=0.2
        Fraction of the videos (of the groups, when given) held out for the
        calibration; the members are fitted on the rest.
    eps : float, default=0.01
        Probabilities are clipped to ``[eps, 1 - eps]``.
    random_state : int, RandomState or None, default=None
        Seeds the members' seeds and the calibration split.

    Attributes
    ----------
    estimators_ : list of classifier
        The fitted members, ``n_seeds`` per estimator in order.
    seeds_ : ndarray of int
        The ``random_state`` of each member.
    classes_ : ndarray of shape (2,)
        Class labels.
    calibration_ : tuple of float
        ``(a, b)`` of the map ``expit(a * z + b)`` (``(1, 0)`` without
        calibration).
    calibration_index_ : ndarray of int
        Positions of the videos held out for the calibration (empty without
        calibration).

    See Also
    --------
    CalibratedStackingClassifier : Learns weights for unlike members instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn_deepfake.ensemble import SeedEnsembleClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] + rng.normal(size=60) > 0).astype(int)
    >>> ens = SeedEnsembleClassifier(SGDClassifier(loss="log_loss"), n_seeds=3,
    ...                              random_state=0).fit(X, y)
    >>> z = np.mean([m.decision_function(X) for m in ens.estimators_], axis=0)
    >>> bool(np.allclose(ens.decision_function(X), z))
    True
    >>> ens.predict_proba(X).shape
    (60, 2)
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        estimators: list | None = None,
        n_seeds: int = 3,
        calibration: str | None = "sigmoid",
        calibration_size: float = 0.2,
        eps: float = 0.01,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.estimator = estimator
        self.estimators = estimators
        self.n_seeds = n_seeds
        self.calibration = calibration
        self.calibration_size = calibration_size
        self.eps = eps
        self.random_state = random_state

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [
            HasMethods(["fit", "predict_proba"]),
            HasMethods(["fit", "decision_function"]),
            None,
        ],
        "estimators": [list, None],
        "n_seeds": [Interval(Integral, 1, None, closed="left")],
        "calibration": [StrOptions({"sigmoid", "temperature"}), None],
        "calibration_size": [Interval(Real, 0, 1, closed="neither")],
        "eps": [Interval(Real, 0, 0.5, closed="left")],
        "random_state": ["random_state"],
    }

    def _check_params(self) -> None:
        if self.estimator is not None and self.estimators is not None:
            raise ValueError("Give either estimator or estimators, not both.")
        if self.estimators is not None and not self.estimators:
            raise ValueError(
                "estimators must be a non-empty list of (name, estimator)."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"n_seeds": 2, "calibration": None, "random_state": 0}

    def _bases(self) -> list[Any]:
        """Return the estimators to clone ``n_seeds`` times each."""
        from sklearn.linear_model import LogisticRegression

        if self.estimators is not None:
            return [est for _, est in self.estimators]
        return [LogisticRegression() if self.estimator is None else self.estimator]

    def fit(
        self, X: Any, y: Any, groups: Any = None, **fit_params: Any
    ) -> SeedEnsembleClassifier:
        """Fit the members on part of the data and the calibration on the rest.

        Parameters
        ----------
        X : list or array-like
            Training samples (anything the members accept: a list of face
            tracks for :class:`~sklearn_deepfake.nets.FaceCNNClassifier`).
        y : array-like of shape (n_samples,)
            Binary labels.
        groups : array-like of shape (n_samples,), default=None
            Group of each sample (a fake shares its original's group): the
            calibration split keeps groups whole, and members whose ``fit``
            takes ``groups`` receive theirs.
        **fit_params : dict
            Passed to every member's ``fit``.

        Returns
        -------
        self : object
            Fitted ensemble.
        """
        from sklearn.model_selection import GroupShuffleSplit

        from sklearn_deepfake.utils._routing import _groups_fit_params

        self._validate_params()
        bases = self._bases()
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be 1-D with one label per sample ({len(X)}).")
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(
                f"SeedEnsembleClassifier needs exactly 2 classes in y, got "
                f"{self.classes_.tolist()}."
            )
        rng = check_random_state(self.random_state)
        everything = np.arange(len(y))
        train, held = everything, everything[:0]
        if self.calibration is not None:
            split_groups = everything if groups is None else np.asarray(groups)
            splitter = GroupShuffleSplit(
                n_splits=20,
                test_size=self.calibration_size,
                random_state=int(rng.randint(2**31 - 1)),
            )
            first = None
            for tr, te in splitter.split(everything, groups=split_groups):
                first = first or (tr, te)
                if len(np.unique(y[tr])) == 2 and len(np.unique(y[te])) == 2:
                    break
            else:
                tr, te = first
                if len(np.unique(y[te])) < 2 or len(np.unique(y[tr])) < 2:
                    raise ValueError(
                        "Could not hold out videos of both classes for the "
                        "calibration; give more groups, calibration=None or a "
                        "larger calibration_size."
                    )
            train, held = np.sort(tr), np.sort(te)
        self.seeds_ = rng.randint(2**31 - 1, size=len(bases) * int(self.n_seeds))
        X_train = _safe_indexing(X, train)
        y_train = y[train]
        g_train = None if groups is None else _safe_indexing(np.asarray(groups), train)
        self.estimators_ = []
        for k, base in enumerate(bases):
            for s in range(int(self.n_seeds)):
                member = _set_seed(
                    clone(base), int(self.seeds_[k * int(self.n_seeds) + s])
                )
                params = dict(fit_params)
                params.update(_groups_fit_params(member, g_train))
                self.estimators_.append(member.fit(X_train, y_train, **params))
                members_classes = getattr(member, "classes_", self.classes_)
                if not np.array_equal(members_classes, self.classes_):
                    raise ValueError(
                        "A member saw only some of the classes; give more "
                        "samples per class."
                    )
        self.calibration_index_ = held
        self.calibration_ = (1.0, 0.0)
        if self.calibration is not None:
            z = self.decision_function(_safe_indexing(X, held))
            target = (y[held] == self.classes_[1]).astype(np.float64)
            self.calibration_ = _fit_map(self.calibration, z, target)
        return self

    @fill_doc(_DOCS)
    def decision_function(self, X: Any) -> np.ndarray:
        """Return the members' mean log-odds of ``classes_[1]``, uncalibrated.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        z : ndarray of shape (n_samples,)
            Mean of the members' log-odds.
        """
        check_is_fitted(self, "estimators_")
        return np.mean([_member_logit(m, X) for m in self.estimators_], axis=0)

    def _unclipped_proba(self, X: Any) -> np.ndarray:
        """Calibrated probabilities ``expit(a * z + b)`` of ``classes_[1]``."""
        from scipy.special import expit

        a, b = self.calibration_
        p1 = expit(a * self.decision_function(X) + b)
        return np.column_stack([1.0 - p1, p1])

    def _tie_class_index(self) -> int:
        """Give a tie to ``classes_[1]`` (predicted where its probability >= 0.5)."""
        return 1

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        if self.estimator is not None and self.estimators is None:
            inner = get_tags(self.estimator).input_tags
            tags.input_tags.two_d_array = inner.two_d_array
            tags.input_tags.string = inner.string
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags


def _fit_map(method: str, z: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Fit ``(a, b)`` of ``expit(a * z + b)`` by log loss on ``(z, target)``."""
    from scipy.optimize import minimize_scalar

    from sklearn_deepfake.ensemble._calibrators import _platt

    if method == "sigmoid":
        return _platt(z, target, np.ones(len(z)))

    def loss(log_inv_t: float) -> float:
        s = np.exp(log_inv_t) * z
        return float(
            np.mean(target * np.logaddexp(0, -s) + (1 - target) * np.logaddexp(0, s))
        )

    res = minimize_scalar(loss, bounds=(-6.0, 6.0), method="bounded")
    return float(np.exp(res.x)), 0.0
