import pickle
from collections import defaultdict

import numpy as np
import pytest
import sklearn
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfake.calibration import ClippedClassifier
from sklearn_deepfake.ensemble import CalibratedStackingClassifier
from sklearn_deepfake.ensemble._calibrators import _ScoreCalibrator

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _pairs(n_groups=40, shift=1.5, seed=0):
    """A fake and its original per group; the pair shares an identity offset.

    Columns 0 and 2 carry the label, 1 and 3 are noise: a base model that sees
    columns [0, 1] and one that sees [2, 3] each miss half of the signal.
    """
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n_groups)
    groups = np.repeat(np.arange(n_groups), 2)
    identity = rng.normal(0.0, 1.0, (n_groups, 4))[groups]
    X = identity + rng.normal(0.0, 0.7, (2 * n_groups, 4))
    X += shift * y[:, None] * np.array([1.0, 0.0, 1.0, 0.0])
    order = rng.permutation(len(y))  # pairs not side by side
    return X[order], y[order], groups[order]


def _on(columns, **lr):
    pick = make_column_transformer(("passthrough", columns))
    return make_pipeline(pick, LogisticRegression(**lr))


def _two_views():
    return [("left", _on([0, 1])), ("right", _on([2, 3]))]


class _Overconfident(ClassifierMixin, BaseEstimator):
    """A logistic regression whose logits are multiplied by ``factor``."""

    def __init__(self, factor=10.0):
        self.factor = factor

    def fit(self, X, y):
        self.estimator_ = LogisticRegression().fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        log_p = np.log(self.estimator_.predict_proba(X))
        return np.exp(log_softmax(self.factor * log_p, axis=1))

    def predict(self, X):
        return self.estimator_.predict(X)


#: (training ids, predicted ids) of every fitted _Recorder, by key.
_LOG = defaultdict(list)


def _encode(X):
    """Video-path-like strings that carry a sample id and its features."""
    return [f"{i}|" + "|".join(f"{v:.9f}" for v in row) for i, row in enumerate(X)]


def _decode(X):
    assert isinstance(X, list), f"X reached a base model as {type(X).__name__}"
    parts = [s.split("|") for s in X]
    ids = np.array([int(p[0]) for p in parts])
    return ids, np.array([[float(v) for v in p[1:]] for p in parts])


class _Recorder(ClassifierMixin, BaseEstimator):
    """Takes a list of strings (like video paths) and logs what it saw."""

    def __init__(self, key="default", columns=(0, 1)):
        self.key = key
        self.columns = columns

    def fit(self, X, y):
        self.fit_ids_, feats = _decode(X)
        self.lr_ = LogisticRegression().fit(feats[:, list(self.columns)], y)
        self.classes_ = self.lr_.classes_
        return self

    def predict_proba(self, X):
        ids, feats = _decode(X)
        _LOG[self.key].append((self.fit_ids_, ids))
        return self.lr_.predict_proba(feats[:, list(self.columns)])

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def _recorders(key):
    _LOG.pop(key, None)
    return [
        ("a", _Recorder(key=key, columns=(0, 1))),
        ("b", _Recorder(key=key, columns=(2, 3))),
    ]


def _leaks(key, groups):
    """Number of (fit, predict) pairs that share a group."""
    return sum(
        bool(set(groups[fit_ids]) & set(groups[pred_ids]))
        for fit_ids, pred_ids in _LOG[key]
    )


def _grouped_log_loss(est, X, y, groups, n_splits=4):
    # Without metadata routing the groups go to fit through ``params``.
    params = {"groups": groups} if isinstance(est, CalibratedStackingClassifier) else {}
    scores = cross_val_score(
        est,
        X,
        y,
        groups=groups,
        cv=GroupKFold(n_splits),
        scoring="neg_log_loss",
        params=params,
    )
    return -scores.mean()


# ---------------------------------------------------------------------------
# scikit-learn compatibility
# ---------------------------------------------------------------------------


