import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfake.features import (
    FaceContextFeatures,
    ScorePooling,
    TemporalPooling,
    pool_scores,
)
from sklearn_deepfake.utils._testing import make_synthetic_tracks


def _ragged(seed=0, n_videos=6, d=3, empty=(2,)):
    rng = np.random.default_rng(seed)
    X = []
    for i in range(n_videos):
        n = 0 if i in empty else int(rng.integers(1, 6))
        X.append(rng.normal(size=(n, d)).astype(np.float32))
    return X


def test_pooling_values_and_names():
    X = [np.array([[0.0, 10.0], [2.0, 30.0], [4.0, 20.0]]), np.zeros((0, 2))]
    pool = TemporalPooling(stats=("mean", "std", "max", "min"), quantiles=(0.5,))
    out = pool.fit(X).transform(X)
    names = list(pool.get_feature_names_out())
    assert names == [
        "mean_f0", "mean_f1", "std_f0", "std_f1", "max_f0", "max_f1",
        "min_f0", "min_f1", "q50_f0", "q50_f1", "n_rows", "has_face",
    ]  # fmt: skip
    expected = [2, 20, np.sqrt(8 / 3), np.sqrt(200 / 3), 4, 30, 0, 10, 2, 20, 3, 1]
    np.testing.assert_allclose(out[0], expected)
    # the empty video gets the training means of the statistics, has_face=0
    np.testing.assert_allclose(out[1], [*expected[:10], 0, 0])
    assert out.shape == (2, pool.n_features_out_)


def test_pooling_empty_fill_constant_and_all_empty_fit():
    X = [np.zeros((0, 2)), np.ones((2, 2))]
    out = TemporalPooling(stats=("mean",), empty_fill=-1.0).fit_transform(X)
    np.testing.assert_array_equal(out, [[-1, -1, 0, 0], [1, 1, 2, 1]])
    only_empty = TemporalPooling(stats=("mean",)).fit([np.zeros((0, 2))])
    np.testing.assert_array_equal(only_empty.fill_values_, [0, 0])


def test_pooling_accepts_1d_scores_and_object_array():
    X = np.empty(3, dtype=object)
    X[:] = [np.array([0.2, 0.4]), np.array([0.9]), np.array([])]
    pool = TemporalPooling(stats=("mean", "max"), counts=False).fit(X)
    np.testing.assert_allclose(pool.transform(X), [[0.3, 0.4], [0.9, 0.9], [0.6, 0.65]])


def test_pooling_dense_input_is_one_frame_per_video():
    X = np.arange(6.0).reshape(3, 2)
    out = TemporalPooling(stats=("mean", "std")).fit_transform(X)
    np.testing.assert_array_equal(out[:, :2], X)
    np.testing.assert_array_equal(out[:, 2:4], 0)
    np.testing.assert_array_equal(out[:, 4:], [[1, 1]] * 3)


def test_pooling_feature_names_param_and_pandas_output():
    X = _ragged()
    pool = TemporalPooling(stats=("max",), feature_names=["a", "b", "c"])
    df = pool.set_output(transform="pandas").fit_transform(X)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["max_a", "max_b", "max_c", "n_rows", "has_face"]
    assert len(df) == len(X)
    names = pool.get_feature_names_out(["x", "y", "z"])
    assert names[0] == "max_x"
    with pytest.raises(ValueError, match="feature_names has 2 names"):
        TemporalPooling(feature_names=["a", "b"]).fit(X)


def test_pooling_contract():
    X = _ragged()
    est = TemporalPooling(quantiles=(0.25, 0.75))
    with pytest.raises(NotFittedError):
        clone(est).transform(X)
    params = est.get_params()
    X_copy = [x.copy() for x in X]
    assert est.fit(X) is est
    assert est.get_params() == params
    for a, b in zip(X, X_copy):
        np.testing.assert_array_equal(a, b)
    out = est.transform(X)
    assert out.shape == (len(X), est.n_features_out_)
    assert np.isfinite(out).all()
    # order / subset invariance
    np.testing.assert_allclose(est.transform(X[::-1])[::-1], out)
    np.testing.assert_allclose(est.transform(X[3:]), out[3:])
    # pickling and clone
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(X), out)
    assert not hasattr(clone(est), "fill_values_")
    # refit discards the previous state
    est.fit([x[:, :2] for x in X])
    assert est.n_features_in_ == 2


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        ([np.ones((2, 3)), np.ones((2, 2))], ValueError, "same number of columns"),
        ([np.ones((2, 3)), np.full((1, 3), np.nan)], ValueError, r"X\[1\].*NaN"),
        ([np.ones((2, 3)), np.ones((2, 3, 1))], ValueError, r"X\[1\]"),
        ([np.ones((2, 3)), np.array([["a", "b", "c"]])], ValueError, "numeric"),
        ([], ValueError, "no videos"),
    ],
)
def test_pooling_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        TemporalPooling().fit(X)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"stats": ("mean", "mode")}, "stats"),
        ({"quantiles": (1.5,)}, "quantiles"),
        ({"empty_fill": "median"}, "empty_fill"),
        ({"stats": (), "counts": False}, "no output"),
    ],
)
def test_pooling_invalid_params(params, match):
    with pytest.raises(ValueError, match=match):
        TemporalPooling(**params).fit(_ragged())


