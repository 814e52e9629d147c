"""dlib's face ResNet rebuilt in torch, and FaceRecognitionEmbeddings."""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn_deepfake.features._dlib_resnet import (  # noqa: E402
    DlibFaceResNet,
    load_dlib_weights,
    weights_path,
)


def _dlib_models():
    dlib = pytest.importorskip("dlib")
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None:
        pytest.skip("face-recognition-models is not installed")
    return dlib, Path(spec.origin).parent / "models"


def test_shipped_weights_load_strictly():
    assert weights_path().is_file()
    assert weights_path().stat().st_size < 8_000_000
    licence = weights_path().with_name("dlib_face_recognition.LICENSE.txt")
    assert "MIT License" in licence.read_text()
    assert "CC0" in licence.read_text()
    state = load_dlib_weights()
    assert all(v.dtype == torch.float32 for v in state.values())
    net = DlibFaceResNet(pretrained=True)
    assert sum(p.numel() for p in net.parameters()) == 5_614_592
    assert state["fc.weight"].shape == (128, 256)


def test_load_dlib_weights_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="convert_face_api"):
        load_dlib_weights(tmp_path / "nope.safetensors")


def test_dlib_resnet_shapes():
    net = DlibFaceResNet().eval()
    chips = torch.zeros((2, 150, 150, 3), dtype=torch.uint8)
    with torch.no_grad():
        x = net.preprocess(chips)
        assert x.shape == (2, 3, 150, 150)
        assert net.features(x).shape == (2, 256)
        assert net(x).shape == (2, 128)


@pytest.mark.slow
def test_dlib_resnet_matches_dlib_descriptors():
    dlib, models = _dlib_models()
    from skimage import data

    img = data.astronaut()
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(
        os.fspath(models / "shape_predictor_5_face_landmarks.dat")
    )
    facerec = dlib.face_recognition_model_v1(
        os.fspath(models / "dlib_face_recognition_resnet_model_v1.dat")
    )
    boxes = detector(img, 1)
    assert len(boxes) >= 1
    chips = np.stack([dlib.get_face_chip(img, shapes(img, b), size=150) for b in boxes])
    # a flipped chip is another input with its own descriptor
    chips = np.concatenate([chips, chips[:, :, ::-1]])
    ref = np.stack([np.array(facerec.compute_face_descriptor(c)) for c in chips])
    net = DlibFaceResNet(pretrained=True).eval()
    with torch.no_grad():
        ours = net(net.preprocess(torch.from_numpy(chips.copy()))).double().numpy()
    cos = (
        (ours * ref).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    )
    assert cos.min() >= 0.999, cos
    # dlib's scale: two photos of one person are within 0.6
    assert np.linalg.norm(ours - ref, axis=1).max() < 0.06
    # BGR input is wrong, and measurably so
    with torch.no_grad():
        bgr = net(net.preprocess(torch.from_numpy(chips[..., ::-1].copy())))
    bgr = bgr.double().numpy()
    cos_bgr = (
        (bgr * ref).sum(1) / np.linalg.norm(bgr, axis=1) / np.linalg.norm(ref, axis=1)
    )
    assert cos_bgr.min() < 0.999
