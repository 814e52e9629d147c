"""Pool per-frame rows into one tabular row per video.

:class:`TemporalPooling` is the bridge from ragged per-video arrays to the
dense matrices the rest of scikit-learn expects; :class:`ScorePooling` and
:func:`pool_scores` turn per-frame fake probabilities into one video score.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_deepfake.features._handcrafted import _DOCS
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._param_validation import (
    Interval,
    ParamsValidationMixin,
    Real,
    StrOptions,
)
from sklearn_deepfake.utils._proba import clipped_logit
from sklearn_deepfake.utils._ragged import _STEP_DOCS, check_per_video

__all__ = [
    "TRACK_POOLINGS",
    "ScorePooling",
    "TemporalPooling",
    "pool_scores",
    "pool_track_scores",
]

#: ``stats`` choices of the default search space (Optuna stores strings).
_POOLING_STATS = ("mean", "mean+std", "mean+max", "mean+std+max+min")

_STATS = {
    "mean": lambda a: a.mean(axis=0),
    "std": lambda a: a.std(axis=0),
    "max": lambda a: a.max(axis=0),
    "min": lambda a: a.min(axis=0),
    "median": lambda a: np.median(a, axis=0),
}


def _as_frames(
    x: Any,
    i: int,
    one_d: str = "column",
    *,
    dtype: Any = np.float64,
    name: str = "X",
) -> np.ndarray:
    """One video's per-frame array as finite ``(n_rows, D)`` of ``dtype``.

    A 1-D array is one ``"column"`` of per-frame values or one ``"row"``;
    errors name the video as ``name[i]``. Also checks the frame features of
    :class:`~sklearn_deepfake.nets.TemporalClassifier` (as float32).
    """
    a = np.asarray(x)
    if a.ndim == 1:
        a = a.reshape(-1, 1) if one_d == "column" else a.reshape(1, -1)
    if a.ndim != 2:
        raise ValueError(
            f"{name}[{i}] must be a 1-D or 2-D array of per-frame values, got "
            f"shape {a.shape}."
        )
    try:
        a = a.astype(dtype, copy=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}[{i}] is not numeric: {exc}") from None
    if not np.isfinite(a).all():
        raise ValueError(f"{name}[{i}] contains NaN or infinity.")
    return a


def check_frame_rows(
    estimator: Any, X: Any, reset: bool, one_d: str = "column"
) -> list[np.ndarray]:
    """Validate per-frame rows for ``estimator``; one float64 array per video.

    ``X`` is ragged (a list or tuple, a 1-D object array or a pandas Series of
    ``(n_rows_i, D)`` arrays) or a dense ``(n_videos, D)`` matrix, read as one
    frame per video. A 1-D element is a column of per-frame values
    (``one_d="column"``, ``D = 1``) or a single frame (``one_d="row"``, so a
    list of lists reads like the matrix it spells). With ``reset`` the width
    is stored as ``estimator.n_features_in_``; otherwise it is checked
    against it.
    """
    ragged = isinstance(X, (list, tuple)) or (
        getattr(X, "ndim", None) == 1
        and (getattr(X, "dtype", None) == np.dtype(object) or hasattr(X, "iloc"))
    )
    if not ragged:  # dense (n_videos, D): one frame per video
        X = validate_data(estimator, X, reset=reset)
        return [row.reshape(1, -1) for row in X]
    if reset and hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    X = check_per_video(X, allow_empty=False)
    frames = [_as_frames(x, i, one_d) for i, x in enumerate(X)]
    widths = {f.shape[1] for f in frames}
    if len(widths) != 1:
        raise ValueError(
            f"Every video must have the same number of columns; got {sorted(widths)}."
        )
    d = widths.pop()
    if reset:
        estimator.n_features_in_ = d
    elif d != estimator.n_features_in_:
        raise ValueError(
            f"X has {d} columns per frame, but {type(estimator).__name__} was "
            f"fitted with {estimator.n_features_in_}."
        )
    return frames


class TemporalPooling(ParamsValidationMixin, TransformerMixin, BaseEstimator):
    """Summarise each video's per-frame rows by statistics over its frames.

    Turns ``list[ndarray (n_rows_i, D)]`` (per-frame features, or per-frame
    scores with ``D = 1``; 1-D arrays count as ``D = 1``) into a dense
    ``(n_videos, n_out)`` matrix: every statistic in ``stats`` and every
    quantile in ``quantiles`` for each of the ``D`` columns, then, when
    ``counts=True``, two columns ``n_rows`` (number of face rows of the
    video) and ``has_face`` (1 when it has at least one row).

    **Videos without a face** (``(0, D)`` arrays) cannot have statistics.
    Their statistic columns get ``fill_values_``: the mean of each output
    column over the training videos that had faces (``empty_fill="mean"``,
    so that a standardised linear model sees 0 there) or a constant
    (``empty_fill=<float>``); their ``n_rows`` and ``has_face`` are 0, which
    lets a linear classifier learn a separate score for them.

    A dense 2-D array ``(n_videos, D)`` is also accepted and read as one
    frame per video (so the usual scikit-learn checks apply to it).

    Parameters
    ----------
    stats : tuple of str, default=("mean", "std", "max", "min")
        Statistics computed over the frames of each video, per column, from
        ``"mean"``, ``"std"``, ``"max"``, ``"min"`` and ``"median"``.
    quantiles : tuple of float, default=()
        Quantiles in [0, 1] computed over the frames of each video, per
        column (named ``q<100*q>_<feature>``).
    counts : bool, default=True
        Append the ``n_rows`` and ``has_face`` columns.
    empty_fill : "mean" or float, default="mean"
        Value of the statistic columns for a video with no rows.
    feature_names : list of str, default=None
        Names of the ``D`` input columns, used in the output names (for
        example the ``feature_names_`` of the transformer before this one).
        ``None`` gives ``f0`` ... ``f{D-1}``.

    Attributes
    ----------
    n_features_in_ : int
        ``D``, the number of per-frame columns seen in :meth:`fit`.
    fill_values_ : ndarray of shape (n_stat_columns,)
        Statistic columns given to videos without rows.
    n_features_out_ : int
        Number of output columns.

    See Also
    --------
    ScorePooling : Rules that pool per-frame scores into one video score.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.features import TemporalPooling
    >>> X = [np.array([[0.0, 1.0], [2.0, 3.0]]), np.zeros((0, 2))]
    >>> pool = TemporalPooling(stats=("mean", "max")).fit(X)
    >>> pool.transform(X)
    array([[1., 2., 2., 3., 2., 1.],
           [1., 2., 2., 3., 0., 0.]])
    >>> pool.get_feature_names_out()
    array(['mean_f0', 'mean_f1', 'max_f0', 'max_f1', 'n_rows', 'has_face'],
          dtype=object)
    """

    def __init__(
        self,
        stats: Sequence[str] = ("mean", "std", "max", "min"),
        *,
        quantiles: Sequence[float] = (),
        counts: bool = True,
        empty_fill: str | float = "mean",
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.stats = stats
        self.quantiles = quantiles
        self.counts = counts
        self.empty_fill = empty_fill
        self.feature_names = feature_names

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "stats": [StrOptions(set(_STATS)), list, tuple],
        "quantiles": ["array-like", Interval(Real, 0, 1, closed="both")],
        "counts": ["boolean"],
        "empty_fill": [StrOptions({"mean"}), Interval(Real, None, None, closed="both")],
        "feature_names": ["array-like", None],
    }

    def _check_params(self) -> None:
        stats, quantiles = self._resolved_stats()
        bad = [s for s in stats if s not in _STATS]
        if bad:
            raise ValueError(f"stats must hold names from {sorted(_STATS)}, got {bad}.")
        if any(not 0.0 <= q <= 1.0 for q in quantiles):
            raise ValueError(f"quantiles must lie in [0, 1], got {self.quantiles!r}.")
        if not stats and not quantiles and not self.counts:
            raise ValueError("TemporalPooling has no output: give stats or quantiles.")
        if not isinstance(self.empty_fill, str) and not np.isfinite(self.empty_fill):
            raise ValueError(
                f"empty_fill must be 'mean' or a finite number, got "
                f"{self.empty_fill!r}."
            )

    def _resolved_stats(self) -> tuple[tuple[str, ...], tuple[float, ...]]:
        """``stats`` and ``quantiles`` as tuples (a single name is one stat)."""
        stats = (self.stats,) if isinstance(self.stats, str) else tuple(self.stats)
        quantiles = tuple(float(q) for q in np.atleast_1d(self.quantiles))
        return stats, quantiles

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {}

    @classmethod
    def _search_space(cls, trial: Any, prefix: str) -> dict[str, Any]:
        """Default Optuna space: which statistics to pool."""
        name = f"{prefix}stats"
        return {name: tuple(trial.suggest_categorical(name, _POOLING_STATS).split("+"))}

    def _check_X(self, X: Any, reset: bool) -> list[np.ndarray]:
        return check_frame_rows(self, X, reset)

    def _pool(self, frames: list[np.ndarray]) -> np.ndarray:
        d = self.n_features_in_
        n_stat = d * (len(self._stats) + len(self._quantiles))
        out = np.zeros((len(frames), n_stat + 2 * bool(self.counts)))
        for i, a in enumerate(frames):
            if len(a) == 0:
                out[i, :n_stat] = np.nan
                continue
            parts = [_STATS[s](a) for s in self._stats]
            if self._quantiles:
                parts += list(np.quantile(a, self._quantiles, axis=0))
            out[i, :n_stat] = np.concatenate(parts) if parts else []
            if self.counts:
                out[i, n_stat:] = [len(a), 1.0]
        return out

    @fill_doc(_STEP_DOCS)
    def fit(self, X: Any, y: Any = None) -> TemporalPooling:
        """Check the input width and learn the fill values for empty videos.

        Parameters
        ----------
        X : list of ndarray of shape (n_rows_i, D), or ndarray of shape (n_videos, D)
            Per-frame rows of every video.
        %(fit_y_returns)s
        """
        self._validate_params()
        self._stats, self._quantiles = self._resolved_stats()
        frames = self._check_X(X, reset=True)
        if self.feature_names is not None and len(self.feature_names) != (
            self.n_features_in_
        ):
            raise ValueError(
                f"feature_names has {len(self.feature_names)} names but X has "
                f"{self.n_features_in_} columns per frame."
            )
        pooled = self._pool(frames)
        n_stat = pooled.shape[1] - 2 * bool(self.counts)
        stat_cols = pooled[:, :n_stat]
        has = ~np.isnan(stat_cols).any(axis=1)
        if isinstance(self.empty_fill, str):
            self.fill_values_ = (
                stat_cols[has].mean(axis=0) if has.any() else np.zeros(n_stat)
            )
        else:
            self.fill_values_ = np.full(n_stat, float(self.empty_fill))
        self.n_features_out_ = pooled.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Pool every video's rows into one row.

        Parameters
        ----------
        X : list of ndarray of shape (n_rows_i, D), or ndarray of shape (n_videos, D)
            Per-frame rows of every video.

        Returns
        -------
        X_pooled : ndarray of shape (n_videos, ``n_features_out_``)
            One row per video, columns named by :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        frames = self._check_X(X, reset=False)
        pooled = self._pool(frames)
        n_stat = len(self.fill_values_)
        empty = np.isnan(pooled[:, :n_stat]).any(axis=1)
        pooled[empty, :n_stat] = self.fill_values_
        return pooled

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the ``D`` per-frame columns. Defaults to
            ``feature_names``, then to the names seen in :meth:`fit` (for
            DataFrame input), then to ``f0`` ... ``f{D-1}``.

        Returns
        -------
        feature_names_out : ndarray of str
            ``<stat>_<feature>`` for every statistic, ``q<pct>_<feature>`` for
            every quantile, then ``n_rows`` and ``has_face``.
        """
        check_is_fitted(self, "n_features_in_")
        d = self.n_features_in_
        if input_features is None:
            input_features = self.feature_names
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if input_features is None:
            input_features = [f"f{j}" for j in range(d)]
        input_features = [str(f) for f in input_features]
        if len(input_features) != d:
            raise ValueError(
                f"input_features has {len(input_features)} names, expected {d}."
            )
        names = [f"{s}_{f}" for s in self._stats for f in input_features]
        names += [f"q{100 * q:g}_{f}" for q in self._quantiles for f in input_features]
        if self.counts:
            names += ["n_rows", "has_face"]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags


