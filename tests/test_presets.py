"""Named recipes of make_default_pipeline and the MTCNN embeddings they use."""

import dataclasses
import pickle

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_deepfake import make_default_pipeline
from sklearn_deepfake.cli import main
from sklearn_deepfake.features import (
    FaceContextFeatures,
    MTCNNEmbeddings,
    RaggedFeatureUnion,
)
from sklearn_deepfake.utils import FaceTracks
from sklearn_deepfake.utils._testing import make_synthetic_tracks


def test_default_preset_is_the_historic_default():
    pipe = make_default_pipeline()
    assert isinstance(pipe.named_steps["features"], FaceContextFeatures)
    assert pipe.named_steps["temporalpooling"].stats == ("mean",)
    assert pipe.named_steps["classifier"].estimator.C == 0.1
    assert pipe.named_steps["framesampler"].n_frames == 32


def test_swap_preset_and_explicit_arguments_win():
    pipe = make_default_pipeline(preset="swap")
    feats = pipe.named_steps["features"]
    assert isinstance(feats, RaggedFeatureUnion)
    assert [name for name, _ in feats.transformer_list] == [
        "context",
        "mtcnn",
        "shape",
        "noise",
    ]
    assert feats.transformer_list[-1][1].landmarks == "dlib"
    assert "temporalpooling" not in pipe.named_steps  # frame-level head
    assert pipe.get_params()["classifier__estimator__logisticregression__C"] == 0.3
    sampler = pipe.named_steps["framesampler"]  # 64 pairs of consecutive frames
    assert (sampler.n_frames, sampler.strategy, sampler.burst_len) == (
        128,
        "bursts",
        2,
    )
    pipe = make_default_pipeline(preset="swap", features="context", C=1.0, n_frames=8)
    assert pipe.named_steps["framesampler"].n_frames == 8
    assert pipe.named_steps["framesampler"].strategy == "bursts"
    assert isinstance(pipe.named_steps["features"], FaceContextFeatures)
    assert pipe.get_params()["classifier__estimator__logisticregression__C"] == 1.0
    pipe = make_default_pipeline(pooling=["mean", "std"])
    assert pipe.named_steps["temporalpooling"].stats == ("mean", "std")


def test_self_blended_preset_ends_in_a_self_blending_cnn():
    from sklearn_deepfake.nets import FaceCNNClassifier

    pipe = make_default_pipeline(preset="self-blended", backbone="resnet18", size=64)
    assert list(pipe.named_steps) == ["framesampler", "facecropper", "classifier"]
    clf = pipe.named_steps["classifier"]
    assert isinstance(clf, FaceCNNClassifier)
    assert clf.self_blend is True
    assert clf.backbone == "resnet18"
    assert clf.input_size == 64
    clone(pipe)


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ValueError, match="preset must be one of"):
        make_default_pipeline(preset="best")


@pytest.mark.parametrize("command", ["fit", "extract", "tune"])
def test_cli_help_lists_the_presets(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "--preset" in out
    assert "self-blended" in out
    assert "swap" in out


def test_mtcnn_embeddings_shapes_names_and_empty_videos():
    X = [make_synthetic_tracks(n_rows=3, size=64), FaceTracks.empty("b.mp4", size=64)]
    for net, dim in (("rnet", 128), ("onet", 256)):
        est = MTCNNEmbeddings(net).fit(X)
        out = est.transform(X)
        assert [o.shape for o in out] == [(3, dim), (0, dim)]
        assert out[0].dtype == np.float32
        assert np.isfinite(out[0]).all()
        assert est.n_features_out_ == dim
        assert est.feature_names_[0] == f"{net}_0"


def test_mtcnn_embeddings_read_the_face_box_only():
    t = make_synthetic_tracks(n_rows=2, size=64, seed=1)
    est = MTCNNEmbeddings().fit([t])
    base = est.transform([t])[0]
    # the two rows have different noise, so they get different embeddings
    assert not np.allclose(base[0], base[1])
    # pixels outside the face box do not matter ...
    from sklearn_deepfake.features import face_boxes_in_crop

    x0, y0, x1, y1 = np.round(face_boxes_in_crop(t)[0]).astype(int)
    crops = t.crops.copy()
    outside = np.ones(crops.shape[1:3], bool)
    outside[y0:y1, x0:x1] = False
    crops[:, outside] = 0
    same = est.transform([dataclasses.replace(t, crops=crops)])[0]
    np.testing.assert_allclose(same, base, atol=1e-5)
    # ... but the face does
    crops = crops.copy()
    crops[:, y0:y1, x0:x1] = 255 - crops[:, y0:y1, x0:x1]
    other = est.transform([dataclasses.replace(t, crops=crops)])[0]
    assert np.abs(other - base).max() > 1e-2


def test_mtcnn_embeddings_pickle_and_bad_params():
    t = make_synthetic_tracks(n_rows=2, size=64)
    est = MTCNNEmbeddings("onet", batch_size=1).fit([t])
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.transform([t])[0], est.transform([t])[0])
    with pytest.raises(ValueError, match="'net' parameter of MTCNNEmbeddings"):
        MTCNNEmbeddings("pnet").fit([t])
    with pytest.raises(ValueError, match="batch_size"):
        MTCNNEmbeddings(batch_size=0).fit([t])
