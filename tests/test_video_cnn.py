import pickle

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sklearn_deepfake.datasets import make_face_videos
from sklearn_deepfake.faces import FaceCropper
from sklearn_deepfake.nets import VideoCNNClassifier
from sklearn_deepfake.nets._augment import cutmix_batch
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.video import FrameSampler

FAST = {
    "clip_len": 4,
    "stride": 2,
    "size": 32,
    "batch_size": 4,
    "augment": False,
    "device": "cpu",
    "random_state": 0,
}


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def clips_data(tmp_path_factory):
    data = make_face_videos(
        n_videos=8,
        n_frames=12,
        manipulated=0.5,
        directory=tmp_path_factory.mktemp("video_cnn"),
        random_state=0,
    )
    steps = make_pipeline(
        FrameSampler(n_frames=12), FaceCropper(size=48, clip_box="track", device="cpu")
    )
    return data, steps.fit_transform(data.paths)


@pytest.mark.slow
def test_training_loss_falls_below_the_prior(clips_data):
    data, tracks = clips_data
    params = {**FAST, "batch_size": 8}
    clf = VideoCNNClassifier(
        "r3d_18", max_epochs=15, lr=3e-3, valid_size=0.0, clips_per_video=4, **params
    ).fit(tracks, data.target)
    losses = clf.net_.history[:, "train_loss"]
    assert losses[-1] < losses[0]
    proba = clf.predict_proba(tracks)
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    assert log_loss(data.target, proba[:, 1]) < 0.6


@pytest.mark.slow
def test_grouped_validation_early_stopping_and_pickle(clips_data):
    data, tracks = clips_data
    clf = VideoCNNClassifier("mc3_18", max_epochs=3, valid_size=0.25, **FAST)
    clf.fit(tracks, data.target, groups=data.groups)
    assert "valid_loss" in clf.net_.history[-1]
    ref = clf.predict_proba(tracks)
    again = pickle.loads(pickle.dumps(clf)).predict_proba(tracks)
    np.testing.assert_allclose(again, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_video_without_clip_gets_the_prior(clips_data):
    data, tracks = clips_data
    clf = VideoCNNClassifier("r3d_18", max_epochs=1, valid_size=0.0, **FAST)
    clf.fit(tracks, data.target)
    proba = clf.predict_proba([FaceTracks.empty("none.mp4", 48), tracks[0]])
    assert proba[0, 1] == pytest.approx(clf.prior_)


@pytest.mark.slow
def test_pipeline_from_paths_with_grouped_cv(clips_data):
    data, _ = clips_data
    pipe = make_pipeline(
        FrameSampler(n_frames=8),
        FaceCropper(size=32, clip_box="track", device="cpu"),
        VideoCNNClassifier("r3d_18", max_epochs=1, valid_size=0.0, **FAST),
    )
    scores = cross_val_score(
        pipe,
        data.paths,
        data.target,
        groups=data.groups,
        cv=GroupKFold(2),
        scoring="neg_log_loss",
    )
    assert np.all(np.isfinite(scores))


def test_cutmix_pastes_the_same_box_on_every_frame():
    x = torch.stack([torch.zeros(3, 4, 8, 8), torch.ones(3, 4, 8, 8)])
    y = torch.tensor([0.0, 1.0])
    mixed, y_mixed, area = cutmix_batch(x, y, np.random.default_rng(1))
    for b in range(2):
        frames = mixed[b]
        assert torch.equal(frames[:, 0], frames[:, 1])
        assert torch.equal(frames[:, 0], frames[:, 3])
        assert float(y_mixed[b]) == pytest.approx(float(frames.mean()))
    assert 0 <= area <= 1


@pytest.mark.parametrize(
    ("param", "value"),
    [("arch", "vgg"), ("clip_len", 0), ("size", 4), ("cutmix", 2.0), ("eps", 0.6)],
)
def test_invalid_params(param, value):
    tracks = [FaceTracks.empty("a.mp4", 32), FaceTracks.empty("b.mp4", 32)]
    with pytest.raises(ValueError, match=param):
        VideoCNNClassifier(**{param: value}).fit(tracks, [0, 1])


@pytest.mark.slow
def test_learns_the_manipulation_and_beats_the_prior_on_held_out_videos(
    held_out_tracks,
):
    """Random-init inflated ResNet-18 (I3D) on 20 videos; 12 held out.

    The same 32 synthetic videos as FaceCNNClassifier's held-out test (16
    pristine, 16 "blend" twins, 32-px crops, twins in one group), clips of 4
    frames, DFDC string labels. When written (deterministic on CPU),
    training / held-out log loss for random_state 0, 1, 2: 0.575 / 0.673,
    0.582 / 0.659, 0.481 / 0.680 against 0.693 for the prior; the test uses
    0. With 10 or 12 epochs the training loss falls to 0.26-0.51 but every
    seed then loses to the prior on the held-out videos (0.73-0.89), and
    r3d_18 (no 2-D structure to start from) stayed at 0.665 / 0.674 on seed
    0: on so little data the I3D design generalises best.
    """
    from sklearn.model_selection import GroupShuffleSplit

    tracks, target, groups = held_out_tracks
    y = np.where(target == 1, "FAKE", "REAL")
    split = GroupShuffleSplit(1, test_size=0.34, random_state=0)
    train, test = next(split.split(tracks, y, groups))
    assert not set(groups[train]) & set(groups[test])
    clf = VideoCNNClassifier(
        "i3d_r18", clip_len=4, stride=4, size=32, clips_per_video=2,
        max_epochs=8, batch_size=8, lr=3e-3, augment=False, valid_size=0.0,
        device="cpu", random_state=0,
    )  # fmt: skip
    clf.fit([tracks[i] for i in train], y[train])

    def loss(idx):
        proba = clf.predict_proba([tracks[i] for i in idx])
        return log_loss(y[idx], proba, labels=clf.classes_)

    prior = np.log(2)  # balanced: twins
    assert loss(train) < 0.85 * prior
    assert loss(test) < prior
