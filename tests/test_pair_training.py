"""Training on aligned (fake, original) pairs, and DFDC grouping by part."""

import dataclasses
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_deepfake.datasets import load_dfdc, make_dfdc_folder
from sklearn_deepfake.faces import pair_partners
from sklearn_deepfake.nets import (
    FaceCNNClassifier,
    difference_mask,
    erase_by_difference,
    mix_pair,
)
from sklearn_deepfake.nets._augment import face_part_box
from sklearn_deepfake.nets._training import FrameDataset, FrameNet
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

SIZE = 32
REGION = (slice(20, 30), slice(8, 24))  # rows, cols: the "manipulated" mouth


def _pairs():
    """Two originals and one aligned fake of each: [orig0, orig1, fake0, fake1]."""
    originals = make_tiny_face_tracks(2, size=SIZE, empty=())
    originals = [
        dataclasses.replace(t, crops=np.maximum(t.crops, 1)) for t in originals
    ]
    fakes = []
    for k, t in enumerate(originals):
        crops = t.crops.copy()
        crops[:, REGION[0], REGION[1]] = 255 - crops[:, REGION[0], REGION[1]]
        crops = np.maximum(crops, 1)
        fakes.append(
            dataclasses.replace(
                t, path=f"fake_{k}.mp4", crops=crops, meta={"original": t.path}
            )
        )
    return [*originals, *fakes], np.array([0, 0, 1, 1])


def _region_mask():
    m = np.zeros((SIZE, SIZE), bool)
    m[REGION] = True
    return m


@pytest.mark.parametrize("method", ["ssim", "absdiff"])
def test_difference_mask_covers_the_changed_region(method):
    (orig, _, fake, _), _ = _pairs()
    mask = difference_mask(fake.crops[0], orig.crops[0], method=method)
    region = _region_mask()
    assert mask[region].mean() > 0.9
    near = np.zeros_like(region)
    near[17:33, 5:27] = True  # the region grown by the smoothing
    assert not mask[~near].any()


def test_difference_mask_errors():
    a = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="method must be"):
        difference_mask(a, a, method="l2")
    with pytest.raises(ValueError, match="differ in shape"):
        difference_mask(a, np.zeros((8, 9, 3), np.uint8))


def test_erase_by_difference_follows_the_mask():
    (orig, _, fake, _), _ = _pairs()
    landmarks = fake.landmarks[0]
    rng = np.random.default_rng(0)
    out, erased = erase_by_difference(fake.crops[0], orig.crops[0], landmarks, rng)
    mask = difference_mask(fake.crops[0], orig.crops[0])
    assert erased.any()
    assert not (erased & ~mask).any()
    assert (out[erased] == 0).all()
    np.testing.assert_array_equal(out[~erased], fake.crops[0][~erased])
    # the erased pixels lie in one face part's box
    boxes = [face_part_box(landmarks, p, SIZE) for p in ("eyes", "nose", "mouth")]
    inside = []
    for x1, y1, x2, y2 in boxes:
        box = np.zeros_like(erased)
        box[y1:y2, x1:x2] = True
        inside.append(not (erased & ~box).any())
    assert any(inside)
    # identical crops: nothing to erase
    same, none = erase_by_difference(orig.crops[0], orig.crops[0], landmarks, rng)
    assert not none.any()
    np.testing.assert_array_equal(same, orig.crops[0])


def test_mix_pair():
    fake = np.full((2, 2, 3), 250, np.uint8)
    orig = np.full((2, 2, 3), 50, np.uint8)
    mixed, label = mix_pair(fake, orig, 0.3)
    assert label == 0.3
    assert (mixed == 110).all()


def _dataset(tracks, labels, **kw):
    return FrameDataset(
        tracks,
        labels,
        frames_per_video=None,
        augmenter=None,
        size=SIZE,
        seed=0,
        shuffle_rows=True,
        partners=pair_partners(tracks),
        **kw,
    )


def test_frame_dataset_diff_erasure_follows_the_pair_mask():
    tracks, labels = _pairs()
    tracks = [*tracks, dataclasses.replace(tracks[2], path="lone.mp4", meta={})]
    labels = np.append(labels, 1)
    ds = _dataset(tracks, labels, part_erasure="diff", erase_p=1.0)
    np.testing.assert_array_equal(ds.partners, [-1, -1, 0, 1, -1])
    seen = set()
    for i, (v, r) in enumerate(ds.pairs):
        x, y = ds[i]
        img = x.numpy().transpose(1, 2, 0)
        crop = tracks[v].crops[r]
        changed = (img != crop).any(axis=2)
        assert float(y) == labels[v]
        assert changed.any()
        assert (img[changed] == 0).all()
        if v in (2, 3):  # paired fakes: inside the difference mask only
            orig = tracks[v - 2].crops[r]
            assert not (changed & ~difference_mask(crop, orig)).any()
            assert changed[REGION].any()
            seen.add("diff")
        else:  # reals and the unpaired fake: one landmark part
            lm = tracks[v].landmarks[r]
            fits = []
            for part in ("eyes", "nose", "mouth"):
                x1, y1, x2, y2 = face_part_box(lm, part, SIZE)
                box = np.zeros_like(changed)
                box[y1:y2, x1:x2] = True
                fits.append(np.array_equal(changed, box & changed) and changed.any())
            assert any(fits)
            seen.add("landmarks")
    assert seen == {"diff", "landmarks"}


