"""Tests of OpticalFlowFeatures (face-versus-context optical flow per video)."""

import pickle
import warnings

import cv2
import numpy as np
import pytest
from sklearn.base import clone

from sklearn_deepfake.features import OpticalFlowFeatures
from sklearn_deepfake.features._flow import flow_pairs
from sklearn_deepfake.utils import FaceTracks

SIZE = 64
# Flow is reported in percent of the crop side per source frame.
PX = 100.0 / SIZE


def _texture(seed, n=200):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (n, n)).astype(np.float32)
    t = cv2.GaussianBlur(noise, (0, 0), 2.0)
    t = (t - t.min()) / (t.max() - t.min()) * 255
    return np.repeat(t[..., None], 3, axis=2)


def _moving_track(
    n_rows=5, *, face_shift=0, context_shift=0, gap=1, track_ids=None, path="a.mp4"
):
    """Crops whose face box (16..48) and context shift by known pixels per row.

    The crop box is the whole 64 px source frame, so crop pixels are source
    pixels and the face box in the crop is (16, 16, 48, 48).
    """
    context, face = _texture(0), _texture(1)
    crops = []
    for t in range(n_rows):
        c0, f0 = 40 + context_shift * t, 40 + face_shift * t
        crop = context[40 : 40 + SIZE, c0 : c0 + SIZE].copy()
        crop[16:48, 16:48] = face[40 + 16 : 40 + 48, f0 + 16 : f0 + 48]
        crops.append(crop)
    n = n_rows
    return FaceTracks(
        path=path,
        frame_indices=np.arange(n) * gap,
        face_found=np.ones(n, bool),
        crops=np.clip(np.array(crops), 0, 255).astype(np.uint8),
        boxes=np.tile([16.0, 16.0, 48.0, 48.0], (n, 1)),
        crop_boxes=np.tile([0.0, 0.0, SIZE, SIZE], (n, 1)),
        probs=np.ones(n),
        landmarks=np.zeros((n, 5, 2)),
        track_ids=np.zeros(n, np.int64) if track_ids is None else track_ids,
        frame_pos=np.arange(n),
        detected=np.ones(n, bool),
        frame_size=(SIZE, SIZE),
        fps=25.0,
    )


def _col(est, rows, name):
    names = list(est.get_feature_names_out())
    return rows[:, names.index(name)]


@pytest.mark.parametrize("method", ["farneback", "dis"])
def test_in_face_magnitude_tracks_the_motion(method):
    est = OpticalFlowFeatures(method, size=SIZE).fit([_moving_track()])
    X = [_moving_track(face_shift=k, context_shift=k) for k in (0, 1, 2, 3)]
    rows = est.transform(X)
    mag_in = _col(est, rows, "mean_mag_in")
    assert mag_in[0] < 0.05  # a static video: no flow
    np.testing.assert_allclose(mag_in[1:], np.array([1, 2, 3]) * PX, rtol=0.2)
    assert np.all(np.diff(mag_in) > 0)
    # Whole-crop motion is coherent: every pixel moves the same way.
    assert np.all(_col(est, rows, "mean_coherence_in")[1:] > 0.9)
    np.testing.assert_array_equal(_col(est, rows, "n_pairs"), 4)
    np.testing.assert_array_equal(_col(est, rows, "has_flow"), 1)


@pytest.mark.parametrize("method", ["farneback", "dis"])
def test_face_only_motion_separates_from_global_motion(method):
    est = OpticalFlowFeatures(method, size=SIZE)
    rows = est.fit_transform(
        [
            _moving_track(face_shift=2),  # the face moves, the context does not
            _moving_track(face_shift=2, context_shift=2),  # everything moves
            _moving_track(context_shift=2),  # the context moves only
        ]
    )
    ratio = _col(est, rows, "mean_log_ratio")
    rel = _col(est, rows, "mean_rel_motion")
    assert ratio[0] > 1.5
    assert abs(ratio[1]) < 0.3
    assert ratio[2] < -1.5
    assert rel[0] > 1.0 * PX
    assert rel[1] < 0.5 * PX


def test_flow_is_per_source_frame_and_max_gap_drops_far_pairs():
    est = OpticalFlowFeatures(size=SIZE)
    near = _moving_track(face_shift=2, context_shift=2, gap=1)
    far = _moving_track(face_shift=2, context_shift=2, gap=2)
    rows = est.fit_transform([near, far])
    mag = _col(est, rows, "mean_mag_in")
    assert mag[1] == pytest.approx(mag[0] / 2, rel=0.05)
    np.testing.assert_array_equal(_col(est, rows, "mean_gap"), [1, 2])
    # "auto" keeps the pairs within twice the smallest gap of the video.
    bursts = _moving_track(6, face_shift=2, context_shift=2)
    bursts = FaceTracks(
        **{
            **{f: getattr(bursts, f) for f in bursts.__dataclass_fields__},
            "frame_indices": np.array([0, 1, 2, 40, 41, 42]),
        }
    )
    np.testing.assert_array_equal(flow_pairs(bursts, "auto")[:, 2], [1, 1, 1, 1])
    assert len(flow_pairs(bursts, None)) == 5
    with pytest.warns(UserWarning, match="1 of 2 videos"):
        rows = OpticalFlowFeatures(size=SIZE, max_gap=1).fit_transform([near, far])
    assert rows[1, -1] == 0  # has_flow


