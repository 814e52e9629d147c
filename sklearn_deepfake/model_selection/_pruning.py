"""Epoch-level pruning of skorch nets during :func:`tune_pipeline`.

:class:`OptunaPruningCallback` reports a skorch net's validation loss after
each epoch. With ``pruning="epoch"``, :func:`tune_pipeline` appends one for
the running trial to the ``callbacks`` parameter of every step that has
one (the nets of :mod:`sklearn_deepfake.nets`), fold by fold, so the nets
need to know nothing of Optuna and the callback travels with the estimator
into worker processes. skorch is never imported here: the callback follows
skorch's callback protocol without subclassing it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sklearn.base import clone

__all__ = ["OptunaPruningCallback", "pruning_callbacks"]

#: Steps reserved for each fold with ``pruning="epoch"``: epoch ``e`` of fold
#: ``f`` is reported at step ``f * EPOCH_STEPS + e - 1`` and the fold's score
#: at ``f * EPOCH_STEPS + EPOCH_STEPS - 1``.
EPOCH_STEPS = 1000


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
