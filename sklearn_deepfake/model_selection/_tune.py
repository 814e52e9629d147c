"""Tune any pipeline with Optuna: the grouped cross-validated objective.

:func:`tune_pipeline` runs a study whose objective is the grouped
cross-validated score of ``clone(pipeline).set_params(**params)``, with the
parameters of :func:`~sklearn_deepfake.model_selection.suggest_params`. Each
fold's score is reported to the trial, so Optuna's pruners stop poor trials
after a fold; with ``pruning="epoch"`` the nets are pruned after an epoch
too (see ``_pruning.py``). Studies live in SQLite by default and resume (see
``_storage.py``).

Optuna is imported inside the functions, so importing
:mod:`sklearn_deepfake.model_selection` stays cheap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, check_cv, cross_val_score

from sklearn_deepfake.model_selection._pruning import (
    EPOCH_STEPS,
    _epoch_pruning,
    _with_pruning,
)
from sklearn_deepfake.model_selection._search_spaces import suggest_params
from sklearn_deepfake.model_selection._storage import (
    DEFAULT_STORAGE,
    _default_study_name,
    _make_storage,
)

__all__ = ["TuneResult", "tune_pipeline"]

_PRUNING_MODES = ("fold", "epoch", None)


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
