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


# --- FaceRecognitionEmbeddings and the alignment ---------------------------

from sklearn_deepfake.features import (  # noqa: E402
    FaceRecognitionEmbeddings,
    RandomInitWarning,
    align_face_chips,
)
from sklearn_deepfake.features._face_recognition import TEMPLATE  # noqa: E402
from sklearn_deepfake.utils._testing import make_synthetic_tracks  # noqa: E402


def test_align_face_chips_maps_landmarks_to_template():
    crop = np.zeros((1, 200, 200, 3), np.uint8)
    # the template turned by 10 degrees, scaled by 1.2 and moved
    a = np.deg2rad(10)
    rot = 1.2 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lm = TEMPLATE @ rot.T + [20.0, 15.0]
    # a bright square at the right eye lands on the template's right eye
    x, y = np.round(lm[1]).astype(int)
    crop[0, y - 4 : y + 5, x - 4 : x + 5] = 255
    lm[1] = [x, y]
    chip = align_face_chips(crop, lm[None])[0]
    ys, xs = np.nonzero(chip[..., 0] > 128)
    assert abs(xs.mean() - TEMPLATE[1, 0]) < 1.5
    assert abs(ys.mean() - TEMPLATE[1, 1]) < 1.5
    # inner zooms in: the eyes move apart
    inner = align_face_chips(crop, lm[None], part="inner")[0]
    xs_i = np.nonzero(inner[..., 0] > 128)[1]
    assert xs_i.mean() > xs.mean() + 5
    # outer masks the centre of the face with dlib's mean colour
    outer = align_face_chips(crop, lm[None], part="outer")[0]
    assert (outer[75, 75] == [123, 117, 104]).all()


def test_align_face_chips_falls_back_to_the_box():
    t = make_synthetic_tracks(n_rows=2)
    from sklearn_deepfake.faces._geometry import face_boxes_in_crop

    boxes = face_boxes_in_crop(t)
    bad = np.zeros_like(t.landmarks)
    bad[1] = np.nan
    chips = align_face_chips(t.crops, bad, boxes)
    assert chips.shape == (2, 150, 150, 3)
    assert chips.std() > 5  # the face was warped in, not a black chip
    with pytest.raises(ValueError, match="part must be one of"):
        align_face_chips(t.crops, t.landmarks, part="mouth")


def test_face_recognition_embeddings_columns():
    import dataclasses

    t = make_synthetic_tracks(n_rows=4)
    t = dataclasses.replace(t, track_ids=np.array([0, 0, 0, 1]))
    est = FaceRecognitionEmbeddings(parts=("face", "inner", "outer"))
    feats = est.fit_transform([t])[0]
    names = list(est.feature_names_)
    assert feats.shape == (4, 3 * 128 + 3 + 3)
    assert est.n_features_out_ == len(names) == feats.shape[1]
    assert names[-6:] == [
        "face_drift",
        "inner_drift",
        "outer_drift",
        "face_inner_dist",
        "face_outer_dist",
        "inner_outer_dist",
    ]
    face, inner = feats[:, :128], feats[:, 128:256]
    np.testing.assert_allclose(
        feats[:, names.index("face_inner_dist")],
        np.linalg.norm(face - inner, axis=1),
        rtol=1e-5,
    )
    # drift: to the median of the row's own track; a one-row track has none
    med = np.median(face[:3], axis=0)
    np.testing.assert_allclose(
        feats[:3, names.index("face_drift")],
        np.linalg.norm(face[:3] - med, axis=1),
        rtol=1e-5,
    )
    assert feats[3, names.index("face_drift")] == 0
    plain = FaceRecognitionEmbeddings(identity=False).fit_transform([t])[0]
    np.testing.assert_allclose(plain, face, rtol=1e-5, atol=1e-6)


def test_face_recognition_embeddings_weights_and_random_init(tmp_path):
    from safetensors.torch import save_file

    t = make_synthetic_tracks(n_rows=2)
    shipped = FaceRecognitionEmbeddings(identity=False).fit_transform([t])[0]
    path = tmp_path / "tuned.safetensors"
    save_file(load_dlib_weights(), str(path))
    again = FaceRecognitionEmbeddings(
        identity=False, pretrained=False, weights=path
    ).fit_transform([t])[0]
    np.testing.assert_allclose(again, shipped, rtol=1e-5, atol=1e-6)
    with pytest.warns(RandomInitWarning, match="randomly initialised"):
        rand = FaceRecognitionEmbeddings(pretrained=False).fit_transform([t])[0]
    assert not np.allclose(rand[:, :128], shipped)


@pytest.mark.parametrize(
    ("params", "err", "match"),
    [
        (
            {"parts": "face"},
            ValueError,
            "'parts' parameter of FaceRecognitionEmbeddings",
        ),
        ({"parts": ()}, ValueError, "non-empty tuple"),
        ({"parts": ("face", "face")}, ValueError, "distinct"),
        ({"parts": ("nose",)}, ValueError, "distinct names"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"weights": "/no/such/file.pt"}, FileNotFoundError, "weights file"),
    ],
)
def test_face_recognition_embeddings_invalid_params(params, err, match):
    with pytest.raises(err, match=match):
        FaceRecognitionEmbeddings(**params).fit([make_synthetic_tracks(n_rows=1)])


@pytest.mark.slow
def test_mtcnn_aligned_chip_matches_dlib_descriptor():
    """Aligning from MTCNN's points gives nearly dlib's own descriptor."""
    dlib, models = _dlib_models()
    from facenet_pytorch import MTCNN
    from skimage import data

    img = data.astronaut()
    _, probs, lm = MTCNN(keep_all=True, device="cpu").detect(img, landmarks=True)
    k = int(np.argmax(probs))
    chip = align_face_chips(img[None], np.asarray(lm[k], float)[None])[0]
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(
        os.fspath(models / "shape_predictor_5_face_landmarks.dat")
    )
    facerec = dlib.face_recognition_model_v1(
        os.fspath(models / "dlib_face_recognition_resnet_model_v1.dat")
    )
    det = max(detector(img, 1), key=lambda r: r.area())
    ref = np.array(facerec.compute_face_descriptor(img, shapes(img, det)))
    net = DlibFaceResNet(pretrained=True).eval()
    with torch.no_grad():
        ours = net(net.preprocess(torch.from_numpy(chip[None]))).double().numpy()[0]
    assert np.linalg.norm(ours - ref) < 0.3  # one person: < 0.6 in dlib's scale
    assert ours @ ref / np.linalg.norm(ours) / np.linalg.norm(ref) > 0.98
