import numpy as np
import pytest

from sklearn_deepfake.faces._cropping import _crop, _square
from sklearn_deepfake.faces._detector import Detections
from sklearn_deepfake.faces._tracking import (
    fill_track,
    iou,
    link_tracks,
    same_faces,
    smooth_boxes,
)


def _dets(*boxes, prob=0.99):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    lms = np.repeat(((boxes[:, None, :2] + boxes[:, None, 2:]) / 2), 5, axis=1).astype(
        np.float32
    )
    return Detections(boxes, np.full(len(boxes), prob, np.float32), lms)


def test_iou_known_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_same_faces_requires_one_to_one_pairing():
    one = _dets([0, 0, 10, 10])
    moved = _dets([1, 1, 11, 11])
    far = _dets([50, 50, 60, 60])
    two = _dets([0, 0, 10, 10], [50, 50, 60, 60])
    assert same_faces(one, moved, 0.3)
    assert not same_faces(one, far, 0.3)
    assert not same_faces(one, two, 0.3)
    assert same_faces(Detections.none(), Detections.none(), 0.3)


def test_link_tracks_follows_two_faces_and_starts_new_after_gap():
    dets = {
        0: _dets([0, 0, 20, 20], [100, 0, 120, 20]),
        4: _dets([102, 0, 122, 20], [2, 0, 22, 20]),  # order swapped
        8: _dets([4, 0, 24, 20]),
        30: _dets([6, 0, 26, 20]),  # reappears after a gap > max_gap
    }
    tracks = link_tracks(dets, iou_threshold=0.3, max_gap=8)
    assert [t.positions for t in tracks] == [[0, 4, 8], [0, 4], [30]]
    np.testing.assert_allclose(tracks[1].boxes[1], [102, 0, 122, 20])


def test_link_tracks_matches_fast_motion_by_centre_distance():
    # No overlap at all, but the centre moved less than half a face.
    dets = {0: _dets([0, 0, 40, 40]), 4: _dets([18, 0, 58, 40])}
    tracks = link_tracks(dets, iou_threshold=0.5, max_gap=8)
    assert len(tracks) == 1


def test_fill_track_interpolates_short_gaps_only():
    dets = {0: _dets([0, 0, 10, 10]), 4: _dets([4, 0, 14, 10])}
    track = link_tracks(dets)[0]
    rows = fill_track(track, max_fill=4)
    np.testing.assert_array_equal(rows.positions, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(rows.boxes[2], [2, 0, 12, 10])
    np.testing.assert_array_equal(rows.detected, [True, False, False, False, True])
    # A gap longer than max_fill: the face may have left, nothing is invented.
    rows = fill_track(track, max_fill=3)
    np.testing.assert_array_equal(rows.positions, [0, 4])


def test_smooth_boxes_keeps_constant_boxes_and_reduces_jitter():
    rng = np.random.default_rng(0)
    base = np.tile([100.0, 100.0, 200.0, 200.0], (20, 1))
    np.testing.assert_allclose(smooth_boxes(base, 5), base)
    noisy = base + rng.normal(0, 5, base.shape)
    assert np.abs(smooth_boxes(noisy, 5) - base).std() < np.abs(noisy - base).std()


def test_square_and_crop_pad_outside_the_frame():
    frame = np.full((100, 100, 3), 200, np.uint8)
    sq = _square(np.array([[80.0, 80.0, 100.0, 100.0]]), margin=0.5)[0]
    np.testing.assert_allclose(sq, [70, 70, 110, 110])
    crop = _crop(frame, sq, 16)
    assert crop.shape == (16, 16, 3)
    assert crop[0, 0, 0] == 200
    assert crop[-1, -1, 0] == 0


@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_square_is_square_and_centred(margin):
    sq = _square(np.array([[10.0, 20.0, 30.0, 60.0]]), margin)[0]
    assert sq[2] - sq[0] == pytest.approx(sq[3] - sq[1])
    assert sq[2] - sq[0] == pytest.approx(40 * (1 + 2 * margin))
    np.testing.assert_allclose((sq[:2] + sq[2:]) / 2, [20, 40])
