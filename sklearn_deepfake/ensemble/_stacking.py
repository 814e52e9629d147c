"""CalibratedStackingClassifier: grouped out-of-fold stacking, calibrated."""

from __future__ import annotations

from collections import defaultdict
from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import (
    GroupKFold,
    StratifiedKFold,
    check_cv,
    cross_val_predict,
)
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch, get_tags, indexable
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from sklearn_deepfake.ensemble._calibrators import (
    CALIBRATION_METHODS,
    _log_proba,
    _ScoreCalibrator,
)
from sklearn_deepfake.utils._classifier import ClippedProbaClassifierMixin
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    HasMethods,
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._proba import clip_proba

_DOCS = {
    "X": """X : list of path-like or array-like of shape (n_samples, n_features)
    Input, in the form the base estimators take.""",
}


def _clip_proba(proba: np.ndarray, eps: float) -> np.ndarray:
    """Clip every column to ``[eps, 1 - eps]`` and renormalise the rows."""
    if eps <= 0:
        return proba
    return clip_proba(proba, eps)


def _stack_features(proba: np.ndarray) -> np.ndarray:
    """Meta-features of one base model: its clipped logits.

    Two classes give one column, ``log(p1 / p0)``; more classes give the
    log-probabilities, one column per class.
    """
    log_p = _log_proba(proba)
    if log_p.shape[1] == 2:
        return (log_p[:, 1] - log_p[:, 0])[:, None]
    return log_p


def _fit_one(estimator: Any, X: Any, y: Any, params: dict) -> Any:
    return estimator.fit(X, y, **params)


