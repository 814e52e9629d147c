"""Training and prediction of the deep classifiers from lazy per-video records.

The face store's records (``LazyFaceTracks``) keep their crops on disk and
read rows through ``crops_at``. ``_DiskTracks`` below stands in for them: its
crops live in an ``.npy`` file read through a memory map, reading
``t.crops`` (all crops of a video) fails, and every ``crops_at`` call is
logged, so the tests prove that the nets read crops a batch at a time and
that results equal those from in-memory records.
"""

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
import torch

from sklearn_deepfake.nets import FaceCNNClassifier, VideoCNNClassifier
from sklearn_deepfake.nets._training import (
    EpochSampler,
    FrameDataset,
    balanced_videos,
)
from sklearn_deepfake.nets._video_cnn import ClipDataset
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

#: (path, number of rows) of every crops_at call made in this process.
READS: list[tuple[str, int]] = []


class _DiskTracks(FaceTracks):
    """A FaceTracks whose crops stay on disk; ``crops`` may not be read."""

    def __init__(self, t: FaceTracks, file) -> None:
        np.save(file, t.crops)
        for f in dataclasses.fields(FaceTracks):
            if f.name != "crops":
                object.__setattr__(self, f.name, getattr(t, f.name))
        object.__setattr__(self, "_file", str(file))
        object.__setattr__(self, "_n", len(t))
        object.__setattr__(self, "_size", t.crop_size)

    @property
    def crops(self):
        raise AssertionError(f"all crops of {self.path} were read")

    @property
    def crop_size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._n

    def crops_at(self, rows):
        rows = np.arange(self._n)[np.asarray(rows)]
        READS.append((self.path, len(rows)))
        return np.array(np.load(self._file, mmap_mode="r")[rows])


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    READS.clear()


def _videos(n, size=16):
    tracks = make_tiny_face_tracks(n, size=size, empty=())
    y = np.array([i % 2 for i in range(n)])
    return tracks, y


def _on_disk(tracks, tmp_path):
    return [_DiskTracks(t, tmp_path / f"{i}.npy") for i, t in enumerate(tracks)]


def _face_cnn(**params):
    base = {
        "backbone": "resnet18",
        "max_epochs": 2,
        "batch_size": 4,
        "predict_batch_size": 4,
        "frames_per_video": 3,
        "valid_size": None,
        "device": "cpu",
        "random_state": 0,
    }
    return FaceCNNClassifier(**{**base, **params})


