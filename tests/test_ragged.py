"""Tests of the per-video records of utils/_ragged.py: FramePlan, FaceTracks."""

import pickle
import warnings

import numpy as np
import pytest

from sklearn_deepfake.utils import FaceTracks, FramePlan
from sklearn_deepfake.utils._testing import make_tiny_face_tracks


def test_face_tracks_crop_size_is_the_side_of_the_crops():
    tracks = make_tiny_face_tracks(2, size=24)
    assert [t.crop_size for t in tracks] == [24, 24]
    assert FaceTracks.empty("a.mp4", 16).crop_size == 16
    assert "crop_size=24" in repr(tracks[0])


def test_face_tracks_size_is_deprecated_and_still_answers():
    (track,) = make_tiny_face_tracks(1, size=24)
    with pytest.warns(FutureWarning, match="crop_size"):
        assert track.size == 24


class _OldStyleTracks(FaceTracks):
    """A subclass written against the old API: it overrides ``size``."""

    @property
    def crops(self):
        raise AssertionError("crops read")

    @property
    def size(self) -> int:
        return 40


def test_crop_size_honours_a_subclass_that_overrides_size():
    base = FaceTracks.empty("a.mp4", 40)
    old = _OldStyleTracks.__new__(_OldStyleTracks)
    old.__dict__.update(base.__dict__)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        assert old.crop_size == 40  # without reading the crops


def test_frame_plan_n_video_frames_and_the_deprecated_n_frames():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        plan = FramePlan("a.mp4", [3, 1, 2], n_video_frames=300, fps=25.0)
    assert plan.n_video_frames == 300
    assert plan.indices.tolist() == [3, 1, 2]
    assert not plan.indices.flags.writeable
    assert "n_video_frames=300" in repr(plan)
    with pytest.warns(FutureWarning, match="n_video_frames"):
        assert plan.n_frames == 300
    with pytest.warns(FutureWarning, match="n_video_frames"):
        old = FramePlan("a.mp4", [0], n_frames=120)
    assert old.n_video_frames == 120
    positional = FramePlan("a.mp4", np.array([0]), 90, 30.0, 64, 48, 90, None)
    assert (positional.n_video_frames, positional.rotation) == (90, 90)


def test_frame_plan_pickles_and_reads_plans_pickled_before_the_rename():
    plan = FramePlan("a.mp4", [0, 5], n_video_frames=10, error=None)
    again = pickle.loads(pickle.dumps(plan))
    assert again.n_video_frames == 10
    assert again.indices.tolist() == [0, 5]
    # the state of a plan pickled under the old field name
    old = FramePlan.__new__(FramePlan)
    state = {k: v for k, v in plan.__dict__.items() if k != "n_video_frames"}
    old.__setstate__({**state, "n_frames": 10})
    assert old.n_video_frames == 10
    assert "n_frames" not in old.__dict__
