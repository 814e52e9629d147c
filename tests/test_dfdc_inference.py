"""The DFDC winners' inference: flip TTA, seed ensembles, hub check, speed options."""

import dataclasses
import pickle
import time
import warnings

import numpy as np
import pytest
import torch
from scipy.special import expit, logit
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier

from sklearn_deepfake.ensemble import SeedEnsembleClassifier
from sklearn_deepfake.features import _weights
from sklearn_deepfake.features._weights import check_pretrained_reachable
from sklearn_deepfake.nets import FaceCNNClassifier
from sklearn_deepfake.nets._speed import FlipTTA, resolve_precision
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings(
        "ignore::sklearn_deepfake.features._cnn.RandomInitWarning"
    ),
]


def _tiny(**params):
    base = {
        "backbone": "resnet18",
        "max_epochs": 1,
        "batch_size": 8,
        "valid_size": None,
        "augment": False,
        "device": "cpu",
        "random_state": 0,
    }
    return FaceCNNClassifier(**{**base, **params})


def _asymmetric_tracks(n=4, size=32):
    """Tracks whose crops are far from mirror-symmetric (a left-right ramp)."""
    tracks = make_tiny_face_tracks(n, size=size, empty=())
    ramp = np.linspace(0, 255, size, dtype=np.float32)[None, None, :, None]
    out = []
    for t in tracks:
        crops = (0.5 * t.crops + 0.5 * ramp).astype(np.uint8)
        out.append(dataclasses.replace(t, crops=crops))
    return out


def _mirror(tracks):
    return [
        dataclasses.replace(t, crops=np.ascontiguousarray(t.crops[:, :, ::-1]))
        for t in tracks
    ]


@pytest.fixture(scope="module")
def fitted_pair():
    """One tiny classifier fitted once; its TTA twin shares the weights."""
    X = _asymmetric_tracks()
    y = [0, 1, 0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _tiny().fit(X, y)
    tta = clone(clf).set_params(tta="flip")
    # same fitted state, only the inference option differs
    tta.__dict__.update({k: v for k, v in clf.__dict__.items() if k.endswith("_")})
    return X, clf, tta


def test_flip_tta_changes_raw_predictions_of_asymmetric_crops(fitted_pair):
    X, clf, tta = fitted_pair
    plain = np.concatenate(clf.predict_frame_proba(X))
    flipped = np.concatenate(tta.predict_frame_proba(X))
    assert plain.shape == flipped.shape
    assert not np.allclose(plain, flipped, atol=1e-6)


def test_flip_tta_is_the_mean_logit_of_crop_and_mirror(fitted_pair):
    X, clf, tta = fitted_pair
    a = np.concatenate(clf.predict_frame_proba(X))
    b = np.concatenate(clf.predict_frame_proba(_mirror(X)))
    expected = expit((logit(a.astype(np.float64)) + logit(b.astype(np.float64))) / 2)
    got = np.concatenate(tta.predict_frame_proba(X))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_flip_tta_gives_a_mirrored_video_the_same_prediction(fitted_pair):
    X, clf, tta = fitted_pair
    np.testing.assert_allclose(
        tta.predict_proba(_mirror(X)), tta.predict_proba(X), atol=1e-6
    )
    # without TTA the mirrored video is scored differently
    assert not np.allclose(
        clf.predict_proba(_mirror(X)), clf.predict_proba(X), atol=1e-6
    )


def test_onnx_export_keeps_flip_tta(fitted_pair, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from sklearn_deepfake.export import ONNXFaceClassifier, export_onnx

    X, _, tta = fitted_pair
    path = export_onnx(tta, tmp_path / "tta.onnx", size=32)
    onnx_clf = ONNXFaceClassifier(path).fit()
    np.testing.assert_allclose(
        onnx_clf.predict_proba(X), tta.predict_proba(X), atol=1e-4
    )


def test_flip_tta_module_averages_logits():
    net = torch.nn.Conv2d(1, 1, (1, 3), bias=False)
    x = torch.randn(2, 1, 1, 3)
    expected = (net(x).reshape(-1) + net(x.flip(-1)).reshape(-1)) / 2
    got = FlipTTA(lambda t: net(t).reshape(-1))(x)
    torch.testing.assert_close(got, expected)


def test_decision_function_is_the_logit_of_the_unclipped_proba(fitted_pair):
    X, clf, _ = fitted_pair
    z = clf.decision_function(X)
    p = clf.set_params(eps=0.0).predict_proba(X)[:, 1]
    clf.set_params(eps=0.01)
    np.testing.assert_allclose(expit(z), p, atol=1e-6)


def test_decision_function_sign_follows_classes_order():
    X = _asymmetric_tracks()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _tiny().fit(X, ["REAL", "FAKE", "REAL", "FAKE"])
    # classes_ = ["FAKE", "REAL"]: positive log-odds mean REAL, as in sklearn
    p_real = clf.set_params(eps=0.0).predict_proba(X)[:, 1]
    np.testing.assert_allclose(expit(clf.decision_function(X)), p_real, atol=1e-6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"tta": "rotate"}, "'tta' parameter of FaceCNNClassifier must be"),
        ({"precision": "fp8"}, "'precision' parameter of FaceCNNClassifier must be"),
        (
            {"channels_last": "yes"},
            "'channels_last' parameter of FaceCNNClassifier must be",
        ),
        (
            {"torch_compile": 1},
            "'torch_compile' parameter of FaceCNNClassifier must be",
        ),
        (
            {"accelerator": "gpu"},
            "'accelerator' parameter of FaceCNNClassifier must be",
        ),
        ({"precision": "fp16"}, "precision='fp16' needs a CUDA device"),
        ({"torch_compile": True}, "torch_compile=True needs a CUDA device"),
    ],
)
def test_speed_params_are_validated_in_fit(params, match):
    X = make_tiny_face_tracks(2, size=16, empty=())
    with pytest.raises(ValueError, match=match):
        _tiny(**params).fit(X, [0, 1])