_RULES = ("mean", "mean_logit", "median", "max", "confident")


def pool_scores(
    scores: Any,
    rule: str = "mean",
    *,
    threshold: float = 0.8,
    min_fraction: float | tuple[float, float] = (0.4, 0.9),
    eps: float = 1e-6,
) -> float:
    """Pool one video's per-frame fake probabilities into one probability.

    Parameters
    ----------
    scores : array-like of shape (n_frames,) or (n_frames, 1)
        Per-frame probabilities that the face is fake, in [0, 1].
    rule : {"mean", "mean_logit", "median", "max", "confident"}, default="mean"
        - ``"mean"``: the mean probability.
        - ``"mean_logit"``: the sigmoid of the mean logit (a geometric pooling
          that lets confident frames weigh more).
        - ``"median"``, ``"max"``: as named.
        - ``"confident"``: the rule of the winning DFDC solution (Seferbekov,
          2020). If at least ``min_fraction[0]`` of the frames score above
          ``threshold``, the mean of those frames; otherwise, if at least
          ``min_fraction[1]`` of the frames score below ``1 - threshold``, the
          mean of those; otherwise the plain mean. The original used a 0.8
          threshold, 40 % (and at least 11 of 32 frames) for fakes, and 90 %
          below 0.2 for reals, which is the default here without the absolute
          11-frame minimum.
    threshold : float, default=0.8
        Confidence threshold of the ``"confident"`` rule, in (0.5, 1).
    min_fraction : float or (float, float), default=(0.4, 0.9)
        Fraction of frames that must be confident for the ``"confident"``
        rule to keep only them: ``(fake, real)``; one float sets both.
    eps : float, default=1e-6
        Clipping of probabilities before taking logits (``"mean_logit"``).

    Returns
    -------
    score : float
        The pooled probability; ``nan`` for zero frames.

    Examples
    --------
    >>> from sklearn_deepfake.features import pool_scores
    >>> p = [0.95, 0.9, 0.2, 0.1, 0.1]
    >>> round(pool_scores(p, "mean"), 3), round(pool_scores(p, "confident"), 3)
    (0.45, 0.925)
    """
    p = np.asarray(scores, dtype=np.float64).reshape(-1)
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}.")
    if len(p) == 0:
        return float("nan")
    if rule == "mean":
        return float(p.mean())
    if rule == "median":
        return float(np.median(p))
    if rule == "max":
        return float(p.max())
    if rule == "mean_logit":
        return float(1.0 / (1.0 + np.exp(-clipped_logit(p, eps).mean())))
    fake_frac, real_frac = (
        (min_fraction, min_fraction)
        if isinstance(min_fraction, numbers.Real)
        else min_fraction
    )
    fake = p > threshold
    if fake.mean() >= fake_frac:
        return float(p[fake].mean())
    real = p < 1 - threshold
    if real.mean() >= real_frac:
        return float(p[real].mean())
    return float(p.mean())