def test_frame_dataset_pair_mixup_mixes_aligned_pairs():
    tracks, labels = _pairs()
    ds = _dataset(tracks, labels, pair_mixup=1.0)
    soft = 0
    for i, (v, r) in enumerate(ds.pairs):
        x, y = ds[i]
        img, y = x.numpy().transpose(1, 2, 0), float(y)
        if labels[v] == 0:
            assert y == 0.0
            np.testing.assert_array_equal(img, tracks[v].crops[r])
        elif y == 1.0:
            np.testing.assert_array_equal(img, tracks[v].crops[r])
        else:
            soft += 1
            assert 0.0 < y < 1.0
            expected, _ = mix_pair(tracks[v].crops[r], tracks[v - 2].crops[r], y)
            np.testing.assert_allclose(img, expected, atol=1)
    assert soft > 0


def test_face_cnn_pair_mixup_trains_on_soft_labels(monkeypatch):
    tracks, labels = _pairs()
    targets = []
    get_loss = FrameNet.get_loss

    def spy(self, y_pred, y_true, *args, training=False, **kwargs):
        if training:
            targets.append(y_true.detach().cpu().numpy().copy())
        return get_loss(self, y_pred, y_true, *args, training=training, **kwargs)

    monkeypatch.setattr(FrameNet, "get_loss", spy)
    clf = FaceCNNClassifier(
        "resnet18",
        max_epochs=2,
        batch_size=4,
        valid_size=None,
        pair_mixup=0.5,
        part_erasure="diff",
        augment={"face_part": 1.0},
        device="cpu",
        random_state=0,
    )
    clf.fit(tracks, labels)
    assert clf.n_train_pairs_ == 2
    y = np.concatenate(targets)
    assert ((y > 0) & (y < 1)).any()
    proba = clf.predict_proba(tracks)
    assert proba.shape == (4, 2)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(tracks), proba)
    params = clone(clf).get_params()
    assert params["pair_mixup"] == 0.5
    assert params["part_erasure"] == "diff"


def test_face_cnn_without_pairs_uses_none():
    tracks = make_tiny_face_tracks(4, size=SIZE, empty=())
    clf = FaceCNNClassifier(
        "resnet18", max_epochs=1, batch_size=4, valid_size=None,
        pair_mixup=0.5, part_erasure="diff", device="cpu", random_state=0,
    )  # fmt: skip
    clf.fit(tracks, [0, 1, 0, 1])
    assert clf.n_train_pairs_ == 0


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (
            {"part_erasure": "ssim"},
            "'part_erasure' parameter of FaceCNNClassifier must be",
        ),
        ({"pair_mixup": 0}, "'pair_mixup' parameter of FaceCNNClassifier must be"),
        ({"pair_mixup": True}, "'pair_mixup' parameter of FaceCNNClassifier must be"),
    ],
)
def test_face_cnn_pair_params_are_validated(params, match):
    tracks, labels = _pairs()
    clf = FaceCNNClassifier("resnet18", max_epochs=1, device="cpu", **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(tracks, labels)


# --------------------------------------------------------------------------
# load_dfdc(group_by=...)


@pytest.fixture(scope="module")
def dfdc_parts(tmp_path_factory):
    root = tmp_path_factory.mktemp("parts")
    info = make_dfdc_folder(
        root, n_originals=3, fakes_per_original=2, n_parts=3, n_test=0,
        n_frames=2, random_state=0,
    )  # fmt: skip
    return root, info


def test_make_dfdc_folder_parts_and_group_by_part(dfdc_parts):
    root, info = dfdc_parts
    by_part = load_dfdc(root, group_by="part")
    by_original = load_dfdc(root)
    assert by_part.paths == info.train_paths == by_original.paths
    assert sorted(set(by_part.frame["part"])) == [
        f"dfdc_train_part_{k}" for k in range(3)
    ]
    np.testing.assert_array_equal(by_part.groups, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    a, b = by_original.groups.tolist(), info.train_groups.tolist()
    assert len(set(zip(a, b))) == len(set(a)) == len(set(b)) == 3  # same partition
    assert by_part.originals == info.train_originals
    assert sum(o is not None for o in by_part.originals) == 6


def test_group_by_part_merges_parts_linked_by_a_fake(tmp_path):
    import json
    import shutil

    root = tmp_path / "root"
    make_dfdc_folder(
        root, n_originals=2, fakes_per_original=1, n_parts=2, n_test=0,
        n_frames=2, random_state=0,
    )  # fmt: skip
    part0, part1 = root / "dfdc_train_part_0", root / "dfdc_train_part_1"
    meta0 = json.loads((part0 / "metadata.json").read_text())
    meta1 = json.loads((part1 / "metadata.json").read_text())
    fake = next(n for n, e in meta0.items() if e["original"])
    shutil.move(part0 / fake, part1 / fake)  # a fake filed in another part
    meta1[fake] = meta0.pop(fake)
    (part0 / "metadata.json").write_text(json.dumps(meta0))
    (part1 / "metadata.json").write_text(json.dumps(meta1))
    data = load_dfdc(root, group_by="part")
    assert len(set(data.groups)) == 1


def test_group_by_part_single_part_warns(tiny_dfdc):
    with pytest.warns(UserWarning, match="single part"):
        data = load_dfdc(tiny_dfdc.root, group_by="part")
    assert set(data.groups) == {0}


def test_group_by_invalid(tiny_dfdc):
    with pytest.raises(ValueError, match="group_by must be"):
        load_dfdc(tiny_dfdc.root, group_by="actor")