def test_bf16_and_channels_last_train_on_cpu():
    X = make_tiny_face_tracks(4, size=32, empty=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _tiny(precision="bf16", channels_last=True).fit(X, [0, 1, 0, 1])
    assert clf.net_.use_amp
    assert clf.net_.amp_dtype == torch.bfloat16
    assert clf.net_.module_.channels_last
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    assert resolve_precision("fp32", torch.device("cpu")) is None


def test_accelerator_fit_runs_on_cpu():
    accelerate = pytest.importorskip("accelerate")
    X = make_tiny_face_tracks(4, size=32, empty=())
    acc = accelerate.Accelerator(cpu=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = _tiny(accelerator=acc, augment={"cutmix": 1.0}).fit(X, [0, 1, 0, 1])
    assert type(clf.net_).__name__ == "AcceleratedFrameNet"
    assert clf.n_epochs_ == 1
    assert np.isfinite(clf.net_.history[-1, "train_loss"])
    proba = clf.predict_proba(X)
    assert proba.shape == (4, 2)
    # the fitted net pickles once the accelerator parameter is dropped
    clf.set_params(accelerator=None)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X), proba)


# ---------------------------------------------------------------------------
# Hub check
# ---------------------------------------------------------------------------


def test_pretrained_without_hub_fails_before_any_work(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(_weights, "_cached_timm_weights", lambda backbone: False)

    class Exploding(list):
        def __len__(self):
            raise AssertionError("X was read before the hub check")

    clf = FaceCNNClassifier("tf_efficientnet_b7.ns_jft_in1k", pretrained=True)
    t = time.perf_counter()
    with pytest.raises(RuntimeError, match="weights=") as info:
        clf.fit(Exploding([None]), [0])
    assert time.perf_counter() - t < 5
    message = str(info.value)
    assert "tf_efficientnet_lite0" in message
    assert "imagenet" in message
    assert "tf_efficientnet_b7.ns_jft_in1k" in message


def test_hub_probe_is_short_without_network(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    t = time.perf_counter()
    # a non-routable address (some sandboxes accept the TCP connection and
    # never answer): the probe gives up after its timeout
    assert not _weights.hub_reachable("10.255.255.1", timeout=0.3)
    assert time.perf_counter() - t < 2


def test_packaged_or_cached_weights_pass_the_check(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(_weights, "_cached_timm_weights", lambda backbone: True)
    check_pretrained_reachable("seresnext50_32x4d")  # no error


# ---------------------------------------------------------------------------
# Seed ensemble
# ---------------------------------------------------------------------------


def _table(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return X, y


def test_seed_ensemble_output_is_the_mean_member_logit_then_calibrated():
    X, y = _table()
    ens = SeedEnsembleClassifier(
        SGDClassifier(loss="log_loss"), n_seeds=4, random_state=0
    ).fit(X, y)
    assert len(ens.estimators_) == 4
    assert len({m.random_state for m in ens.estimators_}) == 4
    z = np.mean([m.decision_function(X) for m in ens.estimators_], axis=0)
    np.testing.assert_allclose(ens.decision_function(X), z)
    a, b = ens.calibration_
    expected = np.clip(expit(a * z + b), 0.01, 0.99)
    np.testing.assert_allclose(ens.predict_proba(X)[:, 1], expected)
    # members never saw the calibration videos
    assert len(ens.calibration_index_) == round(0.2 * len(y))


def test_seed_ensemble_members_differ_and_averaging_changes_predictions():
    X, y = _table()
    ens = SeedEnsembleClassifier(
        SGDClassifier(loss="log_loss"), n_seeds=3, calibration=None, random_state=0
    ).fit(X, y)
    logits = np.array([m.decision_function(X) for m in ens.estimators_])
    assert not np.allclose(logits[0], logits[1])
    np.testing.assert_allclose(
        ens.predict_proba(X)[:, 1],
        np.clip(expit(logits.mean(axis=0)), 0.01, 0.99),
    )


def test_seed_ensemble_of_several_estimators_and_groups():
    X, y = _table(90)
    groups = np.repeat(np.arange(30), 3)
    ens = SeedEnsembleClassifier(
        estimators=[("lr", LogisticRegression()), ("sgd", SGDClassifier())],
        n_seeds=2,
        calibration="temperature",
        random_state=0,
    ).fit(X, y, groups=groups)
    assert len(ens.estimators_) == 4
    held = set(groups[ens.calibration_index_])
    trained = set(np.delete(groups, ens.calibration_index_))
    assert not held & trained
    assert ens.calibration_[1] == 0.0  # temperature: no offset


def test_seed_ensemble_of_face_cnns_averages_their_logits():
    X = make_tiny_face_tracks(6, size=32, empty=())
    y = [0, 1, 0, 1, 0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ens = SeedEnsembleClassifier(
            _tiny(batch_size=6), n_seeds=2, calibration=None, random_state=0
        ).fit(X, y)
    z = np.mean([m.decision_function(X) for m in ens.estimators_], axis=0)
    np.testing.assert_allclose(ens.decision_function(X), z)
    assert ens.estimators_[0].random_state != ens.estimators_[1].random_state


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_seeds": 0}, "'n_seeds' parameter"),
        ({"calibration": "isotonic"}, "'calibration' parameter"),
        ({"calibration_size": 1.0}, "'calibration_size' parameter"),
        ({"eps": 0.7}, "'eps' parameter"),
        ({"estimators": []}, "estimators must be"),
    ],
)
def test_seed_ensemble_validates_params(params, match):
    X, y = _table()
    with pytest.raises(ValueError, match=match):
        SeedEnsembleClassifier(**params).fit(X, y)
