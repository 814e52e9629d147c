"""Tests of TemporalClassifier, the sequence model over frame embeddings."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deepfake.features import TemporalPooling
from sklearn_deepfake.nets import TemporalClassifier
from sklearn_deepfake.nets._temporal import SequenceDataset, TemporalNet, pad_sequences

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _order_task(n_videos, *, length=16, n_features=6, seed=0):
    """Two classes with the same multiset of frames, in a different order.

    Each video has two frame vectors A and B (two fixed prototypes, in a
    random role, jittered per video, plus a little noise per frame).
    Class 1 flickers (A, B, A, B, ...); class 0 holds A then B (A..A, B..B).
    The per-video mean, std, min and max have the same distribution in both
    classes, so order-free pooling cannot tell them apart.
    """
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(12345).normal(size=(2, n_features))
    X, y = [], []
    half = length // 2
    for i in range(n_videos):
        label = i % 2
        a, b = prototypes[rng.permutation(2)] + rng.normal(0, 0.3, (2, n_features))
        order = np.tile([0, 1], half) if label else np.repeat([0, 1], half)
        frames = np.where(order[:, None] == 0, a, b)
        frames = frames + rng.normal(0, 0.1, frames.shape)
        X.append(frames.astype(np.float32))
        y.append(label)
    return X, np.array(y)


def _small(**params):
    base = {
        "hidden_size": 16,
        "max_epochs": 30,
        "batch_size": 16,
        "lr": 1e-2,
        "dropout": 0.0,
        "crop_len": None,
        "valid_size": None,
        "device": "cpu",
        "random_state": 0,
    }
    base.update(params)
    return TemporalClassifier(**base)


def test_learns_frame_order_that_pooling_cannot_see():
    X_train, y_train = _order_task(80, seed=0)
    X_test, y_test = _order_task(40, seed=1)
    clf = _small(max_epochs=20, crop_len=12).fit(X_train, y_train)
    temporal_loss = log_loss(y_test, clf.predict_proba(X_test)[:, 1])

    pooled = make_pipeline(
        TemporalPooling(counts=False), StandardScaler(), LogisticRegression()
    )
    pooled.fit(X_train, y_train)
    pooled_loss = log_loss(y_test, pooled.predict_proba(X_test)[:, 1])

    assert temporal_loss < 0.2, temporal_loss
    assert pooled_loss > 0.6, pooled_loss
    assert (clf.predict(X_test) == y_test).mean() > 0.9


@pytest.mark.parametrize("cell", ["lstm", "gru", "transformer"])
@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_one_step_lowers_the_loss_on_a_fixed_batch(cell, pooling):
    torch.manual_seed(0)
    X, y = _order_task(16, length=8, n_features=4)
    batch = pad_sequences(X[:7] + [x[:5] for x in X[7:]])  # ragged lengths
    target = torch.tensor(y, dtype=torch.float32)
    net = TemporalNet(4, cell=cell, hidden_size=8, pooling=pooling, dropout=0.0)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-2)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    before = loss_fn(net(batch), target)
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = loss_fn(net(batch), target)
    assert after.item() < before.item()


@pytest.mark.parametrize("cell", ["lstm", "gru", "transformer"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_padding_does_not_change_a_video_score(cell, bidirectional, pooling):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    short = rng.normal(size=(3, 4)).astype(np.float32)
    long = rng.normal(size=(9, 4)).astype(np.float32)
    net = TemporalNet(
        4,
        cell=cell,
        hidden_size=8,
        num_layers=2,
        bidirectional=bidirectional,
        pooling=pooling,
        dropout=0.0,
    ).eval()
    with torch.no_grad():
        alone = net(pad_sequences([short]))
        padded = net(pad_sequences([short, long]))
    torch.testing.assert_close(padded[:1], alone, rtol=1e-5, atol=1e-5)


def test_random_crops_change_per_epoch_and_are_seeded():
    seqs = [np.arange(20, dtype=np.float32).reshape(20, 1)]
    ds = SequenceDataset(seqs, [1.0], crop_len=5, seed=3, random_crop=True)
    starts = []
    for epoch in range(6):
        ds.set_epoch(epoch)
        crop, label = ds[0]
        assert crop.shape == (5, 1)
        assert label == 1.0
        np.testing.assert_array_equal(np.diff(crop[:, 0]), 1.0)  # consecutive
        starts.append(int(crop[0, 0]))
    assert len(set(starts)) > 1
    again = SequenceDataset(seqs, [1.0], crop_len=5, seed=3, random_crop=True)
    again.set_epoch(2)
    assert int(again[0][0][0, 0]) == starts[2]
    whole = SequenceDataset(seqs, [1.0], crop_len=5, seed=3, random_crop=False)
    assert len(whole[0][0]) == 20


def test_ragged_and_zero_length_videos():
    X, y = _order_task(12, length=8, n_features=3)
    X = [x[: 1 + i % 8] for i, x in enumerate(X)]  # lengths 1 .. 8
    X[2] = np.zeros((0, 3), np.float32)
    X[5] = np.zeros((0, 3), np.float32)
    clf = _small(max_epochs=2, crop_len=4, empty_proba=None).fit(X, y)
    with pytest.warns(UserWarning, match="2 of 12 videos have no frame"):
        proba = clf.predict_proba(X)
    assert proba.shape == (12, 2)
    np.testing.assert_allclose(proba[[2, 5], 1], clf.prior_)
    assert clf.prior_ == pytest.approx(0.5)
    with pytest.warns(UserWarning, match="no frame"):
        logits = clf.decision_function(X)
    assert logits[2] == pytest.approx(0.0)
    # A fixed fallback, clipped like every other probability.
    clf = _small(max_epochs=1, empty_proba=1.0, eps=0.05).fit(X, y)
    with pytest.warns(UserWarning, match="no frame"):
        assert clf.predict_proba(X)[2, 1] == pytest.approx(0.95)


def test_all_empty_training_set_raises():
    X = [np.zeros((0, 3), np.float32)] * 4
    with pytest.raises(ValueError, match="has a frame"):
        _small().fit(X, [0, 1, 0, 1])


def test_reproducible_with_random_state():
    X, y = _order_task(16, length=8, n_features=3)
    a = _small(max_epochs=3, crop_len=4).fit(X, y).predict_proba(X)
    b = _small(max_epochs=3, crop_len=4).fit(X, y).predict_proba(X)
    c = _small(max_epochs=3, crop_len=4, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("cell", ["gru", "transformer"])
def test_other_cells_and_last_state_fit(cell):
    X, y = _order_task(16, length=8, n_features=4)
    clf = _small(cell=cell, pooling="last", max_epochs=2, n_heads=2).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (16, 2)
    assert np.all((proba >= clf.eps) & (proba <= 1 - clf.eps))


def test_group_aware_early_stopping():
    X, y = _order_task(24, length=8, n_features=3)
    groups = np.arange(24) // 2
    clf = _small(valid_size=0.25, patience=2, max_epochs=6).fit(X, y, groups=groups)
    valid = clf.valid_videos_
    train = np.setdiff1d(np.arange(24), valid)
    assert len(valid) > 0
    assert not set(groups[valid]) & set(groups[train])
    assert 1 <= clf.n_epochs_ <= 6
    assert clf.best_epoch_ is not None
    assert clf.best_epoch_ <= clf.n_epochs_
    with pytest.raises(ValueError, match="groups"):
        _small().fit(X, y, groups=groups[:5])


def test_clone_pickle_and_warm_start():
    X, y = _order_task(12, length=8, n_features=3)
    clf = _small(max_epochs=2).fit(X, y)
    assert not hasattr(clone(clf), "net_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))

    warm = _small(max_epochs=2, warm_start=True).fit(X, y)
    module = warm.net_.module_
    warm.fit(X, y)
    assert warm.net_.module_ is module  # continued from the previous weights
    cold = _small(max_epochs=2).fit(X, y)
    first = cold.net_.module_
    cold.fit(X, y)
    assert cold.net_.module_ is not first


def test_feature_checks():
    X, y = _order_task(8, length=6, n_features=3)
    clf = _small(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="fitted with 3"):
        clf.predict_proba([x[:, :2] for x in X])
    with pytest.raises(ValueError, match="same number of features"):
        clf.predict_proba([X[0], X[1][:, :2]])
    bad = [x.copy() for x in X]
    bad[3][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X\[3\] contains NaN"):
        clf.predict_proba(bad)
    with pytest.raises(ValueError, match="exactly 2 classes"):
        _small().fit(X, np.zeros(8))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"cell": "rnn"}, "cell"),
        ({"pooling": "max"}, "pooling"),
        ({"hidden_size": 0}, "hidden_size"),
        ({"cell": "transformer", "hidden_size": 10, "n_heads": 4}, "multiple"),
        ({"crop_len": 1}, "crop_len"),
        ({"dropout": 1.0}, "dropout"),
        ({"valid_size": 1.5}, "valid_size"),
        ({"class_weight": "auto"}, "class_weight"),
        ({"empty_proba": 2.0}, "empty_proba"),
        ({"eps": 0.5}, "eps"),
    ],
)
def test_invalid_params(params, match):
    X, y = _order_task(4, length=4, n_features=2)
    with pytest.raises(ValueError, match=match):
        _small(**params).fit(X, y)


def test_tags_and_warnings_free_fit():
    X, y = _order_task(8, length=6, n_features=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _small(max_epochs=1).fit(X, y).predict_proba(X)
    tags = TemporalClassifier().__sklearn_tags__()
    assert not tags.input_tags.two_d_array
    assert tags.non_deterministic
    assert not TemporalClassifier(random_state=0).__sklearn_tags__().non_deterministic


def test_in_a_pipeline_after_per_frame_features_with_grouped_cv():
    from sklearn.model_selection import GroupKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    from sklearn_deepfake.features import FaceContextFeatures
    from sklearn_deepfake.utils._testing import make_tiny_face_tracks

    X = make_tiny_face_tracks(8, size=32, empty=(1,))
    y = np.arange(8) % 2
    groups = np.arange(8) // 2
    pipe = make_pipeline(FaceContextFeatures(), _small(max_epochs=2, valid_size=0.25))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the face-less video
        scores = cross_val_score(
            pipe,
            X,
            y,
            groups=groups,
            cv=GroupKFold(2),
            scoring="neg_log_loss",
            params={"temporalclassifier__groups": groups},
        )
    assert scores.shape == (2,)
    assert np.all(np.isfinite(scores))
