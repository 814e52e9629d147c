"""Checks on real videos from ../shared/data; skipped when the folder is absent."""

import warnings

import numpy as np
import pytest

from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.video import FrameSampler

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def _clips(shared_data):
    dfdc = sorted((shared_data / "dfdc-1080p").glob("*.mp4"))
    pairs = sorted((shared_data / "dfl-pairs" / "test_videos").glob("*.mp4"))[:4]
    real = sorted((shared_data / "real-only").glob("*.mp4"))[::5]
    return [str(p) for p in [*dfdc, *pairs, *real]]


def test_faces_found_and_centred_on_real_clips(shared_data):
    paths = _clips(shared_data)
    plans = FrameSampler(n_frames=32).fit_transform(paths)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on good real clips
        tracks = FaceCropper(size=128, device="cpu").fit().transform(plans)
    for t in tracks:
        assert t.error is None
        assert t.face_found.mean() >= 0.95, t
        # The five landmarks' centre lies near the middle of every crop.
        centre = t.landmarks.mean(axis=1)
        assert np.abs(centre - 64).max() < 0.2 * 128, t
        # Boxes are in source pixels, inside the frame.
        h, w = t.frame_size
        assert (t.boxes[:, [0, 2]].mean(axis=1) < w).all()
        assert (t.boxes[:, [1, 3]].mean(axis=1) < h).all()
