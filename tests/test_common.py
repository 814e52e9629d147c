"""Common tests run on every public estimator.

- All estimators: the data-free checks of scikit-learn, one at a time, and
  our per-video contract (``sklearn_deepfake.utils._testing``), because
  ``check_estimator`` skips estimators that do not take 2-D arrays.
- Dense-output steps: the full ``parametrize_with_checks`` suite.
- The contract checks themselves are tested on small toy estimators, each
  broken in one way, so that a check that cannot fail is noticed.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from sklearn_deepfake.utils import check_per_video
from sklearn_deepfake.utils._testing import (
    CONTRACT_CHECKS,
    DATA_FREE_CHECKS,
    SLOW_ESTIMATORS,
    _test_params,
    _tested_estimators,
    all_estimators,
    check_clone_of_fitted_is_unfitted,
    check_fit_does_not_mutate_params_or_input,
    check_fit_returns_self,
    check_in_pipeline_with_memory,
    check_not_fitted_error,
    check_one_output_per_video,
    check_pickle_round_trip,
    check_subset_and_order_invariance,
    contract_checks,
    make_contract_input,
    make_tiny_face_tracks,
    make_tiny_frame_features,
)


def _name(estimator):
    return type(estimator).__name__


def _marks(estimator):
    return [pytest.mark.slow] if _name(estimator) in SLOW_ESTIMATORS else []


ESTIMATORS = list(_tested_estimators())


# ---------------------------------------------------------------------------
# Coverage meta-test
# ---------------------------------------------------------------------------


def test_every_public_estimator_is_covered():
    discovered = {name for name, _ in all_estimators()}
    # The foundation step ships these; the list only grows.
    assert {"FrameSampler", "FaceCropper"} <= discovered
    missing = sorted(
        name for name, cls in all_estimators() if _test_params(cls) is None
    )
    assert not missing, (
        f"Give {missing} a classmethod _get_test_params() returning cheap "
        "constructor arguments (see CONTRIBUTING.md)."
    )
    assert {_name(e) for e in ESTIMATORS} == discovered


# ---------------------------------------------------------------------------
# scikit-learn's data-free checks, on every estimator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "estimator", [pytest.param(e, id=_name(e)) for e in ESTIMATORS]
)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks(estimator, check):
    with warnings.catch_warnings():
        # check_set_params warns when a parameter is validated in set_params.
        warnings.simplefilter("error", UserWarning)
        check(_name(estimator), clone(estimator))


@pytest.mark.parametrize(
    "estimator", [pytest.param(e, id=_name(e)) for e in ESTIMATORS]
)
def test_parameter_constraints(estimator):
    """scikit-learn's own check of ``_parameter_constraints``.

    Every constructor parameter has a constraint, and ``fit`` (and
    ``fit_transform``) reject a value of a wrong type or out of range with
    scikit-learn's ``InvalidParameterError`` before reading any data.
    """
    from sklearn.utils.estimator_checks import check_param_validation

    from sklearn_deepfake.utils._param_validation import ParamsValidationMixin

    assert isinstance(estimator, ParamsValidationMixin)
    assert set(estimator._parameter_constraints) == set(
        estimator.get_params(deep=False)
    )
    check_param_validation(_name(estimator), clone(estimator))


# ---------------------------------------------------------------------------
# Our per-video contract, on every estimator
# ---------------------------------------------------------------------------


def _contract_params():
    for estimator in ESTIMATORS:
        for check in contract_checks(estimator):
            yield pytest.param(
                estimator,
                check,
                id=f"{_name(estimator)}-{check.__name__}",
                marks=_marks(estimator),
            )


@pytest.mark.parametrize(("estimator", "check"), list(_contract_params()))
def test_per_video_contract(estimator, check, tiny_videos):
    X, y = make_contract_input(estimator, tiny_videos.paths)
    check(_name(estimator), estimator, X, y)


# ---------------------------------------------------------------------------
# Dense-output steps: the full scikit-learn suite
# ---------------------------------------------------------------------------


def _dense_estimators():
    """Estimators that also accept a 2-D array, so sklearn's checks apply.

    TemporalPooling reads a dense ``(n_videos, D)`` array as one frame per
    video, which reaches its dense side (``validate_data``,
    ``n_features_in_``, feature names, ``set_output``).
    """
    try:
        from sklearn_deepfake.features import TemporalPooling
    except ImportError:  # pragma: no cover - lands with the features step
        return []
    return [
        TemporalPooling(),
        TemporalPooling(stats=("mean",), quantiles=(0.5,), counts=False),
    ]


# Checks expected to fail, per class name, each with its reason. Empty:
# TemporalPooling passes every check on its dense input.
_EXPECTED_FAILED: dict[str, dict[str, str]] = {}


def _expected_failed_checks(estimator):
    return _EXPECTED_FAILED.get(_name(estimator), {})


@parametrize_with_checks(
    _dense_estimators(), expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_dense_estimator(estimator, check):
    check(estimator)


def test_dense_pipeline_grouped_cv():
    pytest.importorskip("sklearn_deepfake.features", exc_type=ImportError)
    from sklearn_deepfake.features import TemporalPooling

    X = make_tiny_frame_features(12, empty=(3,))
    y = np.arange(12) % 2
    groups = np.arange(12) // 2
    pipe = make_pipeline(TemporalPooling(), StandardScaler(), LogisticRegression())
    scores = cross_val_score(
        pipe, X, y, groups=groups, cv=GroupKFold(3), scoring="neg_log_loss"
    )
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))


# ---------------------------------------------------------------------------
# The contract checks can fail: toy estimators broken in one way each
# ---------------------------------------------------------------------------


class _Centre(TransformerMixin, BaseEstimator):
    """Subtract the mean frame of the training videos; a correct step."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def fit(self, X, y=None):
        X = check_per_video(X, ndim=2)
        self.offset_ = np.concatenate(X).mean(axis=0).astype(np.float32)
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = check_per_video(X, ndim=2)
        return [((x - self.offset_) * self.scale).astype(np.float32) for x in X]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags


