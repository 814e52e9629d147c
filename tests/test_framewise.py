"""FramewiseClassifier: frame-level training, video-level probabilities."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.classifiers import FramewiseClassifier
from sklearn_deepfake.features import TemporalPooling


def _videos(n=40, d=6, shift=0.6, seed=0, labels=("REAL", "FAKE")):
    """Videos of noisy frames whose mean moves with the label; uneven lengths."""
    rng = np.random.default_rng(seed)
    y = np.array([labels[k % 2] for k in range(n)])
    X = [
        rng.normal(loc=shift * (k % 2), size=(int(rng.integers(3, 30)), d))
        for k in range(n)
    ]
    return X, y


@parametrize_with_checks(
    [
        FramewiseClassifier(),
        FramewiseClassifier(weighting="frame", aggregation="median", temperature=2.0),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_binary_video_score_is_the_mean_frame_logit_at_temperature():
    X, y = _videos()
    clf = FramewiseClassifier(temperature=2.0, eps=0.0).fit(X, y)
    frame_model = clf.estimator_
    for x, p in zip(X[:5], clf.predict_proba(X[:5])):
        # columns FAKE, REAL: the fake logit is log p_fake - log p_real
        logit = np.mean(np.log(frame_model.predict_proba(x)) @ [1, -1])
        fake = list(clf.classes_).index("FAKE")
        assert p[fake] == pytest.approx(1 / (1 + np.exp(-logit / 2.0)))
    assert list(clf.classes_) == ["FAKE", "REAL"]


def test_frames_carry_more_evidence_than_one_pooled_row():
    # Two videos per label share a mean, so pooling helps, but most frames
    # are noise: the frame model must beat chance held out and be calibrated
    # better than a constant.
    X, y = _videos(n=60, shift=0.5, seed=1)
    groups = np.arange(60) // 2
    scores = cross_val_score(
        FramewiseClassifier(),
        X,
        y,
        groups=groups,
        cv=GroupKFold(5),
        scoring="neg_log_loss",
    )
    assert -scores.mean() < 0.55  # prior: ln 2 = 0.693


def test_video_weighting_makes_long_videos_count_once():
    rng = np.random.default_rng(0)
    # one very long mislabelled video against many short correct ones
    X = [rng.normal(1.0, 0.3, size=(3, 2)) for _ in range(10)]
    X += [rng.normal(-1.0, 0.3, size=(3, 2)) for _ in range(10)]
    X += [rng.normal(1.0, 0.3, size=(400, 2))]
    y = [1] * 10 + [0] * 10 + [0]
    by_video = FramewiseClassifier().fit(X, y)
    by_frame = FramewiseClassifier(weighting="frame").fit(X, y)
    probe = [rng.normal(1.0, 0.3, size=(5, 2))]
    assert by_video.predict_proba(probe)[0, 1] > 0.6
    assert by_frame.predict_proba(probe)[0, 1] < 0.5


def test_sample_weight_is_per_video_and_reaches_the_scaler():
    X, y = _videos(n=20)
    w = np.r_[np.ones(10), np.full(10, 3.0)]
    doubled = FramewiseClassifier().fit(X + X[10:] + X[10:], np.r_[y, y[10:], y[10:]])
    weighted = FramewiseClassifier().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(
        weighted.predict_proba(X), doubled.predict_proba(X), rtol=1e-4
    )
    scaler = weighted.estimator_.named_steps["standardscaler"]
    plain = FramewiseClassifier().fit(X, y).estimator_.named_steps["standardscaler"]
    assert not np.allclose(scaler.mean_, plain.mean_)


def test_faceless_videos_get_the_training_class_frequencies():
    X, y = _videos(n=12)
    X[0] = np.zeros((0, 6))
    y = np.array(["REAL"] * 3 + ["FAKE"] * 9)
    clf = FramewiseClassifier().fit(X, y)
    np.testing.assert_allclose(clf.empty_proba_, [0.75, 0.25])
    proba = clf.predict_proba([np.zeros((0, 6)), X[1]])
    np.testing.assert_allclose(proba[0], [0.75, 0.25])
    assert proba.shape == (2, 2)


def test_errors_are_clear():
    X, y = _videos(n=8)
    with pytest.raises(ValueError, match="'aggregation' parameter"):
        FramewiseClassifier(aggregation="max").fit(X, y)
    with pytest.raises(ValueError, match="'temperature' parameter"):
        FramewiseClassifier(temperature=0).fit(X, y)
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        FramewiseClassifier(_NoWeights()).fit(X, y)
    with pytest.raises(ValueError, match="predict_proba"):
        FramewiseClassifier(LinearSVC()).fit(X, y)
    with pytest.raises(ValueError, match="same number of columns"):
        FramewiseClassifier().fit([np.zeros((2, 3)), np.zeros((2, 4))], [0, 1])
    only_real_frames = [np.zeros((2, 6)), np.zeros((0, 6))]
    with pytest.raises(ValueError, match="at least one video with frame rows"):
        FramewiseClassifier().fit(only_real_frames, [0, 1])
    clf = FramewiseClassifier().fit(X, y)
    with pytest.raises(ValueError, match="was fitted with 6"):
        clf.predict([np.zeros((2, 5))])
    # an estimator without weights is fine frame by frame
    FramewiseClassifier(_NoWeights(), weighting="frame").fit(X, y)


class _NoWeights(LogisticRegression):
    def fit(self, X, y):  # no sample_weight
        return super().fit(X, y)


def test_multiclass_clone_pickle_and_grid_search():
    X, y = _videos(n=30, labels=("a", "b", "c"))
    y = np.array(["abc"[k % 3] for k in range(30)])
    X = [x + (k % 3) for k, x in enumerate(X)]
    clf = FramewiseClassifier(aggregation="median").fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (30, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (clf.predict(X) == y).mean() > 0.8
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), proba)
    grid = GridSearchCV(
        FramewiseClassifier(make_pipeline(StandardScaler(), LogisticRegression())),
        {"estimator__logisticregression__C": [0.01, 1.0], "temperature": [1, 2]},
        cv=3,
        scoring="neg_log_loss",
    ).fit(X, y)
    assert set(grid.best_params_) == {"estimator__logisticregression__C", "temperature"}
    assert clone(clf).get_params()["aggregation"] == "median"


def test_pooled_head_and_framewise_head_agree_on_easy_data():
    X, y = _videos(n=30, shift=2.0)
    pooled = make_pipeline(TemporalPooling(stats=("mean",)), LogisticRegression())
    p1 = pooled.fit(X, y).predict_proba(X)[:, 0]
    p2 = FramewiseClassifier().fit(X, y).predict_proba(X)[:, 0]
    assert np.corrcoef(p1, p2)[0, 1] > 0.9
    assert log_loss(y, FramewiseClassifier().fit(X, y).predict_proba(X)) < 0.3


def test_swap_preset_uses_the_framewise_head():
    pipe = make_default_pipeline(preset="swap")
    assert list(pipe.named_steps) == [
        "framesampler",
        "facecropper",
        "landmarks",  # dlib's 68 points, once per crop, for shape and noise
        "features",
        "classifier",
    ]
    head = pipe.named_steps["classifier"]
    assert isinstance(head, FramewiseClassifier)
    assert head.temperature == 1.5
    assert pipe.get_params()["classifier__estimator__logisticregression__C"] == 0.3
    pipe = make_default_pipeline(preset="swap", C=1.0)
    assert pipe.get_params()["classifier__estimator__logisticregression__C"] == 1.0
    with pytest.raises(ValueError, match=r"calibration=.sigmoid. would be ignored"):
        make_default_pipeline(preset="swap", calibration="sigmoid")


def test_swap_preset_head_learns_held_out_blends(held_out_tracks):
    # The swap preset after its face steps, on real MTCNN tracks of 32
    # synthetic videos (16 untouched, 16 with a blended face), grouped so
    # that a video and its twin are never split.
    tracks, y, groups = held_out_tracks
    head = make_default_pipeline(preset="swap", device="cpu")[2:]
    scores = cross_val_score(
        head, tracks, y, groups=groups, cv=GroupKFold(4), scoring="neg_log_loss"
    )
    # measured 0.51 (the default preset's pooled head: 0.57); prior: 0.693
    assert -scores.mean() < 0.6


def test_swap_preset_from_paths_and_its_report(tiny_videos, tmp_path):
    from sklearn_deepfake.inspection import explain_video

    pipe = make_default_pipeline(preset="swap", n_frames=8, size=64, device="cpu")
    pipe.fit(tiny_videos.paths, tiny_videos.target)
    proba = pipe.predict_proba(tiny_videos.paths)
    assert proba.shape == (4, 2)
    assert np.all((proba >= 0.01) & (proba <= 0.99))
    # the report plots the frame model's per-frame scores
    html = explain_video(pipe, tiny_videos.paths[2], tmp_path / "report.html")
    assert "No per-frame scores" not in html
    assert (tmp_path / "report.html").is_file()


def test_frame_probabilities_are_what_the_video_score_aggregates(held_out_tracks):
    from sklearn_deepfake.inspection._gradcam import frame_scores

    tracks, y, _ = held_out_tracks
    labels = np.where(y == 1, "FAKE", "REAL")
    head = make_default_pipeline(preset="swap", device="cpu")[2:]
    head.set_params(classifier__eps=0.0).fit(tracks, labels)
    clf = head.named_steps["classifier"]
    feats = head[:-1].transform(tracks[:4])
    per_frame = clf.predict_frame_proba(feats)
    assert [p.shape for p in per_frame] == [(len(t), 2) for t in tracks[:4]]
    np.testing.assert_allclose(np.concatenate(per_frame).sum(axis=1), 1.0)
    fake = frame_scores(head, tracks[:4])
    video = head.predict_proba(tracks[:4])[:, 0]  # classes_: FAKE, REAL
    for f, p in zip(fake, video):
        logit = np.mean(np.log(f) - np.log1p(-f)) / clf.temperature
        assert p == pytest.approx(1 / (1 + np.exp(-logit)), rel=1e-4)


def test_optuna_space_covers_the_swap_head():
    optuna = pytest.importorskip("optuna")
    from sklearn_deepfake.model_selection import suggest_params

    pipe = make_default_pipeline(preset="swap")
    study = optuna.create_study()
    params = suggest_params(study.ask(), pipe)
    assert params["classifier__aggregation"] in ("mean", "median")
    assert 0.8 <= params["classifier__temperature"] <= 2.0
    assert "classifier__estimator__logisticregression__C" in params
    clone(pipe).set_params(**params)