def _fit_quiet(clf, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random-init warnings
        return clf.fit(X, y, **kw)


def test_face_cnn_reads_crops_a_batch_at_a_time_and_matches_memory(tmp_path):
    tracks, y = _videos(6)
    disk = _on_disk(tracks, tmp_path)
    ref = _fit_quiet(_face_cnn(), tracks, y)
    clf = _fit_quiet(_face_cnn(), disk, y)
    # Training read one crop per item: frames_per_video rows of each video
    # and epoch, never a whole video.
    assert {n for _, n in READS} == {1}
    assert len(READS) == 2 * sum(min(len(t), 3) for t in tracks)
    READS.clear()
    proba = clf.predict_proba(disk)
    np.testing.assert_array_equal(proba, ref.predict_proba(tracks))
    # Prediction reads each row once, at most predict_batch_size rows a call.
    assert max(n for _, n in READS) <= 4
    assert sum(n for _, n in READS) == sum(len(t) for t in tracks)
    frames = clf.predict_frame_proba(disk)
    for a, b in zip(frames, ref.predict_frame_proba(tracks), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(
        clf.net_.module_.state_dict().values(),
        ref.net_.module_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)


def test_face_cnn_with_validation_split_and_self_blend_on_disk(tmp_path):
    tracks, y = _videos(8)
    disk = _on_disk(tracks, tmp_path)
    params = {"valid_size": 0.25, "self_blend": True, "max_epochs": 1}
    ref = _fit_quiet(_face_cnn(**params), tracks, y)
    clf = _fit_quiet(_face_cnn(**params), disk, y)
    np.testing.assert_array_equal(clf.predict_proba(disk), ref.predict_proba(tracks))


@pytest.mark.parametrize("persistent", [False, True])
def test_face_cnn_dataloader_workers_give_the_same_weights(tmp_path, persistent):
    tracks, y = _videos(6)
    disk = _on_disk(tracks, tmp_path)
    params = {"max_epochs": 3, "augment": {"cutmix": 0.0}}
    ref = _fit_quiet(_face_cnn(**params), disk, y)
    clf = _fit_quiet(
        _face_cnn(num_workers=2, persistent_workers=persistent, **params), disk, y
    )
    for a, b in zip(
        clf.net_.module_.state_dict().values(),
        ref.net_.module_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(clf.predict_proba(disk), ref.predict_proba(disk))
    # The fitted net holds no loader, sampler or dataset: it pickles small.
    assert len(pickle.dumps(clf)) < 1.2 * len(pickle.dumps(ref))


def test_frame_dataset_pickles_small_and_follows_epoch_keys(tmp_path):
    tracks, y = _videos(6, size=32)
    disk = _on_disk(tracks, tmp_path)
    ds = FrameDataset(
        disk, y, frames_per_video=2, augmenter=None, size=32, seed=0, shuffle_rows=True
    )
    copy = pickle.loads(pickle.dumps(ds))  # what a DataLoader worker gets
    assert (
        len(pickle.dumps(ds))
        < sum(t.crops_at(np.arange(len(t))).nbytes for t in tracks) / 4
    )
    ds.set_epoch(3)  # the main process moves on; the worker copy did not
    for i in range(len(ds)):
        x, label = ds[i]
        x2, label2 = copy[(3, i)]
        assert torch.equal(x, x2)
        assert label == label2
    assert not np.array_equal(ds.epoch_items(0)[0], ds.epoch_items(3)[0])
    keys = list(EpochSampler(ds, seed=1))
    assert {e for e, _ in keys} == {3}
    assert sorted(i for _, i in keys) == list(range(len(ds)))


def test_class_balance_draws_both_classes_equally_each_epoch():
    tracks = make_tiny_face_tracks(24, size=8, empty=(5,))
    y = np.array([0 if i % 6 == 0 else 1 for i in range(24)], np.float32)  # 5:1
    ds = FrameDataset(
        tracks,
        y,
        frames_per_video=1,
        augmenter=None,
        size=8,
        seed=0,
        shuffle_rows=True,
        balance=True,
    )
    seen = set()
    for epoch in range(5):
        ds.set_epoch(epoch)
        labels = ds.row_labels()
        assert labels.sum() == len(labels) - labels.sum() == 4
        seen |= set(ds.pairs[:, 0].tolist())
    # Every fake video (with a face) comes up once per 5 epochs (19 / 4).
    assert seen == set(range(24)) - {5}
    unbalanced = FrameDataset(
        tracks, y, frames_per_video=1, augmenter=None, size=8, seed=0, shuffle_rows=True
    )
    assert unbalanced.row_labels().mean() > 0.8
    # One class only: every video is kept.
    v = balanced_videos(np.ones(4, np.float32), np.ones(4, bool), 0, 3)
    assert v.tolist() == [0, 1, 2, 3]


def test_face_cnn_class_balance_trains_on_a_balanced_epoch(tmp_path):
    tracks = make_tiny_face_tracks(12, size=16, empty=())
    y = np.array([0 if i % 6 == 0 else 1 for i in range(12)])
    clf = _fit_quiet(_face_cnn(class_balance="epoch", max_epochs=1), tracks, y)
    # 2 real and 2 fake videos per epoch, up to 3 crops each.
    n_items = sum(b["train_batch_size"] for b in clf.net_.history[-1]["batches"])
    assert n_items == 12
    pw = clf.net_.criterion__pos_weight
    assert pw is not None
    assert float(pw) == pytest.approx(1.0)


def test_loader_params_are_checked():
    tracks, y = _videos(3)
    with pytest.raises(ValueError, match="persistent_workers"):
        _face_cnn(persistent_workers=True).fit(tracks, y)
    with pytest.raises(ValueError, match="class_balance"):
        _face_cnn(class_balance="video").fit(tracks, y)
    with pytest.raises(ValueError, match="num_workers"):
        VideoCNNClassifier(num_workers=-1).fit(tracks, y)
    with pytest.raises(ValueError, match="pin_memory"):
        _face_cnn(pin_memory="yes").fit(tracks, y)


def _clip_videos(n, rows=6, size=16):
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        out.append(
            FaceTracks(
                f"v{i}.mp4",
                frame_indices=np.arange(rows),
                face_found=np.ones(rows, bool),
                crops=rng.integers(0, 256, (rows, size, size, 3), dtype=np.uint8),
                boxes=np.tile([[2, 2, 12, 12]], (rows, 1)),
                crop_boxes=np.tile([[0, 0, 16, 16]], (rows, 1)),
                probs=np.ones(rows),
                landmarks=np.full((rows, 5, 2), 8.0),
                track_ids=np.zeros(rows, int),
                frame_pos=np.arange(rows),
                detected=np.ones(rows, bool),
            )
        )
    return out


@pytest.mark.slow
def test_video_cnn_reads_one_clip_per_item_and_matches_memory(tmp_path):
    tracks = _clip_videos(4)
    y = np.array([0, 1, 0, 1])
    disk = _on_disk(tracks, tmp_path)
    params = {
        "clip_len": 4,
        "stride": 2,
        "size": 16,
        "max_epochs": 1,
        "batch_size": 4,
        "augment": False,
        "valid_size": 0.0,
        "device": "cpu",
        "random_state": 0,
    }
    ref = VideoCNNClassifier("r3d_18", **params).fit(tracks, y)
    clf = VideoCNNClassifier("r3d_18", **params).fit(disk, y)
    assert {n for _, n in READS} == {4}  # one clip of 4 frames per item
    READS.clear()
    np.testing.assert_array_equal(clf.predict_proba(disk), ref.predict_proba(tracks))
    assert max(n for _, n in READS) <= 6  # one video at a time
    two = VideoCNNClassifier("r3d_18", num_workers=2, **params).fit(disk, y)
    np.testing.assert_array_equal(two.predict_proba(disk), clf.predict_proba(disk))


def test_clip_dataset_balance_and_epoch_keys(tmp_path):
    tracks = _clip_videos(12, rows=4, size=8)
    y = np.array([0 if i % 6 == 0 else 1 for i in range(12)], np.float32)
    disk = _on_disk(tracks, tmp_path)
    ds = ClipDataset(
        disk,
        y,
        clip_len=2,
        stride=2,
        size=8,
        clips_per_video=1,
        augment=None,
        seed=0,
        shuffle=True,
        balance=True,
    )
    for epoch in range(3):
        ds.set_epoch(epoch)
        assert ds.item_labels().sum() == 2
        assert len(ds) == 4
    copy = pickle.loads(pickle.dumps(ds))
    x, _ = ds[1]
    assert torch.equal(copy[(2, 1)][0], x)
    assert x.shape == (3, 2, 8, 8)


def test_temporal_class_balance_trains_on_a_balanced_epoch():
    from sklearn_deepfake.nets import TemporalClassifier

    rng = np.random.default_rng(0)
    X = [rng.normal(size=(6, 3)).astype(np.float32) for _ in range(12)]
    y = np.array([0 if i % 6 == 0 else 1 for i in range(12)])
    clf = TemporalClassifier(
        hidden_size=4, max_epochs=2, batch_size=4, valid_size=None,
        class_balance="epoch", device="cpu", random_state=0,
    ).fit(X, y)  # fmt: skip
    for h in clf.net_.history:
        assert sum(b["train_batch_size"] for b in h["batches"]) == 4  # 2 + 2
    assert float(clf.net_.criterion__pos_weight) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="class_balance"):
        TemporalClassifier(class_balance=True).fit(X, y)


def test_prediction_leaves_the_global_torch_generator_alone():
    tracks, y = _videos(4)
    clf = _fit_quiet(_face_cnn(max_epochs=1), tracks, y)
    torch.manual_seed(5)
    clf.predict_proba(tracks)
    after = torch.rand(1)
    torch.manual_seed(5)
    assert torch.equal(torch.rand(1), after)


@pytest.mark.slow
@pytest.mark.parametrize("crop_format", ["raw", "jpeg"])
def test_face_cnn_on_face_store_records(
    tiny_videos, tmp_path, monkeypatch, crop_format
):
    """Real MTCNN crops in a FaceStore: lazy records train as loaded ones."""
    from sklearn.pipeline import make_pipeline

    from sklearn_deepfake.faces import FaceCropper, FaceStore, LazyFaceTracks
    from sklearn_deepfake.video import FrameSampler

    store = FaceStore(tmp_path / "store", crop_format=crop_format)
    steps = make_pipeline(
        FrameSampler(n_frames=6), FaceCropper(size=32, device="cpu", cache_dir=store)
    )
    lazy = steps.fit_transform(tiny_videos.paths)
    assert all(isinstance(t, LazyFaceTracks) for t in lazy)
    loaded = [t.load() for t in lazy]
    y = tiny_videos.target
    ref = _fit_quiet(_face_cnn(batch_size=3), loaded, y)

    def no_whole_crops(self):
        raise AssertionError("all crops of a video were read")

    monkeypatch.setattr(LazyFaceTracks, "crops", property(no_whole_crops))
    clf = _fit_quiet(_face_cnn(batch_size=3), lazy, y)
    np.testing.assert_array_equal(clf.predict_proba(lazy), ref.predict_proba(loaded))
    two = _fit_quiet(_face_cnn(batch_size=3, num_workers=2), lazy, y)
    np.testing.assert_array_equal(two.predict_proba(lazy), ref.predict_proba(loaded))