def test_pairs_follow_tracks_and_sampled_frames():
    tracks = _moving_track(5, track_ids=np.array([0, 0, 0, 1, 1]))
    np.testing.assert_array_equal(flow_pairs(tracks), [[0, 1, 1], [1, 2, 1], [3, 4, 1]])
    # A frame missing from the track (face not found): no pair across it.
    t = _moving_track(4)
    holed = FaceTracks(
        **{
            **{f: getattr(t, f) for f in ("path", "frame_size", "fps")},
            "frame_indices": np.arange(5),
            "face_found": np.array([1, 1, 0, 1, 1], bool),
            "crops": t.crops,
            "boxes": t.boxes,
            "crop_boxes": t.crop_boxes,
            "probs": t.probs,
            "landmarks": t.landmarks,
            "track_ids": t.track_ids,
            "frame_pos": np.array([0, 1, 3, 4]),
            "detected": t.detected,
        }
    )
    np.testing.assert_array_equal(flow_pairs(holed), [[0, 1, 1], [2, 3, 1]])
    assert flow_pairs(_moving_track(1)).shape == (0, 3)


def test_faceless_and_single_frame_videos_get_the_fallback_row():
    est = OpticalFlowFeatures(size=SIZE, fill_value=-1.0)
    X = [
        _moving_track(face_shift=1),
        FaceTracks.empty("nothing.mp4", SIZE, frame_indices=np.arange(4)),
        _moving_track(1, path="single.mp4"),
    ]
    with pytest.warns(UserWarning, match=r"2 of 3 videos.*nothing\.mp4.*single\.mp4"):
        rows = est.fit_transform(X)
    assert rows.shape == (3, est.n_features_out_)
    assert np.all(np.isfinite(rows))
    np.testing.assert_array_equal(rows[1:, :-3], -1.0)
    np.testing.assert_array_equal(rows[1:, -3:], 0.0)
    assert rows[0, -1] == 1


def test_resizes_crops_and_caps_pairs():
    t = _moving_track(9, face_shift=2, context_shift=2)
    est = OpticalFlowFeatures(size=32, max_pairs=3)
    rows = est.fit_transform([t])
    assert _col(est, rows, "n_pairs")[0] == 3
    # Flow is relative to the crop side, so the resolution barely matters.
    full = OpticalFlowFeatures(size=SIZE).fit_transform([t])
    assert rows[0, 0] == pytest.approx(full[0, 0], rel=0.25)


def test_names_clone_pickle_and_stateless():
    est = OpticalFlowFeatures(size=32)
    names = est.get_feature_names_out()
    assert len(names) == len(set(names)) == 16
    X = [_moving_track(face_shift=1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = est.transform(X)  # works before fit
    fitted = clone(est).fit(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(fitted)).transform(X), out)
    assert fitted.n_features_out_ == 16
    assert not est.__sklearn_tags__().requires_fit


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "lk"}, "method"),
        ({"size": 8}, "size"),
        ({"max_gap": 0}, "max_gap"),
        ({"max_gap": "far"}, "max_gap"),
        ({"max_pairs": 0}, "max_pairs"),
        ({"fill_value": float("nan")}, "fill_value"),
    ],
)
def test_invalid_params(params, match):
    with pytest.raises(ValueError, match=match):
        OpticalFlowFeatures(**params).fit([_moving_track(2)])


@pytest.mark.slow
def test_real_videos_through_the_pipeline(tiny_videos):
    from sklearn.pipeline import make_pipeline

    from sklearn_deepfake.faces import FaceCropper
    from sklearn_deepfake.video import FrameSampler

    pipe = make_pipeline(
        FrameSampler(n_frames=6, strategy="bursts", burst_len=3),
        FaceCropper(size=64, device="cpu", n_jobs=1),
        OpticalFlowFeatures(size=48),  # max_gap="auto": pairs inside the runs
    )
    rows = pipe.fit_transform(tiny_videos.paths)
    est = pipe[-1]
    assert rows.shape == (len(tiny_videos.paths), est.n_features_out_)
    assert np.all(np.isfinite(rows))
    assert np.all(_col(est, rows, "has_flow") == 1)
    assert np.all(_col(est, rows, "n_pairs") >= 2)
    np.testing.assert_array_equal(_col(est, rows, "mean_gap"), 1.0)
