"""What the per-fold curve Displays (ROC, DET) share: folds, scores, the mean."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from sklearn_deepfake.utils._docstrings import fill_doc
from sklearn_deepfake.utils._plotting import _PLOT_DOCS

#: Docstring entries of the per-fold curve Displays and their constructors.
_DOCS = {
    **_PLOT_DOCS,
    "names_pos_label": """fold_names : list of str
    Legend name of each fold.
name : str, default=None
    Name of the model.
pos_label : int, float, bool or str, default=None
    The positive class.""",
    "mean_line_": """mean_line_ : matplotlib Line2D
    The mean curve.""",
    "pos_label": """pos_label : int, float, bool or str, default=None
    The positive class; the larger label when None.""",
    "show_folds": """show_folds : bool, default=True
    Draw the per-fold curves as well as the mean.""",
    "display": """display : GroupedROCDisplay or GroupedDETDisplay
    The plotted display.""",
    # the start of both classes' examples
    "example_scores": """Out-of-fold scores of 40 samples in 4 folds:

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import numpy as np
>>> rng = np.random.RandomState(0)
>>> y = np.tile([0, 1], 20)
>>> score = y + rng.normal(scale=0.8, size=40)
>>> folds = np.arange(40) // 10""",
}


def _make_display(cls: type, name: str | None, **values: Any) -> Any:
    """Build a scikit-learn curve display whatever its name argument is called."""
    params = inspect.signature(cls.__init__).parameters
    key = "name" if "name" in params else "estimator_name"
    return cls(**values, **{key: name})


def _fold_ids(cv: Any, X: Any, y: Any, groups: Any) -> tuple[list, np.ndarray]:
    """Materialise the splits and each sample's test fold."""
    splits = list(cv.split(X, y, groups))
    folds = np.full(len(y), -1, dtype=int)
    for k, (_, test) in enumerate(splits):
        if np.any(folds[test] >= 0):
            raise ValueError("The cross-validation splits must not overlap.")
        folds[test] = k
    if np.any(folds < 0):
        raise ValueError(
            "Every sample must be in exactly one test fold (a partition, as "
            "GroupKFold makes)."
        )
    return splits, folds


