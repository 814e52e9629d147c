"""Groups reach every step that splits; presets reject options they ignore.

Issue 20, item 3: ``sklearn-deepfake fit`` must hand the loader's groups (the
original of each DFDC fake) to the self-blended preset's early-stopping split,
to stacking's base estimators and to ``tune``; presets raise for explicit
options they have no step for; the fit report is opt-in.
"""

import contextlib
import io

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfake.cli import main
from sklearn_deepfake.cli._main import _build_parser
from sklearn_deepfake.pipeline import make_default_pipeline
from sklearn_deepfake.utils._routing import _groups_fit_params


class _RecordingSplit:
    """Wraps ``group_train_valid_split`` and records what it got and gave."""

    def __init__(self, split):
        self.split = split
        self.calls = []

    def __call__(self, n_videos, valid_size, groups, y, seed):
        train, valid = self.split(n_videos, valid_size, groups, y, seed)
        self.calls.append(
            {"groups": None if groups is None else np.asarray(groups).copy(),
             "train": np.asarray(train), "valid": np.asarray(valid)}
        )  # fmt: skip
        return train, valid


@pytest.fixture
def recording_split(monkeypatch):
    import sklearn_deepfake.nets._training as training

    recorder = _RecordingSplit(training.group_train_valid_split)
    monkeypatch.setattr(training, "group_train_valid_split", recorder)
    return recorder


