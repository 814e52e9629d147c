import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import joblib
import numpy as np
import optuna
import pytest
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FixedTrial, TrialState
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_deepfake
from sklearn_deepfake.calibration import ClippedClassifier
from sklearn_deepfake.model_selection import (
    DEFAULT_STORAGE,
    OptunaPruningCallback,
    clipped_neg_log_loss,
    pruning_callbacks,
    suggest_params,
    tune_pipeline,
)
from sklearn_deepfake.model_selection._pruning import EPOCH_STEPS

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _data(n=60, seed=0):
    """2-D data in pairs (groups) whose members are near-duplicates."""
    rng = np.random.RandomState(seed)
    base = rng.randn(n // 2, 2)
    X = np.repeat(base, 2, axis=0) + 0.01 * rng.randn(n, 2)
    y = (X[:, 0] + 0.8 * rng.randn(n) > 0).astype(int)
    groups = np.repeat(np.arange(n // 2), 2)
    return X, y, groups


def _pipe():
    return make_pipeline(StandardScaler(), ClippedClassifier(LogisticRegression()))


def _study():
    return optuna.create_study(direction="maximize")


# ---------------------------------------------------------------------------
# search spaces
# ---------------------------------------------------------------------------


def test_suggest_params_walks_nested_estimators():
    trial = _study().ask()
    params = suggest_params(trial, _pipe())
    assert sorted(params) == [
        "clippedclassifier__eps",
        "clippedclassifier__estimator__C",
    ]
    assert 1e-4 <= params["clippedclassifier__estimator__C"] <= 1e2
    assert 1e-3 <= params["clippedclassifier__eps"] <= 0.1
    assert sorted(trial.params) == sorted(params)
    clone(_pipe()).set_params(**params)


def test_suggest_params_default_pipeline_steps():
    pipe = sklearn_deepfake.make_default_pipeline(calibration="sigmoid")
    params = suggest_params(_study().ask(), pipe)
    assert set(params) == {
        "framesampler__n_frames",
        "facecropper__margin",
        "facecropper__size",
        "temporalpooling__stats",
        "classifier__eps",
        "classifier__estimator__estimator__C",
    }
    assert isinstance(params["temporalpooling__stats"], tuple)
    assert set(params["temporalpooling__stats"]) <= {"mean", "std", "max", "min"}
    pipe.set_params(**params)


@pytest.mark.parametrize(
    ("name", "fixed", "expected"),
    [
        (
            "FaceCNNClassifier",
            {"lr": 1e-3, "max_epochs": 3, "weight_decay": 0.01, "label_smoothing": 0.1},
            {"lr", "max_epochs", "weight_decay", "label_smoothing"},
        ),
        ("VideoCNNClassifier", {"lr": 1e-3, "max_epochs": 3}, {"lr", "max_epochs"}),
    ],
)
def test_suggest_params_net_spaces(name, fixed, expected):
    from sklearn_deepfake import nets

    est = getattr(nets, name)()
    trial = FixedTrial({f"net__{k}": v for k, v in fixed.items()})
    params = suggest_params(trial, Pipeline([("net", est)]))
    assert params == {f"net__{k}": v for k, v in fixed.items()}
    assert {p.split("__")[-1] for p in params} == expected
    assert getattr(nets, name)._search_space(trial, "net__") == {
        f"net__{k}": v for k, v in fixed.items()
    }


def test_suggest_params_dict_space():
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    space = {
        "logisticregression__C": FloatDistribution(0.1, 10.0, log=True),
        "logisticregression__max_iter": IntDistribution(50, 60),
        "logisticregression__fit_intercept": CategoricalDistribution([True, False]),
        "logisticregression__tol": [1e-4, 1e-3],
        "standardscaler__with_mean": lambda trial, name: (
            trial.suggest_int(name, 0, 1) == 1
        ),
    }
    trial = _study().ask()
    params = suggest_params(trial, pipe, space)
    assert sorted(params) == sorted(space)
    assert 0.1 <= params["logisticregression__C"] <= 10.0
    assert params["logisticregression__max_iter"] in range(50, 61)
    assert params["logisticregression__tol"] in (1e-4, 1e-3)
    assert isinstance(params["standardscaler__with_mean"], bool)
    pipe.set_params(**params)


def test_suggest_params_callable_space_and_registry():
    pipe = _pipe()

    def space(trial, estimator):
        assert estimator is pipe
        return {"clippedclassifier__estimator__C": trial.suggest_float("C", 1, 2)}

    assert suggest_params(FixedTrial({"C": 1.5}), pipe, space) == {
        "clippedclassifier__estimator__C": 1.5
    }

    # A registry entry for a base class applies to its subclasses.
    class MyScaler(StandardScaler):
        pass

    registry = {"StandardScaler": lambda t, p: {f"{p}with_std": False}}
    pipe = make_pipeline(MyScaler(), LogisticRegression())
    assert suggest_params(FixedTrial({}), pipe, registry=registry) == {
        "myscaler__with_std": False
    }


def test_suggest_params_errors():
    pipe = _pipe()
    with pytest.raises(ValueError, match="unknown parameter"):
        suggest_params(FixedTrial({"x": 1.0}), pipe, {"clf__C": [1.0]})
    with pytest.raises(TypeError, match="optuna distribution"):
        suggest_params(FixedTrial({}), pipe, {"clippedclassifier__eps": 0.1})
    with pytest.raises(TypeError, match="space must be"):
        suggest_params(FixedTrial({}), pipe, 3)


# ---------------------------------------------------------------------------
# objective, pruning at fold level, failures
# ---------------------------------------------------------------------------


def test_tune_pipeline_grouped_folds_and_fold_reports():
    X, y, groups = _data()
    space = {"clippedclassifier__estimator__C": FloatDistribution(0.01, 10, log=True)}
    result = tune_pipeline(
        _pipe(),
        X,
        y,
        groups,
        n_trials=3,
        cv=3,
        storage=None,
        space=space,
        random_state=0,
    )
    assert len(result.study.trials) == 3
    assert result.n_new_trials_ == 3
    for i, trial in enumerate(result.study.trials):
        params = result.cv_results_["params"][i]
        expected = cross_val_score(
            clone(_pipe()).set_params(**params),
            X,
            y,
            groups=groups,
            cv=GroupKFold(3),
            scoring=clipped_neg_log_loss,
        )
        got = [result.cv_results_[f"split{k}_test_score"][i] for k in range(3)]
        np.testing.assert_allclose(got, expected)
        assert trial.intermediate_values == dict(enumerate(expected))
        assert trial.value == pytest.approx(expected.mean())
    best = int(np.argmax(result.cv_results_["mean_test_score"]))
    assert result.best_params_ == result.cv_results_["params"][best]
    assert result.best_score_ == pytest.approx(result.study.best_value)


def test_tune_pipeline_best_params_refit_and_predict():
    X, y, groups = _data()
    result = tune_pipeline(
        _pipe(), X, y, groups, n_trials=4, cv=3, storage=None, random_state=0
    )
    est = result.best_estimator_
    assert est is not None
    C = result.best_params_["clippedclassifier__estimator__C"]
    assert est.named_steps["clippedclassifier"].estimator_.C == C
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert (est.predict(X) == y).mean() > 0.7
    assert (
        tune_pipeline(
            _pipe(), X, y, groups, n_trials=1, cv=3, storage=None, refit=False
        ).best_estimator_
        is None
    )


def test_tune_pipeline_prunes_after_first_fold():
    X, y, groups = _data()
    # Scores are minus log losses (< 0): every trial is pruned at step 0.
    pruner = optuna.pruners.ThresholdPruner(lower=0.0)
    with pytest.raises(RuntimeError, match=r"no trial .* completed"):
        tune_pipeline(
            _pipe(), X, y, groups, n_trials=2, cv=3, storage=None, pruner=pruner
        )
    # The states, on a storage the test can read back.
    storage = optuna.storages.InMemoryStorage()
    with pytest.raises(RuntimeError):
        tune_pipeline(
            _pipe(),
            X,
            y,
            groups,
            n_trials=2,
            cv=3,
            storage=storage,
            pruner=pruner,
            study_name="p",
        )
    study = optuna.load_study(study_name="p", storage=storage)
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 2
    assert all(sorted(t.intermediate_values) == [0] for t in study.trials)


def test_tune_pipeline_no_pruning_reports_nothing():
    X, y, groups = _data()
    pruner = optuna.pruners.ThresholdPruner(lower=0.0)
    result = tune_pipeline(
        _pipe(),
        X,
        y,
        groups,
        n_trials=2,
        cv=3,
        storage=None,
        pruner=pruner,
        pruning=None,
    )
    assert all(t.state == TrialState.COMPLETE for t in result.study.trials)
    assert all(not t.intermediate_values for t in result.study.trials)


def test_tune_pipeline_failed_trials_do_not_stop_the_study():
    X, y, groups = _data()
    space = {"clippedclassifier__estimator__C": [-1.0, 1.0]}  # -1 fails in fit
    result = tune_pipeline(
        _pipe(),
        X,
        y,
        groups,
        n_trials=8,
        cv=2,
        storage=None,
        space=space,
        random_state=0,
    )
    states = [t.state for t in result.study.trials]
    assert TrialState.FAIL in states
    assert TrialState.COMPLETE in states
    assert len(states) == 8
    failed = [t for t in result.study.trials if t.state == TrialState.FAIL]
    assert all("C" in t.user_attrs["error"] for t in failed)
    assert result.best_params_ == {"clippedclassifier__estimator__C": 1.0}
    with pytest.raises(ValueError, match="C"):
        tune_pipeline(
            _pipe(),
            X,
            y,
            groups,
            n_trials=1,
            cv=2,
            storage=None,
            space={"clippedclassifier__estimator__C": [-1.0]},
            catch=(),
        )
    with pytest.raises(RuntimeError, match=r"last error: .*C"):
        tune_pipeline(
            _pipe(),
            X,
            y,
            groups,
            n_trials=2,
            cv=2,
            storage=None,
            space={"clippedclassifier__estimator__C": [-1.0]},
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_trials": 0}, "n_trials"),
        ({"pruning": "batch"}, "pruning"),
        ({"cv": 40}, "at least 40 groups"),
        ({"cv": 1}, "at least 2"),
        ({"scoring": 3}, "scoring"),
    ],
)
def test_tune_pipeline_bad_arguments(kwargs, match):
    X, y, groups = _data()
    with pytest.raises(ValueError, match=match):
        tune_pipeline(_pipe(), X, y, groups, storage=None, **kwargs)


def test_tune_pipeline_without_groups_and_other_scoring():
    X, y, _ = _data()
    result = tune_pipeline(
        _pipe(), X, y, n_trials=2, cv=3, storage=None, scoring="roc_auc"
    )
    assert 0.5 < result.best_score_ <= 1.0


def test_tune_pipeline_is_public():
    assert sklearn_deepfake.tune_pipeline is tune_pipeline
    assert DEFAULT_STORAGE.startswith("sqlite:///")


# ---------------------------------------------------------------------------
# storage and resume
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_tune_pipeline_sqlite_resumes_to_n_trials(tmp_path):
    X, y, groups = _data()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = tune_pipeline(
        _pipe(), X, y, groups, n_trials=2, cv=2, storage=storage, random_state=0
    )
    name = first.study.study_name
    assert name.startswith("sklearn-deepfake-")
    again = tune_pipeline(
        _pipe(), X, y, groups, n_trials=4, cv=2, storage=storage, random_state=0
    )
    assert again.study.study_name == name  # same pipeline, space and data
    assert again.n_new_trials_ == 2
    assert len(again.study.trials) == 4
    for old, new in zip(first.study.trials, again.study.trials):
        assert (old.params, old.value) == (new.params, new.value)
    done = tune_pipeline(
        _pipe(), X, y, groups, n_trials=3, cv=2, storage=storage, refit=False
    )
    assert done.n_new_trials_ == 0
    assert done.best_params_ == again.best_params_


_KILLED_SCRIPT = """
import time
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn_deepfake.model_selection import tune_pipeline

def slow(X):
    time.sleep(0.15)
    return X

rng = np.random.RandomState(0)
X = rng.randn(40, 2)
y = (X[:, 0] > 0).astype(int)
pipe = make_pipeline(FunctionTransformer(slow), LogisticRegression())
tune_pipeline(pipe, X, y, np.arange(40) // 2, n_trials=200, cv=2,
              storage={storage!r}, study_name="killed", random_state=0)
"""


def _n_complete(db):
    if not os.path.exists(db):
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            rows = con.execute(
                "SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'"
            ).fetchone()
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    return rows[0]


@pytest.mark.slow
def test_tune_pipeline_resumes_after_the_process_is_killed(tmp_path):
    db = tmp_path / "killed.db"
    storage = f"sqlite:///{db}"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(_KILLED_SCRIPT.format(storage=storage)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while _n_complete(db) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no trial completed in 120 s"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    before = optuna.load_study(study_name="killed", storage=storage).trials
    complete = [t for t in before if t.state == TrialState.COMPLETE]
    assert len(complete) >= 2
    assert len(complete) < 200

    rng = np.random.RandomState(0)
    X = rng.randn(40, 2)
    y = (X[:, 0] > 0).astype(int)
    pipe = make_pipeline(LogisticRegression())
    space = {"logisticregression__C": FloatDistribution(1e-4, 1e2, log=True)}
    n_trials = len(complete) + 2
    result = tune_pipeline(
        pipe,
        X,
        y,
        np.arange(40) // 2,
        n_trials=n_trials,
        cv=2,
        storage=storage,
        study_name="killed",
        space=space,
    )
    after = {t.number: t for t in result.study.trials}
    for t in complete:  # earlier trials intact
        assert after[t.number].state == TrialState.COMPLETE
        assert (after[t.number].params, after[t.number].value) == (t.params, t.value)
    finished = [t for t in after.values() if t.state.is_finished()]
    assert len(finished) == n_trials
    assert result.n_new_trials_ == n_trials - sum(t.state.is_finished() for t in before)
    assert result.best_estimator_.predict(X).shape == (40,)


# ---------------------------------------------------------------------------
# epoch-level pruning of skorch nets
# ---------------------------------------------------------------------------


def _tiny_net(callbacks, max_epochs=4):
    import torch
    from skorch import NeuralNetClassifier

    torch.manual_seed(0)
    return NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softmax(dim=-1)),
        max_epochs=max_epochs,
        lr=0.1,
        batch_size=16,
        verbose=0,
        callbacks=callbacks,
    )


def _net_data():
    X, y, _ = _data(40)
    return X.astype(np.float32), y.astype(np.int64)


def test_pruning_callback_prunes_a_skorch_net():
    X, y = _net_data()
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0))
    trial = study.ask()
    net = _tiny_net([("prune", OptunaPruningCallback(trial, "valid_loss"))])
    with pytest.raises(optuna.TrialPruned, match="epoch 1"):
        net.fit(X, y)
    assert len(net.history) == 1  # training stopped after the first epoch
    assert list(trial.storage.get_trial(trial._trial_id).intermediate_values) == [0]


