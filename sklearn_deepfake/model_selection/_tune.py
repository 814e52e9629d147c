"""Tune any pipeline with Optuna: search spaces, grouped objective, pruning.

- :data:`SEARCH_SPACES` maps estimator class names to functions
  ``(trial, prefix) -> {param_path: value}``; :func:`suggest_params` walks a
  (nested) estimator and asks each step's function for its parameters, so
  ``classifier__estimator__C`` is found inside a
  :class:`~sklearn_deepfake.calibration.ClippedClassifier`.
- :func:`tune_pipeline` runs a study whose objective is the grouped
  cross-validated score of ``clone(pipeline).set_params(**params)``. Each
  fold's score is reported to the trial, so Optuna's pruners stop poor trials
  after a fold; studies live in SQLite by default and resume.
- :class:`OptunaPruningCallback` reports a skorch net's validation loss after
  each epoch. With ``pruning="epoch"``, :func:`tune_pipeline` appends one for
  the running trial to the ``callbacks`` parameter of every step that has
  one (the nets of :mod:`sklearn_deepfake.nets`), fold by fold, so the nets
  need to know nothing of Optuna and the callback travels with the estimator
  into worker processes.

Optuna is imported inside the functions; skorch is never imported here (the
callback follows skorch's callback protocol without subclassing it), so
importing :mod:`sklearn_deepfake.model_selection` stays cheap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, check_cv, cross_val_score

__all__ = [
    "DEFAULT_STORAGE",
    "SEARCH_SPACES",
    "OptunaPruningCallback",
    "TuneResult",
    "pruning_callbacks",
    "suggest_params",
    "tune_pipeline",
]

#: Storage of :func:`tune_pipeline` studies unless told otherwise: an SQLite
#: file in the current working folder.
DEFAULT_STORAGE = "sqlite:///sklearn_deepfake_study.db"

#: Steps reserved for each fold with ``pruning="epoch"``: epoch ``e`` of fold
#: ``f`` is reported at step ``f * EPOCH_STEPS + e - 1`` and the fold's score
#: at ``f * EPOCH_STEPS + EPOCH_STEPS - 1``.
EPOCH_STEPS = 1000

_PRUNING_MODES = ("fold", "epoch", None)


# ---------------------------------------------------------------------------
# search spaces
# ---------------------------------------------------------------------------


def _frame_sampler(trial: Any, prefix: str) -> dict[str, Any]:
    name = f"{prefix}n_frames"
    return {name: trial.suggest_categorical(name, [8, 16, 32])}


def _face_cropper(trial: Any, prefix: str) -> dict[str, Any]:
    margin, size = f"{prefix}margin", f"{prefix}size"
    return {
        margin: trial.suggest_float(margin, 0.1, 0.5, step=0.1),
        size: trial.suggest_categorical(size, [64, 128, 224]),
    }


#: ``TemporalPooling.stats`` choices (Optuna stores strings, not tuples).
_POOLING_STATS = ("mean", "mean+std", "mean+max", "mean+std+max+min")


def _temporal_pooling(trial: Any, prefix: str) -> dict[str, Any]:
    name = f"{prefix}stats"
    return {name: tuple(trial.suggest_categorical(name, _POOLING_STATS).split("+"))}


def _logistic_regression(trial: Any, prefix: str) -> dict[str, Any]:
    name = f"{prefix}C"
    return {name: trial.suggest_float(name, 1e-4, 1e2, log=True)}


def _clipped_classifier(trial: Any, prefix: str) -> dict[str, Any]:
    name = f"{prefix}eps"
    return {name: trial.suggest_float(name, 1e-3, 0.1, log=True)}


def _framewise(trial: Any, prefix: str) -> dict[str, Any]:
    agg, temp = f"{prefix}aggregation", f"{prefix}temperature"
    return {
        agg: trial.suggest_categorical(agg, ["mean", "median"]),
        temp: trial.suggest_float(temp, 0.8, 2.0),
    }


def _face_cnn(trial: Any, prefix: str) -> dict[str, Any]:
    names = {k: f"{prefix}{k}" for k in ("lr", "max_epochs", "weight_decay")}
    smoothing = f"{prefix}label_smoothing"
    return {
        names["lr"]: trial.suggest_float(names["lr"], 1e-5, 1e-2, log=True),
        names["max_epochs"]: trial.suggest_int(names["max_epochs"], 2, 20),
        names["weight_decay"]: trial.suggest_float(
            names["weight_decay"], 1e-5, 1e-1, log=True
        ),
        smoothing: trial.suggest_float(smoothing, 0.0, 0.2),
    }


def _video_cnn(trial: Any, prefix: str) -> dict[str, Any]:
    lr, epochs = f"{prefix}lr", f"{prefix}max_epochs"
    return {
        lr: trial.suggest_float(lr, 1e-5, 1e-2, log=True),
        epochs: trial.suggest_int(epochs, 2, 20),
    }


#: Default search space of each step, by class name (subclasses inherit it).
#: A function takes the Optuna trial and the step's parameter prefix (such as
#: ``"classifier__estimator__"``) and returns ``{prefix + param: value}``,
#: naming each Optuna parameter by its full ``set_params`` path. Add or
#: replace entries to change what :func:`suggest_params` tunes.
SEARCH_SPACES: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "FrameSampler": _frame_sampler,
    "FaceCropper": _face_cropper,
    "TemporalPooling": _temporal_pooling,
    "LogisticRegression": _logistic_regression,
    "ClippedClassifier": _clipped_classifier,
    "FramewiseClassifier": _framewise,
    "FaceCNNClassifier": _face_cnn,
    "VideoCNNClassifier": _video_cnn,
}


def _nested_estimators(estimator: Any) -> Iterator[tuple[str, Any]]:
    """``(prefix, estimator)`` for the estimator and every estimator inside."""
    yield "", estimator
    for name, value in estimator.get_params(deep=True).items():
        if hasattr(value, "get_params") and not isinstance(value, type):
            yield f"{name}__", value


def _suggest_one(trial: Any, name: str, spec: Any) -> Any:
    """Suggest ``name`` from a distribution, a list of choices or a callable."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if isinstance(spec, FloatDistribution):
        return trial.suggest_float(
            name, spec.low, spec.high, log=spec.log, step=spec.step
        )
    if isinstance(spec, IntDistribution):
        return trial.suggest_int(
            name, spec.low, spec.high, step=spec.step, log=spec.log
        )
    if isinstance(spec, CategoricalDistribution):
        return trial.suggest_categorical(name, list(spec.choices))
    if isinstance(spec, (list, tuple)):
        return trial.suggest_categorical(name, list(spec))
    if callable(spec):
        return spec(trial, name)
    raise TypeError(
        f"search space entry {name!r} must be an optuna distribution, a list of "
        f"choices or a callable (trial, name) -> value, got {spec!r}."
    )