class CalibratedStackingClassifier(
    ParamsValidationMixin, ClippedProbaClassifierMixin, BaseEstimator
):
    """Stack whole detectors on their grouped out-of-fold logits, calibrated.

    Each base estimator is a complete model, typically a pipeline that starts
    from video paths (see :func:`~sklearn_deepfake.pipeline.make_default_pipeline`).
    :meth:`fit` runs three stages:

    1. **Out-of-fold base predictions.** Every base estimator is
       cross-validated with :func:`~sklearn.model_selection.cross_val_predict`
       on the same splits. With ``groups`` the splits are grouped, so a fake
       and its original video are never on both sides of a split: the scores
       the head learns from are those of videos whose identity the base
       model never saw, as at test time.
    2. **Head.** ``final_estimator`` is fitted on the base models' clipped
       logits (``log(p / (1 - p))`` of each base, with ``p`` clipped to
       ``[1e-6, 1 - 1e-6]``; log-probabilities for more than two classes).
    3. **Calibration** (optional) of the head's probabilities, fitted on the
       head's own out-of-fold predictions: the head is cross-validated again
       on the out-of-fold logits with the same splits, and the calibration
       map is fitted on those scores. This costs ``n_splits`` extra fits of
       the (cheap) head and none of the base models. It is not fully nested
       (the base model that scored one fold was trained on the other folds
       the head trains on); full nesting would cost ``n_splits**2`` base
       fits, and the optimism left is second order.

    Finally every base estimator is refitted on all the data
    (``estimators_``) and the head is refitted on all the out-of-fold logits.
    Output probabilities are clipped to ``[eps, 1 - eps]``, as
    :class:`~sklearn_deepfake.calibration.ClippedClassifier` does.

    Parameters
    ----------
    estimators : list of (str, estimator)
        Base classifiers with ``predict`` and ``predict_proba``, each fitted on ``X`` as
        given (a list of video paths, or a 2-D array). Names must be unique,
        without ``"__"``, and differ from the parameter names.
    final_estimator : classifier, default=None
        Head fitted on the stacked logits; needs ``predict_proba``
        (and ``predict``, as cross-validation requires). ``None``
        means :class:`~sklearn.linear_model.LogisticRegression`.
    cv : int, cross-validation generator or iterable, default=5
        Internal splits. An int gives
        :class:`~sklearn.model_selection.GroupKFold` when ``groups`` reach
        :meth:`fit` and :class:`~sklearn.model_selection.StratifiedKFold`
        otherwise. A splitter object is called as
        ``cv.split(X, y, groups)``; its test folds must partition the data.
    calibration : {None, "sigmoid", "isotonic", "temperature"}, default=None
        Map applied to the head's probabilities, fitted on its out-of-fold
        scores. ``"temperature"`` divides the logits by one fitted
        temperature ``T`` (ranking unchanged); ``"sigmoid"`` is Platt scaling
        (two parameters); ``"isotonic"`` a monotone step map (needs a few
        hundred videos). The default logistic head is fitted by log loss and
        is usually calibrated already; calibration matters for a flexible or
        over-confident head.
    eps : float, default=0.01
        Output probabilities are clipped to ``[eps, 1 - eps]``, which caps
        the log loss of one video at ``-log(eps)``. ``0`` disables clipping.
    passthrough : bool, default=False
        Also give the head the original features. Needs ``X`` to be a
        numeric 2-D array (not video paths).
    n_jobs : int, default=None
        Folds fitted in parallel by ``cross_val_predict``, and base models
        refitted in parallel. ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context.
    verbose : int, default=0
        Verbosity of ``cross_val_predict``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any labels: ints or strings).
    estimators_ : list of estimator
        Base estimators refitted on all the training data.
    named_estimators_ : :class:`~sklearn.utils.Bunch`
        The same, by name.
    final_estimator_ : estimator
        The fitted head.
    calibrator_ : object or None
        The fitted calibration map (``None`` when ``calibration=None``). With
        ``"temperature"`` its ``temperature_`` attribute is the fitted ``T``.
    stack_method_ : list of str
        Method used to stack each base estimator (``"predict_proba"``).
    cv_ : cross-validation generator
        The splitter used.
    oof_predictions_ : ndarray
        Out-of-fold probability of ``classes_[1]`` from each base model,
        shape ``(n_samples, n_estimators)``; for more than two classes all
        probabilities, shape ``(n_samples, n_estimators, n_classes)``.
    oof_scores_ : dict of str to float
        Out-of-fold log loss of each base model (probabilities clipped to
        ``[eps, 1 - eps]``): compare them with ``final_oof_score_`` to see
        what the stack adds.
    final_oof_score_ : float
        Out-of-fold log loss of the head before calibration (clipped).
    n_features_in_ : int
        Number of features of the first base estimator, when it has one.
    feature_names_in_ : ndarray of str
        Feature names of the first base estimator, when it has them.

    See Also
    --------
    sklearn.ensemble.StackingClassifier : Stacking with ungrouped internal
        splits and no calibration of the head.
    sklearn_deepfake.calibration.ClippedClassifier : Clipping alone.
    sklearn_deepfake.calibration.calibration_report : Check the result.

    Notes
    -----
    **Groups.** Grouped internal splits need the ``groups`` in :meth:`fit`:

    - directly: ``stack.fit(paths, y, groups=groups)``;
    - with metadata routing on (``sklearn.set_config(
      enable_metadata_routing=True)``): ``cross_val_score(stack, paths, y,
      cv=GroupKFold(5), params={"groups": groups})``. The stack requests
      ``groups`` in ``fit`` by default, so the same array groups the outer
      split and, sliced to the training fold, the internal ones. The
      request can be changed with ``set_fit_request(groups=...)``;
    - without routing, ``cross_val_score(..., groups=groups)`` groups only
      the outer split, and the internal splits silently fall back to
      ``StratifiedKFold``, which leaks identities. Pass the groups to
      ``fit`` as well: ``cross_val_score(stack, paths, y, groups=groups,
      cv=GroupKFold(5), params={"groups": groups})`` (``params`` go to
      ``fit``, sliced to each training fold). The same holds for
      ``GridSearchCV.fit``.

    Without routing, the ``groups`` given to :meth:`fit` also reach every
    base estimator that splits inside its own ``fit`` (one whose ``fit``
    takes ``groups``, such as
    :class:`~sklearn_deepfake.nets.FaceCNNClassifier` for its early
    stopping, or a pipeline step that does: ``classifier__groups``), sliced
    to each fold; with routing, those that request them
    (``set_fit_request(groups=True)``). Without routing, other ``fit``
    parameters go to every base estimator's ``fit``, and ``sample_weight``
    also to the head and the calibration map;
    with routing, to the base estimators and the head that request them
    (``set_fit_request``), the head's ``sample_weight`` weighting the
    calibration map.

    **Sharing the face extraction.** Decoding and face detection cost far
    more than everything after them, and a stack repeats them for every base
    model, every fold and the final refit. Build the base pipelines with the
    same :class:`~sklearn_deepfake.faces.FaceCropper` parameters and the same
    ``cache_dir``: the first transform of a video stores its face tracks on
    disk, keyed by the file and the extraction parameters, and every later
    one (other base models, other folds, the refit, prediction) reads them
    back. Decode and detection then run once per video for the whole stack
    (``n_jobs`` workers share the cache safely, records are written
    atomically)::

        from sklearn_deepfake import make_default_pipeline
        stack = CalibratedStackingClassifier(
            [
                ("context", make_default_pipeline(features="context",
                                                  cache_dir="faces/")),
                ("spectrum", make_default_pipeline(features="spectrum",
                                                   cache_dir="faces/")),
            ],
            calibration="temperature",
        ).fit(paths, y, groups=groups)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_deepfake.ensemble import CalibratedStackingClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = np.tile([0, 1], 40)
    >>> groups = np.repeat(np.arange(40), 2)  # a fake and its original
    >>> X = rng.normal(size=(80, 4)) + y[:, None] * [2.0, 0.0, 2.0, 0.0]
    >>> def on(cols):
    ...     pick = make_column_transformer(("passthrough", cols))
    ...     return make_pipeline(pick, LogisticRegression())
    >>> stack = CalibratedStackingClassifier(
    ...     [("left", on([0, 1])), ("right", on([2, 3]))],
    ...     calibration="temperature",
    ... ).fit(X, y, groups=groups)
    >>> stack.oof_predictions_.shape
    (80, 2)
    >>> bool(stack.final_oof_score_ < min(stack.oof_scores_.values()))
    True
    >>> stack.predict_proba(X[:2]).shape
    (2, 2)
    """

    # ``groups`` reach ``fit`` by default when metadata routing is on.
    __metadata_request__fit = {"groups": True}  # noqa: RUF012

    def __init__(
        self,
        estimators: list[tuple[str, Any]],
        final_estimator: Any = None,
        *,
        cv: Any = 5,
        calibration: str | None = None,
        eps: float = 0.01,
        passthrough: bool = False,
        n_jobs: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.calibration = calibration
        self.eps = eps
        self.passthrough = passthrough
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------
    # Parameters
    # ------------------------------------------------------------------

    def _names(self) -> list[str]:
        try:
            return [name for name, _ in self.estimators]
        except (TypeError, ValueError):
            return []

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get parameters, including ``<name>`` and ``<name>__<param>``.

        Parameters
        ----------
        deep : bool, default=True
            Also return the base estimators by name and their parameters.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        out = super().get_params(deep=deep)
        if not deep:
            return out
        try:
            pairs = list(self.estimators)
            dict(pairs)
        except (TypeError, ValueError):
            return out
        for name, est in pairs:
            out[name] = est
            if hasattr(est, "get_params"):
                for key, value in est.get_params(deep=True).items():
                    out[f"{name}__{key}"] = value
        return out

    def set_params(self, **params: Any) -> CalibratedStackingClassifier:
        """Set parameters, including base estimators by name.

        ``stack.set_params(lr=LogisticRegression(C=2))`` replaces a base
        estimator, ``stack.set_params(lr__C=2)`` sets one of its parameters.

        Parameters
        ----------
        **params : dict
            Parameters of the stack, ``<name>`` or ``<name>__<param>``.

        Returns
        -------
        self : object
            The stack.
        """
        if "estimators" in params:
            self.estimators = params.pop("estimators")
        names = set(self._names())
        replace = {k: params.pop(k) for k in list(params) if k in names}
        if replace:
            self.estimators = [
                (name, replace.get(name, est)) for name, est in self.estimators
            ]
        nested: dict[str, dict[str, Any]] = defaultdict(dict)
        for key in list(params):
            head, sep, rest = key.partition("__")
            if sep and head in names:
                nested[head][rest] = params.pop(key)
        lookup = dict(self.estimators) if nested else {}
        for name, sub in nested.items():
            lookup[name].set_params(**sub)
        super().set_params(**params)
        return self

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimators": [list],
        "final_estimator": [HasMethods(["fit", "predict", "predict_proba"]), None],
        "cv": ["cv_object"],
        "calibration": [StrOptions(set(CALIBRATION_METHODS)), None],
        "eps": [Interval(Real, 0, 0.5, closed="left")],
        "passthrough": ["boolean"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def _check_params(self) -> None:
        reserved = set(super().get_params(deep=False)) | {"final_estimator"}
        if not self.estimators:
            raise ValueError(
                "estimators must be a non-empty list of (name, estimator) pairs, "
                f"got {self.estimators!r}."
            )
        seen: set[str] = set()
        for pair in self.estimators:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise ValueError(
                    f"estimators must hold (name, estimator) pairs, got {pair!r}."
                )
            name, est = pair
            if not isinstance(name, str) or "__" in name or name in reserved:
                raise ValueError(
                    f"Invalid estimator name {name!r} in estimators: names are "
                    f"strings without '__' and not one of {sorted(reserved)}."
                )
            if name in seen:
                raise ValueError(f"Estimator names must be unique, {name!r} repeats.")
            seen.add(name)
            if not all(hasattr(est, m) for m in ("fit", "predict", "predict_proba")):
                raise ValueError(
                    f"Estimator {name!r} must implement fit, predict and predict_proba."
                )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        from sklearn_deepfake.calibration import ClippedClassifier

        return {
            "estimators": [
                ("lr", LogisticRegression()),
                ("clipped", ClippedClassifier()),
            ],
            "cv": 2,
        }

    def _final(self) -> Any:
        if self.final_estimator is None:
            return LogisticRegression()
        return self.final_estimator

    def _check_cv(self, y: np.ndarray, groups: Any) -> Any:
        cv = 5 if self.cv is None else self.cv
        if isinstance(cv, Integral) and not isinstance(cv, bool):
            if groups is not None:
                return GroupKFold(n_splits=int(cv))
            return StratifiedKFold(n_splits=int(cv))
        return check_cv(cv, y, classifier=True)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------

    def fit(
        self, X: Any, y: Any, groups: Any = None, **fit_params: Any
    ) -> CalibratedStackingClassifier:
        """Fit the base models out of fold, the head, the calibration map.

        Parameters
        ----------
        X : list of path-like or array-like of shape (n_samples, n_features)
            Training input, passed unchanged to the base estimators (sliced
            with scikit-learn's indexing, so a plain list of video paths
            works).
        y : array-like of shape (n_samples,)
            Labels (ints or strings).
        groups : array-like of shape (n_samples,), default=None
            Group of each sample (for DFDC, the original video a fake was
            made from). Used for the internal splits; see the Notes.
        **fit_params : dict
            Without metadata routing: passed to every base estimator's
            ``fit``. With routing: routed to the base estimators and the head
            that request them.

        Returns
        -------
        self : object
            Fitted classifier.
        """
        self._validate_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None."
            )
        names = self._names()
        if get_config().get("enable_metadata_routing", False):
            metadata = dict(fit_params)
            if groups is not None:
                metadata["groups"] = groups
            routed = process_routing(self, "fit", **metadata)
            base_params = {name: dict(routed[name].fit) for name in names}
            final_params = dict(routed["final_estimator"].fit)
        else:
            from sklearn_deepfake.utils._routing import _groups_fit_params

            base_params = {
                name: {**_groups_fit_params(est, groups), **fit_params}
                for name, est in self.estimators
            }
            final_params = {}
            if fit_params.get("sample_weight") is not None:
                final_params["sample_weight"] = fit_params["sample_weight"]
        sample_weight = final_params.get("sample_weight")

        X, y = indexable(X, y)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y, groups, sample_weight)
        check_classification_targets(y)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; "
                f"got {len(self.classes_)} class."
            )
        y_enc = self._label_encoder.transform(y)
        labels = np.arange(len(self.classes_))

        self.cv_ = self._check_cv(y, groups)
        splits = list(self.cv_.split(X, y, groups))
        self.stack_method_ = ["predict_proba"] * len(names)

        probas = []
        for (name, est), method in zip(self.estimators, self.stack_method_):
            proba = cross_val_predict(
                clone(est),
                X,
                y,
                cv=splits,
                method=method,
                n_jobs=self.n_jobs,
                params=base_params[name],
                verbose=self.verbose,
            )
            probas.append(proba)
        if len(self.classes_) == 2:
            self.oof_predictions_ = np.column_stack([p[:, 1] for p in probas])
        else:
            self.oof_predictions_ = np.stack(probas, axis=1)
        self.oof_scores_ = {
            name: float(
                log_loss(
                    y_enc,
                    _clip_proba(p, self.eps),
                    labels=labels,
                    sample_weight=sample_weight,
                )
            )
            for name, p in zip(names, probas)
        }
        Z = self._assemble(probas, X)

        final = self._final()
        final_oof = cross_val_predict(
            clone(final),
            Z,
            y,
            cv=splits,
            method="predict_proba",
            params=final_params,
        )
        self.final_oof_score_ = float(
            log_loss(
                y_enc,
                _clip_proba(final_oof, self.eps),
                labels=labels,
                sample_weight=sample_weight,
            )
        )
        if self.calibration is None:
            self.calibrator_ = None
        else:
            self.calibrator_ = _ScoreCalibrator(self.calibration).fit(
                final_oof, y_enc, sample_weight=sample_weight
            )
        self.final_estimator_ = clone(final).fit(Z, y, **final_params)

        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(clone(est), X, y, base_params[name])
            for name, est in self.estimators
        )
        self.named_estimators_ = Bunch(**dict(zip(names, self.estimators_)))
        return self

    def _assemble(self, probas: list[np.ndarray], X: Any) -> np.ndarray:
        Z = np.hstack([_stack_features(np.asarray(p)) for p in probas])
        if self.passthrough:
            Z = np.hstack([Z, check_array(X, dtype=np.float64)])
        return Z

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------

    def _stack(self, X: Any) -> np.ndarray:
        probas = []
        for est in self.estimators_:
            proba = est.predict_proba(X)
            if not np.array_equal(est.classes_, self.classes_):
                # A base that never saw a class in training: align columns.
                full = np.zeros((proba.shape[0], len(self.classes_)))
                full[:, np.searchsorted(self.classes_, est.classes_)] = proba
                proba = full
            probas.append(proba)
        return self._assemble(probas, X)

    def _unclipped_proba(self, X: Any) -> np.ndarray:
        """Probabilities of the head, calibrated."""
        proba = self.final_estimator_.predict_proba(self._stack(X))
        if self.calibrator_ is not None:
            proba = self.calibrator_.predict_proba(proba)
        return proba

    def _clip(self, proba: np.ndarray) -> np.ndarray:
        """Clip as :func:`clip_proba` does, but not at all when ``eps`` is 0."""
        return _clip_proba(proba, self.eps)

    @fill_doc(_DOCS)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of ``predict_proba``.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        return np.log(np.clip(self.predict_proba(X), 1e-300, None))

    @fill_doc(_DOCS)
    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the calibrated, clipped probabilities.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``log(p1 / p0)`` for two classes (positive means ``classes_[1]``),
            the log-probabilities otherwise.
        """
        log_p = self.predict_log_proba(X)
        if log_p.shape[1] == 2:
            return log_p[:, 1] - log_p[:, 0]
        return log_p

    def _first_base_attribute(self, name: str) -> Any:
        """Return ``name`` of the first base estimator; AttributeError if unfitted."""
        try:
            check_is_fitted(self)
        except Exception as exc:
            raise AttributeError(
                f"{type(self).__name__} object has no attribute {name!r}"
            ) from exc
        return getattr(self.estimators_[0], name)

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the first base estimator."""
        return self._first_base_attribute("n_features_in_")

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Feature names seen by the first base estimator."""
        return self._first_base_attribute("feature_names_in_")

    # ------------------------------------------------------------------
    # Metadata routing and tags
    # ------------------------------------------------------------------

    def get_metadata_routing(self) -> MetadataRouter:
        """Routing of ``fit`` metadata: ``groups`` to the splits, rest to fit.

        Returns
        -------
        routing : MetadataRouter
            The stack consumes ``groups`` (requested by default); the base
            estimators and the head receive what they request in ``fit``.
        """
        router = MetadataRouter(owner=self).add_self_request(self)
        for name, est in self.estimators:
            router.add(
                **{name: est},
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        router.add(
            final_estimator=self._final(),
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
        return router

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = [get_tags(est) for _, est in self.estimators]
        except (TypeError, ValueError):
            return tags
        if not inner:
            return tags
        tags.input_tags = inner[0].input_tags
        tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in inner)
        tags.input_tags.sparse = all(t.input_tags.sparse for t in inner)
        if self.passthrough:
            tags.input_tags.allow_nan = False
            tags.input_tags.sparse = False
        return tags
