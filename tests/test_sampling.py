"""Tests of FrameSampler (paths -> FramePlan list, nothing decoded)."""

import pickle
import warnings

import av
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    check_estimator_cloneable,
    check_estimator_repr,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_deepfake.exceptions import VideoReadWarning
from sklearn_deepfake.utils import FramePlan
from sklearn_deepfake.video import FrameSampler


def _write(path, n_frames, rate=10, width=32, height=16):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(n_frames):
            img = np.full((height, width, 3), i % 256, dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())
    return str(path)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Three clips at 10 fps: 100, 40 and 7 frames."""
    root = tmp_path_factory.mktemp("sampling")
    return [
        _write(root / "long.mp4", 100),
        _write(root / "mid.mp4", 40),
        _write(root / "short.mp4", 7),
    ]


def _indices(plans):
    return [p.indices.tolist() for p in plans]


def test_uniform_is_default_and_evenly_spaced(videos):
    plans = FrameSampler(n_frames=4).fit_transform(videos)
    assert isinstance(plans, list)
    assert all(isinstance(p, FramePlan) for p in plans)
    assert [p.path for p in plans] == videos
    assert _indices(plans) == [[12, 37, 62, 87], [5, 15, 25, 35], [0, 2, 4, 6]]
    assert plans[0].n_video_frames == 100
    assert plans[0].fps == pytest.approx(10.0)
    assert (plans[0].width, plans[0].height, plans[0].rotation) == (32, 16, 0)
    assert plans[0].error is None


def test_uniform_takes_every_frame_of_a_short_video(videos):
    plans = FrameSampler(n_frames=32).fit_transform(videos)
    assert _indices(plans)[2] == list(range(7))
    assert len(plans[0]) == 32
    assert np.all(np.diff(plans[0].indices) > 0)


def test_every_nth_with_step_and_default_step(videos):
    plans = FrameSampler(strategy="every_nth", step=30).fit_transform(videos)
    assert _indices(plans) == [[0, 30, 60, 90], [0, 30], [0]]
    # step=None: one frame per second (10 fps)
    plans = FrameSampler(strategy="every_nth").fit_transform(videos[:1])
    assert _indices(plans) == [list(range(0, 100, 10))]


def test_all_strategy_and_max_frames_cap(videos):
    plans = FrameSampler(strategy="all").fit_transform(videos)
    assert _indices(plans) == [list(range(100)), list(range(40)), list(range(7))]
    plans = FrameSampler(strategy="all", max_frames=25).fit_transform(videos)
    assert _indices(plans) == [list(range(25)), list(range(25)), list(range(7))]
    plans = FrameSampler(strategy="every_nth", step=2, max_frames=5).transform(videos)
    assert _indices(plans)[0] == [0, 2, 4, 6, 8]
    plans = FrameSampler(n_frames=50, max_frames=10).transform(videos)
    assert [len(p) for p in plans] == [10, 10, 7]


def test_bursts_are_runs_of_consecutive_frames_spread_over_the_video(videos):
    plans = FrameSampler(n_frames=12, strategy="bursts", burst_len=4).transform(videos)
    long, mid, short = _indices(plans)
    # Three runs of four over 100 frames: starts at the centres of 3 parts.
    assert long == [*range(16, 20), *range(48, 52), *range(80, 84)]
    runs = np.split(np.array(long), np.flatnonzero(np.diff(long) > 1) + 1)
    assert [len(r) for r in runs] == [4, 4, 4]
    assert len(mid) == 12
    assert np.all(np.diff(mid) > 0)
    # A video shorter than the bursts: every frame, once.
    assert short == list(range(7))
    # With a time window and the max_frames cap.
    plans = FrameSampler(
        n_frames=8, strategy="bursts", burst_len=2, start=1.0, end=3.0, max_frames=6
    ).transform(videos[:1])
    assert _indices(plans) == [[12, 13, 17, 18, 21, 22]]


def test_time_window(videos):
    sampler = FrameSampler(n_frames=5, start=2.0, end=4.0)
    with pytest.warns(VideoReadWarning, match=r"short\.mp4"):
        long, mid, short = sampler.fit_transform(videos)
    assert long.indices.tolist() == [22, 26, 30, 34, 38]
    assert mid.indices.tolist() == [22, 26, 30, 34, 38]
    assert len(short) == 0  # the 0.7 s clip ends before the window
    plans = FrameSampler(strategy="all", start=3.5).transform(videos[1:2])
    assert _indices(plans) == [list(range(35, 40))]
    plans = FrameSampler(strategy="all", end=0.3).transform(videos[2:])
    assert _indices(plans) == [[0, 1, 2]]


def test_window_past_the_end_warns_and_gives_empty_plan(videos):
    with pytest.warns(VideoReadWarning, match=r"short\.mp4.*time window"):
        plans = FrameSampler(start=3.0).fit_transform(videos)
    assert [len(p) for p in plans] == [32, 10, 0]
    assert plans[1].indices.tolist() == list(range(30, 40))
    assert plans[2].error is None
    assert plans[2].n_video_frames == 7


def test_random_is_sorted_unique_and_seeded(videos):
    sampler = FrameSampler(n_frames=6, strategy="random", random_state=0)
    first = sampler.fit_transform(videos)
    for plan in first[:2]:
        assert len(plan) == 6
        assert np.all(np.diff(plan.indices) > 0)
        assert 0 <= plan.indices[0]
        assert plan.indices[-1] < plan.n_video_frames
    assert len(first[2]) == 6
    assert set(first[2].indices.tolist()) < set(range(7))
    assert _indices(sampler.transform(videos)) == _indices(first)
    other = FrameSampler(n_frames=6, strategy="random", random_state=1)
    assert _indices(other.fit_transform(videos)) != _indices(first)


def test_random_does_not_depend_on_order_or_subset(videos):
    sampler = FrameSampler(n_frames=6, strategy="random", random_state=42)
    full = dict(zip(videos, _indices(sampler.fit_transform(videos))))
    reversed_ = sampler.transform(videos[::-1])
    assert {p.path: p.indices.tolist() for p in reversed_} == full
    subset = sampler.transform(videos[1:2])
    assert subset[0].indices.tolist() == full[videos[1]]


def test_random_state_none_still_valid(videos):
    plans = FrameSampler(n_frames=5, strategy="random").fit_transform(videos)
    assert [len(p) for p in plans] == [5, 5, 5]
    rs = np.random.RandomState(0)
    plans = FrameSampler(n_frames=5, strategy="random", random_state=rs).transform(
        videos
    )
    assert [len(p) for p in plans] == [5, 5, 5]


def test_accepts_array_series_tuple_and_pathlike(videos, tmp_path):
    from pathlib import Path

    expected = _indices(FrameSampler(n_frames=3).transform(videos))
    for X in [
        np.asarray(videos, dtype=object),
        pd.Series(videos),
        tuple(videos),
        [Path(v) for v in videos],
    ]:
        plans = FrameSampler(n_frames=3).transform(X)
        assert _indices(plans) == expected
        assert all(isinstance(p.path, str) for p in plans)


def test_missing_files_raise_one_error_listing_all(videos, tmp_path):
    missing = [str(tmp_path / "gone_a.mp4"), str(tmp_path / "gone_b.mp4")]
    X = [videos[0], missing[0], videos[1], missing[1]]
    with pytest.raises(FileNotFoundError, match=r"2 of 4.*gone_a\.mp4.*gone_b\.mp4"):
        FrameSampler().fit_transform(X)


def test_unreadable_files_warn_and_give_error_plans(videos, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 20)
    X = [videos[0], str(empty), str(text), str(tmp_path)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plans = FrameSampler(n_frames=4).fit_transform(X)
    messages = [str(w.message) for w in caught if w.category is VideoReadWarning]
    assert len(messages) == 3
    assert "empty.mp4" in messages[0]
    assert "notes.mp4" in messages[1]
    assert "directory" in messages[2]
    assert len(plans) == 4
    assert len(plans[0]) == 4
    assert plans[0].error is None
    for plan in plans[1:]:
        assert len(plan) == 0
        assert plan.indices.dtype == np.int64
        assert plan.error
    assert "empty" in plans[1].error


def test_type_errors_name_the_index(videos):
    with pytest.raises(TypeError, match=r"X\[1\]"):
        FrameSampler().fit_transform([videos[0], 3])
    with pytest.raises(TypeError, match="single str"):
        FrameSampler().fit_transform(videos[0])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_frames": 0}, "n_frames"),
        ({"n_frames": 2.5}, "n_frames"),
        ({"n_frames": True}, "n_frames"),
        ({"strategy": "every"}, "strategy"),
        ({"step": 0}, "step"),
        ({"burst_len": 0}, "burst_len"),
        ({"max_frames": -1}, "max_frames"),
        ({"start": -1.0}, "start"),
        ({"end": float("nan")}, "end"),
        ({"start": 2.0, "end": 1.0}, "end must be greater than start"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_invalid_params_raise_value_error(videos, params, match):
    sampler = FrameSampler(**params)
    with pytest.raises(ValueError, match=match):
        sampler.fit(videos)
    with pytest.raises(ValueError, match=match):
        sampler.transform(videos)


def test_transform_without_fit_and_fit_returns_self(videos):
    sampler = FrameSampler(n_frames=2)
    assert _indices(sampler.transform(videos)) == [[25, 75], [10, 30], [1, 5]]
    assert sampler.fit(videos) is sampler
    assert sampler.__sklearn_is_fitted__()


def test_tags():
    tags = get_tags(FrameSampler())
    assert tags.requires_fit is False
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.string is True
    assert tags.transformer_tags.preserves_dtype == []
    assert not hasattr(FrameSampler(), "get_feature_names_out")


@pytest.mark.parametrize(
    "check",
    [
        check_get_params_invariance,
        check_set_params,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_estimator_cloneable,
        check_estimator_repr,
    ],
)
def test_sklearn_data_free_checks(check):
    check("FrameSampler", FrameSampler())
    check("FrameSampler", FrameSampler(n_frames=4, strategy="random", random_state=0))


@pytest.mark.filterwarnings("ignore::sklearn_deepfake.exceptions.VideoReadWarning")
def test_clone_params_and_pickle(videos):
    sampler = FrameSampler(n_frames=5, strategy="random", random_state=3, start=1.0)
    params = sampler.get_params()
    assert params == {
        "n_frames": 5,
        "strategy": "random",
        "step": None,
        "start": 1.0,
        "end": None,
        "burst_len": 4,
        "max_frames": 300,
        "random_state": 3,
    }
    plans = sampler.fit_transform(videos)
    assert sampler.get_params() == params
    cloned = clone(sampler)
    assert cloned.get_params() == params
    assert _indices(cloned.fit_transform(videos)) == _indices(plans)
    restored = pickle.loads(pickle.dumps(sampler))
    assert _indices(restored.transform(videos)) == _indices(plans)
    cloned.set_params(strategy="all", max_frames=3)
    with pytest.warns(VideoReadWarning, match="short"):
        windowed = cloned.transform(videos)
    assert _indices(windowed) == [[10, 11, 12]] * 2 + [[]]
    plans_pickled = pickle.loads(pickle.dumps(plans))
    assert _indices(plans_pickled) == _indices(plans)


def test_input_list_not_mutated_and_in_pipeline(videos):
    from pathlib import Path

    X = [Path(v) for v in videos]
    before = list(X)
    plans = make_pipeline(FrameSampler(n_frames=3)).fit_transform(X)
    assert X == before
    assert len(plans) == 3


def test_set_output_is_unavailable():
    # Without get_feature_names_out, sklearn leaves the output alone (R5).
    assert not hasattr(FrameSampler(), "set_output")
