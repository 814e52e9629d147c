import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfake.calibration import ClippedClassifier


@parametrize_with_checks(
    [
        ClippedClassifier(),
        ClippedClassifier(eps=0.1),
        ClippedClassifier(temperature=3.0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_clipping_caps_the_cost_of_a_confident_mistake():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-3, 1, (50, 2)), rng.normal(3, 1, (50, 2))]
    y = np.r_[np.zeros(50), np.ones(50)]
    raw = LogisticRegression(C=1e6).fit(X, y)
    clipped = ClippedClassifier(LogisticRegression(C=1e6), eps=0.02).fit(X, y)
    X_bad, y_bad = np.array([[-8.0, -8.0]]), np.array([1])  # confidently wrong
    assert log_loss(y_bad, raw.predict_proba(X_bad), labels=[0, 1]) > 10
    assert log_loss(y_bad, clipped.predict_proba(X_bad), labels=[0, 1]) == (
        pytest.approx(-np.log(0.02))
    )
    proba = clipped.predict_proba(X)
    assert proba.min() >= 0.02
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clipped.predict(X), raw.predict(X))


@pytest.mark.parametrize("eps", [-0.1, 0.5, "a"])
def test_invalid_eps(eps):
    with pytest.raises(ValueError, match="eps"):
        ClippedClassifier(eps=eps).fit([[0.0], [1.0]], [0, 1])


def test_temperature_softens_without_reordering():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-1, 1, (40, 3)), rng.normal(1, 1, (40, 3))]
    y = np.r_[np.zeros(40), np.ones(40)]
    plain = ClippedClassifier(eps=0.0).fit(X, y)
    soft = ClippedClassifier(eps=0.0, temperature=3.0).fit(X, y)
    z = plain.decision_function(X)
    # a binary logistic regression: sigmoid(logit / T)
    np.testing.assert_allclose(soft.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z / 3)))
    np.testing.assert_allclose(soft.decision_function(X), z / 3)
    np.testing.assert_array_equal(soft.predict(X), plain.predict(X))
    assert np.all(
        np.abs(soft.predict_proba(X)[:, 1] - 0.5)
        <= np.abs(plain.predict_proba(X)[:, 1] - 0.5)
    )


def test_temperature_of_a_multiclass_head_and_a_zero_probability():
    from sklearn.tree import DecisionTreeClassifier

    X = np.arange(9.0).reshape(-1, 1)
    y = np.repeat([0, 1, 2], 3)
    tree = ClippedClassifier(DecisionTreeClassifier(), eps=0.0, temperature=2.0)
    proba = tree.fit(X, y).predict_proba(X)  # the tree's are 0 and 1
    assert np.isfinite(proba).all()
    assert (proba > 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(proba.argmax(axis=1), y)


@pytest.mark.parametrize("temperature", [0.0, -1.0, "a"])
def test_invalid_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        ClippedClassifier(temperature=temperature).fit([[0.0], [1.0]], [0, 1])