class _FitReturnsNone(_Centre):
    def fit(self, X, y=None):
        super().fit(X, y)


class _NoFittedCheck(_Centre):
    def transform(self, X):
        offset = getattr(self, "offset_", 0.0)
        return [(x - offset).astype(np.float32) for x in X]


class _DropsEmptyVideos(_Centre):
    def transform(self, X):
        return [x for x in super().transform(X) if len(x)]


class _FlatEmptyVideos(_Centre):
    def transform(self, X):
        return [x if len(x) else np.zeros(0, np.float32) for x in super().transform(X)]


class _KeepsStateOnClone(_Centre):
    def __init__(self, scale=1.0):
        self.scale = scale
        self.cache_ = {}


class _ForgetsOnPickle(_Centre):
    def __setstate__(self, state):
        super().__setstate__(state)
        self.offset_ = np.zeros_like(self.offset_)


class _MutatesParams(_Centre):
    def fit(self, X, y=None):
        self.scale = self.scale * 2
        return super().fit(X, y)


class _MutatesInput(_Centre):
    def fit(self, X, y=None):
        X.reverse()
        return super().fit(X, y)


class _OrderDependent(_Centre):
    def transform(self, X):
        return [x + i for i, x in enumerate(super().transform(X))]


class _Unpicklable(_Centre):
    def fit(self, X, y=None):
        super().fit(X, y)
        self.hook_ = lambda x: x
        return self


def test_contract_checks_pass_on_correct_toy():
    X = make_tiny_frame_features(5)
    y = np.arange(5) % 2
    for check in CONTRACT_CHECKS:
        check("_Centre", _Centre(), X, y)


@pytest.mark.parametrize(
    ("estimator", "check", "match"),
    [
        (_FitReturnsNone(), check_fit_returns_self, "must return self"),
        (_NoFittedCheck(), check_not_fitted_error, "NotFittedError"),
        (_DropsEmptyVideos(), check_one_output_per_video, "4 outputs for 5"),
        (_FlatEmptyVideos(), check_one_output_per_video, "trailing shape"),
        (_KeepsStateOnClone(), check_clone_of_fitted_is_unfitted, "cache_"),
        (_ForgetsOnPickle(), check_pickle_round_trip, "after pickling"),
        (_MutatesParams(), check_fit_does_not_mutate_params_or_input, "scale"),
        (_MutatesInput(), check_fit_does_not_mutate_params_or_input, "input list"),
        (_OrderDependent(), check_subset_and_order_invariance, "reordered subset"),
    ],
    ids=lambda v: v.__name__ if callable(v) and hasattr(v, "__name__") else None,
)
def test_contract_check_catches_broken_toy(estimator, check, match):
    X = make_tiny_frame_features(5)
    y = np.arange(5) % 2
    with pytest.raises(AssertionError, match=match):
        check(_name(estimator), estimator, X, y)


def test_contract_pickle_check_reports_unpicklable_state():
    X = make_tiny_frame_features(3)
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        check_pickle_round_trip("_Unpicklable", _Unpicklable(), X, None)


def test_contract_pipeline_check_runs_memory_cache():
    X = make_tiny_frame_features(4)
    check_in_pipeline_with_memory("_Centre", _Centre(scale=2.0), X, None)


def test_make_tiny_face_tracks_subset_consistent():
    full = make_tiny_face_tracks(4, size=16, random_state=3)
    part = make_tiny_face_tracks(3, size=16, random_state=3)
    for a, b in zip(full, part):
        np.testing.assert_array_equal(a.crops, b.crops)
    assert [len(t) for t in full] == [3, 0, 5, 6]
    assert full[1].crops.shape == (0, 16, 16, 3)
    assert full[0].crops.dtype == np.uint8


def test_make_contract_input_kinds(tiny_videos):
    from sklearn_deepfake.utils import FramePlan

    kinds = {}
    for estimator in ESTIMATORS:
        X, y = make_contract_input(estimator, tiny_videos.paths)
        assert len(X) == len(y) >= 3
        assert set(y) == {0, 1}
        kinds[_name(estimator)] = type(X[0])
    assert kinds["FrameSampler"] is str
    assert kinds["FaceCropper"] is FramePlan
