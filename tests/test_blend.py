import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfake.classifiers import LogitBlendClassifier


def _parts(C=1.0):
    return [
        ("left", LogisticRegression(C=C), [0, 1]),
        ("right", LogisticRegression(C=C), slice(2, 4)),
    ]


@parametrize_with_checks(
    [
        LogitBlendClassifier([("a", LogisticRegression(), None)]),
        LogitBlendClassifier(
            [("a", LogisticRegression(), None), ("b", LogisticRegression(C=0.1), None)],
            weights=[1, 3],
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    return rng.normal(size=(n, 4)) + 0.8 * y[:, None], y


def test_score_is_the_weighted_mean_logit_of_the_parts():
    X, y = _data()
    clf = LogitBlendClassifier(_parts(), weights=[1, 3]).fit(X, y)
    z = []
    for est, cols in zip(clf.estimators_, clf.columns_):
        p = est.predict_proba(X[:, cols])[:, 1]
        z.append(np.log(p / (1 - p)))
    expected = 0.25 * z[0] + 0.75 * z[1]
    np.testing.assert_allclose(clf.decision_function(X), expected)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-expected)))
    np.testing.assert_array_equal(clf.predict(X), (expected > 0).astype(int))
    assert [c.tolist() for c in clf.columns_] == [[0, 1], [2, 3]]
    assert clf.named_estimators_["right"] is clf.estimators_[1]


def test_self_blended_rows_train_only_the_named_parts():
    X, y = _data()
    sb = np.zeros(len(y), bool)
    sb[-10:] = True
    y = y.copy()
    y[sb] = 1
    # the self-blended rows are far away on the right part's columns
    X[sb, 2:] += 5
    clf = LogitBlendClassifier(_parts(), self_blended_parts=("right",))
    clf.fit(X, y, self_blended=sb)
    left, right = clf.estimators_
    # left trained on the 50 labelled rows, right on reals + self-blends
    left_alone = LogisticRegression().fit(X[~sb][:, :2], y[~sb])
    np.testing.assert_allclose(left.coef_, left_alone.coef_)
    rows = sb | (y == 0)
    right_alone = LogisticRegression().fit(X[rows][:, 2:], y[rows])
    np.testing.assert_allclose(right.coef_, right_alone.coef_)
    # without the mask both parts train on every row
    plain = clone(clf).fit(X, y)
    all_rows = LogisticRegression().fit(X[:, 2:], y)
    np.testing.assert_allclose(plain.estimators_[1].coef_, all_rows.coef_)


def test_string_labels_score_the_fake_class_and_a_grid_search():
    from sklearn.metrics import roc_auc_score

    X, y = _data()
    labels = np.where(y == 1, "FAKE", "REAL")
    numeric = LogitBlendClassifier(_parts()).fit(X, y)
    clf = LogitBlendClassifier(_parts()).fit(X, labels)
    assert clf.classes_.tolist() == ["FAKE", "REAL"]
    # the fake class is scored whatever its position; columns follow classes_
    np.testing.assert_allclose(
        clf.predict_proba(X)[:, 0], numeric.predict_proba(X)[:, 1]
    )
    # decision_function is positive for classes_[1], as in scikit-learn
    np.testing.assert_allclose(clf.decision_function(X), -numeric.decision_function(X))
    assert roc_auc_score(labels, clf.decision_function(X)) == pytest.approx(
        roc_auc_score(y, numeric.decision_function(X))
    )
    np.testing.assert_array_equal(clf.predict(X) == "FAKE", numeric.predict(X) == 1)
    # self-blended rows carry "FAKE"
    sb = np.zeros(len(y), bool)
    sb[:10] = True
    labels[sb] = "FAKE"
    LogitBlendClassifier(_parts(), self_blended_parts=("right",)).fit(
        X, labels, self_blended=sb
    )
    search = GridSearchCV(
        LogitBlendClassifier(_parts()),
        {"weights": [None, [1, 0]]},
        cv=3,
        scoring="neg_log_loss",
    ).fit(X, labels)
    assert search.predict_proba(X).shape == (len(y), 2)


@pytest.mark.parametrize(
    ("kwargs", "fit_kw", "match"),
    [
        ({"estimators": [("a", LogisticRegression())]}, {}, "tuples"),
        ({"estimators": [("a", LogisticRegression(), [7])]}, {}, "out of range"),
        ({"estimators": [("a", LogisticRegression(), ["x"])]}, {}, "integer"),
        (
            {
                "estimators": [
                    ("a", LogisticRegression(), None),
                    ("a", LogisticRegression(), None),
                ]
            },
            {},
            "distinct",
        ),
        ({"estimators": _parts(), "weights": [1]}, {}, "weights"),
        ({"estimators": _parts(), "self_blended_parts": ("z",)}, {}, "not parts"),
        ({"estimators": _parts()}, {"self_blended": [True] * 3}, "entries"),
    ],
)
def test_bad_parameters_are_clear_errors(kwargs, fit_kw, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        LogitBlendClassifier(**kwargs).fit(X, y, **fit_kw)


def test_self_blended_rows_must_be_fake():
    X, y = _data()
    sb = y == 0  # real rows marked as self-blended
    with pytest.raises(ValueError, match="fake"):
        LogitBlendClassifier(_parts()).fit(X, y, self_blended=sb)


def test_multiclass_is_refused():
    X, _ = _data()
    with pytest.raises(ValueError, match="binary classification"):
        LogitBlendClassifier(_parts()).fit(X, np.arange(len(X)) % 3)


def test_columns_can_be_a_callable_of_the_width():
    X, y = _data()

    def last_two(n):
        return np.arange(n - 2, n)

    clf = LogitBlendClassifier([("a", LogisticRegression(), last_two)]).fit(X, y)
    assert clf.columns_[0].tolist() == [2, 3]
    clone(clf).fit(X[:, :3], y)  # re-read for another width
