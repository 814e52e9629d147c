"""Tests of grad_cam, GradCAMDisplay and per-frame scores."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("pytorch_grad_cam")

from sklearn_deepfake.features import CNNFeatureExtractor, TemporalPooling
from sklearn_deepfake.inspection import GradCAMDisplay, grad_cam
from sklearn_deepfake.inspection._gradcam import default_target_layer, frame_scores
from sklearn_deepfake.nets import FaceCNNClassifier
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

pytestmark = pytest.mark.slow

SIZE = 64
SQUARE = 20  # fakes carry a bright SQUARE x SQUARE patch in the top-left corner


def _marked_tracks(n_videos=8, random_state=0):
    tracks = make_tiny_face_tracks(n_videos, size=SIZE, empty=(), random_state=0)
    y = np.arange(n_videos) % 2
    out = []
    for t, label in zip(tracks, y):
        crops = np.array(t.crops)
        if label:
            crops[:, :SQUARE, :SQUARE] = 255
        out.append(dataclasses.replace(t, crops=crops))
    return out, y


@pytest.fixture(scope="module")
def marked():
    return _marked_tracks()


@pytest.fixture(scope="module")
def face_cnn(marked):
    X, y = marked
    clf = FaceCNNClassifier(
        "resnet18",
        max_epochs=6,
        batch_size=8,
        lr=3e-3,
        augment=False,
        frames_per_video=None,
        valid_size=None,
        device="cpu",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.fit(X, y)


def test_heatmap_shapes_and_range(face_cnn, marked):
    X, _ = marked
    X = [*X[:2], make_tiny_face_tracks(2, size=SIZE)[1]]  # the last has no face
    maps = grad_cam(face_cnn, X)  # default layer: layer4 (2x2 at 64 px)
    assert [m.shape for m in maps] == [(len(t), SIZE, SIZE) for t in X]
    assert maps[2].shape == (0, SIZE, SIZE)
    for m in maps[:2]:
        assert m.dtype == np.float32
        assert m.min() >= 0.0
        assert m.max() <= 1.0
    # Scaled per crop; a real crop may hold no evidence for "fake" at all.
    assert maps[1].max() == pytest.approx(1.0, abs=1e-3)


def test_default_layer_is_last_stage(face_cnn):
    name, module = default_target_layer(face_cnn.net_.module_.backbone)
    assert name == "layer4"
    assert module is face_cnn.net_.module_.backbone.layer4


def test_heatmaps_find_the_marker(face_cnn, marked):
    """The learned fake marker draws the Grad-CAM mass of fake crops."""
    X, y = marked
    proba = face_cnn.predict_proba(X)[:, 1]
    assert proba[y == 1].min() > proba[y == 0].max()  # the marker was learned
    maps = np.concatenate(
        [m for m, label in zip(grad_cam(face_cnn, X, layer="layer3"), y) if label]
    )
    inside = maps[:, :SQUARE, :SQUARE].mean()
    opposite = maps[:, -SQUARE:, -SQUARE:].mean()
    rest = (maps.sum() - maps[:, :SQUARE, :SQUARE].sum()) / (
        maps.size - maps[:, :SQUARE, :SQUARE].size
    )
    assert inside > 2 * rest
    assert inside > 2 * opposite


def test_frozen_backbone_still_has_gradients(marked):
    X, y = marked
    clf = FaceCNNClassifier(
        "resnet18",
        freeze_backbone=True,
        max_epochs=1,
        valid_size=None,
        device="cpu",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X[:2], y[:2])
    maps = grad_cam(clf, X[:1], method="gradcam++", target="real")
    assert maps[0].max() > 0


def _cnn_pipeline(X, y, classifier=None):
    pipe = Pipeline(
        [
            ("features", CNNFeatureExtractor("resnet18", device="cpu")),
            ("temporalpooling", TemporalPooling(stats=("mean",))),
            ("standardscaler", StandardScaler()),
            ("classifier", classifier or LogisticRegression(C=0.1)),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipe.fit(X, y)


def test_cnn_feature_pipeline(marked):
    X, y = marked
    pipe = _cnn_pipeline(X, y)
    maps = grad_cam(pipe, X[:2])
    assert [m.shape for m in maps] == [(len(t), SIZE, SIZE) for t in X[:2]]
    scores = frame_scores(pipe, X)
    decision = pipe.decision_function(X)
    for s, d in zip(scores, decision):
        # the video's log-odds is the mean of its frames' log-odds
        assert np.mean(np.log(s) - np.log1p(-s)) == pytest.approx(d, rel=1e-4)


def test_cam_network_runs_the_extractor_as_the_model_does(marked):
    # hse_faceres with input_size=None runs at its own 224 px: the network
    # Grad-CAM differentiates must resize the 64-px crops to it too, so that
    # its logit is the head's decision on the model's own features.
    import torch

    from sklearn_deepfake.inspection._gradcam import _cam_network, _find

    X, y = marked
    pipe = Pipeline(
        [
            ("features", CNNFeatureExtractor("hse_faceres", pretrained=True)),
            ("temporalpooling", TemporalPooling(stats=("mean",))),
            ("classifier", LogisticRegression(C=0.1)),
        ]
    ).fit(X, y)
    found = _find(pipe)
    net, _, _ = _cam_network(found)
    with torch.no_grad():
        got = net(torch.as_tensor(X[1].crops).permute(0, 3, 1, 2)).numpy()
    feats = pipe.named_steps["features"].transform(X[1:2])[0]
    np.testing.assert_allclose(got, feats @ found["head"].weights, atol=1e-3)


def test_non_affine_head_is_refused(marked):
    X, y = marked
    pipe = _cnn_pipeline(
        X, y, CalibratedClassifierCV(LogisticRegression(), method="isotonic", cv=2)
    )
    with pytest.raises(ValueError, match="not affine"):
        frame_scores(pipe, X)
    with pytest.raises(ValueError, match="not affine"):
        grad_cam(pipe, X[:1])


def test_bad_arguments(face_cnn, marked):
    X, _ = marked
    with pytest.raises(ValueError, match="method"):
        grad_cam(face_cnn, X[:1], method="magic")
    with pytest.raises(ValueError, match="no layer named"):
        grad_cam(face_cnn, X[:1], layer="layer9")
    with pytest.raises(TypeError, match="Grad-CAM needs"):
        grad_cam(LogisticRegression(), X[:1])


def test_display(face_cnn, marked):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, _ = marked
    disp = GradCAMDisplay.from_estimator(face_cnn, X, video=1, n_faces=3)
    assert disp.crops.shape[0] == disp.heatmaps.shape[0] == 3
    assert disp.scores.shape == (3,)
    assert len(disp.axes_) == 3
    assert "P(fake)" in disp.axes_[0].get_title()
    fig, axes = plt.subplots(2, 4)
    disp.plot(ax=axes, n_faces=3)
    assert disp.figure_ is fig
    assert not axes[1, 3].images
    plt.close("all")
