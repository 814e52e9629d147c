"""FramewiseClassifier: learn from every frame, score each video as a whole."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
)

from sklearn_deepfake.features._pooling import check_frame_rows
from sklearn_deepfake.utils._classifier import ClippedProbaClassifierMixin
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    HasMethods,
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)

__all__ = ["FramewiseClassifier"]

_AGGREGATIONS = {"mean": np.mean, "median": np.median}
_DOCS = {
    "X": """
X : list of ndarray of shape (n_rows_i, D), or ndarray of shape (n_videos, D)
    Per-frame features of each video.""",
}


def _default_estimator() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=3000))


class FramewiseClassifier(
    ParamsValidationMixin, ClippedProbaClassifierMixin, BaseEstimator
):
    """Fit a classifier on every frame and score a video by all of its frames.

    Pooling per-frame features into one row per video (mean, median, ...)
    leaves a linear head with one sample per video: 80 samples for 150
    features on a small dataset. This meta-estimator instead gives every
    frame its video's label and fits ``estimator`` on all frames (the
    simplest multiple-instance learner), then scores a video by
    aggregating its frames' class log-probabilities (for a binary
    logistic regression: the mean frame logit) and turning the result back
    into probabilities with a softmax at ``temperature``.

    With ``weighting="video"`` each video carries the same total weight
    however many face rows it has (each row weighs ``1 / n_rows``), so a
    long or many-faced video does not dominate, and the regularisation
    strength of the default logistic regression does not depend on how many
    frames were sampled.

    It is the head of the ``swap`` preset; how it compares with a pooled
    head on real face swaps is on the :ref:`benchmarks` page
    (``benchmarks/bench_quality.py``).

    Parameters
    ----------
    estimator : classifier, default=None
        Fitted on the frames; it needs ``predict_proba``. ``None`` means
        ``make_pipeline(StandardScaler(), LogisticRegression(C=0.3))``. With
        ``weighting="video"`` it (or, for a pipeline, its last step) must
        accept ``sample_weight``.
    aggregation : {"mean", "median"}, default="mean"
        How each class's frame log-probabilities are combined into the
        video's. ``"median"`` resists a few badly cropped frames.
    weighting : {"video", "frame"}, default="video"
        ``"video"``: every video weighs the same in training (times its
        ``sample_weight``); ``"frame"``: every frame weighs one.
    temperature : float, default=1.0
        The aggregated log-probabilities are divided by it before the
        softmax: above 1 the video probabilities move toward uniform. Frames
        of one video are not independent evidence, so values slightly above
        1 are usually better calibrated, and larger values hedge against
        videos unlike the training ones.
    eps : float, default=0.01
        Probabilities are clipped to ``[eps, 1 - eps]`` (then renormalised).

    Attributes
    ----------
    estimator_ : classifier
        The frame classifier, fitted on every frame of the training videos.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Columns per frame.
    empty_proba_ : ndarray of shape (n_classes,)
        **Fallback for videos without face rows**: the class frequencies of
        the training videos (weighted by ``sample_weight``), returned as
        their probabilities. The face step warns about such videos.

    See Also
    --------
    sklearn_deepfake.features.TemporalPooling : Pool frames into one row per
        video instead.
    sklearn_deepfake.calibration.ClippedClassifier : Clip a video-level
        classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.classifiers import FramewiseClassifier
    >>> rng = np.random.default_rng(0)
    >>> videos = [rng.normal(loc=k % 2, size=(10, 3)) for k in range(20)]
    >>> labels = [k % 2 for k in range(20)]
    >>> clf = FramewiseClassifier().fit(videos, labels)
    >>> clf.predict([rng.normal(loc=1, size=(10, 3)), np.zeros((0, 3))])
    array([1, 0])
    >>> clf.empty_proba_
    array([0.5, 0.5])
    """

    def __init__(
        self,
        estimator: Any = None,
        *,
        aggregation: str = "mean",
        weighting: str = "video",
        temperature: float = 1.0,
        eps: float = 0.01,
    ) -> None:
        self.estimator = estimator
        self.aggregation = aggregation
        self.weighting = weighting
        self.temperature = temperature
        self.eps = eps

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "aggregation": [StrOptions(set(_AGGREGATIONS))],
        "weighting": [StrOptions({"video", "frame"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "eps": [Interval(Real, 0, 0.5, closed="left")],
    }

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {}

    @classmethod
    def _search_space(cls, trial: Any, prefix: str) -> dict[str, Any]:
        """Default Optuna space: frame aggregation and temperature."""
        agg, temp = f"{prefix}aggregation", f"{prefix}temperature"
        return {
            agg: trial.suggest_categorical(agg, ["mean", "median"]),
            temp: trial.suggest_float(temp, 0.8, 2.0),
        }

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FramewiseClassifier:
        """Fit the frame classifier on every frame of every video.

        Parameters
        ----------
        X : list of ndarray of shape (n_rows_i, D), or ndarray of shape (n_videos, D)
            Per-frame features of each video; a dense matrix is read as one
            frame per video.
        y : array-like of shape (n_videos,)
            Label of each video, given to each of its frames.
        sample_weight : array-like of shape (n_videos,), default=None
            Weight of each video.

        Returns
        -------
        self : object
            Fitted classifier.
        """
        self._validate_params()
        est = self.estimator if self.estimator is not None else _default_estimator()
        frames = check_frame_rows(self, X, reset=True, one_d="row")
        if y is None:
            raise ValueError(
                "FramewiseClassifier requires y to be passed, but the target y is None."
            )
        y = column_or_1d(y, warn=True)
        if len(y) != len(frames):
            raise ValueError(f"y has {len(y)} labels but X has {len(frames)} videos.")
        check_classification_targets(y)
        self.classes_, y_idx = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "FramewiseClassifier needs at least 2 classes, but the data "
                f"contains only one class: {self.classes_}."
            )
        w = _check_sample_weight(sample_weight, y)
        counts = np.array([len(f) for f in frames])
        self.empty_proba_ = np.bincount(
            y_idx, weights=w, minlength=len(self.classes_)
        ) / max(w.sum(), np.finfo(float).tiny)
        has = counts > 0
        if not has.any():
            raise ValueError("No video has any frame rows to train on.")
        missing = set(range(len(self.classes_))) - set(y_idx[has])
        if missing:
            raise ValueError(
                "Every class needs at least one video with frame rows; none for "
                f"{list(self.classes_[sorted(missing)])}."
            )
        rows = np.concatenate([frames[i] for i in np.flatnonzero(has)])
        labels = np.repeat(y[has], counts[has])
        per_row = w[has] / counts[has] if self.weighting == "video" else w[has]
        fit_params = {}
        if self.weighting == "video" or sample_weight is not None:
            steps = est.steps if isinstance(est, Pipeline) else [(None, est)]
            last = steps[-1][1]
            if not has_fit_parameter(last, "sample_weight"):
                raise ValueError(
                    f"{type(last).__name__} does not accept sample_weight; use "
                    "weighting='frame' without sample_weight, or another estimator."
                )
            row_weight = np.repeat(per_row, counts[has])
            # every step that takes weights, so that a scaler sees them too
            for name, step in steps:
                if step not in (None, "passthrough") and has_fit_parameter(
                    step, "sample_weight"
                ):
                    key = "sample_weight" if name is None else f"{name}__sample_weight"
                    fit_params[key] = row_weight
        self.estimator_ = clone(est).fit(rows, labels, **fit_params)
        return self

    def _frame_log_proba(self, frames: list[np.ndarray]) -> np.ndarray:
        """Log-probabilities of all rows of ``frames``, columns in ``classes_``."""
        rows = [f for f in frames if len(f)]
        if not rows:
            return np.zeros((0, len(self.classes_)))
        inner = self.estimator_.predict_proba(np.concatenate(rows))
        # the frame model may know the classes in another order
        cols = np.searchsorted(self.classes_, self.estimator_.classes_)
        logp = np.full((len(inner), len(self.classes_)), np.log(1e-12))
        logp[:, cols] = np.log(np.clip(inner, 1e-12, None))
        return logp

    def _video_log_proba(self, frames: list[np.ndarray]) -> np.ndarray:
        counts = np.array([len(f) for f in frames])
        out = np.tile(np.log(np.clip(self.empty_proba_, 1e-12, None)), (len(frames), 1))
        logp = self._frame_log_proba(frames)
        agg = _AGGREGATIONS[self.aggregation]
        ends = np.cumsum(counts)  # empty videos add no rows
        for i in np.flatnonzero(counts):
            block = logp[ends[i] - counts[i] : ends[i]]
            out[i] = agg(block, axis=0) / self.temperature
        return out

    @fill_doc(_DOCS)
    def predict_frame_proba(self, X: Any) -> list[np.ndarray]:
        """Class probabilities of every frame row, before aggregation.

        These are the frame model's own probabilities (no temperature, no
        clipping); ``predict_proba`` aggregates their logarithms per
        video. Used to plot per-frame scores, for example by
        :func:`~sklearn_deepfake.inspection.explain_video`.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        proba : list of ndarray of shape (n_rows_i, n_classes)
            One array per video, columns in ``classes_`` order; empty for a
            video without rows.
        """
        check_is_fitted(self)
        frames = check_frame_rows(self, X, reset=False, one_d="row")
        proba = np.exp(self._frame_log_proba(frames))
        ends = np.cumsum([len(f) for f in frames])
        return np.split(proba, ends[:-1]) if len(frames) else []

    def _unclipped_proba(self, X: Any) -> np.ndarray:
        """Softmax of each video's aggregated log-probabilities.

        Videos without rows get ``empty_proba_``.
        """
        frames = check_frame_rows(self, X, reset=False, one_d="row")
        return softmax(self._video_log_proba(frames), axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags
