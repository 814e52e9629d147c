import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags

from sklearn_deepfake.features import (
    FaceContextFeatures,
    RaggedFeatureUnion,
    SpectrumFeatures,
    face_boxes_in_crop,
)
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._testing import make_synthetic_tracks

ESTIMATORS = [
    SpectrumFeatures(n_bins=8),
    SpectrumFeatures(n_bins=6, region="face", face_size=16, window=None),
    FaceContextFeatures(),
    FaceContextFeatures(include=("noise",)),
    RaggedFeatureUnion(
        [("ctx", FaceContextFeatures()), ("spec", SpectrumFeatures(n_bins=4))]
    ),
]


def _X(size=32):
    return [
        make_synthetic_tracks(n_rows=3, size=size, path="a.mp4", seed=0),
        FaceTracks.empty("b.mp4", size=size, frame_indices=[0, 5]),
        make_synthetic_tracks(n_rows=5, size=size, path="c.mp4", seed=1),
    ]


@pytest.mark.parametrize("est", ESTIMATORS, ids=repr)
def test_features_ragged_contract(est):
    X = _X()
    if isinstance(est, RaggedFeatureUnion):
        with pytest.raises(NotFittedError):
            clone(est).transform(X)
    else:  # stateless: transform works unfitted and agrees with the fitted one
        assert get_tags(est).requires_fit is False
        unfitted = clone(est).transform(X)
    params = est.get_params()
    fitted = clone(est)
    assert fitted.fit(X) is fitted
    out = fitted.transform(X)
    d = fitted.n_features_out_
    assert isinstance(out, list)
    assert [f.shape for f in out] == [(3, d), (0, d), (5, d)]
    assert all(f.dtype == np.float32 and np.isfinite(f).all() for f in out)
    assert len(fitted.feature_names_) == d
    assert len(set(fitted.feature_names_)) == d
    # the column names of every video's array; a ragged output is not
    # offered to scikit-learn's set_output
    assert list(fitted.get_feature_names_out()) == list(fitted.feature_names_)
    assert not hasattr(fitted, "set_output")
    # order and subset invariance, pickling, clone of a fitted one is unfitted
    rev = fitted.transform(X[::-1])
    for a, b in zip(out, rev[::-1]):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(fitted.transform(X[2:])[0], out[2])
    again = pickle.loads(pickle.dumps(fitted)).transform(X)
    for a, b in zip(out, again):
        np.testing.assert_array_equal(a, b)
    if not isinstance(est, RaggedFeatureUnion):
        for a, b in zip(out, unfitted):
            np.testing.assert_array_equal(a, b)
    assert not hasattr(clone(fitted), "feature_names_")
    assert est.get_params().keys() == params.keys()
    tags = get_tags(fitted)
    assert tags.input_tags.two_d_array is False
    assert tags.transformer_tags.preserves_dtype == []


def test_features_reject_non_tracks():
    with pytest.raises(TypeError, match=r"X\[1\] must be FaceTracks"):
        FaceContextFeatures().fit([make_synthetic_tracks(2, 16), np.zeros((2, 3))])


@pytest.mark.parametrize(
    ("est", "match"),
    [
        (SpectrumFeatures(n_bins=1), "n_bins"),
        (SpectrumFeatures(region="ring"), "region"),
        (SpectrumFeatures(window="hamming"), "window"),
        (SpectrumFeatures(face_size=2), "face_size"),
        (FaceContextFeatures(include=("blur",)), "include"),
        (FaceContextFeatures(include=()), "include"),
    ],
)
def test_features_invalid_params(est, match):
    with pytest.raises(ValueError, match=match):
        est.fit(_X())


def test_face_boxes_in_crop_maps_source_to_crop_pixels():
    t = make_synthetic_tracks(n_rows=2, size=64, margin=0.3)
    boxes = face_boxes_in_crop(t)
    # face 100 wide, 120 tall; crop side 120 * 1.6 = 192 -> scale 1/3
    np.testing.assert_allclose(boxes[0], [15.333, 12.0, 48.667, 52.0], atol=1e-3)


def test_face_boxes_in_crop_degenerate_crop_box_falls_back_to_centre():
    t = make_synthetic_tracks(n_rows=1, size=64)
    broken = FaceTracks(**{**t.__dict__, "crop_boxes": np.zeros((1, 4), np.float32)})
    lo = 64 * 0.3 / 1.6
    np.testing.assert_allclose(
        face_boxes_in_crop(broken)[0], [lo, lo, 64 - lo, 64 - lo]
    )


def test_spectrum_sees_high_frequency_content():
    rng = np.random.default_rng(0)
    smooth = np.full((2, 64, 64, 3), 120, np.uint8)
    yy = np.arange(64)[:, None] * np.ones((1, 64))
    smooth[...] = (120 + 40 * np.sin(yy / 6))[None, :, :, None].astype(np.uint8)
    noisy = np.clip(smooth + rng.normal(0, 20, smooth.shape), 0, 255).astype(np.uint8)
    base = make_synthetic_tracks(n_rows=2, size=64)
    X = [FaceTracks(**{**base.__dict__, "crops": c}) for c in (smooth, noisy)]
    feats = SpectrumFeatures(n_bins=8).fit_transform(X)
    # the normalised spectrum's high-frequency end is higher with noise
    assert feats[1][:, -1].mean() > feats[0][:, -1].mean() + 1.0


def test_context_features_detect_a_blurred_face():
    """Blurring only the inner face lowers the face-minus-context sharpness."""
    import cv2

    t = make_synthetic_tracks(n_rows=2, size=64, seed=3)
    rng = np.random.default_rng(0)
    crops = np.clip(rng.normal(128, 30, t.crops.shape), 0, 255).astype(np.uint8)
    blurred = crops.copy()
    x1, y1, x2, y2 = face_boxes_in_crop(t)[0].astype(int)
    for i in range(len(crops)):
        blurred[i, y1:y2, x1:x2] = cv2.GaussianBlur(crops[i], (0, 0), 2)[y1:y2, x1:x2]
    X = [FaceTracks(**{**t.__dict__, "crops": c}) for c in (crops, blurred)]
    est = FaceContextFeatures().fit(X)
    sharp, soft = est.transform(X)
    col = list(est.feature_names_).index("lap_in_minus_out")
    assert abs(sharp[:, col]).max() < 0.5
    assert (soft[:, col] < sharp[:, col] - 1.0).all()


def test_context_features_colour_shift_of_the_face():
    t = make_synthetic_tracks(n_rows=1, size=64)
    crops = np.full(t.crops.shape, 128, np.uint8)
    shifted = crops.copy()
    x1, y1, x2, y2 = face_boxes_in_crop(t)[0].astype(int)
    shifted[:, y1:y2, x1:x2, 0] = 180  # redder face
    X = [FaceTracks(**{**t.__dict__, "crops": c}) for c in (crops, shifted)]
    est = FaceContextFeatures(include=("colour",)).fit(X)
    grey, red = est.transform(X)
    col = list(est.feature_names_).index("cr_in_minus_out")
    assert grey[0, col] == pytest.approx(0.0, abs=1e-4)
    assert red[0, col] > 20


def test_union_params_and_names():
    union = RaggedFeatureUnion(
        [("ctx", FaceContextFeatures()), ("spec", SpectrumFeatures(n_bins=4))]
    )
    union.set_params(spec__n_bins=5, ctx="drop")
    assert union.get_params()["spec__n_bins"] == 5
    union.fit(_X())
    assert list(union.feature_names_) == [f"spec__spectrum_{i}" for i in range(5)]
    with pytest.raises(ValueError, match="Invalid parameter"):
        union.set_params(nope__x=1)


def test_union_rejects_duplicate_names():
    union = RaggedFeatureUnion([("a", SpectrumFeatures()), ("a", SpectrumFeatures())])
    with pytest.raises(ValueError, match="unique"):
        union.fit(_X())


def test_context_features_speed_is_vectorised():
    """Thousands of 64 px crops per second (generous bound for slow CI)."""
    import time

    X = [make_synthetic_tracks(n_rows=32, size=64, seed=i) for i in range(8)]
    est = FaceContextFeatures().fit(X)
    est.transform(X[:1])
    t0 = time.perf_counter()
    est.transform(X)
    assert 256 / (time.perf_counter() - t0) > 500


def test_union_n_jobs_gives_the_same_features():
    steps = [("ctx", FaceContextFeatures()), ("spec", SpectrumFeatures(n_bins=4))]
    X = _X()
    serial = RaggedFeatureUnion(steps).fit(X)
    threaded = RaggedFeatureUnion(steps, n_jobs=2).fit(X)
    for a, b in zip(serial.transform(X), threaded.transform(X)):
        np.testing.assert_array_equal(a, b)
    assert list(threaded.feature_names_) == list(serial.feature_names_)
    assert threaded.get_params()["n_jobs"] == 2
    with pytest.raises(ValueError, match="n_jobs"):
        RaggedFeatureUnion(steps, n_jobs=1.5).fit(X)