@parametrize_with_checks(
    [
        CalibratedStackingClassifier(
            [("lr", LogisticRegression()), ("clipped", ClippedClassifier())], cv=3
        ),
        CalibratedStackingClassifier(
            [("lr", LogisticRegression(C=0.1))],
            cv=3,
            calibration="temperature",
            passthrough=True,
        ),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------
# (a) the stack beats its bases; (b) calibration fixes over-confidence
# ---------------------------------------------------------------------------


def test_stack_grouped_cv_log_loss_beats_best_base():
    X, y, groups = _pairs()
    base_losses = {
        name: _grouped_log_loss(est, X, y, groups) for name, est in _two_views()
    }
    stack = CalibratedStackingClassifier(_two_views())
    stack_loss = _grouped_log_loss(stack, X, y, groups)
    assert stack_loss < min(base_losses.values()) - 0.02, (stack_loss, base_losses)

    stack.fit(X, y, groups=groups)
    assert set(stack.oof_scores_) == {"left", "right"}
    assert stack.final_oof_score_ < min(stack.oof_scores_.values())
    assert stack.oof_predictions_.shape == (len(y), 2)
    assert isinstance(stack.cv_, GroupKFold)
    # Each base model's out-of-fold column scores as its oof_scores_ entry.
    for j, name in enumerate(["left", "right"]):
        p = np.clip(stack.oof_predictions_[:, j], 0.01, 0.99)
        assert log_loss(y, p) == pytest.approx(stack.oof_scores_[name])


@pytest.mark.parametrize("method", ["sigmoid", "isotonic", "temperature"])
def test_calibration_lowers_log_loss_of_an_overconfident_head(method):
    X, y, groups = _pairs(n_groups=60)
    raw = CalibratedStackingClassifier(
        _two_views(), _Overconfident(factor=10.0), eps=1e-4
    )
    calibrated = clone(raw).set_params(calibration=method)
    raw_loss = _grouped_log_loss(raw, X, y, groups)
    calibrated_loss = _grouped_log_loss(calibrated, X, y, groups)
    assert calibrated_loss < raw_loss - 0.1, (raw_loss, calibrated_loss)
    if method == "temperature":
        fitted = calibrated.fit(X, y, groups=groups)
        assert fitted.calibrator_.temperature_ > 3


def test_default_head_corrects_an_overconfident_base():
    X, y, groups = _pairs()
    stack = CalibratedStackingClassifier(
        [("over", _Overconfident(factor=10.0)), ("left", _on([0, 1]))]
    ).fit(X, y, groups=groups)
    assert stack.oof_scores_["over"] > stack.final_oof_score_ + 0.1


def test_temperature_calibrator_recovers_the_temperature():
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 2.0, 4000)
    y = (rng.random(z.size) < 1 / (1 + np.exp(-z))).astype(int)
    p1 = 1 / (1 + np.exp(-4.0 * z))  # logits 4 times too large
    cal = _ScoreCalibrator("temperature").fit(np.c_[1 - p1, p1], y)
    assert cal.temperature_ == pytest.approx(4.0, rel=0.1)
    out = cal.predict_proba(np.c_[1 - p1, p1])
    np.testing.assert_allclose(out[:, 1], 1 / (1 + np.exp(-z)), atol=0.05)


# ---------------------------------------------------------------------------
# (c), (d) no group on both sides of any internal split
# ---------------------------------------------------------------------------


def test_fit_with_groups_never_splits_a_group():
    X, y, groups = _pairs(n_groups=20)
    stack = CalibratedStackingClassifier(_recorders("direct"), cv=4)
    stack.fit(_encode(X), y, groups=groups)
    # 2 bases x 4 internal folds predicted out of fold, all leak-free.
    assert len(_LOG["direct"]) == 8
    assert _leaks("direct", groups) == 0
    for fit_ids, pred_ids in _LOG["direct"]:
        assert len(fit_ids) + len(pred_ids) == len(y)
    # The refitted bases saw every video, as a plain list.
    assert all(len(est.fit_ids_) == len(y) for est in stack.estimators_)


def test_without_groups_internal_splits_leak():
    # The documented fallback (StratifiedKFold): shows the spy can see a leak.
    X, y, groups = _pairs(n_groups=20)
    CalibratedStackingClassifier(_recorders("nogroups"), cv=4).fit(_encode(X), y)
    assert _leaks("nogroups", groups) > 0


def test_cross_val_score_without_routing_needs_groups_in_params():
    X, y, groups = _pairs(n_groups=20)
    Xs = _encode(X)
    cross_val_score(
        CalibratedStackingClassifier(_recorders("outer_only"), cv=3),
        Xs,
        y,
        groups=groups,
        cv=GroupKFold(3),
        scoring="neg_log_loss",
    )
    assert _leaks("outer_only", groups) > 0  # internal splits not grouped
    scores = cross_val_score(
        CalibratedStackingClassifier(_recorders("both"), cv=3),
        Xs,
        y,
        groups=groups,
        cv=GroupKFold(3),
        scoring="neg_log_loss",
        params={"groups": groups},
    )
    assert _leaks("both", groups) == 0
    # 3 outer folds x (2 bases x 3 inner folds + 2 refitted bases scored).
    assert len(_LOG["both"]) == 3 * (2 * 3 + 2)
    assert np.all(np.isfinite(scores))


def test_metadata_routing_groups_reach_the_internal_splits():
    X, y, groups = _pairs(n_groups=20)
    Xs = _encode(X)
    reference = cross_val_score(
        CalibratedStackingClassifier(_recorders("ref"), cv=3),
        Xs,
        y,
        groups=groups,
        cv=GroupKFold(3),
        scoring="neg_log_loss",
        params={"groups": groups},
    )
    with sklearn.config_context(enable_metadata_routing=True):
        stack = CalibratedStackingClassifier(_recorders("routed"), cv=3)
        routing = stack.get_metadata_routing()
        assert routing.consumes("fit", ["groups"]) == {"groups"}
        scores = cross_val_score(
            stack,
            Xs,
            y,
            cv=GroupKFold(3),
            scoring="neg_log_loss",
            params={"groups": groups},
        )
        # fit called directly works as well under routing.
        clone(stack).fit(Xs, y, groups=groups)
    assert _leaks("routed", groups) == 0
    assert len(_LOG["routed"]) == 3 * (2 * 3 + 2) + 2 * 3
    np.testing.assert_allclose(scores, reference)


def test_metadata_routing_groups_request_can_be_switched_off():
    X, y, groups = _pairs(n_groups=20)
    with sklearn.config_context(enable_metadata_routing=True):
        stack = CalibratedStackingClassifier(_recorders("off"), cv=3)
        stack.set_fit_request(groups=False)
        assert not stack.get_metadata_routing().consumes("fit", ["groups"])
        cross_val_score(
            stack, _encode(X), y, cv=GroupKFold(3), params={"groups": groups}
        )
    assert _leaks("off", groups) > 0  # the outer split only is grouped


def test_metadata_routing_sample_weight_to_requesting_base():
    X, y, groups = _pairs(n_groups=20)
    weight = np.linspace(0.5, 2.0, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        lr = LogisticRegression().set_fit_request(sample_weight=True)
        other = LogisticRegression().set_fit_request(sample_weight=False)
        stack = CalibratedStackingClassifier(
            [("w", lr), ("u", other)],
            LogisticRegression().set_fit_request(sample_weight=False),
        )
        stack.fit(X, y, groups=groups, sample_weight=weight)
        expected = LogisticRegression().fit(X, y, sample_weight=weight)
        unweighted = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(stack.named_estimators_.w.coef_, expected.coef_)
    np.testing.assert_allclose(stack.named_estimators_.u.coef_, unweighted.coef_)


def test_custom_splitter_is_used():
    X, y, groups = _pairs(n_groups=20)
    stack = CalibratedStackingClassifier(_recorders("kfold"), cv=KFold(4))
    # A splitter that ignores groups says so (and then leaks).
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        stack.fit(_encode(X), y, groups=groups)
    assert isinstance(stack.cv_, KFold)
    assert len(_LOG["kfold"]) == 8


# ---------------------------------------------------------------------------
# (e) parameters, clone, pickle
# ---------------------------------------------------------------------------


def test_nested_params_clone_and_pickle():
    X, y, groups = _pairs()
    stack = CalibratedStackingClassifier(
        [("lr", LogisticRegression()), ("view", _on([0, 1]))],
        calibration="sigmoid",
    )
    params = stack.get_params()
    assert params["lr"] is stack.estimators[0][1]
    assert params["lr__C"] == 1.0
    assert "view__logisticregression__C" in params
    assert "final_estimator" in params
    assert "lr" not in stack.get_params(deep=False)

    stack.set_params(lr__C=0.25, view__logisticregression__C=3.0, eps=0.05)
    assert stack.estimators[0][1].C == 0.25
    assert stack.get_params()["view__logisticregression__C"] == 3.0
    new_lr = LogisticRegression(C=2.0)
    stack.set_params(lr=new_lr)
    assert stack.estimators[0][1] is new_lr
    assert stack.get_params()["lr__C"] == 2.0
    stack.set_params(final_estimator=LogisticRegression(), final_estimator__C=0.5)
    assert stack.final_estimator.C == 0.5

    stack.fit(X, y, groups=groups)
    assert new_lr is not stack.named_estimators_.lr  # fitted a clone
    assert not hasattr(new_lr, "coef_")
    cloned = clone(stack)
    assert not hasattr(cloned, "estimators_")
    assert cloned.get_params()["lr__C"] == 2.0
    proba = stack.predict_proba(X)
    assert proba.min() >= 0.05 - 1e-12
    again = pickle.loads(pickle.dumps(stack))
    np.testing.assert_allclose(again.predict_proba(X), proba)


# ---------------------------------------------------------------------------
# (f) labels, output, multiclass, passthrough
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("calibration", [None, "sigmoid", "isotonic", "temperature"])
def test_string_labels(calibration):
    X, y, groups = _pairs()
    labels = np.where(y == 1, "FAKE", "REAL")
    stack = CalibratedStackingClassifier(_two_views(), calibration=calibration)
    stack.fit(X, labels, groups=groups)
    np.testing.assert_array_equal(stack.classes_, ["FAKE", "REAL"])
    proba = stack.predict_proba(X)
    # Column 0 is P(FAKE): high on the fakes.
    assert proba[y == 1, 0].mean() > proba[y == 0, 0].mean() + 0.3
    pred = stack.predict(X)
    assert set(pred) <= {"FAKE", "REAL"}
    assert (pred == labels).mean() > 0.75
    np.testing.assert_array_equal(stack.decision_function(X) > 0, pred == "REAL")
    assert proba.min() >= 0.01 - 1e-12
    assert proba.max() <= 0.99 + 1e-12
    # oof_predictions_ hold P(classes_[1]) = P(REAL).
    assert stack.oof_predictions_[y == 0].mean() > 0.5


@pytest.mark.parametrize("calibration", [None, "sigmoid", "isotonic", "temperature"])
def test_multiclass(calibration):
    rng = np.random.default_rng(0)
    y = np.tile([0, 1, 2], 40)
    X = rng.normal(size=(120, 4)) + np.eye(3, 4)[y] * 2.0
    stack = CalibratedStackingClassifier(
        _two_views(), calibration=calibration, cv=3
    ).fit(X, y)
    assert stack.oof_predictions_.shape == (120, 2, 3)
    proba = stack.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (stack.predict(X) == y).mean() > 0.6
    assert stack.decision_function(X).shape == (120, 3)


def test_passthrough_feeds_features_to_the_head():
    X, y, groups = _pairs()
    stack = CalibratedStackingClassifier(_two_views(), passthrough=True)
    stack.fit(X, y, groups=groups)
    assert stack.final_estimator_.n_features_in_ == 2 + X.shape[1]
    assert stack.n_features_in_ == X.shape[1]


def test_eps_zero_disables_clipping():
    X, y, groups = _pairs(shift=6.0)
    stack = CalibratedStackingClassifier(_two_views(), eps=0.0)
    proba = stack.fit(X, y, groups=groups).predict_proba(X)
    assert proba.max() > 0.999


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"estimators": []}, "non-empty list"),
        ({"estimators": [("a", LogisticRegression()), ("a", _on([0]))]}, "unique"),
        ({"estimators": [("a__b", LogisticRegression())]}, "Invalid estimator name"),
        ({"estimators": [("cv", LogisticRegression())]}, "Invalid estimator name"),
        ({"estimators": [("a", KFold())]}, "fit, predict and predict_proba"),
        ({"calibration": "platt"}, "'calibration' parameter"),
        ({"eps": 0.5}, "'eps' parameter"),
        ({"cv": 1}, "'cv' parameter"),
        ({"final_estimator": KFold()}, "'final_estimator' parameter"),
    ],
)
def test_invalid_params(params, match):
    X, y, _ = _pairs(n_groups=10)
    kwargs = {"estimators": [("lr", LogisticRegression())], **params}
    with pytest.raises(ValueError, match=match):
        CalibratedStackingClassifier(**kwargs).fit(X, y)


