"""Calibration diagnostics: reliability curve, ECE, log loss, and a plot.

A detector scored by log loss must be calibrated as well as accurate: among
the videos given P(FAKE) = 0.8, about 80 % should be fakes. These helpers
measure that from held-out (or out-of-fold) predictions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.utils.validation import check_consistent_length, column_or_1d

from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._plotting import _PLOT_DOCS, check_axes
from sklearn_deepfake.utils._proba import clip_values

__all__ = [
    "CalibrationComparison",
    "CalibrationReport",
    "ReliabilityDisplay",
    "calibration_report",
    "compare_calibration",
    "expected_calibration_error",
]

_STRATEGIES = ("uniform", "quantile")

_DOCS = {
    **_PLOT_DOCS,
    "y_true": """y_true : array-like of shape (n_samples,)
    True binary labels.""",
    "y_prob": """y_prob : array-like of shape (n_samples,) or (n_samples, 2)
    Probability of the positive class, or ``predict_proba`` output (its
    second column is used).""",
    "n_bins": """n_bins : int, default=10
    Number of bins of the reliability curve.""",
    "strategy": """strategy : {"uniform", "quantile"}, default="uniform"
    ``"uniform"``: equal-width bins on ``[0, 1]``. ``"quantile"``: bins
    holding about the same number of samples (fewer bins when
    probabilities tie), which gives a steadier ECE on small test sets
    whose probabilities crowd near 0 and 1.""",
    "pos_label": """pos_label : int or str, default=None
    Label of the positive class. ``None`` means ``1`` and requires 0/1
    (or ``"0"``/``"1"``) labels.""",
    "eps": """eps : float, default=1e-3
    Probabilities are clipped to ``[eps, 1 - eps]`` for the log loss
    (as :func:`~sklearn_deepfake.model_selection.clipped_log_loss`
    does); ECE and Brier use them unclipped.""",
    "ref_line": """ref_line : bool, default=True
    Draw the diagonal of perfect calibration.""",
    "show_counts": """show_counts : bool, default=False
    Marker area proportional to the number of samples in each bin.""",
    "kwargs": """**kwargs : dict
    Passed to :meth:`matplotlib.axes.Axes.plot`.""",
    "display": """display : ReliabilityDisplay
    The plotted display.""",
}
# What every reliability curve is computed from.
_DOCS["curve_inputs"] = "\n".join(
    _DOCS[key] for key in ("y_true", "y_prob", "n_bins", "strategy", "pos_label")
)
# The drawing options that the constructors pass on to ``plot``.
_DOCS["plot_options"] = "\n".join(
    _DOCS[key] for key in ("ref_line", "show_counts", "kwargs")
)


def _binary_inputs(
    y_true: Any, y_prob: Any, pos_label: Any
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Return 0/1 targets, P(positive) in ``[0, 1]`` and the positive label."""
    y_true = column_or_1d(y_true)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim == 2:
        if y_prob.shape[1] != 2:
            raise ValueError(
                "y_prob must be P(positive class) of shape (n_samples,) or a "
                f"two-column predict_proba output, got shape {y_prob.shape}."
            )
        y_prob = y_prob[:, 1]
    y_prob = column_or_1d(y_prob)
    check_consistent_length(y_true, y_prob)
    if y_true.size == 0:
        raise ValueError("y_true and y_prob are empty.")
    if not np.all(np.isfinite(y_prob)) or y_prob.min() < 0 or y_prob.max() > 1:
        raise ValueError("y_prob must hold finite probabilities in [0, 1].")
    labels = np.unique(y_true)
    if labels.size > 2:
        raise ValueError(f"y_true must be binary, got {labels.size} labels.")
    if pos_label is None:
        if not set(labels.tolist()) <= {0, 1, -1, "0", "1", "-1"}:
            raise ValueError(
                f"y_true has labels {labels.tolist()}: pass pos_label (for "
                "example pos_label='FAKE'), or use 0/1 labels."
            )
        pos_label = 1
        y01 = (y_true.astype(np.float64) == 1).astype(np.int64)
    else:
        y01 = (y_true == pos_label).astype(np.int64)
    return y01, y_prob, pos_label


