"""Face-trained backbones: HSE FaceRes, human's anti-spoofing CNN, dlib's ResNet."""

import hashlib
import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402

from sklearn_deepfake.features import (  # noqa: E402
    FACE_BACKBONES,
    CNNFeatureExtractor,
    RandomInitWarning,
)
from sklearn_deepfake.features._cnn import build_backbone  # noqa: E402
from sklearn_deepfake.features._faceres import (  # noqa: E402
    AntispoofNet,
    FaceResNet,
    antispoof_weights_path,
    faceres_weights_path,
    load_human_weights,
)
from sklearn_deepfake.nets import FaceCNNClassifier  # noqa: E402
from sklearn_deepfake.utils._testing import make_tiny_face_tracks  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

REFERENCE = json.loads(
    (Path(__file__).parent / "data" / "human_reference.json").read_text()
)
DIMS = {
    "dlib_resnet": 128,
    "dlib_resnet_pool": 256,
    "hse_faceres": 1024,
    "hse_faceres_256": 256,
    "hse_antispoof": 128,
    "hse_antispoof_score": 1,
}


def _astronaut():
    from skimage import data

    box = data.astronaut()[20:276, 120:376].astype(np.float32)
    faceres = torch.from_numpy(box[16:240, 16:240][None]).permute(0, 3, 1, 2)
    small = box.reshape(128, 2, 128, 2, 3).mean(axis=(1, 3))[None] / 255.0
    return faceres, torch.from_numpy(small).permute(0, 3, 1, 2).contiguous()


