"""ROC curves over the folds of a grouped cross-validation, as a Display."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    RocCurveDisplay,
    auc,
    roc_curve,
)

from sklearn_deepfake.inspection._grouped_curve import _DOCS, _GroupedCurveDisplay
from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._plotting import check_axes

__all__ = ["GroupedROCDisplay"]


@fill_doc(_DOCS)
class GroupedROCDisplay(_GroupedCurveDisplay):
    """ROC curves of the folds of a (grouped) cross-validation, and their mean.

    Each fold is drawn with scikit-learn's
    :class:`~sklearn.metrics.RocCurveDisplay`; the mean curve averages the
    folds' true-positive rates on a common false-positive grid, with a band
    of one standard deviation, and its legend gives the mean and standard
    deviation of the folds' AUCs. Build one with :meth:`from_estimator`
    (runs a grouped :func:`~sklearn.model_selection.cross_val_predict`) or
    :meth:`from_predictions` (out-of-fold scores and fold ids).

    Parameters
    ----------
    fold_curves : list of tuple
        ``(fpr, tpr, roc_auc)`` of each fold.
    mean_curve : tuple
        ``(fpr, mean_tpr, std_tpr, mean_auc, std_auc)``.
    %(names_pos_label)s

    Attributes
    ----------
    %(ax_figure_)s
    fold_displays_ : list of sklearn.metrics.RocCurveDisplay
        One display per fold (empty when the folds are not drawn).
    %(mean_line_)s
    band_ : matplotlib PolyCollection
        Mean plus or minus one standard deviation.
    roc_aucs_ : ndarray of shape (n_folds,)
        AUC of each fold.

    Examples
    --------
    %(example_scores)s
    >>> from sklearn_deepfake.inspection import GroupedROCDisplay
    >>> disp = GroupedROCDisplay.from_predictions(y, score, folds=folds)
    >>> len(disp.fold_displays_), disp.roc_aucs_.shape
    (4, (4,))
    """

    _kind = "roc"
    # the shared constructors, listed here so that they are documented here
    from_predictions = _GroupedCurveDisplay.__dict__["from_predictions"]
    from_estimator = _GroupedCurveDisplay.__dict__["from_estimator"]

    @classmethod
    def _curves(cls, y: np.ndarray, s: np.ndarray, pos_label: Any) -> tuple:
        fpr, tpr, _ = roc_curve(y, s, pos_label=pos_label)
        return fpr, tpr, auc(fpr, tpr)

    @staticmethod
    def _mean(curves: list) -> tuple:
        grid = np.linspace(0, 1, 201)
        tprs = []
        for fpr, tpr, _ in curves:
            t = np.interp(grid, fpr, tpr)
            t[0] = 0.0
            tprs.append(t)
        tprs = np.array(tprs)
        mean = tprs.mean(axis=0)
        mean[-1] = 1.0
        aucs = np.array([c[2] for c in curves])
        return grid, mean, tprs.std(axis=0), aucs.mean(), aucs.std()

    @fill_doc(_DOCS)
    def plot(
        self,
        ax: Any = None,
        *,
        show_folds: bool = True,
        plot_chance_level: bool = True,
    ) -> GroupedROCDisplay:
        """Draw the curves.

        Parameters
        ----------
        %(ax)s
        %(show_folds)s
        plot_chance_level : bool, default=True
            Draw the diagonal of a random guess.

        Returns
        -------
        display : GroupedROCDisplay
            ``self``, with the attributes above set.
        """
        ax, fig = check_axes(ax)
        self.roc_aucs_ = np.array([c[2] for c in self.fold_curves])
        self._plot_folds(ax, RocCurveDisplay, ("fpr", "tpr", "roc_auc"), show_folds)
        grid, mean, std, mean_auc, std_auc = self.mean_curve
        label = self._mean_label(f"mean ROC (AUC = {mean_auc:.2f} ± {std_auc:.2f})")
        (self.mean_line_,) = ax.plot(grid, mean, color="C0", linewidth=2, label=label)
        self.band_ = ax.fill_between(
            grid,
            np.clip(mean - std, 0, 1),
            np.clip(mean + std, 0, 1),
            color="C0",
            alpha=0.15,
            label="± 1 std. dev.",
        )
        self.chance_level_ = None
        if plot_chance_level:
            (self.chance_level_,) = ax.plot(
                [0, 1], [0, 1], color="k", linestyle="--", linewidth=0.8
            )
        suffix = (
            "" if self.pos_label is None else f" (Positive label: {self.pos_label})"
        )
        ax.set(
            xlabel="False Positive Rate" + suffix,
            ylabel="True Positive Rate" + suffix,
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            aspect="equal",
        )
        return self._finish(ax, fig, "lower right")
