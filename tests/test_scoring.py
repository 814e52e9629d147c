import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold, cross_val_score

from sklearn_deepfake.model_selection import (
    clipped_log_loss,
    clipped_neg_log_loss,
    make_clipped_log_loss_scorer,
)


def test_clipped_log_loss_bounds_confident_mistakes():
    y = [0, 1, 1]
    p = np.array([0.0, 1.0, 0.0])
    loss = clipped_log_loss(y, p, eps=1e-2)
    expected = -(2 * np.log(0.99) + np.log(0.01)) / 3
    assert loss == pytest.approx(expected)
    assert clipped_log_loss(y, p, eps=1e-3) > loss


def test_clipped_log_loss_matches_log_loss_inside_bounds():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    p = rng.uniform(0.05, 0.95, 50)
    assert clipped_log_loss(y, p) == pytest.approx(log_loss(y, p))
    p2 = np.column_stack([1 - p, p])
    assert clipped_log_loss(y, p2) == pytest.approx(log_loss(y, p))


def test_clipped_log_loss_string_labels_and_multiclass():
    y = ["FAKE", "REAL"]
    # 1-D: probability of the larger label ("REAL"), as sklearn's log_loss
    assert clipped_log_loss(y, [0.2, 0.8]) == pytest.approx(-np.log(0.8))
    p3 = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    loss = clipped_log_loss([0, 2], p3, eps=0.1, labels=[0, 1, 2])
    row0 = 0.9 / (0.9 + 0.1 + 0.1)
    assert loss == pytest.approx(-(np.log(row0) + np.log(0.5 / 1.1)) / 2)


@pytest.mark.parametrize(
    ("proba", "kwargs", "match"),
    [
        ([0.5, np.nan], {}, "NaN"),
        ([0.5, 0.5], {"eps": 0.0}, "eps"),
        (np.zeros((2, 2, 2)), {}, "1-D or 2-D"),
    ],
)
def test_clipped_log_loss_errors(proba, kwargs, match):
    with pytest.raises(ValueError, match=match):
        clipped_log_loss([0, 1], proba, **kwargs)


def test_scorer_in_grouped_cross_val_score():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] > 0).astype(int)
    groups = np.arange(40) // 4
    scorer = make_clipped_log_loss_scorer(eps=1e-2)
    scores = cross_val_score(
        LogisticRegression(), X, y, groups=groups, cv=GroupKFold(4), scoring=scorer
    )
    assert (scores < 0).all()
    assert (scores >= np.log(1e-2)).all()
    dummy = cross_val_score(
        DummyClassifier(), X, y, groups=groups, cv=GroupKFold(4), scoring=scorer
    )
    assert scores.mean() > dummy.mean()  # greater is better


def test_default_scorer_clips_at_1e3():
    X = np.array([[0.0], [1.0]] * 5)
    y = np.array([0, 1] * 5)
    clf = LogisticRegression(C=1e6).fit(X, 1 - y)  # confidently wrong
    assert clipped_neg_log_loss(clf, X, y) == pytest.approx(np.log(1e-3), rel=1e-3)
    with pytest.raises(ValueError, match="eps"):
        make_clipped_log_loss_scorer(eps=2)