def _run(argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    return code, buf.getvalue()


@pytest.mark.slow
def test_cli_fit_self_blended_split_never_separates_a_fake_from_its_original(
    tmp_path, recording_split
):
    from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder

    root = tmp_path / "dfdc"
    make_dfdc_folder(
        root, n_originals=4, fakes_per_original=2, n_test=0, n_frames=6,
        random_state=0,
    )  # fmt: skip
    data = load_dfdc(root)
    argv = ["fit", str(root), "-o", str(tmp_path / "m.joblib"), "--no-cache"]
    argv += ["--preset", "self-blended", "--n-frames", "4", "--size", "32"]
    argv += ["--set", "classifier__max_epochs=1", "classifier__valid_size=0.25"]
    argv += ["--set", "classifier__backbone=resnet18", "classifier__batch_size=8"]
    argv += ["--set", "classifier__device='cpu'", "classifier__random_state=0"]
    code, out = _run(argv)
    assert code == 0, out
    assert len(recording_split.calls) == 1  # the final fit, no report by default
    call = recording_split.calls[0]
    # the loader's groups, in the loader's order, reached the split
    assert call["groups"] is not None
    np.testing.assert_array_equal(call["groups"], data.groups)
    assert len(call["valid"]) > 0
    train_groups = set(data.groups[call["train"]])
    valid_groups = set(data.groups[call["valid"]])
    assert not train_groups & valid_groups
    # every fake lies on its original's side
    position = {p: i for i, p in enumerate(data.paths)}
    side = np.zeros(len(data.paths), dtype=bool)
    side[call["valid"]] = True
    for fake, original in _fake_original_pairs(root):
        assert side[position[fake]] == side[position[original]]


def _fake_original_pairs(root):
    import json

    folder = root / "train_sample_videos"
    meta = json.loads((folder / "metadata.json").read_text())
    return [
        (str(folder / name), str(folder / entry["original"]))
        for name, entry in meta.items()
        if entry["label"] == "FAKE"
    ]


def test_groups_fit_params_names_the_steps_that_split():
    groups = np.arange(6) // 2
    blended = make_default_pipeline(preset="self-blended")
    params = _groups_fit_params(blended, groups)
    assert list(params) == ["classifier__groups"]
    assert params["classifier__groups"] is groups
    assert _groups_fit_params(make_default_pipeline(), groups) == {}
    assert _groups_fit_params(blended, None) == {}
    outer = make_pipeline(StandardScaler(), blended)  # nested pipelines
    assert list(_groups_fit_params(outer, groups)) == ["pipeline__classifier__groups"]


def test_groups_fit_params_with_metadata_routing():
    import sklearn

    groups = np.arange(4) // 2
    with sklearn.config_context(enable_metadata_routing=True):
        blended = make_default_pipeline(preset="self-blended")
        assert list(_groups_fit_params(blended, groups)) == ["groups"]
        plain = make_pipeline(StandardScaler(), LogisticRegression())
        assert _groups_fit_params(plain, groups) == {}


def test_stacking_hands_groups_to_base_estimators_that_split(monkeypatch):
    """Without routing, a base estimator whose fit takes groups gets them,
    sliced to each internal training fold, and the others do not."""
    from sklearn.base import BaseEstimator, ClassifierMixin

    from sklearn_deepfake.ensemble import CalibratedStackingClassifier

    seen = []

    class GroupAware(ClassifierMixin, BaseEstimator):
        def fit(self, X, y, groups=None):
            seen.append(None if groups is None else np.asarray(groups))
            self.lr_ = LogisticRegression().fit(X, y)
            self.classes_ = self.lr_.classes_
            return self

        def predict_proba(self, X):
            return self.lr_.predict_proba(X)

        def predict(self, X):
            return self.lr_.predict(X)

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    y = np.tile([0, 1], 20)
    X[:, 0] += y
    groups = np.arange(40) // 2
    stack = CalibratedStackingClassifier(
        [("aware", GroupAware()), ("lr", LogisticRegression())], cv=4
    )
    stack.fit(X, y, groups=groups)
    assert len(seen) == 5  # 4 folds + the final refit
    assert all(g is not None for g in seen)
    folds = [s for s in seen if len(s) < 40]
    assert len(folds) == 4
    assert all(len(s) == 30 for s in folds)
    np.testing.assert_array_equal(seen[-1], groups)


def test_tune_pipeline_routes_groups_into_fit(tmp_path):
    pytest.importorskip("optuna")
    from sklearn.base import BaseEstimator, ClassifierMixin

    from sklearn_deepfake.model_selection import tune_pipeline

    seen = []

    class GroupAware(ClassifierMixin, BaseEstimator):
        def __init__(self, C=1.0):
            self.C = C

        def fit(self, X, y, groups=None):
            seen.append(None if groups is None else np.asarray(groups))
            self.lr_ = LogisticRegression(C=self.C).fit(X, y)
            self.classes_ = self.lr_.classes_
            return self

        def predict_proba(self, X):
            return self.lr_.predict_proba(X)

        def predict(self, X):
            return self.lr_.predict(X)

    rng = np.random.RandomState(0)
    X = rng.normal(size=(24, 2))
    y = np.tile([0, 1], 12)
    groups = np.arange(24) // 2
    pipe = make_pipeline(StandardScaler(), GroupAware())
    tune_pipeline(
        pipe, X, y, groups, n_trials=1, cv=3, storage=None,
        space={"groupaware__C": [0.1, 1.0]}, random_state=0,
    )  # fmt: skip
    assert len(seen) == 4  # 3 folds, 1 refit
    assert all(g is not None for g in seen)
    for fold in seen[:3]:
        assert len(fold) == 16
    np.testing.assert_array_equal(seen[-1], groups)


@pytest.mark.parametrize(
    ("preset", "option", "value"),
    [
        ("self-blended", "features", "context"),
        ("self-blended", "C", 0.5),
        ("self-blended", "pooling", ("mean",)),
        ("self-blended", "calibration", "sigmoid"),
        ("swap", "pooling", ("mean",)),
        ("swap", "calibration", "sigmoid"),
    ],
)
def test_presets_reject_options_they_would_ignore(preset, option, value):
    with pytest.raises(ValueError, match=rf"preset='{preset}'.*{option}="):
        make_default_pipeline(preset=preset, **{option: value})


def test_presets_honour_the_options_they_have_a_step_for():
    pipe = make_default_pipeline(preset="swap", features="context", C=2.0)
    frame_lr = pipe.named_steps["classifier"].estimator[-1]
    assert frame_lr.C == 2.0
    assert type(pipe.named_steps["features"]).__name__ == "FaceContextFeatures"
    pipe = make_default_pipeline(preset="self-blended", n_frames=8, size=64)
    assert pipe.named_steps["framesampler"].n_frames == 8
    assert pipe.named_steps["classifier"].input_size == 64


def test_cli_fit_self_blended_with_features_exits_1(tmp_path, capsys):
    data = tmp_path / "data"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
        (data / label / "v.mp4").write_bytes(b"x")
    argv = ["fit", str(data), "-o", str(tmp_path / "m"), "--no-cache"]
    assert main([*argv, "--preset", "self-blended", "--features", "context"]) == 1
    err = capsys.readouterr().err
    assert "features='context'" in err
    assert "self-blended" in err


def _help(*argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        _build_parser().parse_args([*argv, "--help"])
    return " ".join(buf.getvalue().split())


def test_cli_help_says_what_the_code_does():
    top = _help()
    assert "calibrated classifier" not in top
    fit = _help("fit")
    assert "--report-cv" in fit
    assert "default: 0" in fit
    assert "computed once for all folds" in fit
    assert "32 or 64" not in fit
    assert "128 for 'swap'" in fit
    # the default pipeline has no calibration step
    assert type(make_default_pipeline().named_steps["classifier"].estimator) is (
        LogisticRegression
    )
    tune = _help("tune")
    assert "default: context)" not in tune
    assert "default: the preset's" in tune


def test_cli_fit_report_is_opt_in(monkeypatch, tmp_path):
    """No --report-cv: no cross-validation; --report-cv/--cv K: K folds."""
    from sklearn_deepfake.cli import _fit as cli
    from sklearn_deepfake.cli import _options

    data = tmp_path / "data"
    for label in ("real", "fake"):
        (data / label).mkdir(parents=True)
        for i in range(3):
            (data / label / f"v{i}.mp4").write_bytes(b"x")

    class _Pipe:
        def fit(self, X, y):
            return self

    calls = []
    monkeypatch.setattr(_options, "_build_pipeline", lambda args, cache: _Pipe())
    monkeypatch.setattr(cli, "_set_calibration_cv", lambda *a, **k: "")
    monkeypatch.setattr(cli, "_cross_validate", lambda *a, **k: calls.append(a[4]))
    monkeypatch.setattr(cli, "atomic_dump", lambda obj, path: None)
    argv = ["fit", str(data), "-o", str(tmp_path / "m"), "--no-cache"]
    assert _run(argv)[0] == 0
    assert calls == []
    assert _run([*argv, "--report-cv", "3"])[0] == 0
    assert _run([*argv, "--cv", "2"])[0] == 0
    assert calls == [3, 2]


_SEEN: list = []


def _double(X):
    """A label-free step that records each call (module level: picklable)."""
    _SEEN.append(len(X))
    return np.asarray(X, dtype=float) * 2.0


def _doubling_pipeline(memory=None):
    """30 videos' rows, labels, groups and a pipeline whose ``features``
    step is :func:`_double` (its call record cleared)."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    _SEEN.clear()
    rng = np.random.RandomState(0)
    y = np.tile([0, 1], 15)
    X = rng.normal(size=(30, 3)) + y[:, None]
    groups = np.arange(30) // 2
    pipe = Pipeline(
        [
            ("features", FunctionTransformer(_double)),
            ("standardscaler", StandardScaler()),
            ("classifier", LogisticRegression()),
        ],
        memory=memory,
    )
    return X, y, groups, pipe


def test_cli_report_computes_the_features_once(capsys):
    """The report's folds refit only the head on features computed once, and
    score exactly as cross-validating the whole pipeline does."""
    from sklearn.model_selection import GroupKFold, cross_val_score

    from sklearn_deepfake.cli._fit import _cross_validate

    X, y, groups, pipe = _doubling_pipeline()
    loss = _cross_validate(pipe, X, y, groups, 3, explicit=False)
    assert _SEEN == [30]  # once, on every video
    assert "computed once for all folds" in capsys.readouterr().out
    whole = -cross_val_score(
        pipe, X, y, groups=groups, cv=GroupKFold(3), scoring="neg_log_loss"
    )
    np.testing.assert_allclose(loss, whole)


@pytest.mark.parametrize("memory", [None, "cache"])
def test_fit_reporting_computes_the_features_once_for_report_and_fit(
    memory, tmp_path, capsys
):
    """``fit --report-cv`` runs the label-free steps once: the folds and the
    final fit both refit the head on their output. The fitted pipeline is the
    one a plain ``fit`` gives (also when ``Pipeline(memory=...)`` fits clones
    of the steps), and the report is the whole pipeline's cross-validation."""
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold, cross_val_score

    from sklearn_deepfake.cli._fit import fit_reporting

    seen = _SEEN
    X, y, groups, pipe = _doubling_pipeline(
        None if memory is None else str(tmp_path / memory)
    )
    reference = clone(pipe)
    assert fit_reporting(pipe, X, y, groups, 3, explicit=False) == ""
    out = capsys.readouterr().out
    assert seen == [30]  # once, for the three folds and the final fit
    assert "computed once for the folds and the final fit" in out
    assert "3-fold GroupKFold" in out
    loss = float(out.split("CV log loss ")[1].split()[0])
    whole = -cross_val_score(
        reference, X, y, groups=groups, cv=GroupKFold(3), scoring="neg_log_loss"
    )
    assert loss == pytest.approx(whole.mean(), abs=5e-4)
    assert pipe.named_steps["standardscaler"].n_features_in_ == 3
    reference.fit(X, y)
    np.testing.assert_allclose(pipe.predict_proba(X), reference.predict_proba(X))

    seen.clear()
    fresh = clone(pipe)
    fit_reporting(fresh, X, y, groups, 0, explicit=False)  # no report
    assert seen == [30]
    assert "for the fit" in capsys.readouterr().out
    np.testing.assert_allclose(fresh.predict_proba(X), reference.predict_proba(X))