def suggest_params(
    trial: Any,
    estimator: Any,
    space: Mapping[str, Any] | Callable[[Any, Any], dict] | None = None,
    *,
    registry: Mapping[str, Callable[[Any, str], dict]] | None = None,
) -> dict[str, Any]:
    """Draw one set of parameters for ``estimator`` from an Optuna trial.

    Parameters
    ----------
    trial : optuna.trial.Trial or optuna.trial.FixedTrial
        The trial that suggests the values.
    estimator : estimator
        Usually a :class:`~sklearn.pipeline.Pipeline`; only its parameter
        names and nested estimators are read.
    space : dict, callable or None, default=None
        ``None``: walk ``estimator`` and every estimator nested in it, and
        for each one whose class (or a base class) has an entry in
        ``registry``, call that entry with the trial and the step's prefix.
        A dict maps ``set_params`` paths (``"classifier__estimator__C"``) to
        an Optuna distribution (such as
        ``optuna.distributions.FloatDistribution(1e-3, 10, log=True)``), a
        list of choices, or a callable ``(trial, name) -> value``.
        A callable ``space(trial, estimator)`` returns the dict itself.
    registry : dict, default=None
        Class name -> ``(trial, prefix) -> dict``; :data:`SEARCH_SPACES`
        when None. Used only when ``space`` is None.

    Returns
    -------
    params : dict
        Ready for ``clone(estimator).set_params(**params)``.

    Raises
    ------
    ValueError
        When a parameter name is not a parameter of ``estimator``.

    Examples
    --------
    >>> import optuna
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_deepfake.calibration import ClippedClassifier
    >>> from sklearn_deepfake.model_selection import suggest_params
    >>> pipe = make_pipeline(StandardScaler(), ClippedClassifier(LogisticRegression()))
    >>> trial = optuna.trial.FixedTrial(
    ...     {"clippedclassifier__eps": 0.01, "clippedclassifier__estimator__C": 2.0}
    ... )
    >>> suggest_params(trial, pipe)  # doctest: +NORMALIZE_WHITESPACE
    {'clippedclassifier__eps': 0.01, 'clippedclassifier__estimator__C': 2.0}
    >>> space = {"clippedclassifier__estimator__C": [0.1, 1.0]}
    >>> fixed = optuna.trial.FixedTrial({"clippedclassifier__estimator__C": 1.0})
    >>> suggest_params(fixed, pipe, space)
    {'clippedclassifier__estimator__C': 1.0}
    """
    if space is None:
        registry = SEARCH_SPACES if registry is None else registry
        params: dict[str, Any] = {}
        for prefix, est in _nested_estimators(estimator):
            for klass in type(est).__mro__:
                if klass.__name__ in registry:
                    params.update(registry[klass.__name__](trial, prefix))
                    break
    elif isinstance(space, Mapping):
        _check_names(estimator, space)  # before any suggestion is recorded
        params = {name: _suggest_one(trial, name, spec) for name, spec in space.items()}
    elif callable(space):
        params = dict(space(trial, estimator))
    else:
        raise TypeError(
            f"space must be None, a dict or a callable, got {type(space).__name__}."
        )
    _check_names(estimator, params)
    return params


