"""TemporalNoiseFeatures: frame-to-frame noise of the face against its surroundings."""

import dataclasses
import pickle
import warnings

import cv2
import numpy as np
import pytest

from sklearn_deepfake.features import TemporalNoiseFeatures, face_boxes_in_crop
from sklearn_deepfake.features._temporal_noise import _regions_dlib, _regions_mtcnn
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._testing import make_synthetic_tracks

SIZE = 96
COLUMNS = [
    "noise0_inner_bg",
    "noise0_ring_bg",
    "noise0_inner_ring",
    "noise1_inner_bg",
    "noise1_ring_bg",
    "noise1_inner_ring",
    "flicker_inner_bg",
]


def _video(swapped: bool, frames=(0, 1, 30, 31), seed=0, shift=1) -> FaceTracks:
    """A still textured scene filmed with fresh sensor noise in every frame.

    With ``swapped``, the face ellipse holds the same noise-free picture in
    every frame (a pasted, generated face); otherwise it is noisy like the
    rest. Odd frames are shifted by ``shift`` pixels (camera motion, which
    the flow must remove).
    """
    rng = np.random.default_rng(seed)
    t = make_synthetic_tracks(n_rows=len(frames), size=SIZE, seed=seed)
    scene = cv2.GaussianBlur(rng.normal(128, 40, (SIZE + 8, SIZE + 8, 3)), (0, 0), 2)
    x0, y0, x1, y1 = face_boxes_in_crop(t)[0]
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    face = (
        ((xx - (x0 + x1) / 2) / ((x1 - x0) / 2)) ** 2
        + ((yy - (y0 + y1) / 2) / ((y1 - y0) / 2)) ** 2
    ) < 1
    crops = []
    for k in range(len(frames)):
        s = shift * (k % 2)
        view = scene[4 + s : 4 + s + SIZE, 4 : 4 + SIZE]
        frame = view + rng.normal(0, 5, view.shape)
        if swapped:
            frame[face] = view[face]
        crops.append(np.clip(frame, 0, 255).astype(np.uint8))
    return dataclasses.replace(
        t, crops=np.stack(crops), frame_indices=np.asarray(frames, np.int64)
    )


def test_a_noise_free_face_in_a_noisy_video_is_measured():
    est = TemporalNoiseFeatures().fit([_video(False)])
    assert list(est.feature_names_) == COLUMNS
    assert est.n_features_out_ == 7
    real, swap = est.transform([_video(False), _video(True)])
    assert real.shape == swap.shape == (4, 7)
    assert real.dtype == np.float32
    # Real: the noise is the same inside and outside the face (log ratio ~ 0,
    # although the odd frames moved by a pixel).
    assert np.abs(real[:, :6]).max() < 0.35
    # Swapped: the inner and outer face keep nothing of the sensor noise.
    for col in ("noise0_inner_bg", "noise0_ring_bg"):
        j = COLUMNS.index(col)
        assert swap[:, j].max() < -1.0
        assert swap[:, j].max() < real[:, j].min() - 0.8
    # The flow removes the camera's motion: a still camera measures the same.
    still = est.transform([_video(False, shift=0)])[0]
    np.testing.assert_allclose(still[:, :6], real[:, :6], atol=0.35)


