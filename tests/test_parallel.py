"""One parallel map over videos: order, outputs and the workers' warnings."""

import sys
import warnings

import numpy as np
import pytest
from joblib import parallel_config

from sklearn_deepfake.exceptions import NoFaceWarning, VideoReadWarning
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.features import (
    AVSyncFeatures,
    FaceContextFeatures,
    OpticalFlowFeatures,
    SpectrumFeatures,
    TemporalNoiseFeatures,
)
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._parallel import check_scheduler, map_videos
from sklearn_deepfake.utils._testing import make_synthetic_tracks
from sklearn_deepfake.video import FrameSampler


class OddWarning(UserWarning):
    """A warning class of the test's own (its category must survive)."""


def _square_and_warn(x):
    if x % 2:
        warnings.warn(f"video {x} is odd", OddWarning)
    if x == 4:
        warnings.warn("video 4 is four", RuntimeWarning)
    return x * x


def _caught(func, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(*args, **kwargs)
    return out, caught


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_results_and_warnings_come_back_in_input_order(n_jobs):
    items = [5, 4, 3, 2, 1]
    out, caught = _caught(map_videos, _square_and_warn, items, n_jobs=n_jobs)
    assert out == [25, 16, 9, 4, 1]
    assert [(w.category, str(w.message)) for w in caught] == [
        (OddWarning, "video 5 is odd"),
        (RuntimeWarning, "video 4 is four"),
        (OddWarning, "video 3 is odd"),
        (OddWarning, "video 1 is odd"),
    ]


def _same_warning(x):
    warnings.warn("the same warning for every video", UserWarning)
    return x


def test_a_repeated_warning_is_replayed_for_every_video():
    # a worker process shows each warning once per location by default; the
    # caller must still get one per video, however the videos are spread
    for _ in range(2):  # a second run on the same, reused worker processes
        out, caught = _caught(map_videos, _same_warning, range(6), n_jobs=2)
        assert out == list(range(6))
        assert len(caught) == 6


def test_thread_backend_keeps_the_warnings_too():
    with parallel_config(backend="threading"):
        out, caught = _caught(map_videos, _square_and_warn, [1, 2, 3], n_jobs=2)
    assert out == [1, 4, 9]
    assert sorted(str(w.message) for w in caught) == [
        "video 1 is odd",
        "video 3 is odd",
    ]


def test_errors_in_a_worker_reach_the_caller():
    with pytest.raises(TypeError):
        map_videos(_square_and_warn, [1, "two", 3], n_jobs=2)


def test_broken_files_are_named_by_warnings_from_face_workers(
    tiny_videos, broken_videos
):
    # truncated_faststart decodes a few frames then stops, no_face decodes but
    # has no face: both warnings are raised inside FaceCropper's per-video
    # work, i.e. in a worker process with n_jobs=2.
    bad = [broken_videos["truncated_faststart"], broken_videos["no_face"]]
    paths = [tiny_videos.paths[0], *bad, tiny_videos.paths[1]]
    plans = FrameSampler(n_frames=6).fit_transform(paths)
    cropper = FaceCropper(size=32, device="cpu")
    serial, caught_serial = _caught(cropper.fit().transform, plans)
    parallel, caught = _caught(cropper.set_params(n_jobs=2).fit().transform, plans)
    messages = [(w.category, str(w.message)) for w in caught]
    assert any(issubclass(c, VideoReadWarning) and bad[0] in m for c, m in messages), (
        messages
    )
    assert any(issubclass(c, NoFaceWarning) and bad[1] in m for c, m in messages)
    # the same warnings as a serial run, in input order
    assert messages == [(w.category, str(w.message)) for w in caught_serial]
    assert [t.path for t in parallel] == paths
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.crops, b.crops)
        np.testing.assert_array_equal(a.boxes, b.boxes)
        np.testing.assert_array_equal(a.frame_indices, b.frame_indices)


def test_broken_files_are_named_by_warnings_from_feature_workers(broken_videos):
    names = ["random_bytes", "audio_only", "text"]
    X = [FaceTracks.empty(broken_videos[n], size=32) for n in names]
    est = AVSyncFeatures(max_lag=2)
    serial, caught_serial = _caught(est.fit(X).transform, X)
    parallel, caught = _caught(est.set_params(n_jobs=2).fit(X).transform, X)
    np.testing.assert_array_equal(serial, parallel)
    messages = [str(w.message) for w in caught]
    assert messages == [str(w.message) for w in caught_serial]
    for n in ("random_bytes", "text"):
        assert any(broken_videos[n] in m for m in messages), (n, messages)