def test_one_class_and_missing_y():
    X = np.zeros((6, 2))
    stack = CalibratedStackingClassifier([("lr", LogisticRegression())], cv=2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        stack.fit(X, np.zeros(6))
    with pytest.raises(ValueError, match="requires y"):
        stack.fit(X, None)


def test_tags_follow_the_base_estimators():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.utils import get_tags

    hgb = HistGradientBoostingClassifier(max_iter=5)
    both_nan = CalibratedStackingClassifier([("a", hgb), ("b", clone(hgb))])
    assert get_tags(both_nan).input_tags.allow_nan is True
    assert get_tags(both_nan).estimator_type == "classifier"
    one_nan = CalibratedStackingClassifier([("a", hgb), ("lr", LogisticRegression())])
    assert get_tags(one_nan).input_tags.allow_nan is False
    X = np.c_[np.arange(40.0), np.r_[np.full(20, np.nan), np.ones(20)]]
    y = np.arange(40) % 2
    assert both_nan.fit(X, y).predict_proba(X).shape == (40, 2)


# ---------------------------------------------------------------------------
# Real (tiny) videos from paths, sharing one face cache
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_stack_of_video_pipelines_extracts_faces_once(tiny_dfdc, tmp_path, monkeypatch):
    import sklearn_deepfake.faces._cropping as cropping
    from sklearn_deepfake import make_default_pipeline

    saved = []
    real_put = cropping.FaceStore.put

    def counting_put(self, path, indices, params, tracks, **kwargs):
        saved.append(tracks.path)
        return real_put(self, path, indices, params, tracks, **kwargs)

    monkeypatch.setattr(cropping.FaceStore, "put", counting_put)
    cache = tmp_path / "faces"

    def pipe(features):
        return make_default_pipeline(
            features=features, n_frames=4, size=64, cache_dir=cache
        ).set_params(facecropper__device="cpu", facecropper__n_jobs=1)

    paths = list(tiny_dfdc.train_paths)
    y = np.where(np.asarray(tiny_dfdc.train_target) == 1, "FAKE", "REAL")
    groups = np.asarray(tiny_dfdc.train_groups)
    stack = CalibratedStackingClassifier(
        [("context", pipe("context")), ("spectrum", pipe("spectrum"))],
        cv=2,
        calibration="temperature",
    )
    stack.fit(paths, y, groups=groups)
    # 2 bases x (2 folds x (fit + predict) + refit) transforms, but each
    # video's faces were extracted and stored once.
    assert sorted(saved) == sorted(paths)
    records = sorted(cache.rglob("*.skdf"))
    assert len(records) == len(paths)
    stamps = {p: p.stat().st_mtime_ns for p in records}

    proba = stack.predict_proba(list(tiny_dfdc.test_paths))
    assert proba.shape == (len(tiny_dfdc.test_paths), 2)
    assert np.all((proba >= 0.01 - 1e-12) & (proba <= 0.99 + 1e-12))
    assert list(stack.classes_) == ["FAKE", "REAL"]
    assert len(saved) == len(paths) + len(tiny_dfdc.test_paths)

    clone(stack).fit(paths, y, groups=groups)  # a refit decodes nothing
    assert len(saved) == len(paths) + len(tiny_dfdc.test_paths)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    assert stack.oof_predictions_.shape == (len(paths), 2)
    assert np.all(np.isfinite(list(stack.oof_scores_.values())))