def test_pruning_callback_reports_every_epoch():
    X, y = _net_data()
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())

    def objective(trial):
        cb = OptunaPruningCallback(trial, "train_loss", negate=True, step_offset=10)
        net = _tiny_net([("prune", cb)]).fit(X, y)
        return -net.history[-1, "train_loss"]

    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [10, 11, 12, 13]
    assert trial.intermediate_values[13] == pytest.approx(trial.value)


def test_pruning_callback_params_and_missing_key():
    X, y = _net_data()
    cb = OptunaPruningCallback(None, "valid_loss")
    net = _tiny_net([("prune", cb)])
    net.set_params(callbacks__prune__monitor="train_loss")
    assert net.get_params()["callbacks__prune__monitor"] == "train_loss"
    with pytest.raises(ValueError, match="Invalid parameter"):
        cb.set_params(patience=2)
    trial = optuna.create_study().ask()
    with pytest.raises(KeyError, match="no 'score'"):
        _tiny_net([("prune", OptunaPruningCallback(trial, "score"))]).fit(X, y)


class _NetWithCallbacks(ClassifierMixin, BaseEstimator):
    """A skorch classifier with a ``callbacks`` parameter, as the nets have."""

    def __init__(self, max_epochs=3, callbacks=None):
        self.max_epochs = max_epochs
        self.callbacks = callbacks

    def fit(self, X, y):
        self.net_ = _tiny_net(list(self.callbacks or []), self.max_epochs)
        self.net_.fit(X.astype(np.float32), y.astype(np.int64))
        self.classes_ = self.net_.classes_
        return self

    def predict_proba(self, X):
        return self.net_.predict_proba(X.astype(np.float32))