def _tracks():
    return [
        make_synthetic_tracks(n_rows=5, size=48, path="a.mp4", seed=0),
        FaceTracks.empty("b.mp4", size=48),
        make_synthetic_tracks(n_rows=3, size=48, path="c.mp4", seed=1),
        make_synthetic_tracks(n_rows=4, size=48, path="d.mp4", seed=2),
    ]


@pytest.mark.parametrize(
    "est",
    [
        SpectrumFeatures(n_bins=8),
        FaceContextFeatures(),
        OpticalFlowFeatures(size=32),
        TemporalNoiseFeatures(max_gap=10),
    ],
    ids=lambda e: type(e).__name__,
)
def test_n_jobs_does_not_change_features(est):
    X = _tracks()
    ref = est.fit(X).transform(X)
    out = est.set_params(n_jobs=2).fit(X).transform(X)
    assert len(out) == len(ref)
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a, b)


def test_temporal_noise_still_names_unpaired_videos_with_n_jobs():
    X = _tracks()
    _, caught = _caught(TemporalNoiseFeatures(n_jobs=2).fit(X).transform, X)
    (w,) = [w for w in caught if "no usable pair" in str(w.message)]
    for path in ("a.mp4", "c.mp4", "d.mp4"):
        assert path in str(w.message)
    assert "b.mp4" not in str(w.message)  # no face: nothing to pair


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (3, 3),
        ("2", 2),
        ("local:4", 4),
        ("tcp://10.0.0.1:8786", "tcp://10.0.0.1:8786"),
    ],
)
def test_scheduler_values(value, expected):
    assert check_scheduler(value) == expected


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "local:0", "cluster", "10.0.0.1"])
def test_bad_scheduler_is_rejected_in_fit(value):
    with pytest.raises(
        ValueError, match=r"scheduler'?( parameter of FaceCropper)? must be"
    ):
        FaceCropper(scheduler=value).fit()


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install "sklearn-deepfake\[dask\]"'):
        map_videos(_square_and_warn, [1, 2], scheduler=2)


@pytest.mark.parametrize("command", ["extract", "predict"])
def test_cli_rejects_a_bad_scheduler(command, capsys):
    from sklearn_deepfake.cli import main

    args = ["model.joblib"] if command == "predict" else []
    assert main([command, *args, "video.mp4", "--scheduler", "zero"]) == 2
    assert "--scheduler" in capsys.readouterr().err


def test_predict_hands_the_scheduler_to_the_face_step():
    from sklearn_deepfake import make_default_pipeline
    from sklearn_deepfake.cli._main import _build_parser
    from sklearn_deepfake.cli._predict import _configure_model

    model = make_default_pipeline(n_frames=4, size=32)
    args = _build_parser().parse_args(
        ["predict", "m.joblib", "v.mp4", "-o", "s.csv", "--no-cache"]
    )
    _configure_model(model, args, "tcp://10.0.0.5:8786")
    assert model.named_steps["facecropper"].scheduler == "tcp://10.0.0.5:8786"


def test_n_jobs_does_not_change_face_shapes():
    pytest.importorskip("dlib")
    from sklearn_deepfake.features import FaceShapeFeatures

    try:
        est = FaceShapeFeatures().fit(_tracks())
    except (ImportError, ValueError) as exc:  # no shape-predictor file
        pytest.skip(str(exc))
    X = _tracks()
    ref = est.transform(X)
    out = est.set_params(n_jobs=2).transform(X)
    for a, b in zip(ref, out):
        np.testing.assert_array_equal(a, b)


def test_a_cropper_saved_before_scheduler_existed_still_loads():
    state = FaceCropper(size=32).__getstate__()
    del state["scheduler"]  # as pickled by an older version
    old = FaceCropper.__new__(FaceCropper)
    old.__setstate__(state)
    assert old.get_params()["scheduler"] is None
    assert old.get_params()["size"] == 32
