"""Displays of sklearn_deepfake.inspection: what they draw, checked on the artists."""

import inspect
import re
import warnings

import matplotlib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import FunctionTransformer, make_pipeline

from sklearn_deepfake.inspection import (
    FaceMontageDisplay,
    FrameScoreTimelineDisplay,
    GroupedDETDisplay,
    GroupedROCDisplay,
)
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _two_track_record(n_frames=6, size=16):
    """A record with a main face in every frame and a second face in two."""
    rng = np.random.RandomState(0)
    frame_pos = np.r_[np.arange(n_frames), [1, 3]]
    track_ids = np.r_[np.zeros(n_frames, int), [1, 1]]
    n = len(frame_pos)
    return FaceTracks(
        path="/videos/clip.mp4",
        frame_indices=np.arange(n_frames) * 10,
        face_found=np.ones(n_frames, bool),
        crops=rng.randint(0, 255, (n, size, size, 3)).astype(np.uint8),
        boxes=np.tile([0, 0, 10, 10], (n, 1)),
        crop_boxes=np.tile([0, 0, 12, 12], (n, 1)),
        probs=np.ones(n),
        landmarks=np.zeros((n, 5, 2)),
        track_ids=track_ids,
        frame_pos=frame_pos,
        detected=np.ones(n, bool),
        frame_size=(64, 64),
        fps=25.0,
    )