class _NetWithHook(_NetWithCallbacks):
    """An estimator that still asks the deprecated hook for its callbacks."""

    def __init__(self, max_epochs=3):
        self.max_epochs = max_epochs

    def fit(self, X, y):
        self.callbacks = pruning_callbacks()
        return super().fit(X, y)


def _epoch_pruned_study(estimator):
    X, y = _net_data()
    groups = np.arange(len(X)) // 2
    return tune_pipeline(
        estimator,
        X,
        y,
        groups,
        n_trials=1,
        cv=2,
        storage=None,
        space={"max_epochs": [3]},
        pruning="epoch",
        pruner=optuna.pruners.NopPruner(),
    )


def _check_epoch_reports(result):
    trial = result.study.trials[0]
    steps = sorted(trial.intermediate_values)
    E = EPOCH_STEPS
    assert steps == [0, 1, 2, E - 1, E, E + 1, E + 2, 2 * E - 1]
    assert all(trial.intermediate_values[s] < 0 for s in (0, 1, 2))  # -valid_loss
    assert (
        trial.intermediate_values[E - 1] == result.cv_results_["split0_test_score"][0]
    )
    # The refit happens outside any trial: no callback left in the fitted net.
    assert "optuna_pruning" not in dict(result.best_estimator_.net_.callbacks_)
    joblib.dump(result.best_estimator_, os.devnull)


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_tune_pipeline_epoch_pruning_through_the_callbacks_parameter():
    estimator = _NetWithCallbacks()
    result = _epoch_pruned_study(estimator)
    _check_epoch_reports(result)
    assert estimator.callbacks is None  # the caller's estimator is untouched
    assert result.best_estimator_.callbacks is None


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_tune_pipeline_epoch_pruning_through_the_deprecated_hook():
    with pytest.warns(FutureWarning, match="pruning_callbacks is deprecated"):
        assert pruning_callbacks() == []
    with pytest.warns(FutureWarning, match="pruning_callbacks is deprecated"):
        result = _epoch_pruned_study(_NetWithHook())
    _check_epoch_reports(result)
    with pytest.warns(FutureWarning, match="pruning_callbacks is deprecated"):
        assert pruning_callbacks() == []