def test_rows_share_their_pair_and_lone_rows_take_the_median():
    t = _video(True, frames=(0, 1, 2, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = TemporalNoiseFeatures().fit_transform([t])[0]
    np.testing.assert_array_equal(rows[0], rows[1])  # one pair, one measurement
    assert not np.array_equal(rows[1], rows[2])  # row 2 pairs with row 1
    np.testing.assert_allclose(rows[3], np.median(rows[:3], axis=0), rtol=1e-6)


def test_frames_of_other_tracks_or_further_apart_are_not_pairs():
    t = _video(True)
    # max_gap=1: frames 0 and 2 are not a pair, nor are two tracks' rows
    apart = dataclasses.replace(t, frame_indices=np.array([0, 2, 30, 32]))
    with pytest.warns(UserWarning, match="no usable pair of face frames"):
        out = TemporalNoiseFeatures().transform([apart])[0]
    np.testing.assert_array_equal(out, 0)
    assert np.isfinite(TemporalNoiseFeatures(max_gap=2).transform([apart])[0]).all()
    assert np.any(TemporalNoiseFeatures(max_gap=2).transform([apart])[0] != 0)
    other = dataclasses.replace(t, track_ids=np.array([0, 1, 0, 1]))
    with pytest.warns(UserWarning, match="1 of 1 videos"):
        TemporalNoiseFeatures().transform([other])


def test_evenly_spaced_frames_and_faceless_videos():
    spaced = make_synthetic_tracks(n_rows=3, size=SIZE)  # frames 0, 10, 20
    empty = FaceTracks.empty("none.mp4", size=SIZE)
    with pytest.warns(UserWarning, match="strategy='bursts'") as record:
        out = TemporalNoiseFeatures().fit_transform([spaced, empty])
    assert "synthetic.mp4" in str(record[0].message)
    assert "none.mp4" not in str(record[0].message)  # no face: nothing to warn
    assert [o.shape for o in out] == [(3, 7), (0, 7)]
    np.testing.assert_array_equal(out[0], 0)


def test_regions_are_disjoint_and_in_place():
    t = make_synthetic_tracks(n_rows=1, size=SIZE)
    box = face_boxes_in_crop(t)[0]
    inner, ring, background = _regions_mtcnn(t.landmarks[0], box, SIZE)
    for mask in (inner, ring, background):
        assert mask.sum() > 50
    assert not (inner & ring).any()
    assert not (inner & background).any()
    assert not (ring & background).any()
    ys, xs = np.nonzero(inner)  # the inner face covers the landmarks' middle
    np.testing.assert_allclose(
        [xs.mean(), ys.mean()], t.landmarks[0].mean(axis=0), atol=0.1 * SIZE
    )
    x0, y0, x1, y1 = box
    ys, xs = np.nonzero(inner | ring)
    assert xs.min() >= x0 - 2
    assert xs.max() <= x1 + 2
    assert ys.min() >= y0 - 2
    assert ys.max() <= y1 + 2
    # the 68-point version: a jaw line round a smaller inner face
    angle = np.linspace(0, np.pi, 17)
    jaw = np.c_[48 - 30 * np.cos(angle), 40 + 35 * np.sin(angle)]
    inner_pts = np.random.default_rng(0).uniform([30, 25], [66, 60], (51, 2))
    masks = _regions_dlib(np.r_[jaw, inner_pts], SIZE)
    assert all(m.sum() > 50 for m in masks)
    assert not (masks[0] & masks[1]).any()
    assert not (masks[1] & masks[2]).any()


def test_parameters_are_checked_in_fit_and_pickling():
    t = _video(True)
    for bad in [
        {"landmarks": "mediapipe"},
        {"sigmas": ()},
        {"sigmas": (0.7, -1.0)},
        {"sigmas": 1.0},
        {"max_gap": 0},
        {"max_gap": True},
    ]:
        est = TemporalNoiseFeatures(**bad)  # __init__ only stores
        with pytest.raises(ValueError, match=next(iter(bad))):
            est.fit([t])
    est = TemporalNoiseFeatures(sigmas=(1.0, 2.0, 3.0)).fit([t])
    assert est.n_features_out_ == 10
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform([t])[0], est.transform([t])[0])


@pytest.mark.slow
@pytest.mark.parametrize("landmarks", ["mtcnn", "dlib"])
def test_real_mtcnn_crops_of_consecutive_frames(tiny_videos, landmarks):
    if landmarks == "dlib":
        pytest.importorskip("dlib")
    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    plans = FrameSampler(8, strategy="bursts", burst_len=2).fit_transform(
        tiny_videos.paths[:2]
    )
    tracks = FaceCropper(size=128, device="cpu").fit_transform(plans)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        out = TemporalNoiseFeatures(landmarks).fit_transform(tracks)
    for rows, t in zip(out, tracks):
        assert rows.shape == (len(t), 7)
        assert np.isfinite(rows).all()
        # every row was measured against its burst partner: rows come in pairs
        assert len(np.unique(rows, axis=0)) <= (len(t) + 1) // 2
