"""DET curves over the folds of a grouped cross-validation, as a Display."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    DetCurveDisplay,
    det_curve,
)

from sklearn_deepfake.inspection._grouped_curve import _DOCS, _GroupedCurveDisplay
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._plotting import check_axes
from sklearn_deepfake.utils._proba import clip_values

__all__ = ["GroupedDETDisplay"]


@fill_doc(_DOCS)
class GroupedDETDisplay(_GroupedCurveDisplay):
    """DET curves of the folds of a (grouped) cross-validation, and their mean.

    A detection error tradeoff curve plots the false negative rate against
    the false positive rate on normal-deviate scales, which spreads out the
    low-error region where detectors are compared. Each fold is drawn with
    scikit-learn's :class:`~sklearn.metrics.DetCurveDisplay`; the mean curve
    averages the folds' false-negative rates on a common false-positive
    grid. Build one with :meth:`from_estimator` or :meth:`from_predictions`,
    as for :class:`GroupedROCDisplay`.

    Parameters
    ----------
    fold_curves : list of tuple
        ``(fpr, fnr)`` of each fold.
    mean_curve : tuple
        ``(fpr, mean_fnr)``.
    %(names_pos_label)s

    Attributes
    ----------
    %(ax_figure_)s
    fold_displays_ : list of sklearn.metrics.DetCurveDisplay
        One display per fold (empty when the folds are not drawn).
    %(mean_line_)s

    Examples
    --------
    %(example_scores)s
    >>> from sklearn_deepfake.inspection import GroupedDETDisplay
    >>> disp = GroupedDETDisplay.from_predictions(y, score, folds=folds)
    >>> len(disp.fold_displays_)
    4
    """

    _kind = "det"
    from_predictions = _GroupedCurveDisplay.__dict__["from_predictions"]
    from_estimator = _GroupedCurveDisplay.__dict__["from_estimator"]

    @classmethod
    def _curves(cls, y: np.ndarray, s: np.ndarray, pos_label: Any) -> tuple:
        fpr, fnr, _ = det_curve(y, s, pos_label=pos_label)
        return fpr, fnr

    @staticmethod
    def _mean(curves: list) -> tuple:
        grid = np.linspace(0, 1, 201)
        fnrs = []
        for fpr, fnr in curves:
            order = np.lexsort((-fnr, fpr))  # vertical steps: high fnr first
            fnrs.append(np.interp(grid, fpr[order], fnr[order]))
        return grid, np.mean(fnrs, axis=0)

    @fill_doc(_DOCS)
    def plot(self, ax: Any = None, *, show_folds: bool = True) -> GroupedDETDisplay:
        """Draw the curves.

        Parameters
        ----------
        %(ax)s
        %(show_folds)s

        Returns
        -------
        display : GroupedDETDisplay
            ``self``, with the attributes above set.
        """
        from scipy.stats import norm

        ax, fig = check_axes(ax)
        self._plot_folds(ax, DetCurveDisplay, ("fpr", "fnr"), show_folds)
        grid, mean = self.mean_curve
        tiny = np.finfo(np.float64).eps
        (self.mean_line_,) = ax.plot(
            norm.ppf(clip_values(grid, tiny)),
            norm.ppf(clip_values(mean, tiny)),
            color="C0",
            linewidth=2,
            label=self._mean_label("mean DET"),
        )
        if not show_folds:  # DetCurveDisplay sets ticks and labels otherwise
            ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999]
            ax.set_xticks(norm.ppf(ticks), [f"{t:.1%}" for t in ticks])
            ax.set_yticks(norm.ppf(ticks), [f"{t:.1%}" for t in ticks])
            ax.set(
                xlim=(-3, 3),
                ylim=(-3, 3),
                xlabel="False Positive Rate",
                ylabel="False Negative Rate",
            )
        return self._finish(ax, fig, "upper right")