def test_pruning_callback_clone_shares_the_trial():
    from sklearn.base import clone

    trial = optuna.create_study().ask()
    callbacks = [("prune", OptunaPruningCallback(trial, None, negate=True))]
    copy = clone(callbacks, safe=False)  # as clone(estimator) does to params
    assert copy[0][1] is not callbacks[0][1]
    assert copy[0][1].trial is trial
    assert copy[0][1].get_params()["monitor"] is None


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_tune_pipeline_epoch_pruning_stops_training():
    X, y = _net_data()
    groups = np.arange(len(X)) // 2
    with pytest.raises(RuntimeError, match="no trial"):
        tune_pipeline(
            _NetWithCallbacks(),
            X,
            y,
            groups,
            n_trials=1,
            cv=2,
            storage=None,
            space={"max_epochs": [5]},
            pruning="epoch",
            pruner=optuna.pruners.ThresholdPruner(lower=0.0),
        )


class _AlwaysPrune(optuna.pruners.BasePruner):
    """Prune at the first report; remember what each trial had reported."""

    def __init__(self):
        self.seen = []

    def prune(self, study, trial):
        self.seen.append((trial.number, dict(trial.intermediate_values)))
        return True


@pytest.mark.filterwarnings("ignore::sklearn_deepfake.features._cnn.RandomInitWarning")
def test_tune_pipeline_epoch_pruning_inside_face_cnn_training():
    """The nets' skorch loop reports each epoch and stops when pruned."""
    from sklearn_deepfake.nets import FaceCNNClassifier
    from sklearn_deepfake.utils._testing import make_tiny_face_tracks

    X = make_tiny_face_tracks(6, size=16, empty=())
    y = np.array([0, 1] * 3)
    groups = np.array([0, 0, 1, 1, 2, 2])
    clf = FaceCNNClassifier(
        "resnet18", max_epochs=3, batch_size=8, valid_size=None, augment=False,
        device="cpu", random_state=0,
    )  # fmt: skip
    pruner = _AlwaysPrune()
    with pytest.raises(RuntimeError, match="no trial"):
        tune_pipeline(
            clf, X, y, groups, n_trials=2, cv=2, storage=None,
            space={"lr": [1e-3, 3e-3]}, pruning="epoch", pruner=pruner,
        )  # fmt: skip
    # Each trial reported once, after epoch 1 of fold 0 (step 0): minus the
    # training loss (no validation split), and went no further.
    assert [n for n, _ in pruner.seen] == [0, 1]
    for _, values in pruner.seen:
        assert list(values) == [0]
        assert -2.0 < values[0] < 0.0


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def test_cli_tune_help_and_default_storage(capsys):
    from sklearn_deepfake.cli import _tune as _cli_tune
    from sklearn_deepfake.cli import main

    assert _cli_tune._DEFAULT_STORAGE == DEFAULT_STORAGE
    assert main(["tune", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--trials",
        "--storage",
        "--timeout",
        "--study-name",
        "--cv",
        "--output",
        "--set",
        "--n-jobs",
        "--cache",
        "--tune-faces",
    ):
        assert option in out
    assert main(["tune", "data", "--trials", "0"]) == 2


def test_cli_tune_search_space_skips_faces_and_fixed():
    from sklearn_deepfake.cli._tune import _space

    pipe = sklearn_deepfake.make_default_pipeline()
    trial = _study().ask()
    params = _space({"classifier__eps"}, tune_faces=False)(trial, pipe)
    assert set(params) == {"temporalpooling__stats", "classifier__estimator__C"}
    params = _space(set(), tune_faces=True)(_study().ask(), pipe)
    assert {"framesampler__n_frames", "facecropper__size"} <= set(params)


@pytest.mark.slow
def test_cli_tune_end_to_end(tiny_dfdc, tmp_path, capsys):
    from sklearn_deepfake.cli import main

    cache = tmp_path / "cache"
    model = tmp_path / "model.joblib"
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    argv = [
        "tune",
        str(tiny_dfdc.root),
        "--trials",
        "2",
        "--storage",
        storage,
        "--cv",
        "2",
        "-o",
        str(model),
        "--cache",
        str(cache),
        "--n-frames",
        "4",
        "--set",
        "facecropper__size=32",
        "--seed",
        "0",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 new trial(s), 2 finished" in out
    assert "classifier__estimator__C=" in out
    assert "facecropper__size" not in out.split("Best trial")[1]
    assert model.is_file()
    fitted = joblib.load(model)
    assert fitted.named_steps["facecropper"].size == 32
    # Resume: the study already holds 2 finished trials.
    assert main([*argv[:3], "3", *argv[4:]]) == 0
    assert "1 new trial(s), 3 finished" in capsys.readouterr().out
    csv = tmp_path / "submission.csv"
    code = main(
        [
            "predict",
            str(model),
            str(tiny_dfdc.root),
            "-o",
            str(csv),
            "--cache",
            str(cache),
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert len(csv.read_text().splitlines()) == 1 + len(tiny_dfdc.test_paths)


def test_tune_pipeline_parallel_trials_stop_at_n_trials():
    X, y, groups = _data()
    result = tune_pipeline(
        _pipe(),
        X,
        y,
        groups,
        n_trials=4,
        n_jobs=2,
        cv=2,
        storage=None,
        random_state=0,
        refit=False,
    )
    assert len(result.study.trials) == 4
    assert all(t.state == TrialState.COMPLETE for t in result.study.trials)