def _bin_edges(y_prob: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    edges = np.quantile(y_prob, np.linspace(0.0, 1.0, n_bins + 1))
    edges[0], edges[-1] = 0.0, 1.0
    # Ties in y_prob give repeated quantiles: merge those bins.
    return np.unique(edges)


def _assign(p: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin index of each probability, and the bin counts.

    Bin ``i`` holds ``edges[i] <= p < edges[i + 1]``; ``p == 1`` goes to the
    last bin.
    """
    n = len(edges) - 1
    ids = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, n - 1)
    return ids, np.bincount(ids, minlength=n)


def _check_options(n_bins: Any, strategy: Any) -> None:
    if not isinstance(n_bins, (int, np.integer)) or isinstance(n_bins, bool):
        raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}.")
    if n_bins < 1:
        raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}.")
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {_STRATEGIES}, got {strategy!r}.")


@dataclasses.dataclass(frozen=True)
class CalibrationReport:
    """How well probabilities of the positive class match observed frequencies.

    Built by :func:`calibration_report`. Arrays have one entry per bin;
    empty bins have ``count == 0`` and NaN means.

    Attributes
    ----------
    bin_edges : ndarray of shape (n_bins + 1,)
        Bin edges in ``[0, 1]``.
    bin_centers : ndarray of shape (n_bins,)
        Middle of each bin.
    mean_predicted : ndarray of shape (n_bins,)
        Mean predicted probability in each bin (x of the reliability curve).
    observed_fraction : ndarray of shape (n_bins,)
        Fraction of positives in each bin (y of the reliability curve).
    counts : ndarray of shape (n_bins,)
        Number of samples in each bin.
    ece : float
        Expected calibration error: ``sum(counts / n * |observed - mean|)``.
    mce : float
        Maximum calibration error: the largest ``|observed - mean|`` over
        non-empty bins.
    log_loss : float
        Log loss of the probabilities clipped to ``[eps, 1 - eps]``.
    brier_score : float
        Mean squared difference between probability and outcome.
    n_samples : int
        Number of samples.
    strategy : str
        ``"uniform"`` or ``"quantile"`` bins.
    eps : float
        Clipping used for the log loss.
    pos_label : int or str
        The label counted as positive.
    """

    bin_edges: np.ndarray
    bin_centers: np.ndarray
    mean_predicted: np.ndarray
    observed_fraction: np.ndarray
    counts: np.ndarray
    ece: float
    mce: float
    log_loss: float
    brier_score: float
    n_samples: int
    strategy: str
    eps: float
    pos_label: Any

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a plain dict (arrays as lists, JSON-ready)."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
            elif isinstance(value, np.generic):
                out[key] = value.item()
        return out

    def __str__(self) -> str:
        return (
            f"log loss {self.log_loss:.4f}, Brier {self.brier_score:.4f}, "
            f"ECE {self.ece:.4f}, MCE {self.mce:.4f} "
            f"({self.n_samples} samples, {len(self.counts)} {self.strategy} bins)"
        )


@dataclasses.dataclass(frozen=True)
class CalibrationComparison:
    """Two :class:`CalibrationReport` of the same labels, before and after.

    Built by :func:`compare_calibration`.

    Attributes
    ----------
    before : CalibrationReport
        Report of the uncalibrated probabilities.
    after : CalibrationReport
        Report of the calibrated probabilities.
    log_loss_change : float
        ``after.log_loss - before.log_loss`` (negative: calibration helped).
    ece_change : float
        ``after.ece - before.ece``.
    brier_change : float
        ``after.brier_score - before.brier_score``.
    """

    before: CalibrationReport
    after: CalibrationReport
    log_loss_change: float
    ece_change: float
    brier_change: float

    def __str__(self) -> str:
        return (
            f"log loss {self.before.log_loss:.4f} -> {self.after.log_loss:.4f} "
            f"({self.log_loss_change:+.4f}), ECE {self.before.ece:.4f} -> "
            f"{self.after.ece:.4f} ({self.ece_change:+.4f})"
        )


@fill_doc(_DOCS)
def calibration_report(
    y_true: Any,
    y_prob: Any,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
    pos_label: Any = None,
    eps: float = 1e-3,
) -> CalibrationReport:
    """Reliability curve, calibration errors, log loss and Brier score.

    Parameters
    ----------
    %(curve_inputs)s
    %(eps)s

    Returns
    -------
    report : CalibrationReport
        The curve and the scores.

    See Also
    --------
    compare_calibration : Reports before and after a calibration.
    ReliabilityDisplay : Plot of the reliability curve.

    Examples
    --------
    >>> from sklearn_deepfake.calibration import calibration_report
    >>> report = calibration_report(
    ...     [0, 0, 1, 1], [0.1, 0.4, 0.6, 0.9], n_bins=2
    ... )
    >>> report.counts, report.observed_fraction
    (array([2, 2]), array([0., 1.]))
    >>> round(report.ece, 3), round(report.log_loss, 3)
    (0.25, 0.308)
    """
    _check_options(n_bins, strategy)
    if not 0 <= eps < 0.5:
        raise ValueError(f"eps must be a float in [0, 0.5), got {eps!r}.")
    y01, p, pos_label = _binary_inputs(y_true, y_prob, pos_label)
    edges = _bin_edges(p, n_bins, strategy)
    ids, counts = _assign(p, edges)
    if strategy == "quantile" and not counts.all():
        # Tied probabilities leave empty bins: merge each into a neighbour.
        keep = np.ones(len(edges), dtype=bool)
        empty = np.flatnonzero(counts == 0)
        keep[np.minimum(empty + 1, len(edges) - 2)] = False
        edges = edges[keep]
        ids, counts = _assign(p, edges)
    n = len(edges) - 1
    sum_p = np.bincount(ids, weights=p, minlength=n)
    sum_y = np.bincount(ids, weights=y01, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p = np.where(counts > 0, sum_p / counts, np.nan)
        frac = np.where(counts > 0, sum_y / counts, np.nan)
    gap = np.abs(frac - mean_p)
    filled = counts > 0
    ece = float(np.sum(counts[filled] / p.size * gap[filled]))
    mce = float(gap[filled].max())
    p_clip = clip_values(p, eps) if eps > 0 else p
    loss = float(log_loss(y01, p_clip, labels=[0, 1]))
    brier = float(brier_score_loss(y01, p, pos_label=1))
    return CalibrationReport(
        bin_edges=edges,
        bin_centers=(edges[:-1] + edges[1:]) / 2,
        mean_predicted=mean_p,
        observed_fraction=frac,
        counts=counts,
        ece=ece,
        mce=mce,
        log_loss=loss,
        brier_score=brier,
        n_samples=int(p.size),
        strategy=strategy,
        eps=float(eps),
        pos_label=pos_label,
    )


@fill_doc(_DOCS)
def expected_calibration_error(
    y_true: Any,
    y_prob: Any,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
    pos_label: Any = None,
) -> float:
    """Compute the expected calibration error of binary probabilities.

    The mean, weighted by bin size, of ``|fraction of positives - mean
    predicted probability|`` over the bins of the reliability curve. 0 is
    perfect; it depends on ``n_bins``, so compare values computed alike.

    Parameters
    ----------
    %(curve_inputs)s

    Returns
    -------
    ece : float
        Expected calibration error, in ``[0, 1]``.

    Examples
    --------
    >>> from sklearn_deepfake.calibration import expected_calibration_error
    >>> expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    0.0
    >>> expected_calibration_error([0, 1], [0.9, 0.9], n_bins=5)
    0.4
    """
    return calibration_report(
        y_true, y_prob, n_bins=n_bins, strategy=strategy, pos_label=pos_label
    ).ece


@fill_doc(_DOCS)
def compare_calibration(
    y_true: Any,
    y_prob_before: Any,
    y_prob_after: Any,
    **kwargs: Any,
) -> CalibrationComparison:
    """Compare the calibration of two sets of probabilities of the same labels.

    Parameters
    ----------
    %(y_true)s
    y_prob_before : array-like of shape (n_samples,) or (n_samples, 2)
        Probabilities before calibration.
    y_prob_after : array-like of shape (n_samples,) or (n_samples, 2)
        Probabilities after calibration (held out from the calibration fit,
        for an honest comparison).
    **kwargs : dict
        Passed to :func:`calibration_report` (``n_bins``, ``strategy``,
        ``pos_label``, ``eps``).

    Returns
    -------
    comparison : CalibrationComparison
        Both reports and the changes in log loss, ECE and Brier score.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deepfake.calibration import compare_calibration
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> over = np.array([0.01, 0.01, 0.99, 0.99, 0.99, 0.01])
    >>> tempered = np.array([0.3, 0.3, 0.7, 0.7, 0.7, 0.3])
    >>> comparison = compare_calibration(y, over, tempered)
    >>> bool(comparison.log_loss_change < 0)
    True
    """
    before = calibration_report(y_true, y_prob_before, **kwargs)
    after = calibration_report(y_true, y_prob_after, **kwargs)
    return CalibrationComparison(
        before=before,
        after=after,
        log_loss_change=after.log_loss - before.log_loss,
        ece_change=after.ece - before.ece,
        brier_change=after.brier_score - before.brier_score,
    )


@fill_doc(_DOCS)
class ReliabilityDisplay:
    """Reliability diagram with the expected calibration error in the legend.

    Build it with :meth:`from_predictions` or :meth:`from_estimator`; both
    plot at once. Like scikit-learn's
    :class:`~sklearn.calibration.CalibrationDisplay`, but the legend shows
    ECE and log loss, and marker sizes can show how many videos each bin
    holds.

    Parameters
    ----------
    report : CalibrationReport
        The curve to draw (from :func:`calibration_report`).
    estimator_name : str, default=None
        Name in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The reliability curve.
    ref_line_ : matplotlib Line2D or None
        The diagonal of perfect calibration.
    %(ax_figure_)s

    See Also
    --------
    calibration_report : The numbers behind the plot.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_deepfake.calibration import ReliabilityDisplay
    >>> y = [0, 0, 1, 1, 0, 1]
    >>> p = [0.2, 0.3, 0.7, 0.8, 0.6, 0.4]
    >>> disp = ReliabilityDisplay.from_predictions(y, p, n_bins=5, name="stack")
    >>> disp.line_.get_label()
    'stack (ECE = 0.167, log loss = 0.499)'
    """

    def __init__(
        self, report: CalibrationReport, *, estimator_name: str | None = None
    ) -> None:
        self.report = report
        self.estimator_name = estimator_name

    @fill_doc(_DOCS)
    def plot(
        self,
        *,
        ax: Any = None,
        name: str | None = None,
        ref_line: bool = True,
        show_counts: bool = False,
        **kwargs: Any,
    ) -> ReliabilityDisplay:
        """Draw the reliability curve.

        Parameters
        ----------
        %(ax)s
        name : str, default=None
            Legend name; defaults to ``estimator_name``.
        %(plot_options)s

        Returns
        -------
        %(display)s
        """
        ax, _ = check_axes(ax, "ReliabilityDisplay")
        name = self.estimator_name if name is None else name
        report = self.report
        scores = f"ECE = {report.ece:.3f}, log loss = {report.log_loss:.3f}"
        label = f"{name} ({scores})" if name else scores
        filled = report.counts > 0
        line_kwargs = {"marker": "s", "linestyle": "-", "label": label}
        line_kwargs.update(kwargs)
        self.ref_line_ = None
        if ref_line:
            (self.ref_line_,) = ax.plot(
                [0, 1], [0, 1], "k:", label="Perfectly calibrated"
            )
        (self.line_,) = ax.plot(
            report.mean_predicted[filled],
            report.observed_fraction[filled],
            **line_kwargs,
        )
        if show_counts:
            sizes = 400.0 * report.counts[filled] / max(report.counts.max(), 1)
            ax.scatter(
                report.mean_predicted[filled],
                report.observed_fraction[filled],
                s=sizes,
                alpha=0.3,
                color=self.line_.get_color(),
            )
        pos = (
            "" if report.pos_label in (None, 1) else f" (positive: {report.pos_label})"
        )
        ax.set(
            xlabel=f"Mean predicted probability{pos}",
            ylabel=f"Fraction of positives{pos}",
            xlim=(-0.02, 1.02),
            ylim=(-0.02, 1.02),
            aspect="equal",
        )
        ax.legend(loc="lower right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    @fill_doc(_DOCS)
    def from_predictions(
        cls,
        y_true: Any,
        y_prob: Any,
        *,
        n_bins: int = 10,
        strategy: str = "uniform",
        pos_label: Any = None,
        eps: float = 1e-3,
        name: str | None = None,
        ax: Any = None,
        ref_line: bool = True,
        show_counts: bool = False,
        **kwargs: Any,
    ) -> ReliabilityDisplay:
        """Plot the reliability curve of given probabilities.

        Parameters
        ----------
        %(curve_inputs)s
        %(eps)s
        name : str, default=None
            Legend name.
        %(ax)s
        %(plot_options)s

        Returns
        -------
        %(display)s
        """
        report = calibration_report(
            y_true,
            y_prob,
            n_bins=n_bins,
            strategy=strategy,
            pos_label=pos_label,
            eps=eps,
        )
        return cls(report, estimator_name=name).plot(
            ax=ax, ref_line=ref_line, show_counts=show_counts, **kwargs
        )

    @classmethod
    @fill_doc(_DOCS)
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        n_bins: int = 10,
        strategy: str = "uniform",
        pos_label: Any = None,
        eps: float = 1e-3,
        name: str | None = None,
        ax: Any = None,
        ref_line: bool = True,
        show_counts: bool = False,
        **kwargs: Any,
    ) -> ReliabilityDisplay:
        """Plot the reliability curve of a fitted binary classifier on ``X``.

        Parameters
        ----------
        estimator : classifier
            Fitted, with ``predict_proba`` and two ``classes_``.
        X : list of path-like or array-like
            Input the estimator takes (video paths for a full pipeline).
        y : array-like of shape (n_samples,)
            True binary labels.
        %(n_bins)s
        %(strategy)s
        pos_label : int or str, default=None
            Positive class; ``None`` means ``estimator.classes_[1]``.
        %(eps)s
        name : str, default=None
            Legend name; defaults to the estimator's class name.
        %(ax)s
        %(plot_options)s

        Returns
        -------
        %(display)s
        """
        classes = getattr(estimator, "classes_", None)
        if classes is None or len(classes) != 2:
            raise ValueError(
                "from_estimator needs a fitted binary classifier (two classes_)."
            )
        if pos_label is None:
            pos_label = classes[1]
        matches = np.flatnonzero(np.asarray(classes) == pos_label)
        if matches.size == 0:
            raise ValueError(f"pos_label={pos_label!r} is not one of {list(classes)}.")
        column = int(matches[0])
        y_prob = estimator.predict_proba(X)[:, column]
        name = type(estimator).__name__ if name is None else name
        return cls.from_predictions(
            y,
            y_prob,
            n_bins=n_bins,
            strategy=strategy,
            pos_label=pos_label,
            eps=eps,
            name=name,
            ax=ax,
            ref_line=ref_line,
            show_counts=show_counts,
            **kwargs,
        )
