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

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {
    "clip_len": 4,
    "stride": 2,
    "size": 32,
    "batch_size": 4,
    "augment": False,
    "device": "cpu",
    "random_state": 0,
}


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
    frames, DFDC string labels. Two seeds with the true labels and, as a
    control, seed 0 with labels swapped inside a random half of the twin
    pairs (balanced, but unrelated to the manipulation).

    Measured (torch 2.14.1; the synthetic videos under OpenCV 5.1 / 4.14,
    whose bilinear warps differ by a few grey levels): held-out log loss for
    random_state 0, 1: 0.650, 0.641 / 0.626, 0.669 against 0.693 for the
    prior; the fake twin scored above its real twin in 5 and 5 of the 6
    held-out pairs (OpenCV 5.1). The control: 0.755 held out, 3 of 6 pairs
    (OpenCV 5.1), and a *lower* training loss (0.549) than the true labels
    (0.646): this net memorises 20 videos as easily as it learns them, so
    the training loss proves nothing and only held-out videos are asserted.
    Seed 2 fits harder and is less stable (held out 0.675 / 0.847), which
    is why no single seed's figure is a bound.
    """
    from sklearn.model_selection import GroupShuffleSplit

    tracks, target, groups = held_out_tracks
    y = np.where(target == 1, "FAKE", "REAL")
    split = GroupShuffleSplit(1, test_size=0.34, random_state=0)
    train, test = next(split.split(tracks, y, groups))
    assert not set(groups[train]) & set(groups[test])
    shuffled = y[train].copy()
    rng = np.random.default_rng(0)
    for g in np.unique(groups[train]):
        pair = np.flatnonzero(groups[train] == g)
        if rng.random() < 0.5:
            shuffled[pair] = shuffled[pair[::-1]]
    assert (shuffled == "FAKE").sum() == (y[train] == "FAKE").sum()
    assert 0 < (shuffled != y[train]).sum() < len(train)
    held = [tracks[i] for i in test]

    def held_out(labels, seed):
        clf = VideoCNNClassifier(
            "i3d_r18", clip_len=4, stride=4, size=32, clips_per_video=2,
            max_epochs=8, batch_size=8, lr=3e-3, augment=False, valid_size=0.0,
            device="cpu", random_state=seed,
        )  # fmt: skip
        clf.fit([tracks[i] for i in train], labels)
        proba = clf.predict_proba(held)
        p_fake = proba[:, list(clf.classes_).index("FAKE")]
        wins = 0  # held-out pairs whose fake scores above its real twin
        for g in np.unique(groups[test]):
            fake = (groups[test] == g) & (y[test] == "FAKE")
            real = (groups[test] == g) & (y[test] == "REAL")
            wins += int(p_fake[fake][0] > p_fake[real][0])
        return log_loss(y[test], proba, labels=clf.classes_), wins

    prior = np.log(2)  # balanced: twins
    (loss0, wins0), (loss1, wins1) = held_out(y[train], 0), held_out(y[train], 1)
    control_loss, _ = held_out(shuffled, 0)
    # on videos of unseen scenes and identities the two seeds, on average,
    # beat the prior and a net trained on labels unrelated to the
    # manipulation, and rank most fakes above their own real twins (chance:
    # 6 of 12; the control's count is not bounded: 6 pairs are too few)
    assert (loss0 + loss1) / 2 < prior
    assert (loss0 + loss1) / 2 < control_loss
    assert wins0 + wins1 >= 8
