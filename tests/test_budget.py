"""Tests of the prediction time budget (TimeBudget, predict_with_budget, CLI)."""

from __future__ import annotations

import csv
import glob
import os
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from sklearn_deepfake import BudgetRun, TimeBudget, predict_with_budget
from sklearn_deepfake.cli import main
from sklearn_deepfake.video import FrameSampler

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKDF_SHARED_DATA", REPO.parent / "shared" / "data"))


class _Clock:
    """A fake clock: time moves only when ``advance`` is called."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _CostModel(ClassifierMixin, BaseEstimator):
    """Scores videos without reading them; each costs ``a + b * n_frames``.

    With ``clock`` the cost advances that fake clock; without it the model
    sleeps. ``noise`` scales each cost by a factor in [1 - noise, 1 + noise]
    drawn from the video's name. ``fail`` names videos that raise.
    """

    def __init__(
        self,
        sampler=None,
        *,
        a=0.5,
        b=0.25,
        noise=0.0,
        clock=None,
        fail=(),
    ):
        self.sampler = sampler
        self.a = a
        self.b = b
        self.noise = noise
        self.clock = clock
        self.fail = fail

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        out = []
        for path in X:
            seed = sum(str(path).encode())
            factor = 1 + self.noise * np.random.default_rng(seed).uniform(-1, 1)
            cost = (self.a + self.b * self.sampler.n_frames) * factor
            if self.clock is not None:
                self.clock.advance(cost)
            else:
                time.sleep(cost)
            if os.path.basename(str(path)) in self.fail:
                raise RuntimeError(f"cannot decode {path}")
            out.append(self.sampler.n_frames / 100)
        p = np.asarray(out)
        return np.column_stack([1 - p, p])


def _simulate(seconds, n_videos, a=0.5, b=0.25, **kwargs):
    clock = _Clock()
    budget = TimeBudget(seconds, n_videos, clock=clock, **kwargs)
    plans = []
    for _ in range(n_videos):
        k = budget.plan()
        plans.append(k)
        cost = a + b * k if k else 0.0
        clock.advance(cost)
        budget.record(k, cost)
    return np.array(plans), budget


def _paths(n):
    return [f"video_{i:03d}.mp4" for i in range(n)]


# ---------------------------------------------------------------------------
# TimeBudget: the planner, on a fake clock
# ---------------------------------------------------------------------------


def test_time_budget_frames_shrink_as_budget_tightens():
    means = []
    for seconds in (2000.0, 600.0, 300.0, 150.0):
        plans, budget = _simulate(seconds, 50, max_frames=32)
        assert len(plans) == 50
        assert (plans >= 4).all()  # all scored: even 150 s affords 4 frames
        assert budget.elapsed() <= seconds
        means.append(plans.mean())
        ideal = min(32, (seconds / 50 - 0.5) / 0.25)  # frames if all equal
        assert 0.85 * ideal <= plans.mean() <= ideal
    assert means[0] > 30  # nearly every video at the 32-frame cap
    assert means == sorted(means, reverse=True)
    assert means[-1] < 10


def test_time_budget_uses_most_of_the_budget():
    plans, budget = _simulate(300.0, 50, max_frames=32)
    # The whole budget bought frames: less than one video's cost is left.
    assert 300.0 - budget.elapsed() < 0.5 + 0.25 * plans.max()
    assert budget.elapsed() <= 300.0


def test_time_budget_recovers_the_cost_model():
    plans, budget = _simulate(200.0, 40, a=0.5, b=0.25, max_frames=32)
    assert len(set(plans[1:])) > 1
    a, b = budget.cost_model()
    assert a == pytest.approx(0.5)
    assert b == pytest.approx(0.25)
    assert budget.predict_cost(10, n_videos=2) == pytest.approx(2 * 3.0)


def test_time_budget_first_video_at_the_floor():
    budget = TimeBudget(100.0, 5, min_frames=6, max_frames=32, clock=_Clock())
    assert budget.cost_model() is None
    assert np.isnan(budget.predict_cost(8))
    assert budget.plan() == 6


def test_time_budget_falls_back_when_floor_does_not_fit():
    # 20 videos at 4 frames cost 20 * 1.5 = 30 s; only 15 s are given.
    plans, budget = _simulate(15.0, 20, max_frames=32)
    scored = plans > 0
    assert (plans[scored] == 4).all()
    assert 5 <= scored.sum() < 20
    assert not scored[-1]  # the videos past the budget are the ones left out
    assert (np.diff(scored.astype(int)) <= 0).all()
    assert budget.elapsed() <= 15.0
    assert budget.n_done == 20


def test_time_budget_returns_zero_once_time_is_up():
    clock = _Clock()
    budget = TimeBudget(10.0, 3, clock=clock, start=clock() - 11.0)
    assert budget.remaining() < 0
    assert budget.plan() == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seconds": 0}, "seconds must be"),
        ({"seconds": float("inf")}, "seconds must be"),
        ({"n_videos": -1}, "n_videos must be"),
        ({"min_frames": 0}, "min_frames must be"),
        ({"max_frames": 2}, "must be >= min_frames"),
        ({"safety": -0.1}, "safety must be"),
        ({"clock": 3}, "clock must be callable"),
    ],
)
def test_time_budget_invalid_parameters(kwargs, match):
    params = {"seconds": 10.0, "n_videos": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        TimeBudget(**params)


# ---------------------------------------------------------------------------
# predict_with_budget on a model with a fake cost
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_predict_with_budget_holds_and_gives_every_video_a_row(batch_size, noise):
    paths = _paths(40)
    results = {}
    for seconds in (1000.0, 200.0, 100.0):
        clock = _Clock()
        model = _CostModel(FrameSampler(n_frames=32), noise=noise, clock=clock)
        model.fit(paths)
        run = predict_with_budget(
            model, paths, seconds, batch_size=batch_size, clock=clock
        )
        assert isinstance(run, BudgetRun)
        assert len(run.proba) == len(run.n_frames) == len(paths)
        assert not run.fallback.any()
        assert run.elapsed <= seconds
        assert clock.now - 100.0 == pytest.approx(run.elapsed)
        # each video's probability was computed with its own frame count
        np.testing.assert_allclose(run.proba, run.n_frames / 100)
        assert model.sampler.n_frames == 32  # restored
        results[seconds] = run.n_frames.mean()
    assert results[1000.0] > results[200.0] > results[100.0]
    assert results[100.0] < 8


def test_predict_with_budget_fallback_past_the_budget():
    paths = _paths(30)
    clock = _Clock()
    model = _CostModel(FrameSampler(n_frames=16), clock=clock).fit(paths)
    with pytest.warns(UserWarning, match=r"not scored and got the fallback 0\.3"):
        run = predict_with_budget(model, paths, 20.0, fallback=0.3, clock=clock)
    assert len(run.proba) == 30
    assert run.fallback.any()
    assert not run.fallback.all()
    assert (run.proba[run.fallback] == 0.3).all()
    assert (run.n_frames[run.fallback] == 0).all()
    assert np.isnan(run.seconds[run.fallback]).all()
    assert run.elapsed <= 20.0


def test_predict_with_budget_failed_video_gets_fallback():
    paths = _paths(6)
    clock = _Clock()
    model = _CostModel(FrameSampler(n_frames=8), clock=clock, fail=("video_002.mp4",))
    model.fit(paths)
    run = predict_with_budget(model, paths, 1000.0, batch_size=3, clock=clock)
    assert run.failed == {"video_002.mp4": "cannot decode video_002.mp4"}
    assert run.fallback.tolist() == [False, False, True, False, False, False]
    assert run.proba[2] == 0.5
    assert run.n_frames.tolist() == [4, 4, 4, 8, 8, 8]


@pytest.mark.parametrize("verbose", [0, 1])
def test_predict_with_budget_verbose_shows_progress_on_stderr(verbose, capsys):
    paths = _paths(6)
    clock = _Clock()
    model = _CostModel(FrameSampler(n_frames=8), clock=clock).fit(paths)
    run = predict_with_budget(model, paths, 1000.0, clock=clock, verbose=verbose)
    captured = capsys.readouterr()
    assert captured.out == ""
    if not verbose:
        assert captured.err == ""
        return
    # a progress bar over the videos that ends with the last video's figures
    assert "6/6" in captured.err
    assert "8 frames/video, 2.50 s/video" in captured.err
    assert f"{1000 - run.elapsed:.0f} s left" in captured.err


def test_predict_with_budget_sets_every_sampler_and_restores():
    from sklearn.pipeline import make_pipeline

    clock = _Clock()
    inner = _CostModel(FrameSampler(n_frames=12, max_frames=None), clock=clock)
    model = make_pipeline(inner).fit(_paths(3))
    seen = []
    original = inner.predict_proba

    def spy(X):
        seen.append((inner.sampler.n_frames, inner.sampler.max_frames))
        return original(X)

    inner.predict_proba = spy
    predict_with_budget(model, _paths(3), 1000.0, clock=clock)
    assert seen == [(4, 4), (8, 8), (12, 12)]
    assert (inner.sampler.n_frames, inner.sampler.max_frames) == (12, None)


def test_predict_with_budget_frame_limit_of_all_strategy():
    clock = _Clock()
    sampler = FrameSampler(strategy="all", max_frames=10)
    model = _CostModel(sampler, clock=clock).fit(_paths(3))
    run = predict_with_budget(model, _paths(3), 1000.0, clock=clock)
    assert run.n_frames.tolist() == [4, 8, 10]
    model.set_params(sampler__max_frames=None)
    with pytest.raises(ValueError, match="pass max_frames"):
        predict_with_budget(model, _paths(3), 1000.0, clock=clock)


def test_predict_with_budget_needs_a_frame_sampler():
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit([[0], [1]], [0, 1])
    with pytest.raises(ValueError, match="no FrameSampler"):
        predict_with_budget(model, _paths(2), 10.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fallback": 1.5}, "fallback must be a probability"),
        ({"fallback": -0.1}, "fallback must be"),
        ({"batch_size": 0}, "batch_size must be"),
    ],
)
def test_predict_with_budget_invalid_parameters(kwargs, match):
    model = _CostModel(FrameSampler(n_frames=8), clock=_Clock()).fit(_paths(2))
    with pytest.raises(ValueError, match=match):
        predict_with_budget(model, _paths(2), 10.0, **kwargs)


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def _rows(path):
    with open(path, newline="") as fh:
        return {r["filename"]: float(r["label"]) for r in csv.DictReader(fh)}


def test_cli_predict_time_budget_lowers_frames(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(8):
        (videos / f"v{i}.mp4").write_bytes(b"x")
    model = tmp_path / "m.joblib"
    # 32 frames cost 0.33 s a video (2.7 s for 8); the budget is 1.44 s.
    joblib.dump(_CostModel(FrameSampler(n_frames=32), a=0.01, b=0.01).fit([]), model)
    out = tmp_path / "sub.csv"
    argv = ["predict", str(model), str(videos), "-o", str(out)]
    t0 = time.perf_counter()
    assert main([*argv, "--time-budget", "0.0004"]) == 0
    took = time.perf_counter() - t0
    captured = capsys.readouterr()
    rows = _rows(out)
    assert sorted(rows) == [f"v{i}.mp4" for i in range(8)]
    assert "Time budget 1 s: 8 of 8 video(s) scored (4-" in captured.out
    frames = [round(p * 100) for p in rows.values()]
    assert min(frames) == 4
    assert max(frames) < 32
    assert took < 2.7


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf"])
def test_cli_predict_time_budget_rejects_bad_hours(tmp_path, value, capsys):
    argv = ["predict", "m.joblib", str(tmp_path), "-o", "s.csv"]
    assert main([*argv, "--time-budget", value]) == 2
    assert "positive number of hours" in capsys.readouterr().err


def test_cli_predict_min_frames_rejects_zero(tmp_path, capsys):
    argv = ["predict", "m.joblib", str(tmp_path), "-o", "s.csv"]
    assert main([*argv, "--time-budget", "1", "--min-frames", "0"]) == 2
    assert "--min-frames: must be at least 1" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# real 1080p clips (skipped without the shared data)
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.shared_data
def test_cli_predict_time_budget_on_real_1080p_clips(tmp_path, capsys):
    clips = sorted(glob.glob(str(SHARED / "dfdc-1080p" / "*.mp4")))
    if not clips:
        pytest.skip(f"{SHARED / 'dfdc-1080p'} is absent")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.features import TemporalPooling

    videos = tmp_path / "videos"
    videos.mkdir()
    for i in range(6):  # the 2 clips, 3 times each
        os.symlink(clips[i % len(clips)], videos / f"clip{i}.mp4")
    model = make_pipeline(
        FrameSampler(n_frames=16),
        # detection on every frame, so that frames cost more than decoding
        FaceCropper(size=32, detect_every=1, full_every=1, device="cpu"),
        _MeanCrop(),
        TemporalPooling(),
        LogisticRegression(),
    )
    X = [str(videos / "clip0.mp4"), str(videos / "clip1.mp4")]
    model.set_params(framesampler__n_frames=4).fit(X, [0, 1])
    model.set_params(framesampler__n_frames=16)
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    # Measure one clip at 4 and at 16 frames, then give the 6 clips the
    # cost of 6 at halfway: 16 frames each cannot fit, 4 frames each can.
    cost = {}
    for k in (4, 16):
        t = time.perf_counter()
        model.set_params(framesampler__n_frames=k).predict_proba(X[:1])
        cost[k] = time.perf_counter() - t
    seconds = 6 * (cost[4] + cost[16]) / 2
    out = tmp_path / "sub.csv"
    argv = ["predict", str(path), str(videos), "-o", str(out), "--no-cache"]
    assert main([*argv, "--time-budget", f"{seconds / 3600:.7f}"]) == 0
    captured = capsys.readouterr()
    assert sorted(_rows(out)) == [f"clip{i}.mp4" for i in range(6)]
    assert "Time budget" in captured.out, captured.out
    used = float(captured.out.split(" s used")[0].rsplit(" ", 1)[-1])
    # The budget held; the margin covers the noise of a shared machine.
    assert used <= seconds * 1.1, (cost, captured.out)
    mean = float(captured.out.split(" frames each, mean ")[1].split(")")[0])
    assert mean < 14, (cost, captured.out)  # forced fewer frames than 16


class _MeanCrop(BaseEstimator):
    """Per-frame mean colour of the face crops (3 features per frame)."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return [t.crops.reshape(len(t.crops), -1, 3).mean(axis=1) for t in X]