def test_shipped_weights_checksums_sizes_and_licences():
    for path in (faceres_weights_path(), antispoof_weights_path()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == REFERENCE["sha256"][path.name]
        assert path.stat().st_size < 8_000_000
        licence = path.with_suffix(".LICENSE.txt").read_text()
        assert "MIT License" in licence
        assert "@vladmandic/human@3.3.6" in licence


def test_networks_load_strictly_with_expected_sizes():
    faceres = FaceResNet(pretrained=True)
    assert sum(p.numel() for p in faceres.parameters()) == 3_484_389
    antispoof = AntispoofNet(pretrained=True)
    assert sum(p.numel() for p in antispoof.parameters()) == 426_545
    state = load_human_weights(faceres_weights_path())
    assert all(v.dtype == torch.float32 for v in state.values())
    assert not any(k.endswith(".scale") for k in state)


def test_missing_weights_file_names_the_converter(tmp_path):
    with pytest.raises(FileNotFoundError, match="convert_human"):
        load_human_weights(tmp_path / "nope.safetensors")


def test_ports_match_the_tfjs_reference_outputs():
    # The reference numbers come from the original TFJS graph models run by
    # @tensorflow/tfjs (benchmarks/verify_human_tfjs.py).
    faceres_x, antispoof_x = _astronaut()
    faceres = FaceResNet(pretrained=True).eval()
    antispoof = AntispoofNet(pretrained=True).eval()
    with torch.no_grad():
        desc = faceres(faceres_x)
        _, male, age = faceres.heads(desc)
        real = torch.sigmoid(antispoof(antispoof_x))
    np.testing.assert_allclose(
        desc[0, :16].numpy(), REFERENCE["descriptor_first16"], atol=1e-4
    )
    assert float(desc[0].norm()) == pytest.approx(REFERENCE["descriptor_norm"], 1e-4)
    assert float(male[0]) == pytest.approx(REFERENCE["p_male"], abs=1e-4)
    assert int(age[0].argmax()) == REFERENCE["age_argmax"]
    assert float(real[0]) == pytest.approx(REFERENCE["antispoof_p_real"], abs=1e-4)


@pytest.mark.parametrize("name", ["hse_faceres", "dlib_resnet"])
def test_backbones_compute_the_ports_function_with_trainable_scales(name):
    # The backbone folds FaceRes's 0-255 input scale into its stem and
    # rebalances dlib's convolutions against their per-channel scales: the
    # same function as the ported networks, but an Adam step (about lr on
    # every weight) no longer rewrites a first layer whose weights are 1e-3.
    from sklearn_deepfake.features._dlib_resnet import DlibFaceResNet
    from sklearn_deepfake.features._face_backbones import create_face_backbone

    rgb01 = torch.rand(2, 3, 160, 160, generator=torch.Generator().manual_seed(0))
    backbone = create_face_backbone(name, pretrained=True).eval()
    cfg = backbone.pretrained_cfg
    mean = torch.tensor(cfg["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(cfg["std"]).view(1, 3, 1, 1)
    port = (FaceResNet if name == "hse_faceres" else DlibFaceResNet)(pretrained=True)
    raw = rgb01 * 255.0
    if name == "dlib_resnet":
        raw = DlibFaceResNet.preprocess(raw.permute(0, 2, 3, 1))
    with torch.no_grad():
        ours, ref = backbone((rgb01 - mean) / std), port.eval()(raw)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-3, atol=1e-4)

    trainable = create_face_backbone(name, pretrained=True, num_classes=1)
    convs = [p for p in trainable.body.parameters() if p.ndim == 4]
    before = [p.detach().clone() for p in convs]
    opt = torch.optim.Adam(trainable.parameters(), lr=1e-4)
    for _ in range(5):
        loss = trainable((rgb01 - mean) / std).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    change = max(
        float((p.detach() - b).abs().mean() / b.abs().mean())
        for p, b in zip(convs, before)
    )
    # at the ports' scales 5 steps move a layer by 11 % (FaceRes's stem)
    # and by 72 % (one of dlib's last convolutions)
    assert change < 0.05


def test_same_padding_matches_tensorflow_at_odd_sizes():
    from sklearn_deepfake.features._faceres import _same_pad

    x = torch.zeros(1, 1, 7, 8)
    # stride 2, kernel 3: TF pads 1 + 1 for 7 and 0 + 1 for 8
    assert _same_pad(x, 3, 2).shape[-2:] == (9, 9)
    assert _same_pad(x, 3, 1).shape[-2:] == (9, 10)


@pytest.mark.parametrize("name", sorted(DIMS))
def test_extractor_output_shape_pickle_and_clone(name):
    assert name in FACE_BACKBONES
    X = make_tiny_face_tracks(3, size=40, empty=(1,))
    ext = CNNFeatureExtractor(name, pretrained=True, device="cpu", batch_size=4)
    feats = ext.fit(X).transform(X)
    assert ext.n_features_out_ == DIMS[name]
    assert [f.shape for f in feats] == [(len(t), DIMS[name]) for t in X]
    assert feats[1].shape == (0, DIMS[name])
    assert all(np.isfinite(f).all() for f in feats)
    again = pickle.loads(pickle.dumps(ext)).transform(X)
    for a, b in zip(feats, again):
        np.testing.assert_array_equal(a, b)
    assert clone(ext).get_params() == ext.get_params()


def test_extractor_uses_the_native_size_unless_told():
    X = make_tiny_face_tracks(2, size=40, empty=())
    ext = CNNFeatureExtractor("hse_faceres", pretrained=True, device="cpu").fit(X)
    assert ext.input_size_ == 224
    small = CNNFeatureExtractor(
        "hse_faceres", pretrained=True, input_size=64, device="cpu"
    ).fit(X)
    assert small.input_size_ == 64
    assert not np.allclose(ext.transform(X)[0], small.transform(X)[0])


def test_extractor_dlib_features_equal_the_dlib_module():
    from sklearn_deepfake.features._dlib_resnet import DlibFaceResNet

    X = make_tiny_face_tracks(1, size=150, empty=())
    ext = CNNFeatureExtractor(
        "dlib_resnet", pretrained=True, device="cpu", channels_last=False
    ).fit(X)
    net = DlibFaceResNet(pretrained=True).eval()
    with torch.no_grad():
        ref = net(net.preprocess(torch.from_numpy(np.array(X[0].crops)))).numpy()
    np.testing.assert_allclose(ext.transform(X)[0], ref, rtol=1e-4, atol=1e-4)


def test_antispoof_score_is_the_negated_real_logit():
    _, x = _astronaut()
    model = build_backbone(
        "hse_antispoof_score", pretrained=True, weights=None, random_state=0
    ).eval()
    net = AntispoofNet(pretrained=True).eval()
    with torch.no_grad():
        assert torch.allclose(model(x)[:, 0], -net(x))


def test_random_face_backbone_warns_and_is_seeded():
    with pytest.warns(RandomInitWarning):
        a = build_backbone(
            "hse_faceres", pretrained=False, weights=None, random_state=1
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RandomInitWarning)
        b = build_backbone(
            "hse_faceres", pretrained=False, weights=None, random_state=1
        )
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    pretrained = build_backbone(
        "hse_faceres", pretrained=True, weights=None, random_state=1
    )
    assert not torch.equal(next(a.parameters()), next(pretrained.parameters()))


def test_face_backbone_weights_file_round_trip(tmp_path):
    from safetensors.torch import save_file

    model = build_backbone(
        "hse_antispoof", pretrained=True, weights=None, random_state=0
    )
    path = tmp_path / "w.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    again = build_backbone(
        "hse_antispoof", pretrained=False, weights=path, random_state=3
    )
    for pa, pb in zip(model.parameters(), again.parameters()):
        assert torch.equal(pa, pb)


def test_faceres_weights_saved_for_0_255_input_are_converted(tmp_path):
    from safetensors.torch import save_file

    def build(**kw):
        kw = {"pretrained": False, "weights": None, "random_state": 1, **kw}
        return build_backbone("hse_faceres", **kw).eval()

    model = build(pretrained=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    new = tmp_path / "new.safetensors"
    save_file(state, new)
    old = tmp_path / "old.safetensors"  # the stem as saved before the fold
    stem = "body.net.stem.conv.weight"
    save_file({**state, stem: (state[stem] / 255.0).contiguous()}, old)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # today's form loads silently
        again = build(weights=new)
    with pytest.warns(UserWarning, match=r"\[0, 255\].*multiplied by 255"):
        converted = build(weights=old)
    with torch.no_grad():
        torch.testing.assert_close(again(x), expected)
        torch.testing.assert_close(converted(x), expected)
    # random weights are drawn for [0, 1] input: never taken for old ones
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # RandomInitWarning
        rand = build(random_state=0)
    save_file({k: v.contiguous() for k, v in rand.state_dict().items()}, new)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build(weights=new)


def test_antispoof_head_starts_from_the_shipped_decision():
    _, x = _astronaut()
    model = build_backbone(
        "hse_antispoof", pretrained=True, weights=None, random_state=0, num_classes=1
    ).eval()
    assert model.head_pretrained
    with torch.no_grad():
        p_fake = torch.sigmoid(model(x))[0, 0]
    assert float(p_fake) == pytest.approx(1 - REFERENCE["antispoof_p_real"], abs=1e-4)


@pytest.mark.parametrize(
    ("name", "input_size"),
    [
        pytest.param("dlib_resnet", None, marks=pytest.mark.slow),  # 150 px
        ("hse_faceres", 64),
        ("hse_antispoof", None),
    ],
)
def test_fine_tuner_trains_a_face_backbone(name, input_size):
    X = make_tiny_face_tracks(4, size=32, empty=())
    y = np.array([0, 1, 0, 1])
    clf = FaceCNNClassifier(
        backbone=name,
        pretrained=True,
        input_size=input_size,
        max_epochs=1,
        batch_size=4,
        frames_per_video=2,
        valid_size=None,
        augment=False,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    start = build_backbone(name, pretrained=True, weights=None, random_state=0)
    trained = clf.net_.module_.backbone
    changed = [
        not torch.equal(p0, p1)
        for (_, p0), (_, p1) in zip(
            start.body.named_parameters(), trained.body.named_parameters()
        )
    ]
    assert any(changed)
    proba = clf.predict_proba(X)
    assert proba.shape == (4, 2)
    assert np.isfinite(proba).all()
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(restored.predict_proba(X), proba, atol=1e-6)
    assert clone(clf).get_params()["backbone"] == name


@pytest.mark.parametrize("name", ["hse_faceres", "dlib_resnet"])
def test_a_new_head_normalises_its_input_and_faceres_pools_before_relu6(name):
    from sklearn_deepfake.features._face_backbones import (
        _HeadNorm,
        create_face_backbone,
    )
    from sklearn_deepfake.nets._face_cnn import _small_head

    net = create_face_backbone(name, pretrained=True, num_classes=1)
    norm, linear = net.get_classifier()
    assert isinstance(norm, _HeadNorm)
    assert isinstance(linear, torch.nn.Linear)
    _small_head(net.get_classifier(), 0)
    assert float(linear.weight.detach().std()) == pytest.approx(0.01, rel=0.2)
    assert float(linear.bias.detach().abs().max()) == 0.0
    side = 150 if name == "dlib_resnet" else 64
    x = torch.rand(3, 3, side, side, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = net.forward_features(x)
    if name == "hse_faceres":
        # the descriptor (after ReLU6) is sparse; its pre-activation is not
        plain = create_face_backbone(name, pretrained=True).eval()
        with torch.no_grad():
            assert float((plain(x) == 0).float().mean()) > 0.5
        assert bool((features != 0).all())
    # a lone training row (an epoch's last batch) passes, the statistics kept
    net.train()
    running = norm.running_mean.clone()
    assert net(x[:1]).shape == (1, 1)
    torch.testing.assert_close(norm.running_mean, running)
    net(x)
    assert not torch.equal(norm.running_mean, running)
    # without a head: the shipped network's features, as before
    plain = create_face_backbone(name, pretrained=True)
    assert isinstance(plain.get_classifier(), torch.nn.Identity)