#: Rules of :func:`pool_track_scores` over the scores of a video's tracks.
TRACK_POOLINGS = ("max", "mean", None)


def pool_track_scores(
    scores: Any,
    track_ids: Any,
    rule: str = "mean",
    track_pooling: str | None = "max",
) -> float:
    """Pool a video's crop scores per face track, then over the tracks.

    In DFDC a video is fake when any of its faces is fake, so a real face
    seen in more frames must not outvote a fake one: each track's scores are
    pooled with ``rule`` (see :func:`pool_scores`), then the track scores
    with ``track_pooling``.

    Parameters
    ----------
    scores : array-like of shape (n_rows,)
        Fake probabilities of the video's face crops (at least one).
    track_ids : array-like of shape (n_rows,)
        Face track of each crop.
    rule : str, default="mean"
        Pooling of the crops of one track (:func:`pool_scores`).
    track_pooling : {"max", "mean"} or None, default="max"
        ``"max"``: the most fake track; ``"mean"``: the sigmoid of the mean
        track logit; None: every crop pooled together, ignoring the tracks.

    Returns
    -------
    proba : float
        The video's fake probability.

    Examples
    --------
    >>> from sklearn_deepfake.features import pool_track_scores
    >>> scores, ids = [0.1, 0.1, 0.1, 0.1, 0.9, 0.9], [0, 0, 0, 0, 1, 1]
    >>> round(pool_track_scores(scores, ids, "mean", "max"), 2)
    0.9
    >>> round(pool_track_scores(scores, ids, "mean", None), 2)
    0.37
    """
    if track_pooling not in TRACK_POOLINGS:
        raise ValueError(
            f"track_pooling must be one of {TRACK_POOLINGS}, got {track_pooling!r}."
        )
    scores = np.asarray(scores, dtype=np.float64).ravel()
    ids = np.asarray(track_ids).ravel()
    tracks = np.unique(ids)
    if track_pooling is None or len(tracks) < 2:
        return pool_scores(scores, rule)
    per_track = np.array([pool_scores(scores[ids == k], rule) for k in tracks])
    if track_pooling == "max":
        return float(per_track.max())
    return pool_scores(per_track, "mean_logit")


