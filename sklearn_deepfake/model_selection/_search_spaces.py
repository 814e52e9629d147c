"""Search spaces of the estimators and :func:`suggest_params`, which walks them.

Each estimator of the library carries its default search space as a
classmethod ``_search_space(trial, prefix) -> {param_path: value}``, next to
its ``_parameter_constraints``. :data:`SEARCH_SPACES` maps class names to
functions of the same form, for estimators from other libraries
(``LogisticRegression``) and for users who want to replace a default; an
entry there wins over the class's own space. :func:`suggest_params` walks a
(nested) estimator and asks each step for its parameters, so
``classifier__estimator__C`` is found inside a
:class:`~sklearn_deepfake.calibration.ClippedClassifier`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["SEARCH_SPACES", "suggest_params"]


def _logistic_regression(trial: Any, prefix: str) -> dict[str, Any]:
    name = f"{prefix}C"
    return {name: trial.suggest_float(name, 1e-4, 1e2, log=True)}


#: Search spaces by class name, for estimators that do not carry their own
#: ``_search_space`` (those of other libraries) and to replace a class's own
#: space: an entry here wins over it, for the class and its subclasses. A
#: function takes the Optuna trial and the step's parameter prefix (such as
#: ``"classifier__estimator__"``) and returns ``{prefix + param: value}``,
#: naming each Optuna parameter by its full ``set_params`` path. The
#: library's own estimators keep their default space in their class.
SEARCH_SPACES: dict[str, Callable[[Any, str], dict[str, Any]]] = {
    "LogisticRegression": _logistic_regression,
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
        ``registry`` or defines ``_search_space``, call it with the trial
        and the step's prefix.
        A dict maps ``set_params`` paths (``"classifier__estimator__C"``) to
        an Optuna distribution (such as
        ``optuna.distributions.FloatDistribution(1e-3, 10, log=True)``), a
        list of choices, or a callable ``(trial, name) -> value``.
        A callable ``space(trial, estimator)`` returns the dict itself.
    registry : dict, default=None
        Class name -> ``(trial, prefix) -> dict``; :data:`SEARCH_SPACES`
        when None. Its entries win over the classes' own ``_search_space``.
        Used only when ``space`` is None.

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
            step_space = _step_space(type(est), registry)
            if step_space is not None:
                params.update(step_space(trial, prefix))
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


def _step_space(
    klass: type, registry: Mapping[str, Callable[[Any, str], dict]]
) -> Callable[[Any, str], dict] | None:
    """Return the search space of ``klass``: a registry entry, else its own.

    The class and its bases are searched in method-resolution order; at each
    one a registry entry wins over a ``_search_space`` the class defines.
    """
    for base in klass.__mro__:
        if base.__name__ in registry:
            return registry[base.__name__]
        if "_search_space" in vars(base):
            return getattr(klass, "_search_space")
    return None


def _check_names(estimator: Any, names: Any) -> None:
    valid = estimator.get_params(deep=True)
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise ValueError(
            f"search space names unknown parameter(s) {unknown} of "
            f"{type(estimator).__name__}; see estimator.get_params()."
        )