class _RowMeanScorer(ClassifierMixin, BaseEstimator):
    """Scores each crop by its mean brightness (a stand-in for FaceCNNClassifier)."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict_frame_proba(self, X):
        return [t.crops.reshape(len(t), -1).mean(axis=1) / 255.0 for t in X]

    def predict_proba(self, X):
        fake = np.array(
            [s.mean() if len(s) else 0.5 for s in self.predict_frame_proba(X)]
        )
        return np.c_[1 - fake, fake]


# ----------------------------------------------------------------------
# FrameScoreTimelineDisplay
# ----------------------------------------------------------------------


def test_timeline_draws_one_line_per_track_and_thumbnails():
    record = _two_track_record()
    scores = np.linspace(0.1, 0.9, len(record))
    disp = FrameScoreTimelineDisplay.from_predictions(
        record, scores, video_score=0.7, n_thumbnails=4
    )
    assert len(disp.lines_) == 2
    main = disp.lines_[0]
    # x in seconds (fps=25, frames 0, 10, ...), y the main track's scores
    np.testing.assert_allclose(main.get_xdata(), record.frame_indices / 25.0)
    np.testing.assert_allclose(main.get_ydata(), scores[:6])
    assert len(disp.thumbnail_axes_) == 4
    assert all(len(a.images) == 1 for a in disp.thumbnail_axes_)
    assert disp.ax_.get_xlabel() == "time (s)"
    assert disp.ax_.get_title() == "clip.mp4"
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend == ["face 0", "face 1", "video score 0.70"]
    assert disp.figure_ is disp.ax_.figure


def test_timeline_accepts_one_score_per_sampled_frame():
    record = _two_track_record()
    per_frame = np.arange(6) / 10.0
    disp = FrameScoreTimelineDisplay.from_predictions(record, per_frame)
    # the second track's rows sit on frames 1 and 3
    np.testing.assert_allclose(disp.lines_[1].get_ydata(), [0.1, 0.3])
    assert disp.video_line_ is None


def test_timeline_without_a_frame_rate_counts_frames():
    import dataclasses

    record = dataclasses.replace(make_tiny_face_tracks(1, empty=())[0], fps=0.0)
    scores = np.full(len(record), 0.25)
    disp = FrameScoreTimelineDisplay.from_predictions(record, scores, threshold=0.3)
    assert disp.ax_.get_xlabel() == "frame"
    np.testing.assert_allclose(
        disp.lines_[0].get_xdata(), record.frame_indices[record.frame_pos]
    )
    assert disp.threshold_line_.get_ydata()[0] == 0.3


def test_timeline_rejects_scores_of_the_wrong_length():
    record = _two_track_record()
    with pytest.raises(ValueError, match="one per face crop"):
        FrameScoreTimelineDisplay.from_predictions(record, np.zeros(3))


def test_timeline_on_a_video_without_faces_draws_no_line():
    record = make_tiny_face_tracks(2, empty=(1,))[1]
    disp = FrameScoreTimelineDisplay.from_predictions(record, np.zeros(0))
    assert disp.lines_ == []
    assert disp.thumbnail_axes_ == []


def test_timeline_from_estimator_uses_the_frame_scores_and_given_axes():
    X = make_tiny_face_tracks(3, empty=())
    clf = _RowMeanScorer().fit(X, [0, 1, 0])
    _, ax = plt.subplots()
    disp = FrameScoreTimelineDisplay.from_estimator(clf, X, video=2, ax=ax)
    assert disp.ax_ is ax
    np.testing.assert_allclose(
        disp.lines_[0].get_ydata(), clf.predict_frame_proba([X[2]])[0], rtol=1e-6
    )
    assert disp.video_score == pytest.approx(clf.predict_proba([X[2]])[0, 1])


def test_timeline_from_a_pipeline_transforms_first():
    X = make_tiny_face_tracks(2, empty=())
    pipe = make_pipeline(FunctionTransformer(lambda x: x), _RowMeanScorer())
    pipe.fit(X, [0, 1])
    disp = FrameScoreTimelineDisplay.from_estimator(pipe, X, video=1)
    assert len(disp.lines_[0].get_ydata()) == len(X[1])


def test_timeline_from_estimator_needs_frame_scores():
    X = make_tiny_face_tracks(2, empty=())
    with pytest.raises(TypeError, match="predict_frame_proba"):
        FrameScoreTimelineDisplay.from_estimator(LogisticRegression(), X)


# ----------------------------------------------------------------------
# FaceMontageDisplay
# ----------------------------------------------------------------------


def test_montage_tiles_the_crops_with_their_scores():
    record = _two_track_record(size=16)
    scores = np.linspace(0, 1, len(record))
    disp = FaceMontageDisplay.from_predictions(record, scores, n_cols=4)
    assert len(disp.ax_.images) == 1
    mosaic = disp.image_.get_array()
    assert mosaic.shape[1] > 4 * 16
    assert mosaic.shape[0] > 2 * 16
    assert len(disp.texts_) == len(record) == len(disp.borders_)
    assert disp.texts_[-1].get_text().startswith("1.00")
    # the borders go from the colour of 0 to the colour of 1
    cmap = plt.get_cmap("RdYlGn_r")
    np.testing.assert_allclose(disp.borders_[0].get_edgecolor(), cmap(0.0))
    np.testing.assert_allclose(disp.borders_[-1].get_edgecolor(), cmap(1.0))


def test_montage_limits_faces_and_selects_a_track():
    record = _two_track_record()
    disp = FaceMontageDisplay.from_predictions(record, max_faces=3, track=0)
    assert len(disp.crops) == 3
    assert disp.borders_ == []
    assert [t.get_text() for t in disp.texts_] == ["#0", "#20", "#50"]


def test_montage_from_estimator():
    X = make_tiny_face_tracks(2, empty=())
    clf = _RowMeanScorer().fit(X, [0, 1])
    disp = FaceMontageDisplay.from_estimator(clf, X, video=1)
    np.testing.assert_allclose(disp.scores, clf.predict_frame_proba([X[1]])[0])


@pytest.mark.parametrize("display", [FaceMontageDisplay, FrameScoreTimelineDisplay])
def test_video_displays_from_estimator_name_a_video_out_of_range(display):
    X = make_tiny_face_tracks(2, empty=())
    clf = _RowMeanScorer().fit(X, [0, 1])
    with pytest.raises(IndexError, match=r"video=2 is out of range for 2 videos"):
        display.from_estimator(clf, X, video=2)
    with pytest.raises(TypeError, match="Expected FaceTracks at position 0"):
        display.from_estimator(clf, [np.zeros((3, 2))])


def test_video_displays_from_estimator_pass_their_keywords_on():
    X = make_tiny_face_tracks(2, empty=())
    clf = _RowMeanScorer().fit(X, [0, 1])
    montage = FaceMontageDisplay.from_estimator(
        clf, X, video=1, max_faces=2, name="clip", n_cols=1
    )
    assert len(montage.crops) == 2
    assert montage.ax_.get_title() == "clip"
    timeline = FrameScoreTimelineDisplay.from_estimator(
        clf, X, n_thumbnails=1, threshold=0.3
    )
    assert len(timeline.thumbnail_axes_) == 1
    assert timeline.threshold == 0.3


class _MustNotScore(_RowMeanScorer):
    def predict_frame_proba(self, X):
        raise AssertionError("scored before the keywords were checked")


@pytest.mark.parametrize(
    ("display", "keyword"),
    [
        (FaceMontageDisplay, "n_thumbnails"),
        (FaceMontageDisplay, "frame_scores"),
        (FrameScoreTimelineDisplay, "video_score"),
        (FrameScoreTimelineDisplay, "max_faces"),
    ],
)
def test_video_displays_from_estimator_refuse_other_keywords(display, keyword):
    X = make_tiny_face_tracks(1, empty=())
    clf = _MustNotScore().fit(X, [0])
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{keyword}'"):
        display.from_estimator(clf, X, **{keyword: 1})


@pytest.mark.parametrize("display", [FaceMontageDisplay, FrameScoreTimelineDisplay])
def test_video_displays_from_estimator_documents_the_keywords_it_takes(display):
    params = inspect.signature(display.from_predictions).parameters.values()
    taken = {
        p.name
        for p in params
        if p.kind is p.KEYWORD_ONLY and p.name not in display._from_model_keys
    }
    section = display.from_estimator.__doc__.split("**kwargs")[1].split("Returns")[0]
    paragraph = section.split(f":class:`{display.__name__}`")[0].rsplit(";", 1)[-1]
    assert set(re.findall(r"``(\w+)``", paragraph)) == taken


# ----------------------------------------------------------------------
# Grouped ROC / DET
# ----------------------------------------------------------------------


def _scores(n=80, seed=0):
    rng = np.random.RandomState(seed)
    y = np.tile([0, 1], n // 2)
    score = y * 1.2 + rng.normal(size=n)
    folds = np.repeat(np.arange(4), n // 4)
    return y, score, folds


def _legend_numbers(ax):
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    return texts, [
        [float(v) for v in re.findall(r"\d+\.\d+", t)] for t in texts if "AUC" in t
    ]


def test_grouped_roc_from_predictions_matches_roc_auc_score():
    y, score, folds = _scores()
    disp = GroupedROCDisplay.from_predictions(y, score, folds=folds, name="lr")
    expected = [roc_auc_score(y[folds == k], score[folds == k]) for k in range(4)]
    np.testing.assert_allclose(disp.roc_aucs_, expected)
    texts, numbers = _legend_numbers(disp.ax_)
    # four fold curves (from sklearn's RocCurveDisplay), then the mean
    assert len(disp.fold_displays_) == 4
    fold_aucs = [n[0] for n in numbers[:4]]
    np.testing.assert_allclose(fold_aucs, expected, atol=0.005)
    mean_text = next(t for t in texts if "mean ROC" in t)
    assert mean_text.startswith("lr: mean ROC")
    mean_auc, std_auc = numbers[-1]
    assert mean_auc == pytest.approx(np.mean(expected), abs=0.005)
    assert std_auc == pytest.approx(np.std(expected), abs=0.005)
    # 4 folds + mean + chance level
    assert len(disp.ax_.lines) == 6
    assert disp.mean_line_.get_ydata()[0] == 0
    assert disp.mean_line_.get_ydata()[-1] == 1


def test_grouped_roc_without_folds_draws_the_mean_only():
    y, score, folds = _scores()
    disp = GroupedROCDisplay.from_predictions(y, score, folds=folds, show_folds=False)
    assert disp.fold_displays_ == []
    assert len(disp.ax_.lines) == 2  # mean and chance level
    disp.plot(plot_chance_level=False, show_folds=False)
    assert disp.chance_level_ is None


def test_grouped_roc_from_estimator_keeps_groups_apart():
    rng = np.random.RandomState(0)
    groups = np.repeat(np.arange(12), 4)
    y = np.tile([0, 1], 24)
    X = (y[:, None] + rng.normal(size=(48, 3))).astype(float)
    disp = GroupedROCDisplay.from_estimator(
        LogisticRegression(), X, y, groups=groups, cv=3
    )
    splits = list(GroupKFold(3).split(X, y, groups))
    oof = cross_val_predict(
        LogisticRegression(), X, y, cv=splits, method="predict_proba"
    )[:, 1]
    expected = [roc_auc_score(y[test], oof[test]) for _, test in splits]
    np.testing.assert_allclose(disp.roc_aucs_, expected)
    assert "LogisticRegression" in disp.mean_line_.get_label()


@pytest.mark.parametrize("display", [GroupedROCDisplay, GroupedDETDisplay])
def test_grouped_from_estimator_passes_ax_and_show_folds_on(display):
    rng = np.random.RandomState(0)
    y = np.tile([0, 1], 12)
    X = y[:, None] + rng.normal(size=(24, 2))
    _, ax = plt.subplots()
    disp = display.from_estimator(LogisticRegression(), X, y, cv=3, ax=ax)
    assert disp.ax_ is ax
    assert len(disp.fold_displays_) == 3
    disp = display.from_estimator(LogisticRegression(), X, y, cv=3, show_folds=False)
    assert disp.fold_displays_ == []


class _MustNotFit(LogisticRegression):
    def fit(self, X, y):
        raise AssertionError("fitted before the keywords were checked")


@pytest.mark.parametrize("keyword", ["folds", "plot_chance_level", "axes"])
def test_grouped_from_estimator_refuses_other_keywords(keyword):
    y = np.tile([0, 1], 6)
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{keyword}'"):
        GroupedROCDisplay.from_estimator(
            _MustNotFit(), y[:, None], y, cv=3, **{keyword: None}
        )


def test_grouped_roc_rejects_a_fold_with_one_class():
    y = np.r_[np.zeros(10), np.ones(10)]
    with pytest.raises(ValueError, match="one class only"):
        GroupedROCDisplay.from_predictions(y, y, folds=np.repeat([0, 1], 10))


def test_grouped_roc_rejects_overlapping_splits():
    from sklearn.model_selection import ShuffleSplit

    X = np.random.RandomState(0).normal(size=(20, 2))
    y = np.tile([0, 1], 10)
    with pytest.raises(ValueError, match=r"exactly one test fold|not overlap"):
        GroupedROCDisplay.from_estimator(
            LogisticRegression(), X, y, cv=ShuffleSplit(3, test_size=0.3)
        )


def test_grouped_det_draws_folds_and_mean():
    from scipy.stats import norm
    from sklearn.metrics import det_curve

    y, score, folds = _scores()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        disp = GroupedDETDisplay.from_predictions(y, score, folds=folds)
    assert len(disp.fold_displays_) == 4
    assert len(disp.ax_.lines) == 5
    _, fnr, _ = det_curve(y[folds == 2], score[folds == 2])
    line = disp.fold_displays_[2].line_
    inside = (fnr > 0) & (fnr < 1)  # sklearn clips 0 and 1 to float eps
    np.testing.assert_allclose(line.get_ydata()[inside], norm.ppf(fnr[inside]))
    assert disp.ax_.get_xlabel().startswith("False Positive Rate")
    # the mean false-negative rate falls as the false-positive rate grows
    assert np.all(np.diff(disp.mean_line_.get_ydata()) <= 1e-9)


@pytest.mark.slow
def test_timeline_and_montage_from_a_fitted_face_cnn():
    from sklearn_deepfake.nets import FaceCNNClassifier

    X = make_tiny_face_tracks(4, size=32, empty=())
    clf = FaceCNNClassifier(
        "resnet18",
        max_epochs=1,
        batch_size=8,
        valid_size=None,
        device="cpu",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random init
        clf.fit(X, [0, 1, 0, 1])
    timeline = FrameScoreTimelineDisplay.from_estimator(clf, X, video=3)
    expected = clf.predict_frame_proba([X[3]])[0]
    np.testing.assert_allclose(timeline.lines_[0].get_ydata(), expected, rtol=1e-5)
    assert timeline.video_score == pytest.approx(clf.predict_proba([X[3]])[0, 1])
    montage = FaceMontageDisplay.from_estimator(clf, X, video=3)
    assert len(montage.texts_) == len(X[3])


def test_displays_are_public_and_importing_them_stays_light():
    import subprocess
    import sys

    import sklearn_deepfake
    import sklearn_deepfake.inspection as inspection

    for cls in (
        FaceMontageDisplay,
        FrameScoreTimelineDisplay,
        GroupedDETDisplay,
        GroupedROCDisplay,
    ):
        assert cls.__name__ in inspection.__all__
        assert cls.__name__ in sklearn_deepfake.__all__
        assert getattr(sklearn_deepfake, cls.__name__) is cls
    # matplotlib and torch are imported when drawing or fitting, not before
    code = (
        "import sys, sklearn_deepfake.inspection; "
        "print(sorted({'matplotlib', 'torch'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
