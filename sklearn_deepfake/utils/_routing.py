"""Hand a fit's ``groups`` to the steps that split inside ``fit``.

Used by the meta-estimators, the tuner and the command line alike, so it sits
at the bottom of the package.
"""

from __future__ import annotations

import inspect
from typing import Any

from sklearn.pipeline import Pipeline


def _takes_groups(estimator: Any) -> bool:
    """Whether ``estimator.fit`` has a ``groups`` parameter."""
    fit = getattr(estimator, "fit", None)
    if fit is None:
        return False
    try:
        return "groups" in inspect.signature(fit).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False


def _request_groups(classifier: Any) -> None:
    """Ask for ``groups`` in ``classifier.fit`` when metadata routing is on."""
    from sklearn import get_config

    if get_config().get("enable_metadata_routing", False):
        classifier.set_fit_request(groups=True)


def _groups_fit_params(estimator: Any, groups: Any) -> dict[str, Any]:
    """Fit parameters that hand ``groups`` to every step that splits.

    Without metadata routing, the result names each step (of a
    :class:`~sklearn.pipeline.Pipeline`, nested ones included) whose ``fit``
    takes ``groups``: ``{"classifier__groups": groups}`` for the
    ``self-blended`` preset, ``{"groups": groups}`` for an estimator that
    takes them itself, ``{}`` when none does. With metadata routing on, it is
    ``{"groups": groups}`` when a step requests them
    (``set_fit_request(groups=True)``), else ``{}``. Pass the result to
    ``fit(X, y, **params)`` or as ``params=`` of
    :func:`~sklearn.model_selection.cross_validate` (which slices it per
    fold).

    Parameters
    ----------
    estimator : estimator or Pipeline
        What will be fitted.
    groups : array-like of shape (n_samples,) or None
        Group of each sample (a fake shares its original's group).

    Returns
    -------
    params : dict
        Empty when ``groups`` is None.

    Examples
    --------
    >>> from sklearn_deepfake import make_default_pipeline
    >>> from sklearn_deepfake.utils._routing import _groups_fit_params
    >>> pipe = make_default_pipeline(preset="self-blended")
    >>> list(_groups_fit_params(pipe, [0, 0, 1]))
    ['classifier__groups']
    >>> _groups_fit_params(make_default_pipeline(), [0, 0, 1])
    {}
    """
    from sklearn import get_config

    if groups is None:
        return {}
    if get_config().get("enable_metadata_routing", False):
        from sklearn.utils.metadata_routing import get_routing_for_object

        routing = get_routing_for_object(estimator)
        return {"groups": groups} if routing.consumes("fit", ["groups"]) else {}
    if isinstance(estimator, Pipeline):
        out: dict[str, Any] = {}
        for name, step in estimator.steps:
            if step is None or isinstance(step, str):
                continue
            for key, value in _groups_fit_params(step, groups).items():
                out[f"{name}__{key}"] = value
        return out
    return {"groups": groups} if _takes_groups(estimator) else {}