def test_pooling_transform_checks_width():
    pool = TemporalPooling().fit(_ragged(d=3))
    with pytest.raises(ValueError, match="fitted with 3"):
        pool.transform(_ragged(d=2))


def test_pooling_in_grouped_cv_pipeline_with_memory(tmp_path):
    tracks = [
        make_synthetic_tracks(n_rows=2 + i % 3, size=24, path=f"v{i}.mp4", seed=i)
        for i in range(8)
    ]
    y = np.array([0, 1] * 4)
    groups = np.repeat(np.arange(4), 2)
    pipe = Pipeline(
        [
            ("feat", FaceContextFeatures()),
            ("pool", TemporalPooling()),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression()),
        ],
        memory=joblib.Memory(tmp_path, verbose=0),
    )
    scores = cross_val_score(pipe, tracks, y, groups=groups, cv=GroupKFold(2))
    assert scores.shape == (2,)
    pipe.fit(tracks, y)
    assert pipe.predict_proba(tracks).shape == (8, 2)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("mean", 0.45),
        ("median", 0.2),
        ("max", 0.95),
        ("confident", 0.925),
    ],
)
def test_pool_scores_rules(rule, expected):
    assert pool_scores([0.95, 0.9, 0.2, 0.1, 0.1], rule) == pytest.approx(expected)


def test_pool_scores_mean_logit_and_confident_branches():
    p = np.array([0.99, 0.5])
    logit = np.log(0.99 / 0.01) / 2
    assert pool_scores(p, "mean_logit") == pytest.approx(1 / (1 + np.exp(-logit)))
    real = [0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6]
    # 9 of 10 below 0.2 -> mean of those (the 0.6 frame is ignored)
    assert pool_scores(real, "confident") == pytest.approx(np.mean(real[:9]))
    # one float sets both fractions; 1 of 3 above 0.8 is not enough at 0.5
    assert pool_scores([0.9, 0.5, 0.4], "confident", min_fraction=0.5) == pytest.approx(
        0.6
    )
    assert np.isnan(pool_scores([], "mean"))
    with pytest.raises(ValueError, match="rule"):
        pool_scores([0.5], "vote")


def test_score_pooling_transformer():
    X = [np.array([0.9, 0.95, 0.1]), np.array([[0.2], [0.1]]), np.array([])]
    est = ScorePooling(rule="confident", empty_score=0.3)
    out = est.fit_transform(X)
    np.testing.assert_allclose(out.ravel(), [0.925, 0.15, 0.3])
    assert list(est.get_feature_names_out()) == ["score_confident"]
    assert est.set_params(rule="max").fit_transform(X)[0, 0] == pytest.approx(0.95)
    with pytest.raises(ValueError, match="outside"):
        est.fit([np.array([1.5])])
    with pytest.raises(ValueError, match="one score per frame"):
        est.fit([np.ones((2, 2)) * 0.5])
    with pytest.raises(NotFittedError):
        ScorePooling().transform(X)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"rule": "vote"}, "rule"),
        ({"threshold": 0.3}, "threshold"),
        ({"min_fraction": (0.4, 0.9, 1.0)}, "min_fraction"),
        ({"min_fraction": 0.0}, "min_fraction"),
        ({"empty_score": 2.0}, "empty_score"),
    ],
)
def test_score_pooling_invalid_params(params, match):
    with pytest.raises(ValueError, match=match):
        ScorePooling(**params).fit([np.array([0.5])])


def test_score_pooling_in_pipeline_with_logistic_calibration():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 10)
    X = [np.clip(rng.normal(0.3 + 0.4 * t, 0.1, size=5), 0, 1) for t in y]
    pipe = make_pipeline(ScorePooling(rule="mean_logit"), LogisticRegression())
    assert pipe.fit(X, y).score(X, y) > 0.9
