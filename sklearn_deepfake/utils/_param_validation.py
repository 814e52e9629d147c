"""scikit-learn's parameter validation, reached through this one module.

Estimators declare their constructor parameters in a class attribute
``_parameter_constraints`` (the same format as scikit-learn's and
imbalanced-learn's) and inherit :class:`ParamsValidationMixin`, whose
``_validate_params()`` checks them with scikit-learn's own
``validate_parameter_constraints`` and then runs the estimator's
``_check_params()`` for the rules that tie parameters together. ``fit``
calls ``self._validate_params()`` first, so a bad value fails before any
video is opened, with scikit-learn's message (``The 'n_frames' parameter of
FrameSampler must be an int in the range [1, inf). Got 0 instead.``) and an
:class:`InvalidParameterError`, which is both a ``ValueError`` and a
``TypeError``.

The constraint classes live in a private scikit-learn module
(``sklearn.utils._param_validation``); this module is the only place that
imports it, as imbalanced-learn does through its compatibility module, so
that a change there is mended here once.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    make_constraint,
    validate_parameter_constraints,
)

__all__ = [
    "HasMethods",
    "Hidden",
    "Integral",
    "Interval",
    "InvalidParameterError",
    "Options",
    "ParamsValidationMixin",
    "Real",
    "RealNotInt",
    "StrOptions",
    "validate_parameter_constraints",
]


def _reject_bools_as_numbers(
    constraints: dict[str, Any], params: dict[str, Any], caller: str
) -> None:
    """Refuse ``True``/``False`` where a number is asked for.

    scikit-learn's ``Interval(Integral, ...)`` accepts a bool (it is an int
    to Python); ``n_frames=True`` is a mistake, not one frame. A parameter
    whose constraints name ``"boolean"`` or ``bool`` still takes bools.
    """
    for name, value in params.items():
        rules = constraints.get(name, "no_validation")
        if not isinstance(value, (bool, np.bool_)) or rules == "no_validation":
            continue
        if "boolean" in rules or bool in rules:
            continue
        if any(isinstance(rule, Interval) for rule in rules):
            allowed = [str(make_constraint(rule)) for rule in rules]
            raise InvalidParameterError(
                f"The {name!r} parameter of {caller} must be "
                f"{' or '.join(allowed)}, not a bool. Got {value!r} instead."
            )


class ParamsValidationMixin:
    """Validate ``_parameter_constraints`` once, at the start of ``fit``.

    Subclasses set ``_parameter_constraints`` (one entry per constructor
    parameter; ``"no_validation"`` for values of any type) and may override
    :meth:`_check_params` for checks that involve several parameters or that
    the constraint language cannot say. Unlike scikit-learn, a bool is
    refused where only numbers are allowed.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from sklearn_deepfake.utils._param_validation import (
    ...     Integral, Interval, ParamsValidationMixin)
    >>> class Step(ParamsValidationMixin, BaseEstimator):
    ...     _parameter_constraints = {"n": [Interval(Integral, 1, None, closed="left")]}
    ...     def __init__(self, n=1):
    ...         self.n = n
    >>> try:
    ...     Step(n=0)._validate_params()
    ... except ValueError as error:
    ...     print(error)
    The 'n' parameter of Step must be an int in the range [1, inf). Got 0 instead.
    """

    _parameter_constraints: ClassVar[dict[str, Any]] = {}

    def _validate_params(self) -> None:
        """Check every constructor parameter, then :meth:`_check_params`."""
        params = self.get_params(deep=False)  # type: ignore[attr-defined]
        caller = type(self).__name__
        validate_parameter_constraints(
            self._parameter_constraints, params, caller_name=caller
        )
        _reject_bools_as_numbers(self._parameter_constraints, params, caller)
        self._check_params()

    def _check_params(self) -> None:
        """Check rules across parameters; none by default."""