def _check_names(estimator: Any, names: Any) -> None:
    valid = estimator.get_params(deep=True)
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise ValueError(
            f"search space names unknown parameter(s) {unknown} of "
            f"{type(estimator).__name__}; see estimator.get_params()."
        )


# ---------------------------------------------------------------------------
# epoch-level pruning of skorch nets
# ---------------------------------------------------------------------------


class OptunaPruningCallback:
    """skorch callback: report a score after each epoch, prune if told to.

    After every epoch the value of ``monitor`` in the net's history is
    reported to ``trial``; when the study's pruner then says so, the callback
    raises :class:`optuna.TrialPruned`, which ends training and the trial.
    It follows skorch's callback protocol (``initialize``, the ``on_*``
    hooks, ``get_params``/``set_params``) without importing skorch, so it
    can be named in a net's ``callbacks`` like any
    :class:`skorch.callbacks.Callback`.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The running trial.
    monitor : str or None, default="valid_loss"
        Key of ``net.history`` to report (a column skorch fills each epoch).
        None: ``"valid_loss"`` when the net has a validation split (its
        history holds it), else ``"train_loss"``.
    negate : bool, default=False
        Report minus the value: use it when ``monitor`` is a loss and the
        study maximises (as the studies of :func:`tune_pipeline` do).
    step_offset : int, default=0
        Epoch ``e`` (1-based) is reported at step ``step_offset + e - 1``.

    See Also
    --------
    tune_pipeline : Hands one to every step with a ``callbacks`` parameter
        when ``pruning="epoch"``.

    Examples
    --------
    >>> import numpy as np, optuna, torch
    >>> from skorch import NeuralNetClassifier
    >>> from sklearn_deepfake.model_selection import OptunaPruningCallback
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> X = np.random.RandomState(0).randn(40, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> def objective(trial):
    ...     net = NeuralNetClassifier(
    ...         torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Softmax(dim=-1)),
    ...         max_epochs=5, lr=0.1, verbose=0,
    ...         callbacks=[("prune", OptunaPruningCallback(trial))],
    ...     ).fit(X, y)
    ...     return net.history[-1, "valid_loss"]
    >>> study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0))
    >>> study.optimize(objective, n_trials=1)
    >>> study.trials[0].state.name, sorted(study.trials[0].intermediate_values)
    ('PRUNED', [0])
    """

    def __init__(
        self,
        trial: Any,
        monitor: str = "valid_loss",
        *,
        negate: bool = False,
        step_offset: int = 0,
    ) -> None:
        self.trial = trial
        self.monitor = monitor
        self.negate = negate
        self.step_offset = step_offset

    def __sklearn_clone__(self) -> OptunaPruningCallback:
        """Return a copy that reports to the same trial (not a copy of it)."""
        return type(self)(**self.get_params())

    def initialize(self) -> OptunaPruningCallback:
        """Nothing to build; returns self (skorch protocol)."""
        return self

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters, for ``net.set_params(callbacks__NAME__monitor=...)``."""
        return {
            "trial": self.trial,
            "monitor": self.monitor,
            "negate": self.negate,
            "step_offset": self.step_offset,
        }

    def set_params(self, **params: Any) -> OptunaPruningCallback:
        """Set parameters; returns self."""
        for name, value in params.items():
            if name not in self.get_params():
                raise ValueError(f"Invalid parameter {name!r} for {self!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        return f"OptunaPruningCallback(monitor={self.monitor!r})"

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        """Report ``monitor`` of the epoch that ended; maybe prune."""
        import optuna

        history = net.history
        if not len(history):
            return
        monitor = self.monitor
        if monitor is None:
            monitor = "valid_loss" if "valid_loss" in history[-1] else "train_loss"
        try:
            value = float(history[-1, monitor])
        except KeyError:
            raise KeyError(
                f"OptunaPruningCallback: the net's history has no {monitor!r} "
                "(no validation split? set monitor='train_loss')."
            ) from None
        epoch = len(history)
        self.trial.report(
            -value if self.negate else value, self.step_offset + epoch - 1
        )
        if self.trial.should_prune():
            raise optuna.TrialPruned(
                f"pruned after epoch {epoch} ({monitor}={value:.4g})"
            )

    def on_train_begin(self, net: Any, **kwargs: Any) -> None:
        """Do nothing (skorch protocol)."""

    def on_train_end(self, net: Any, **kwargs: Any) -> None:
        """Do nothing (skorch protocol)."""

    def on_epoch_begin(self, net: Any, **kwargs: Any) -> None:
        """Do nothing (skorch protocol)."""

    def on_batch_begin(self, net: Any, **kwargs: Any) -> None:
        """Do nothing (skorch protocol)."""

    def on_batch_end(self, net: Any, **kwargs: Any) -> None:
        """Do nothing (skorch protocol)."""

    def on_grad_computed(self, net: Any, named_parameters: Any, **kwargs: Any) -> None:
        """Do nothing (skorch protocol)."""


@dataclasses.dataclass(frozen=True)
class _EpochPruning:
    trial: Any
    step_offset: int


_EPOCH_PRUNING: ContextVar[_EpochPruning | None] = ContextVar(
    "sklearn_deepfake_epoch_pruning", default=None
)


@contextlib.contextmanager
def _epoch_pruning(trial: Any, step_offset: int) -> Iterator[None]:
    token = _EPOCH_PRUNING.set(_EpochPruning(trial, step_offset))
    try:
        yield
    finally:
        _EPOCH_PRUNING.reset(token)


def _with_pruning(estimator: Any, trial: Any, step_offset: int) -> Any:
    """``estimator`` with an epoch-pruning callback added to each ``callbacks``.

    Every parameter named ``callbacks`` (``callbacks``, ``step__callbacks``,
    ...) whose value is None or a list gets ``("optuna_pruning",
    OptunaPruningCallback(trial, None, negate=True, step_offset=...))``
    appended; the estimator is returned unchanged when none does.
    """
    params = estimator.get_params(deep=True)
    update = {
        name: [
            *(value or []),
            (
                "optuna_pruning",
                OptunaPruningCallback(
                    trial, None, negate=True, step_offset=step_offset
                ),
            ),
        ]
        for name, value in params.items()
        if name.rsplit("__", 1)[-1] == "callbacks"
        and (value is None or isinstance(value, list))
    }
    if not update:
        return estimator
    return clone(estimator).set_params(**update)


def pruning_callbacks(monitor: str = "valid_loss") -> list[tuple[str, Any]]:
    """Named skorch callbacks for the trial being tuned, if any (deprecated).

    .. deprecated:: 0.1
        :func:`tune_pipeline` now hands the callback to every step with a
        ``callbacks`` parameter; give your estimator one (a list of
        ``(name, callback)`` added to its skorch net) instead of calling this
        hook. It will be removed in the next release.

    An estimator without a ``callbacks`` parameter may call this when it
    builds its skorch net and append the result to its callbacks. Inside a
    fold of :func:`tune_pipeline` with
    ``pruning="epoch"`` it returns ``[("optuna_pruning", callback)]``, an
    :class:`OptunaPruningCallback` that reports minus ``monitor`` after each
    epoch (the study maximises) at steps reserved for the fold (see
    ``EPOCH_STEPS``); elsewhere it returns ``[]``. The trial travels in
    a :class:`contextvars.ContextVar`, never in an estimator parameter, so
    ``clone`` and pickling are unaffected (each thread of ``n_jobs > 1``
    has its own trial).

    Parameters
    ----------
    monitor : str, default="valid_loss"
        History key to report.

    Returns
    -------
    callbacks : list of (str, callback)

    Examples
    --------
    >>> import warnings
    >>> from sklearn_deepfake.model_selection import pruning_callbacks
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", FutureWarning)
    ...     pruning_callbacks()  # no trial running
    []
    """
    warnings.warn(
        "pruning_callbacks is deprecated and will be removed in the next "
        "release: tune_pipeline(pruning='epoch') passes the pruning callback "
        "to every step with a `callbacks` parameter.",
        FutureWarning,
        stacklevel=2,
    )
    active = _EPOCH_PRUNING.get()
    if active is None:
        return []
    callback = OptunaPruningCallback(
        active.trial, monitor, negate=True, step_offset=active.step_offset
    )
    return [("optuna_pruning", callback)]


# ---------------------------------------------------------------------------
# tuning
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class TuneResult:
    """What :func:`tune_pipeline` found.

    Attributes
    ----------
    study : optuna.study.Study
        The study, with every trial (earlier runs included when resumed).
    best_params_ : dict
        ``set_params`` dictionary of the best trial.
    best_score_ : float
        Its mean cross-validated score (greater is better: minus the clipped
        log loss by default).
    best_estimator_ : estimator or None
        ``clone(pipeline).set_params(**best_params_)`` fitted on all the data,
        or None with ``refit=False``.
    cv_results_ : dict of lists
        One entry per finished trial: ``number``, ``state``, ``params``
        (``set_params`` dicts), ``mean_test_score``, ``std_test_score``,
        ``split<k>_test_score`` (NaN for folds a pruned trial did not run)
        and ``duration_s``.
    n_new_trials_ : int
        Trials run by this call (the rest were in the storage already).
    """

    study: Any
    best_params_: dict[str, Any]
    best_score_: float
    best_estimator_: Any
    cv_results_: dict[str, list]
    n_new_trials_: int


def _resolve_scoring(scoring: Any) -> Any:
    from sklearn.metrics import get_scorer

    from sklearn_deepfake.model_selection._scoring import clipped_neg_log_loss

    if scoring is None or scoring == "clipped_neg_log_loss":
        return clipped_neg_log_loss
    if isinstance(scoring, str):
        return get_scorer(scoring)
    if callable(scoring):
        return scoring
    raise ValueError(f"scoring must be None, a str or a callable, got {scoring!r}.")


def _splits(cv: Any, X: Any, y: Any, groups: Any) -> list[tuple[np.ndarray, ...]]:
    """Compute the folds once, so that every trial sees the same ones."""
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2, got {cv}.")
        if groups is not None:
            n_groups = len(np.unique(np.asarray(groups)))
            if n_groups < cv:
                raise ValueError(
                    f"cv={cv} folds need at least {cv} groups, got {n_groups}."
                )
            cv = GroupKFold(n_splits=int(cv))
    splitter = check_cv(cv, y, classifier=True)
    return [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y, groups)]


def _make_storage(storage: Any) -> Any:
    """Give an RDB URL a heartbeat, so that trials of a killed run get failed."""
    import optuna

    if storage is None or not isinstance(storage, str):
        return storage
    engine_kwargs = (
        {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else {}
    )
    storages = optuna.storages
    with warnings.catch_warnings():
        # The heartbeat is "experimental" (since Optuna 2.8), yet stable in use.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # optuna >= 4.9
            retry = {
                "heartbeat_stale_trial_callback": (
                    storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                )
            }
        else:
            retry = {
                "failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=1)
            }
        return storages.RDBStorage(
            storage,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=60,
            grace_period=180,
            **retry,
        )


def _default_study_name(estimator: Any, space: Any, n_samples: int) -> str:
    import joblib

    structure = [(p, type(e).__name__) for p, e in _nested_estimators(estimator)]
    if space is None:
        space_key: Any = "default"
    elif isinstance(space, Mapping):
        space_key = sorted(space)
    else:
        space_key = getattr(space, "__qualname__", type(space).__name__)
    return "sklearn-deepfake-" + joblib.hash((structure, space_key, n_samples))[:12]


_FINISHED = ("COMPLETE", "PRUNED", "FAIL")


def _n_finished(study: Any) -> int:
    return sum(t.state.name in _FINISHED for t in study.get_trials(deepcopy=False))


def _cv_results(study: Any, estimator: Any, space: Any, n_folds: int) -> dict:
    from optuna.trial import FixedTrial

    results: dict[str, list] = {
        "number": [],
        "state": [],
        "params": [],
        "mean_test_score": [],
        "std_test_score": [],
        **{f"split{k}_test_score": [] for k in range(n_folds)},
        "duration_s": [],
    }
    for t in study.get_trials(deepcopy=False):
        if t.state.name not in _FINISHED:
            continue
        scores = list(t.user_attrs.get("fold_scores", []))
        try:
            params = suggest_params(FixedTrial(t.params), estimator, space)
        except Exception:  # a trial that failed before suggesting everything
            params = dict(t.params)
        results["number"].append(t.number)
        results["state"].append(t.state.name)
        results["params"].append(params)
        done = t.state.name == "COMPLETE" and len(scores) == n_folds
        results["mean_test_score"].append(float(np.mean(scores)) if done else np.nan)
        results["std_test_score"].append(float(np.std(scores)) if done else np.nan)
        for k in range(n_folds):
            value = scores[k] if k < len(scores) else np.nan
            results[f"split{k}_test_score"].append(float(value))
        seconds = t.duration.total_seconds() if t.duration is not None else np.nan
        results["duration_s"].append(seconds)
    return results


@contextlib.contextmanager
def _optuna_verbosity(verbose: int) -> Iterator[None]:
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.INFO if verbose else logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


def tune_pipeline(
    pipeline: Any,
    X: Any,
    y: Any,
    groups: Any = None,
    *,
    n_trials: int = 20,
    timeout: float | None = None,
    n_jobs: int = 1,
    storage: Any = DEFAULT_STORAGE,
    study_name: str | None = None,
    space: Mapping[str, Any] | Callable[[Any, Any], dict] | None = None,
    cv: Any = 5,
    scoring: Any = None,
    sampler: Any = None,
    pruner: Any = None,
    pruning: str | None = "fold",
    catch: tuple[type[Exception], ...] = (Exception,),
    refit: bool = True,
    random_state: int | None = None,
    verbose: int = 0,
) -> TuneResult:
    """Tune a pipeline's parameters with Optuna on grouped cross-validation.

    Each trial draws parameters with :func:`suggest_params`, then fits and
    scores ``clone(pipeline).set_params(**params)`` on the folds one at a
    time (with :func:`~sklearn.model_selection.cross_val_score`); the trial's
    value is the mean fold score. Every trial uses the same folds, computed
    once from ``groups`` (a fake and its original never on both sides).

    A study stored in a database resumes: ``n_trials`` is the number of
    finished trials (complete, pruned or failed) the study should hold, so
    calling again after an interruption runs only the missing ones, and
    trials already finished are kept. A trial left running by a killed
    process is marked failed (and its parameters tried once more) by
    Optuna's heartbeat after 3 minutes, when the study is used again.

    Parameters
    ----------
    pipeline : estimator
        Unfitted estimator, usually a
        :class:`~sklearn.pipeline.Pipeline`; it is never fitted itself.
    X : sequence
        Training data (for example video paths).
    y : array-like of shape (n_samples,)
        Labels.
    groups : array-like of shape (n_samples,), default=None
        Group of each sample (the source video of a fake). With an int
        ``cv`` the folds are ``GroupKFold(cv)``; without groups,
        ``StratifiedKFold(cv)``.
    n_trials : int, default=20
        Finished trials wanted in the study, counting earlier runs.
    timeout : float, default=None
        Stop starting trials after this many seconds.
    n_jobs : int, default=1
        Trials run in parallel threads (Optuna's ``n_jobs``).
    storage : str, optuna storage or None, default=DEFAULT_STORAGE
        Where the study lives: a database URL (default
        ``"sqlite:///sklearn_deepfake_study.db"``, a file in the current
        folder), an :mod:`optuna.storages` object, or None for memory only
        (nothing resumes).
    study_name : str, default=None
        Name of the study in the storage; created if absent, loaded and
        continued otherwise. None derives a name from the pipeline's
        structure, the search space and the number of samples.
    space : dict, callable or None, default=None
        Search space, see :func:`suggest_params` (None: each step's entry in
        :data:`SEARCH_SPACES`).
    cv : int or cross-validation generator, default=5
        Folds.
    scoring : str or callable, default=None
        Greater is better. None: minus the log loss clipped at ``1e-3``
        (:data:`~sklearn_deepfake.model_selection.clipped_neg_log_loss`).
    sampler : optuna.samplers.BaseSampler, default=None
        None: ``TPESampler(seed=random_state)``.
    pruner : optuna.pruners.BasePruner, default=None
        None: Optuna's default (``MedianPruner``).
    pruning : {"fold", "epoch"} or None, default="fold"
        What is reported to the pruner. ``"fold"``: each fold's score, at
        step ``k`` for fold ``k``. ``"epoch"``: also the validation loss of
        each epoch of neural estimators that take
        an :class:`OptunaPruningCallback` (negated), which is appended to the
        ``callbacks`` of every step that has that parameter (the nets), at
        steps reserved for each fold (``EPOCH_STEPS``). None: nothing, no pruning.
    catch : tuple of exception types, default=(Exception,)
        A trial raising one of these is marked failed and the study goes on.
    refit : bool, default=True
        Fit the best parameters on all the data into ``best_estimator_``.
    random_state : int, default=None
        Seed of the default sampler.
    verbose : int, default=0
        ``> 0`` keeps Optuna's log line per trial.

    Returns
    -------
    result : TuneResult
        ``study``, ``best_params_``, ``best_score_``, ``best_estimator_``,
        ``cv_results_`` and ``n_new_trials_``.

    Raises
    ------
    RuntimeError
        When no trial of the study completed (the last error is named).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_deepfake.model_selection import tune_pipeline
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(60, 3)
    >>> y = (X[:, 0] + 0.5 * rng.randn(60) > 0).astype(int)
    >>> groups = np.arange(60) // 2
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression())
    >>> result = tune_pipeline(pipe, X, y, groups, n_trials=5, cv=3,
    ...                        storage=None, random_state=0)
    >>> len(result.study.trials), sorted(result.best_params_)
    (5, ['logisticregression__C'])
    >>> result.best_estimator_.predict(X[:4]).shape
    (4,)
    """
    import optuna

    if not isinstance(n_trials, numbers.Integral) or n_trials < 1:
        raise ValueError(f"n_trials must be an int >= 1, got {n_trials!r}.")
    if pruning not in _PRUNING_MODES:
        raise ValueError(f"pruning must be one of {_PRUNING_MODES}, got {pruning!r}.")
    if groups is not None and len(groups) != len(X):
        raise ValueError(f"groups has {len(groups)} entries for {len(X)} samples.")
    scorer = _resolve_scoring(scoring)
    splits = _splits(cv, X, y, groups)
    n_folds = len(splits)
    if study_name is None:
        study_name = _default_study_name(pipeline, space, len(X))
    if sampler is None:
        sampler = optuna.samplers.TPESampler(seed=random_state)

    def objective(trial: Any) -> float:
        from sklearn_deepfake.utils._routing import _groups_fit_params

        params = suggest_params(trial, pipeline, space)
        estimator = clone(pipeline).set_params(**params)
        # the steps that split inside fit (a net's early stopping) get the
        # groups too, sliced to each training fold by cross_val_score
        fit_params = _groups_fit_params(estimator, groups)
        scores: list[float] = []
        try:
            for fold, split in enumerate(splits):
                offset = fold * EPOCH_STEPS
                fold_estimator = estimator
                context: Any = contextlib.nullcontext()
                if pruning == "epoch":
                    fold_estimator = _with_pruning(estimator, trial, offset)
                    context = _epoch_pruning(trial, offset)
                with context:
                    score = cross_val_score(
                        fold_estimator,
                        X,
                        y,
                        cv=[split],
                        scoring=scorer,
                        error_score="raise",
                        params=fit_params,
                    )[0]
                scores.append(float(score))
                trial.set_user_attr("fold_scores", scores)
                if pruning is None:
                    continue
                step = fold if pruning == "fold" else offset + EPOCH_STEPS - 1
                trial.report(float(score), step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {fold + 1}")
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            trial.set_user_attr("error", f"{type(exc).__name__}: {message}"[:500])
            raise
        return float(np.mean(scores))

    with _optuna_verbosity(verbose):
        study = optuna.create_study(
            storage=_make_storage(storage),
            study_name=study_name,
            sampler=sampler,
            pruner=pruner,
            direction="maximize",
            load_if_exists=True,
        )
        remaining = n_trials - _n_finished(study)
        before = len(study.get_trials(deepcopy=False))
        if remaining > 0:
            study.optimize(
                objective,
                n_trials=remaining,
                timeout=timeout,
                n_jobs=n_jobs,
                catch=catch,
                callbacks=[
                    optuna.study.MaxTrialsCallback(
                        n_trials,
                        states=tuple(
                            getattr(optuna.trial.TrialState, s) for s in _FINISHED
                        ),
                    )
                ],
            )
        n_new = len(study.get_trials(deepcopy=False)) - before

    completed = study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
    )
    if not completed:
        failed = [
            t for t in study.get_trials(deepcopy=False) if "error" in t.user_attrs
        ]
        last = f"; last error: {failed[-1].user_attrs['error']}" if failed else ""
        raise RuntimeError(
            f"no trial of study {study_name!r} completed "
            f"({len(study.trials)} trial(s){last})."
        )
    best = study.best_trial
    best_params = suggest_params(optuna.trial.FixedTrial(best.params), pipeline, space)
    best_estimator = None
    if refit:
        from sklearn_deepfake.utils._routing import _groups_fit_params

        best_estimator = clone(pipeline).set_params(**best_params)
        best_estimator.fit(X, y, **_groups_fit_params(best_estimator, groups))
    return TuneResult(
        study=study,
        best_params_=best_params,
        best_score_=float(best.value),
        best_estimator_=best_estimator,
        cv_results_=_cv_results(study, pipeline, space, n_folds),
        n_new_trials_=n_new,
    )