def _positive_scores(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    groups: Any,
    cv: Any,
    method: str,
    pos_label: Any,
    n_jobs: int | None,
    params: dict | None,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """Out-of-fold scores of the positive class and each sample's fold."""
    y = np.asarray(y)
    if cv is None or isinstance(cv, int):
        n = 5 if cv is None else int(cv)
        cv = GroupKFold(n) if groups is not None else StratifiedKFold(n)
    splits, folds = _fold_ids(cv, X, y, groups)
    if method == "auto":
        method = (
            "predict_proba"
            if hasattr(estimator, "predict_proba")
            else "decision_function"
        )
    out = cross_val_predict(
        estimator,
        X,
        y,
        groups=groups,
        cv=splits,
        method=method,
        n_jobs=n_jobs,
        params=params,
    )
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(f"y must have two classes, got {len(classes)}.")
    if pos_label is None:
        pos_label = classes[1]
    if method == "predict_proba":
        score = out[:, int(np.flatnonzero(classes == pos_label)[0])]
    else:
        score = out if pos_label == classes[1] else -out
    return np.asarray(score, dtype=np.float64), folds, pos_label


class _GroupedCurveDisplay:
    """Shared logic of the per-fold curve displays."""

    _kind = ""

    def __init__(
        self,
        *,
        fold_curves: list,
        mean_curve: tuple,
        fold_names: list,
        name: str | None = None,
        pos_label: Any = None,
    ) -> None:
        self.fold_curves = fold_curves
        self.mean_curve = mean_curve
        self.fold_names = fold_names
        self.name = name
        self.pos_label = pos_label

    @classmethod
    def _curves(cls, y: np.ndarray, s: np.ndarray, pos_label: Any) -> tuple:
        raise NotImplementedError

    def _plot_folds(
        self, ax: Any, display: type, fields: tuple[str, ...], show_folds: bool
    ) -> None:
        """Draw each fold faintly with ``display``; set ``fold_displays_``.

        ``fields`` names the values of each tuple of ``fold_curves`` as
        ``display`` takes them.
        """
        self.fold_displays_ = []
        if not show_folds:
            return
        for curve, fold in zip(self.fold_curves, self.fold_names):
            values = dict(zip(fields, curve))
            disp = _make_display(display, fold, **values, pos_label=self.pos_label)
            disp.plot(ax=ax)
            # set afterwards: RocCurveDisplay.plot takes no line keywords
            # in every supported scikit-learn release
            lines = disp.line_ if isinstance(disp.line_, list) else [disp.line_]
            for line in lines:
                line.set_alpha(0.35)
                line.set_linewidth(1)
            self.fold_displays_.append(disp)

    def _mean_label(self, text: str) -> str:
        """Legend label of the mean curve: ``text``, after the model's name."""
        return f"{self.name}: {text}" if self.name else text

    def _finish(self, ax: Any, fig: Any, legend_loc: str) -> Any:
        """Draw the legend, keep the axes and figure, return ``self``."""
        ax.legend(loc=legend_loc, fontsize="small")
        self.ax_, self.figure_ = ax, fig
        return self

    @classmethod
    @fill_doc(_DOCS)
    def from_predictions(
        cls,
        y_true: Any,
        y_score: Any,
        *,
        folds: Any,
        pos_label: Any = None,
        name: str | None = None,
        ax: Any = None,
        show_folds: bool = True,
    ) -> Any:
        """Plot one curve per cross-validation fold and their mean.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            True labels.
        y_score : array-like of shape (n_samples,)
            Out-of-fold scores of the positive class (probabilities or
            decision values), for example from
            :func:`~sklearn.model_selection.cross_val_predict`.
        folds : array-like of shape (n_samples,)
            Test fold of each sample (any hashable ids).
        %(pos_label)s
        name : str, default=None
            Name of the model in the legend.
        %(ax)s
        %(show_folds)s

        Returns
        -------
        %(display)s
        """
        y = np.asarray(y_true).ravel()
        s = np.asarray(y_score, dtype=np.float64).ravel()
        folds = np.asarray(folds).ravel()
        if not len(y) == len(s) == len(folds):
            raise ValueError(
                f"y_true, y_score and folds have different lengths: "
                f"{len(y)}, {len(s)}, {len(folds)}."
            )
        if pos_label is None:
            classes = np.unique(y)
            if len(classes) > 2:
                raise ValueError(f"y_true must be binary, got {len(classes)} classes.")
            pos_label = classes[-1]
        fold_curves, fold_names = [], []
        for fold in np.unique(folds):
            mask = folds == fold
            if len(np.unique(y[mask])) < 2:
                raise ValueError(
                    f"Fold {fold} holds one class only; its curve is "
                    "undefined. Use fewer folds or StratifiedGroupKFold."
                )
            fold_curves.append(cls._curves(y[mask], s[mask], pos_label))
            fold_names.append(f"fold {fold}")
        disp = cls(
            fold_curves=fold_curves,
            mean_curve=cls._mean(fold_curves),
            fold_names=fold_names,
            name=name,
            pos_label=pos_label,
        )
        return disp.plot(ax=ax, show_folds=show_folds)

    @classmethod
    @fill_doc(_DOCS)
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any,
        *,
        groups: Any = None,
        cv: Any = None,
        method: str = "auto",
        pos_label: Any = None,
        n_jobs: int | None = None,
        params: dict | None = None,
        name: str | None = None,
        ax: Any = None,
        show_folds: bool = True,
    ) -> Any:
        """Cross-validate ``estimator`` by group and plot its curves.

        Parameters
        ----------
        estimator : estimator
            An unfitted binary classifier (or pipeline); it is cloned and
            fitted once per fold by
            :func:`~sklearn.model_selection.cross_val_predict`.
        X : list of video paths or any input of ``estimator``
            The samples.
        y : array-like of shape (n_samples,)
            Labels.
        groups : array-like of shape (n_samples,), default=None
            Group of each sample (the source video for DFDC, from
            :func:`~sklearn_deepfake.datasets.load_dfdc`).
        cv : int or cross-validation splitter, default=None
            A splitter whose test folds partition the samples. An int (5
            when None) means ``GroupKFold`` when ``groups`` is given, else
            ``StratifiedKFold``.
        method : {"auto", "predict_proba", "decision_function"}, default="auto"
            Scores to use; ``"auto"`` prefers ``predict_proba``.
        %(pos_label)s
        n_jobs : int, default=None
            Folds fitted in parallel.
        params : dict, default=None
            Routed to the estimator's ``fit`` (see scikit-learn's metadata
            routing).
        name : str, default=None
            Name in the legend; the estimator's class name when None.
        %(ax)s
        %(show_folds)s

        Returns
        -------
        %(display)s
        """
        if not is_classifier(estimator):
            raise TypeError(f"{type(estimator).__name__} is not a classifier.")
        score, folds, pos_label = _positive_scores(
            estimator,
            X,
            y,
            groups=groups,
            cv=cv,
            method=method,
            pos_label=pos_label,
            n_jobs=n_jobs,
            params=params,
        )
        if name is None:
            last = estimator[-1] if isinstance(estimator, Pipeline) else estimator
            name = type(last).__name__
        return cls.from_predictions(
            y,
            score,
            folds=folds,
            pos_label=pos_label,
            name=name,
            ax=ax,
            show_folds=show_folds,
        )