class ScorePooling(ParamsValidationMixin, TransformerMixin, BaseEstimator):
    """Pool per-frame fake probabilities into one score per video.

    A tunable pipeline step after a per-frame classifier: ``rule`` and its
    parameters can be searched like any other hyper-parameter. See
    :func:`pool_scores` for the rules, including the "confident frames" rule
    of the winning DFDC solution.

    Parameters
    ----------
    rule : {"mean", "mean_logit", "median", "max", "confident"}, default="mean"
        How to pool; see :func:`pool_scores`.
    threshold : float, default=0.8
        Threshold of the ``"confident"`` rule.
    min_fraction : float or (float, float), default=(0.4, 0.9)
        Fractions of the ``"confident"`` rule (fake, real).
    empty_score : float, default=0.5
        Score of a video with no frames (no face found).
    eps : float, default=1e-6
        Clipping before logits for ``"mean_logit"``.

    Attributes
    ----------
    n_features_in_ : int
        Always 1 (one score per frame).

    See Also
    --------
    TemporalPooling : Statistics of per-frame features or scores.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.features import ScorePooling
    >>> scores = [np.array([0.9, 0.95, 0.1]), np.array([0.2, 0.1]), np.array([])]
    >>> ScorePooling(rule="confident").fit_transform(scores).ravel()
    array([0.925, 0.15 , 0.5  ])
    """

    def __init__(
        self,
        rule: str = "mean",
        *,
        threshold: float = 0.8,
        min_fraction: float | tuple[float, float] = (0.4, 0.9),
        empty_score: float = 0.5,
        eps: float = 1e-6,
    ) -> None:
        self.rule = rule
        self.threshold = threshold
        self.min_fraction = min_fraction
        self.empty_score = empty_score
        self.eps = eps

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "rule": [StrOptions(set(_RULES))],
        "threshold": [Interval(Real, 0.5, 1, closed="neither")],
        "min_fraction": [Interval(Real, 0, 1, closed="right"), "array-like"],
        "empty_score": [Interval(Real, 0, 1, closed="both")],
        "eps": [Interval(Real, 0, 0.5, closed="left")],
    }

    def _check_params(self) -> None:
        fractions = np.atleast_1d(np.asarray(self.min_fraction, dtype=float))
        if fractions.size not in (1, 2) or not np.all(
            (fractions > 0) & (fractions <= 1)
        ):
            raise ValueError(
                "min_fraction must be a fraction in (0, 1] or a pair of them, got "
                f"{self.min_fraction!r}."
            )

    @classmethod
    def _get_test_params(cls) -> dict[str, Any]:
        """Cheap constructor arguments for the common tests."""
        return {"rule": "confident"}

    def _check(self, X: Any) -> list[np.ndarray]:
        X = check_per_video(X)
        frames = [_as_frames(x, i) for i, x in enumerate(X)]
        for i, f in enumerate(frames):
            if f.shape[1] != 1:
                raise ValueError(
                    f"X[{i}] must hold one score per frame, got shape {f.shape}."
                )
            if f.size and (f.min() < 0 or f.max() > 1):
                raise ValueError(f"X[{i}] holds scores outside [0, 1].")
        return frames

    @fill_doc(_STEP_DOCS)
    def fit(self, X: Any, y: Any = None) -> ScorePooling:
        """Validate the parameters and the scores; nothing is learned.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i,) or (n_frames_i, 1)
            Per-frame fake probabilities of every video.
        %(fit_y_returns)s
        """
        self._validate_params()
        self._check(X)
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Pool every video's scores.

        Parameters
        ----------
        X : list of ndarray of shape (n_frames_i,) or (n_frames_i, 1)
            Per-frame fake probabilities of every video.

        Returns
        -------
        scores : ndarray of shape (n_videos, 1)
            Pooled probability per video; ``empty_score`` for videos without
            frames.
        """
        check_is_fitted(self)
        frames = self._check(X)
        out = np.array(
            [
                pool_scores(
                    f,
                    self.rule,
                    threshold=self.threshold,
                    min_fraction=self.min_fraction,
                    eps=self.eps,
                )
                if len(f)
                else float(self.empty_score)
                for f in frames
            ]
        ).reshape(-1, 1)
        return out

    @fill_doc(_DOCS)
    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Name of the single output column, ``score_<rule>``.

        %(input_features)s
        feature_names_out : ndarray of str
            One name.
        """
        check_is_fitted(self)
        return np.asarray([f"score_{self.rule}"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
