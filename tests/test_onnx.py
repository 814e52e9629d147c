"""Tests of ONNX export and the onnxruntime wrappers (parity with torch)."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from sklearn_deepfake.export import (
    ONNXFaceClassifier,
    ONNXFeatureExtractor,
    export_onnx,
)
from sklearn_deepfake.features import CNNFeatureExtractor, FaceRecognitionEmbeddings
from sklearn_deepfake.nets import FaceCNNClassifier
from sklearn_deepfake.utils._testing import make_tiny_face_tracks

# Random-init resnet18 on 32-pixel crops; float32 CPU kernels of torch and
# onnxruntime differ by ~1e-7 here (measured max abs difference of the
# embeddings 6e-8 to 2e-7), so 1e-4 is a loose but meaningful bound.
ATOL = 1e-4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tracks():
    return make_tiny_face_tracks(4, size=32, random_state=3)


@pytest.fixture(scope="module")
def extractor(tracks):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CNNFeatureExtractor("resnet18", device="cpu").fit(tracks)


@pytest.fixture(scope="module")
def classifier(tracks):
    clf = FaceCNNClassifier(
        "resnet18",
        max_epochs=1,
        batch_size=4,
        valid_size=None,
        aggregation="mean",
        device="cpu",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clf.fit(tracks, [0, 1, 0, 1])


@pytest.fixture(scope="module")
def extractor_file(extractor, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "ext.onnx"
    return export_onnx(extractor, path, size=32)


@pytest.fixture(scope="module")
def classifier_file(classifier, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "clf.onnx"
    return export_onnx(classifier, path, size=32)


def test_extractor_parity(extractor, extractor_file, tracks):
    onnx_ext = ONNXFeatureExtractor(extractor_file, batch_size=3).fit()
    assert onnx_ext.n_features_out_ == extractor.n_features_out_ == 512
    got, ref = onnx_ext.transform(tracks), extractor.transform(tracks)
    assert [g.shape for g in got] == [r.shape for r in ref]
    assert all(g.dtype == np.float32 for g in got)
    diff = max(float(np.abs(g - r).max()) for g, r in zip(got, ref) if len(r))
    assert diff < ATOL


def test_extractor_parity_with_resize(tracks, tmp_path):
    # input_size != crop side: the anti-aliased resize is part of the graph.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ext = CNNFeatureExtractor("resnet18", input_size=48, device="cpu").fit()
    path = export_onnx(ext, tmp_path / "e.onnx", size=32)
    got = ONNXFeatureExtractor(path).fit().transform(tracks)
    ref = ext.transform(tracks)
    assert max(float(np.abs(g - r).max()) for g, r in zip(got, ref) if len(r)) < ATOL


def test_face_backbone_exports_at_its_own_input_size(tracks, tmp_path):
    # input_size=None: a face-trained backbone runs at its training size
    # (FaceRes: 224 px), so the graph must resize the 32-px crops to it too.
    ext = CNNFeatureExtractor("hse_faceres", pretrained=True, device="cpu").fit()
    assert ext.input_size is None
    assert ext.input_size_ == 224
    path = export_onnx(ext, tmp_path / "faceres.onnx", size=32)
    onnx_ext = ONNXFeatureExtractor(path).fit()
    assert onnx_ext.metadata_["input_size"] == 224
    got = onnx_ext.transform(tracks)
    ref = ext.transform(tracks)
    assert max(float(np.abs(g - r).max()) for g, r in zip(got, ref) if len(r)) < ATOL


def test_extractor_runtime_onnxruntime_matches_torch(tracks):
    import pickle as _pickle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CNNFeatureExtractor("resnet18", input_size=48, device="cpu").fit()
        ext = clone(ref).set_params(runtime="onnxruntime").fit()
    got = ext.transform(tracks)
    assert [g.shape for g in got] == [r.shape for r in ref.transform(tracks)]
    pairs = zip(got, ref.transform(tracks))
    assert max(float(np.abs(g - r).max()) for g, r in pairs if len(r)) < ATOL
    assert list(ext._onnx_sessions) == [32]  # one graph per crop side
    again = _pickle.loads(_pickle.dumps(ext))  # sessions are not pickled
    assert again._onnx_sessions == {}
    np.testing.assert_array_equal(again.transform(tracks[:1])[0], got[0])
    with pytest.raises(ValueError, match="stages"):
        clone(ext).set_params(stages=(1,), input_size=None).fit()
    with pytest.raises(ValueError, match="runtime"):
        clone(ext).set_params(runtime="tvm").fit()


def test_face_recognition_runtime_onnxruntime_matches_torch():
    from sklearn_deepfake.utils._testing import make_synthetic_tracks

    X = [make_synthetic_tracks(n_rows=3), make_synthetic_tracks(n_rows=0)]
    parts = ("face", "outer")
    ref = FaceRecognitionEmbeddings(parts).fit(X).transform(X)
    got = FaceRecognitionEmbeddings(parts, runtime="onnxruntime").fit(X).transform(X)
    assert [g.shape for g in got] == [r.shape for r in ref]
    np.testing.assert_allclose(got[0], ref[0], atol=ATOL)
    with pytest.raises(ValueError, match="runtime"):
        FaceRecognitionEmbeddings(runtime="tvm").fit(X)


def test_set_runtime_reaches_the_shipped_models_networks(tracks):
    from sklearn_deepfake.features import CNNFeatureExtractor
    from sklearn_deepfake.features._onnx_runtime import set_runtime
    from sklearn_deepfake.pretrained import load_pretrained

    model = load_pretrained("general", device="cpu", runtime="onnxruntime")
    faceres = model.named_steps["features"]
    assert isinstance(faceres, CNNFeatureExtractor)
    assert faceres.runtime == "onnxruntime"
    assert set_runtime(model, "torch") == 1
    assert faceres.runtime == "torch"
    with pytest.raises(ValueError, match="runtime"):
        set_runtime(model, "tvm")


def test_set_runtime_reaches_both_networks_of_a_union(tracks):
    from sklearn_deepfake import make_default_pipeline
    from sklearn_deepfake.features._onnx_runtime import set_runtime

    pipe = make_default_pipeline(preset="general-blend", device="cpu")
    union = pipe.named_steps["features"].fit([])
    fitted = dict(union.transformers_)
    faceres, identity = fitted["faceres"], fitted["identity"][0]
    # each network twice: the union's template and its fitted clone
    assert set_runtime(pipe, "onnxruntime") == 4
    assert (faceres.runtime, identity.runtime) == ("onnxruntime", "onnxruntime")
    assert set_runtime(pipe, "torch") == 4
    assert (faceres.runtime, identity.runtime) == ("torch", "torch")


def test_classifier_parity(classifier, classifier_file, tracks):
    import torch

    onnx_clf = ONNXFaceClassifier(classifier_file).fit()
    np.testing.assert_array_equal(onnx_clf.classes_, classifier.classes_)
    assert onnx_clf.aggregation_ == "mean"
    assert onnx_clf.empty_proba_ == classifier.empty_proba_
    crops = np.array(tracks[0].crops)
    with torch.no_grad():
        ref = classifier.net_.module_(torch.from_numpy(crops).permute(0, 3, 1, 2))
    logits = onnx_clf.session_.run(None, {"crops": crops})[0]
    assert logits.shape == (len(crops),)
    assert float(np.abs(logits - ref.numpy()).max()) < ATOL
    np.testing.assert_allclose(
        onnx_clf.predict_proba(tracks), classifier.predict_proba(tracks), atol=ATOL
    )
    frames = onnx_clf.predict_frame_proba(tracks)
    assert [len(f) for f in frames] == [len(t) for t in tracks]
    np.testing.assert_array_equal(onnx_clf.predict(tracks), classifier.predict(tracks))


def test_classifier_overrides(classifier_file, tracks):
    clf = ONNXFaceClassifier(
        classifier_file, aggregation="max", empty_proba=0.3, eps=0.1
    ).fit()
    proba = clf.predict_proba(tracks)[:, 1]
    assert proba[1] == pytest.approx(0.3)  # video 1 has no face
    frames = clf.predict_frame_proba(tracks)
    assert proba[0] == pytest.approx(np.clip(frames[0].max(), 0.1, 0.9), abs=1e-6)
    with pytest.raises(ValueError, match="aggregation"):
        ONNXFaceClassifier(classifier_file, aggregation="vote").fit()


def test_pickle_keeps_the_model_without_the_file(extractor_file, tracks, tmp_path):
    import shutil

    copy = tmp_path / "copy.onnx"
    shutil.copy(extractor_file, copy)
    ext = ONNXFeatureExtractor(str(copy)).fit()
    before = ext.transform(tracks[:1])[0]
    copy.unlink()
    again = pickle.loads(pickle.dumps(ext))
    np.testing.assert_array_equal(again.transform(tracks[:1])[0], before)


def test_clone_and_params(classifier_file):
    clf = ONNXFaceClassifier(classifier_file, eps=0.05, n_threads=1)
    fitted = clone(clf).fit()
    assert clone(fitted).get_params() == clf.get_params()
    assert not hasattr(clone(fitted), "metadata_")
    with pytest.raises(NotFittedError):
        clf.predict_proba([])


def test_model_as_bytes(extractor_file, tracks):
    with open(extractor_file, "rb") as fh:
        data = fh.read()
    out = ONNXFeatureExtractor(data).fit().transform(tracks[2:3])
    assert out[0].shape == (len(tracks[2]), 512)


def test_errors(extractor, extractor_file, classifier_file, tmp_path):
    with pytest.raises(ValueError, match="feature_extractor"):
        ONNXFaceClassifier(extractor_file).fit()
    with pytest.raises(ValueError, match="face_classifier"):
        ONNXFeatureExtractor(classifier_file).fit()
    with pytest.raises(FileNotFoundError, match=r"missing\.onnx"):
        ONNXFeatureExtractor(tmp_path / "missing.onnx").fit()
    wrong_side = make_tiny_face_tracks(1, size=16, empty=())
    with pytest.raises(ValueError, match="side 16"):
        ONNXFeatureExtractor(extractor_file).fit().transform(wrong_side)
    with pytest.raises(ValueError, match="size="):
        export_onnx(extractor, tmp_path / "x.onnx")  # no input_size, no size
    with pytest.raises(NotFittedError):
        export_onnx(CNNFeatureExtractor("resnet18"), tmp_path / "x.onnx", size=32)
    with pytest.raises(TypeError, match="supports"):
        export_onnx(ONNXFeatureExtractor(extractor_file).fit(), tmp_path / "x.onnx")
    assert not list(tmp_path.iterdir())


def test_classifier_with_string_labels_and_two_tracks(tracks, tmp_path):
    # DFDC labels sort to ["FAKE", "REAL"]: column 0 is P(FAKE) for both the
    # torch and the onnxruntime classifier; a video with two face tracks is
    # pooled per track (the most fake track) by both.
    import dataclasses

    clf = FaceCNNClassifier(
        "resnet18",
        max_epochs=1,
        batch_size=4,
        valid_size=None,
        device="cpu",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(tracks, ["REAL", "FAKE", "REAL", "FAKE"])
    onnx_clf = ONNXFaceClassifier(export_onnx(clf, tmp_path / "s.onnx", size=32))
    onnx_clf.fit()
    assert list(onnx_clf.classes_) == ["FAKE", "REAL"]
    two = next(t for t in tracks if len(t) >= 2)
    ids = np.arange(len(two)) % 2
    X = [*tracks, dataclasses.replace(two, track_ids=ids)]
    got, ref = onnx_clf.predict_proba(X), clf.predict_proba(X)
    np.testing.assert_allclose(got, ref, atol=ATOL)
    np.testing.assert_array_equal(onnx_clf.predict(X), clf.predict(X))
    frames = clf.predict_frame_proba(X)[-1]
    from sklearn_deepfake.features import pool_scores

    expected = max(pool_scores(frames[ids == k], clf.aggregation) for k in (0, 1))
    assert abs(ref[-1, 0] - np.clip(expected, clf.eps, 1 - clf.eps)) < 1e-3


@pytest.mark.parametrize(
    ("make", "added"),
    [
        (lambda: CNNFeatureExtractor("resnet18", device="cpu"), {"runtime": "torch"}),
        (FaceRecognitionEmbeddings, {"runtime": "torch"}),
        (
            lambda: FaceCNNClassifier("resnet18"),
            {
                "predict_batch_size": "auto",
                "channels_last": "auto",
                "track_pooling": None,
            },
        ),
    ],
)
def test_estimators_pickled_before_a_parameter_existed_still_work(make, added):
    # an estimator pickled by an older version lacks the newer parameters:
    # unpickled, it gets what it then did, and get_params, clone, repr work
    est = make()
    state = est.__getstate__()
    for name in added:
        del state[name]
    old = type(est).__new__(type(est))
    old.__setstate__(state)
    params = old.get_params(deep=False)
    assert {k: params[k] for k in added} == added
    clone(old)
    repr(old)
